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
        lines += table.row_lines(row, shape_texts)
    lines.append(table.bottom)
    for label, key in (("Total", "params"), ("Trainable", "trainable_params"),
                       ("Non-trainable", "non_trainable_params")):
        count = totals[key]
        lines.append(f" {label} params: {count:,} ({readable_bytes(count * 4)})")
    return "\n".join(lines)


class Table:
    """The layout of the table, drawn once: its head, its rules, and each cell's room."""

    def __init__(self, functional: bool) -> None:
        self.functional = functional
        widths = [*WIDTHS, CONNECTED_WIDTH] if functional else list(WIDTHS)
        self.rooms = tuple(width - 2 for width in (*WIDTHS, CONNECTED_WIDTH))
        """Each cell's room; the last is unused in a Sequential's table."""
        headings = self.line(*COLUMNS, "Connected to").replace("│", "┃")
        self.head = [border("┏", "┳", "┓", "━", widths), headings,
                     border("┡", "╇", "┩", "━", widths)]
        self.between = border("├", "┼", "┤", "─", widths)
        self.bottom = border("└", "┴", "┘", "─", widths)

    def row_lines(self, row: dict[str, Any], shape_texts: dict[tuple, str]) -> list[str]:
        """A row's line, or lines when it has several output shapes or reads several layers
        (one per line). ``shape_texts``: the shapes of the rows before, spelt."""
        shapes, inputs = row["output_shapes"], row["inputs"] or ["-"]
        if shapes is not None and len(shapes) == 1:
            shape = tuple(shapes[0])
            spelt = [shape_texts.get(shape) or shape_texts.setdefault(shape, format_shape(shape))]
        else:
            spelt = [format_shape(s) for s in shapes or ()] or ["?"]
        lines = [self.line(f"{row['name']} ({row['type']})", spelt[0], f"{row['params']:,}",
                           inputs[0])]
        for k in range(1, max(len(spelt), len(inputs) if self.functional else 1)):
            lines.append(self.line("", spelt[k] if k < len(spelt) else "", "",
                                   inputs[k] if k < len(inputs) else ""))
        return lines

    def line(self, name: str, shape: str, params: str, connected: str) -> str:
        """One line of the table, each text cut with an ellipsis when longer than its cell
        (spelt out rather than in a helper: this runs for every line of every table)."""
        n, s, p, c = self.rooms
        name = name if len(name) <= n else name[:n - 1] + "…"
        shape = shape if len(shape) <= s else shape[:s - 1] + "…"
        params = params if len(params) <= p else params[:p - 1] + "…"
        if not self.functional:
            return f"│ {name.ljust(n)} │ {shape.ljust(s)} │ {params.rjust(p)} │"
        connected = connected if len(connected) <= c else connected[:c - 1] + "…"
        return (f"│ {name.ljust(n)} │ {shape.ljust(s)} │ {params.rjust(p)} │ "
                f"{connected.ljust(c)} │")


def border(left: str, mid: str, right: str, fill: str, widths: Sequence[int]) -> str:
    return left + mid.join(fill * w for w in widths) + right


SEQUENTIAL, FUNCTIONAL = Table(functional=False), Table(functional=True)
