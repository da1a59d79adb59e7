"""A Keras-3-style ``model.summary()`` table, as text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .shapes import format_shape

COLUMNS = ("Layer (type)", "Output Shape", "Param #")
WIDTHS = (33, 26, 15)
CONNECTED_WIDTH = 30


def readable_bytes(size: float) -> str:
    """Keras' ``readable_memory_size``: ``456.00 B``, ``5.64 MB``."""
    try:
        size = float(size)
    except OverflowError:  # an absurd model: more bytes than a double can hold
        return f"{size // 1024 ** 5:,} PB"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def render_summary(name: str, rows: Sequence[dict[str, Any]], totals: dict[str, int],
                   functional: bool) -> str:
    """rows: ``name``, ``type``, ``output_shapes`` (list or None), ``params``, ``inputs``."""
    table = FUNCTIONAL if functional else SEQUENTIAL
    lines = [f'Model: "{name}"', *table.head]
    shape_texts: dict[tuple, str] = {}  # models repeat their shapes (of ints and None)
    for i, row in enumerate(rows):
        if i:
            lines.append(table.between)
        lines.append(table.row_text(row, shape_texts))
    lines.append(table.bottom)
    for label, key in (("Total", "params"), ("Trainable", "trainable_params"),
                       ("Non-trainable", "non_trainable_params")):
        count = totals[key]
        lines.append(f" {label} params: {count:,} ({readable_bytes(count * 4)})")
    return "\n".join(lines)


class Table:
    """The layout of the table, drawn once: its head, rules and row template. Most rows fit
    one line, which one format string writes."""

    def __init__(self, functional: bool) -> None:
        self.functional = functional
        self.widths = [*WIDTHS, CONNECTED_WIDTH] if functional else list(WIDTHS)
        headers = [*COLUMNS, "Connected to"] if functional else list(COLUMNS)
        self.head = [border("┏", "┳", "┓", "━", self.widths), line("┃", headers, self.widths),
                     border("┡", "╇", "┩", "━", self.widths)]
        self.between = border("├", "┼", "┤", "─", self.widths)
        self.bottom = border("└", "┴", "┘", "─", self.widths)
        self.rooms = [width - 2 for width in self.widths]
        aligns = "<<><"[:len(self.widths)]  # numbers to the right
        self.template = "│ " + " │ ".join(f"{{:{align}{room}}}" for align, room in
                                          zip(aligns, self.rooms, strict=True)) + " │"

    def row_text(self, row: dict[str, Any], shape_texts: dict[tuple, str]) -> str:
        """A row's line (or lines); ``shape_texts``: the shapes of the rows before, spelt."""
        shapes, inputs = row["output_shapes"], row["inputs"]
        name, params = f"{row['name']} ({row['type']})", f"{row['params']:,}"
        if shapes is not None and len(shapes) == 1 and len(inputs) <= 1:  # one line
            shape = tuple(shapes[0])
            text = shape_texts.get(shape) or shape_texts.setdefault(shape, format_shape(shape))
            if self.functional:
                return self.line([name, text, params, inputs[0] if inputs else "-"])
            return self.line([name, text, params])
        spelt = ["?"] if shapes is None else [format_shape(s) for s in shapes] or ["?"]
        cells = [[name], spelt, [params]]
        if self.functional:
            cells.append(inputs or ["-"])
        height = max(len(c) for c in cells)
        return "\n".join(self.line([c[k] if k < len(c) else "" for c in cells])
                         for k in range(height))

    def line(self, texts: list[str]) -> str:
        """One line of the table, each text cut with an ellipsis when longer than its cell."""
        return self.template.format(*[text if len(text) <= room else text[:room - 1] + "…"
                                      for text, room in zip(texts, self.rooms, strict=True)])


def fit(text: str, room: int) -> str:
    """``text``, cut with an ellipsis when longer than ``room``."""
    return text if len(text) <= room else text[: room - 1] + "…"


def border(left: str, mid: str, right: str, fill: str, widths: Sequence[int]) -> str:
    return left + mid.join(fill * w for w in widths) + right


def line(edge: str, cells: Sequence[str], widths: Sequence[int]) -> str:
    parts = []
    for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        room = width - 2
        text = fit(cell, room)
        parts.append(text.rjust(room) if i == 2 else text.ljust(room))  # numbers to the right
    return f"{edge} " + f" {edge} ".join(parts) + f" {edge}"


SEQUENTIAL, FUNCTIONAL = Table(functional=False), Table(functional=True)
