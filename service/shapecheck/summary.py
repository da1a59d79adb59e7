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
    """The layout of the table, drawn once: its head, its rules, and each cell's room."""

    def __init__(self, functional: bool) -> None:
        self.functional = functional
        widths = [*WIDTHS, CONNECTED_WIDTH] if functional else list(WIDTHS)
        self.cells = [(width - 2, i == 2) for i, width in enumerate(widths)]
        """Each cell's room and whether it is aligned right (the numbers)."""
        headers = [*COLUMNS, "Connected to"] if functional else list(COLUMNS)
        self.head = [border("┏", "┳", "┓", "━", widths), self.line(headers, edge="┃"),
                     border("┡", "╇", "┩", "━", widths)]
        self.between = border("├", "┼", "┤", "─", widths)
        self.bottom = border("└", "┴", "┘", "─", widths)

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

    def line(self, texts: list[str], edge: str = "│") -> str:
        """One line of the table, each text cut with an ellipsis when longer than its cell."""
        parts = []
        for text, (room, right) in zip(texts, self.cells, strict=True):
            if len(text) > room:
                text = text[:room - 1] + "…"
            parts.append(text.rjust(room) if right else text.ljust(room))
        return f"{edge} " + f" {edge} ".join(parts) + f" {edge}"


def border(left: str, mid: str, right: str, fill: str, widths: Sequence[int]) -> str:
    return left + mid.join(fill * w for w in widths) + right


SEQUENTIAL, FUNCTIONAL = Table(functional=False), Table(functional=True)
