"""``model.summary()`` as Keras 3 prints it in a terminal of 112 columns or more (Keras' own
line lengths: 88 columns, 108 with "Connected to").

Keras draws the table with rich: each column gets a share of the line (``POSITIONS``), rich
trims the columns evenly until the table fits its width, then wraps each cell's text at spaces
and cuts a word too long for its cell with an ellipsis. A Sequential model, or a functional one
whose layers form a chain, has three columns; other functional models add "Connected to", and
functional models list their inputs as InputLayer rows. (In a narrower terminal, or in a
notebook, which counts as 80 columns, Keras narrows the table to the terminal's width less 4.)

Keras 3 also lists the operations that compute only masks (``ModelGraph.mask_operations``: the
``NotEqual`` after an ``Embedding(mask_zero=True)``, the ``NotEqual`` and ``Any`` of a
``Masking``), which are not layers of the answer: each with the shape it computes, no
parameters, and the tensors it reads. A call given a mask lists it in "Connected to" after its
inputs, and a call given tensors as keyword arguments lists them by sorted keyword
(``ModelGraph.keras_reads``); such a model is never summarised as a chain.

A tf.keras 2 document gets the plain-text table tf.keras 2 prints (``tf_keras_summary``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from .formats.keras_ops import mask_shape
from .graph import Call, LayerState, ModelGraph, Propagation, TensorRef

LINE_LENGTH = {False: 88, True: 108}
"""Keras' line length, without and with "Connected to"."""
POSITIONS = {False: (0.45, 0.80, 1.0), True: (0.3, 0.56, 0.74, 1.0)}
"""Where each column ends, as a share of the line."""
HEADINGS = ("Layer (type)", "Output Shape", "Param #", "Connected to")
RIGHT = (False, False, True, False)
"""Which columns are right-justified: the parameter counts."""


def readable_bytes(size: float, byte: str = "B") -> str:
    """Keras' ``readable_memory_size``: ``456.00 B``, ``5.64 MB`` (tf.keras 2 says ``Byte``)."""
    try:
        size = float(size)
    except OverflowError:  # an absurd model: more bytes than a double can hold
        return f"{size // 1024 ** 5:,} PB"
    for unit in (byte, "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def render_summary(graph: ModelGraph, prop: Propagation, rows: Sequence[dict[str, Any]],
                   totals: dict[str, int], trainable_bytes: int) -> str:
    """The table of the answer's ``rows`` (in order) and, for a functional model, its inputs
    (and Keras 3's operations of masks); "Connected to" unless the layers form a chain. A
    tf.keras 2 document gets the table tf.keras 2 prints (``tf_keras_summary``). The totals'
    bytes are those of each weight's dtype (``param_bytes``, ``trainable_bytes``)."""
    states = prop.states
    connected = not (graph.sequential or is_chain(graph))
    if graph.format == "keras2":
        return tf_keras_summary(graph, states, rows, totals, connected, trainable_bytes)
    table = CONNECTED if connected else CHAIN
    lines = [f'Model: "{graph.name}"', *table.head]
    spelt: dict[tuple, str] = {}  # models repeat their shapes
    # The rows were made from the states, in their order.
    texts: Iterator[Texts] = (row_texts(row, state, connected, spelt)
                              for row, state in zip(rows, states.values(), strict=True))
    if graph.keras_reads and connected:
        texts = (with_keras_reads(layer_texts, state, graph.keras_reads)
                 for layer_texts, state in zip(texts, states.values(), strict=True))
    operations = mask_operation_texts(graph, prop.tensors, connected)
    table.add(lines, listed(graph, rows, texts, operations=operations))
    lines.append(table.bottom)
    lines += [f" {label} params: {count:,} ({readable_bytes(size)})"
              for label, count, size in totals_lines(totals, trainable_bytes)]
    return "\n".join(lines)


def totals_lines(totals: dict[str, int], trainable_bytes: int) -> list[tuple[str, int, int]]:
    """The summary's last lines: the total, trainable and non-trainable parameters, each with
    their bytes."""
    return [("Total", totals["params"], totals["param_bytes"]),
            ("Trainable", totals["trainable_params"], trainable_bytes),
            ("Non-trainable", totals["non_trainable_params"],
             totals["param_bytes"] - trainable_bytes)]


def is_chain(graph: ModelGraph) -> bool:
    """True for a model Keras summarises as Sequential-like: one input, each layer called
    once, on the one before (the model may give several of their outputs)."""
    if len(graph.inputs) != 1 or graph.keras_reads:  # such a call reads two tensors or more
        return False
    previous, called = graph.inputs[0].name, set()
    for call in graph.calls:
        if len(call.inputs) != 1 or call.inputs[0].layer != previous or call.layer in called:
            return False
        previous = call.layer
        called.add(call.layer)
    return True


# -- the rows ---------------------------------------------------------------------------------
Texts = tuple[str, str, str, str]
"""A row's texts: ``name (Class)``, its output shape, its parameters, what it reads."""


def listed(graph: ModelGraph, rows: Sequence[dict[str, Any]], texts: Iterator[Texts],
           input_texts: Iterable[Texts] | None = None,
           operations: Mapping[str, Texts] | None = None) -> Iterable[Texts]:
    """The layers' ``texts`` (of ``rows``, in order) and, for a functional model, its inputs'
    (``input_texts``, in ``graph.inputs`` order; Keras 3's by default) and ``operations``'
    (by name), in the order the document lists them (Keras' ``model.layers``)."""
    if graph.sequential:
        return texts
    if input_texts is None:
        input_texts = ((f"{i.name} (InputLayer)", shape_text(i.shape), "0", "-")
                       for i in graph.inputs)
    inputs = dict(zip((i.name for i in graph.inputs), input_texts, strict=True))
    if not graph.listing or graph.listing == [*inputs, *(row["name"] for row in rows)]:
        return itertools.chain(inputs.values(), texts)  # inputs first: the usual document
    by_name = {**inputs, **{row["name"]: t for row, t in zip(rows, texts, strict=True)},
               **(operations or {})}
    order = [name for name in graph.listing if name in by_name]
    return [by_name[name] for name in dict.fromkeys([*order, *by_name])]


def row_texts(row: dict[str, Any], state: LayerState, connected: bool,
              spelt: dict[tuple, str]) -> Texts:
    """A layer's texts, with the outputs of its last call (as Keras shows a shared layer's);
    ``spelt``: the shapes spelt so far."""
    shapes, calls = state.output_shapes if row["output_shapes"] else None, state.calls
    if shapes and len(shapes) == 1:  # the usual layer: one call, one output
        shape = spelt.get(shapes[0]) or spelt.setdefault(shapes[0], shape_text(shapes[0]))
    elif not shapes or not calls:
        shape = "?"
    else:
        last = state.call_outputs(len(calls) - 1)
        words = [spelt.get(s) or spelt.setdefault(s, shape_text(s)) for s in map(tuple, last)]
        shape = words[0] if len(words) == 1 else "[" + ", ".join(words) + "]"
    kind = row["type"]
    if ">" in kind or "." in kind:
        kind = printed_class(kind)
    if not connected:
        link = ""
    elif len(calls) == 1 and len(calls[0].inputs) == 1:  # the usual layer
        ref = calls[0].inputs[0]
        link = f"{ref.layer}[{ref.call}][{ref.index}]"
    else:
        link = connections(calls)
    return f"{row['name']} ({kind})", shape, f"{row['params']:,}", link


def with_keras_reads(texts: Texts, state: LayerState,
                     keras_reads: Mapping[tuple[str, int], list[TensorRef]]) -> Texts:
    """A row's texts, its "Connected to" what Keras 3 lists: for each call given masks or
    keyword tensors, every tensor it reads in Keras' order (``ModelGraph.keras_reads``)."""
    reads = [ref for call in state.calls
             for ref in keras_reads.get((call.layer, call.index), call.inputs)]
    return (*texts[:3], tensor_list(reads))


def mask_operation_texts(graph: ModelGraph, tensors: Mapping[TensorRef, Any],
                         connected: bool) -> dict[str, Texts]:
    """The rows of Keras 3's operations of masks, by name: the shape each computes from the
    shapes of the tensors it reads (``?`` where that cannot be known: see ``mask_shape``), no
    parameters, and those tensors."""
    return {op.name: (f"{op.name} ({op.class_name})",
                      shape_text(mask_shape(op.computes, tensors)), "0",
                      tensor_list(op.reads) if connected else "")
            for op in graph.mask_operations}


def tensor_list(refs: Iterable[TensorRef]) -> str:
    """Tensors as "Connected to" lists them, ``layer[call][output]``; ``-`` for none."""
    return ", ".join(f"{ref.layer}[{ref.call}][{ref.index}]" for ref in refs) or "-"


def printed_class(kind: str) -> str:
    """The class as Keras prints it: its name, also for a custom class (``Custom>Scale``,
    ``__main__.Scale``)."""
    return kind.rpartition(">")[2].rpartition(".")[2] if ">" in kind or "." in kind else kind


def shape_text(shape: Sequence[int | None] | None) -> str:
    """Keras' summary spelling: ``(None, 4)``, and ``(None)`` for one axis."""
    return "?" if shape is None else "(" + ", ".join(map(str, shape)) + ")"


def connections(calls: Sequence[Call]) -> str:
    """Each tensor the layer's calls read (``tensor_list``, spelt out: it runs for every layer
    with several inputs)."""
    return ", ".join(f"{ref.layer}[{ref.call}][{ref.index}]"
                     for call in calls for ref in call.inputs) or "-"


# -- the table --------------------------------------------------------------------------------
class Table:
    """The layout of the table, drawn once: its head, its rules, and each cell's room."""

    def __init__(self, connected: bool) -> None:
        self.rooms = column_rooms(POSITIONS[connected], LINE_LENGTH[connected])
        self.room = (*self.rooms, 0)[:4]
        """Each cell's room; "Connected to"'s 0 when the table has no such column."""
        self.blank = self.line([""] * len(self.rooms))[self.rooms[0] + 3:]
        """A line's cells after the first, empty."""
        widths = [room + 2 for room in self.rooms]
        headings = self.line(HEADINGS[:len(widths)]).replace("│", "┃")
        self.head = [border("┏", "┳", "┓", "━", widths), headings,
                     border("┡", "╇", "┩", "━", widths)]
        self.between = border("├", "┼", "┤", "─", widths)
        self.bottom = border("└", "┴", "┘", "─", widths)

    def add(self, lines: list[str], rows: Iterable[Texts]) -> None:
        """Append the rows' lines to ``lines``, a rule between rows: one line where every
        text fits its cell (spelt out here: this runs for every row of every table), else
        ``wrapped``."""
        n, s, p, c = self.room
        first = True
        for name, shape, params, link in rows:
            if not first:
                lines.append(self.between)
            first = False
            if len(link) > c and " " not in link:  # one tensor read, of a long name
                link = link[:c - 1] + "…"
            if len(shape) <= s and len(params) <= p and len(link) <= c:
                if len(name) <= n:
                    lines.append(f"│ {name.ljust(n)} │ {shape.ljust(s)} │ {params.rjust(p)} │"
                                 + (f" {link.ljust(c)} │" if c else ""))
                    continue
                layer, _, kind = name.rpartition(" ")
                if len(kind) <= n and " " not in layer:
                    # the usual wrap: "(Class)" below a long layer name (itself cut if longer
                    # than its cell)
                    layer = layer if len(layer) <= n else layer[:n - 1] + "…"
                    lines.append(f"│ {layer.ljust(n)} │ {shape.ljust(s)} │ {params.rjust(p)} │"
                                 + (f" {link.ljust(c)} │" if c else ""))
                    lines.append(f"│ {kind.ljust(n)} {self.blank}")
                    continue
            lines += self.wrapped((name, shape, params, link))

    def wrapped(self, texts: Texts) -> list[str]:
        """A row's lines where a text does not fit its cell: as many as its most wrapped cell
        takes."""
        n, s, p, c = self.room
        name, shape, params, link = texts
        names, shapes, counts = wrap(name, n), wrap(shape, s), wrap(params, p)
        links = wrap(link, c) if c else [""]
        lines = []
        for k in range(max(len(names), len(shapes), len(counts), len(links))):
            line = (f"│ {(names[k] if k < len(names) else '').ljust(n)} │ "
                    f"{(shapes[k] if k < len(shapes) else '').ljust(s)} │ "
                    f"{(counts[k] if k < len(counts) else '').rjust(p)} │")
            lines.append(f"{line} {(links[k] if k < len(links) else '').ljust(c)} │"
                         if c else line)
        return lines

    def line(self, texts: Sequence[str]) -> str:
        cells = [text.rjust(room) if right else text.ljust(room)
                 for text, room, right in zip(texts, self.rooms, RIGHT, strict=False)]
        return "│ " + " │ ".join(cells) + " │"


def column_rooms(positions: Sequence[float], line_length: int) -> list[int]:
    """The text width of each column: Keras' share of the line, then rich's evenly trimmed
    columns (``ratio_reduce``), each with a space either side, inside the borders."""
    widths, current = [], 0
    for position in positions:
        widths.append(int(position * line_length) - current)
        current += widths[-1]
    padded = [width + 2 for width in widths]
    excess = sum(padded) - (line_length - len(padded) - 1)
    remaining, shares = excess, len(padded)
    for i, width in enumerate(padded if excess > 0 else ()):
        taken = min(width, round(remaining / shares))
        padded[i] -= taken
        remaining, shares = remaining - taken, shares - 1
    return [width - 2 for width in padded]


def wrap(text: str, room: int) -> list[str]:
    """rich's wrapping of a cell: greedy at spaces; a word longer than the room gets a line of
    its own, cut with an ellipsis."""
    if len(text) <= room:
        return [text]
    first, space, rest = text.partition(" ")
    if not space:
        return [text[:room - 1] + "…"]
    if " " not in rest and len(first) <= room and len(rest) <= room:
        return [first, rest]  # the usual: "a_long_layer_name (Conv2D)"
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) <= room:
            line += " " + word
            continue
        if line:
            lines.append(line)
        line = word
    lines.append(line)
    return [line if len(line) <= room else line[:room - 1] + "…" for line in lines]


def border(left: str, mid: str, right: str, fill: str, widths: Sequence[int]) -> str:
    return left + mid.join(fill * w for w in widths) + right


CHAIN, CONNECTED = Table(connected=False), Table(connected=True)


# -- tf.keras 2 -------------------------------------------------------------------------------
TF_KERAS_STOPS = {False: (29, 55, 65), True: (29, 58, 68, 98)}
"""Where each column ends: tf.keras 2's shares (0.45, 0.85, 1.0) of 65 and (0.3, 0.6, 0.7, 1.0)
of 98 columns."""
TF_KERAS_BREAKS = ("),", "},", "],", "',")
"""tf.keras 2 ends a cell's line after the first of these that fits (a shape, a connection)."""


def tf_keras_summary(graph: ModelGraph, states: dict[str, LayerState],
                     rows: Sequence[dict[str, Any]], totals: dict[str, int],
                     connected: bool, trainable_bytes: int) -> str:
    """``model.summary()`` as tf.keras 2 prints it: plain text, cells cut at fixed stops, a
    blank line after each row, the Python spelling of shapes and connections."""
    stops = TF_KERAS_STOPS[connected]
    width = stops[-1]
    lines = [f'Model: "{graph.name}"', "_" * width,
             *tf_keras_row(HEADINGS[:len(stops)], stops), "=" * width]
    fields = (tf_keras_fields(row, states[row["name"]], connected, graph.keras_reads)
              for row in rows)
    inputs = (tf_keras_input(i.name, i.shape) for i in graph.inputs)
    for texts in listed(graph, rows, fields, inputs):
        lines += tf_keras_row(texts, stops)
        lines.append(" " * width)
    lines.append("=" * width)
    lines += [f"{label} params: {count} ({readable_bytes(size, 'Byte')})"
              for label, count, size in totals_lines(totals, trainable_bytes)]
    lines.append("_" * width)
    return "\n".join(lines)


def tf_keras_fields(row: dict[str, Any], state: LayerState, connected: bool,
                    keras_reads: Mapping[tuple[str, int], list[TensorRef]]) -> Texts:
    """A layer's cells: its ``output_shape`` (the same on every call, else "multiple"), its
    parameters unspaced, the list of what its calls read (``keras_reads``' order where a
    call has keyword tensors, a mask too)."""
    calls = state.calls
    per_call = [state.call_outputs(k) for k in range(len(calls))] if row["output_shapes"] \
        else []
    if not per_call:
        shape = "?"
    elif any(outputs != per_call[0] for outputs in per_call):
        shape = "multiple"
    else:
        outputs = [tuple(s) for s in per_call[0]]
        shape = str(outputs[0] if len(outputs) == 1 else
                    tuple(outputs) if state.layer.returns_tuple else outputs)
    links = [f"{ref.layer}[{ref.call}][{ref.index}]" for call in calls
             for ref in keras_reads.get((call.layer, call.index), call.inputs)]
    return (f"{row['name']} ({printed_class(row['type'])})", shape, str(row["params"]),
            str(links) if connected else "")


def tf_keras_input(name: str, shape: Sequence[int | None] | None) -> Texts:
    return f"{name} (InputLayer)", str([tuple(shape or ())]), "0", "[]"


def tf_keras_row(fields: Sequence[str], stops: Sequence[int]) -> list[str]:
    """tf.keras 2's ``print_row``: each cell cut to its room less two spaces (one more, but in
    the last column), at the first shape or list item that ends within it; what is left
    continues on the next line."""
    left = list(fields[:len(stops)])
    lines = []
    while any(left):
        line = ""
        for col, text in enumerate(left):
            last = col == len(stops) - 1
            space = 0 if last else 2
            cutoff = stops[col] - (stops[col - 1] if col else 0) - space - (0 if last else 1)
            fit = text[:cutoff]
            ends = [fit.find(end) + len(end) for end in TF_KERAS_BREAKS if end in fit]
            if ends:
                cutoff = min(ends)
                fit = fit[:cutoff]
            line += (" " if col == 0 else "") + fit + " " * space
            left[col] = text[cutoff:]
            line += " " * (stops[col] - len(line))
        lines.append(line)
    return lines
