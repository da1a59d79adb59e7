"""The Keras-style summary table: its layout, cut cells, and rows of several lines."""

from __future__ import annotations

from typing import Any

from shapecheck import check
from shapecheck.summary import render_summary

TOTALS = {"params": 0, "trainable_params": 0, "non_trainable_params": 0}


def row(name: str, kind: str, shapes: list | None, params: int = 0,
        inputs: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "type": kind, "output_shapes": shapes, "params": params,
            "inputs": inputs or []}


def test_a_sequential_table_as_keras_draws_it() -> None:
    long_name = "a_very_long_layer_name_that_will_not_fit"
    result = check({"model": {"name": "tiny", "inputs": [8], "layers": [
        {"type": "Dense", "units": 4}, {"type": "Dense", "units": 1_000_000, "name": long_name}]}})
    assert result["summary"].splitlines() == [
        'Model: "tiny"',
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓",
        "┃ Layer (type)                    ┃ Output Shape             ┃       Param # ┃",
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩",
        "│ dense (Dense)                   │ (None, 4)                │            36 │",
        "├─────────────────────────────────┼──────────────────────────┼───────────────┤",
        "│ a_very_long_layer_name_that_wi… │ (None, 1000000)          │     5,000,000 │",
        "└─────────────────────────────────┴──────────────────────────┴───────────────┘",
        " Total params: 5,000,036 (19.07 MB)",
        " Trainable params: 5,000,036 (19.07 MB)",
        " Non-trainable params: 0 (0.00 B)",
    ]


def test_a_functional_row_lists_each_layer_it_reads_on_its_own_line() -> None:
    result = check({"model": {"name": "branches", "inputs": {"x": [16]}, "layers": [
        {"type": "Dense", "units": 8, "name": "a", "inputs": ["x"]},
        {"type": "Dense", "units": 8, "name": "b", "inputs": ["x"]},
        {"type": "Add", "name": "sum", "inputs": ["a", "b"]}], "outputs": ["sum"]}})
    lines = result["summary"].splitlines()
    assert lines[2] == ("┃ Layer (type)                    ┃ Output Shape             ┃       "
                        "Param # ┃ Connected to                 ┃")
    first = lines.index("│ sum (Add)                       │ (None, 8)                │"
                        "             0 │ a                            │")
    assert lines[first + 1] == ("│                                 │                          │"
                                "               │ b                            │")
    assert lines[first + 2].startswith("└")


def test_several_output_shapes_take_a_line_each_and_unknown_ones_a_question_mark() -> None:
    rows = [row("lstm", "LSTM", [[None, 4], [None, 4], [None, 4]], 144),
            row("broken", "Add", None),
            row("nothing", "Custom", [])]
    lines = render_summary("m", rows, TOTALS, functional=False).splitlines()
    body = [line for line in lines if line.startswith("│")]
    assert [line.split("│")[2].strip() for line in body] == [
        "(None, 4)", "(None, 4)", "(None, 4)", "?", "?"]
    assert body[0].split("│")[3].strip() == "144" and body[1].split("│")[3].strip() == ""


def test_every_cell_is_cut_to_its_room_with_an_ellipsis() -> None:
    rows = [row("n" * 40, "Dense", [[None, *([1000] * 8)]], 10**20, ["i" * 40])]
    line = next(x for x in render_summary("m", rows, TOTALS, functional=True).splitlines()
                if x.startswith("│"))
    cells = line.split("│")[1:-1]
    assert [len(cell) for cell in cells] == [33, 26, 15, 30]
    assert all(cell.strip().endswith("…") for cell in cells)


def test_a_model_without_rows_still_closes_its_table() -> None:
    lines = render_summary("empty", [], TOTALS, functional=True).splitlines()
    assert lines[3].startswith("┡") and lines[4].startswith("└")
