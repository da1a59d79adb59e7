"""The summary table as Keras 3 prints it in a terminal of 112 columns or more: its layout,
wrapped and cut cells, the InputLayer rows of functional models and their "Connected to".
test_keras_import compares it line for line with the tables real Keras printed for the
whole-model fixtures."""

from __future__ import annotations

from shapecheck import check
from shapecheck.summary import CHAIN, CONNECTED, column_rooms, wrap

TOTALS = {"params": 0, "trainable_params": 0, "non_trainable_params": 0}


def test_a_sequential_table_as_keras_prints_it() -> None:
    """Keras 3.15's output for this model, long name and all."""
    long_name = "a_very_long_layer_name_that_will_not_fit"
    result = check({"model": {"name": "tiny", "inputs": [8], "layers": [
        {"type": "Dense", "units": 4}, {"type": "Dense", "units": 1_000_000, "name": long_name}]}})
    assert result["summary"].splitlines() == [
        'Model: "tiny"',
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓",
        "┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃",
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩",
        "│ dense (Dense)                        │ (None, 4)                   │              36 │",
        "├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤",
        "│ a_very_long_layer_name_that_will_no… │ (None, 1000000)             │       5,000,000 │",
        "│ (Dense)                              │                             │                 │",
        "└──────────────────────────────────────┴─────────────────────────────┴─────────────────┘",
        " Total params: 5,000,036 (19.07 MB)",
        " Trainable params: 5,000,036 (19.07 MB)",
        " Non-trainable params: 0 (0.00 B)",
    ]


def test_a_functional_model_lists_its_inputs_and_what_each_layer_reads() -> None:
    """Keras 3.15's output for this model."""
    result = check({"model": {"name": "branches", "inputs": {"x": [16]}, "layers": [
        {"type": "Dense", "units": 8, "name": "a", "inputs": ["x"]},
        {"type": "Dense", "units": 8, "name": "b", "inputs": ["x"]},
        {"type": "Add", "name": "s", "inputs": ["a", "b"]}], "outputs": ["s"]}})
    rule = ("├───────────────────────────────┼───────────────────────────┼─────────────────┼"
            "────────────────────────────┤")
    assert result["summary"].splitlines()[1:12] == [
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳"
        "━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓",
        "┃ Layer (type)                  ┃ Output Shape              ┃         Param # ┃ "
        "Connected to               ┃",
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇"
        "━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩",
        "│ x (InputLayer)                │ (None, 16)                │               0 │ "
        "-                          │",
        rule,
        "│ a (Dense)                     │ (None, 8)                 │             136 │ "
        "x[0][0]                    │",
        rule,
        "│ b (Dense)                     │ (None, 8)                 │             136 │ "
        "x[0][0]                    │",
        rule,
        "│ s (Add)                       │ (None, 8)                 │               0 │ "
        "a[0][0], b[0][0]           │",
        "└───────────────────────────────┴───────────────────────────┴─────────────────┴"
        "────────────────────────────┘",
    ]


def test_a_functional_chain_has_three_columns_and_its_input_row() -> None:
    result = check({"model": {"name": "chain", "inputs": {"x": [4]}, "layers": [
        {"type": "Dense", "units": 3, "name": "d", "inputs": ["x"]}]}})
    lines = result["summary"].splitlines()
    assert lines[2] == ("┃ Layer (type)                         ┃ Output Shape                ┃"
                        "         Param # ┃")
    assert lines[4].startswith("│ x (InputLayer)  ") and lines[6].startswith("│ d (Dense)  ")


def test_several_outputs_are_listed_and_unknown_ones_are_a_question_mark() -> None:
    rows = [("lstm (LSTM)", "[(None, 4), (None, 4), (None, 4)]", "144", ""),
            ("broken (Add)", "?", "0", "")]
    body: list[str] = []
    CHAIN.add(body, rows)
    assert [line.split("│")[2].rstrip() for line in body if line.startswith("│")] == [
        " [(None, 4), (None, 4),", " (None, 4)]", " ?"]


def test_cells_wrap_at_spaces_and_cut_a_word_longer_than_the_cell() -> None:
    assert wrap("a[0][0], b[0][0], c[0][0]", 17) == ["a[0][0], b[0][0],", "c[0][0]"]
    assert wrap("n" * 40 + " (Dense)", 31) == ["n" * 30 + "…", "(Dense)"]
    assert wrap("1" * 20, 13) == ["1" * 12 + "…"]
    assert wrap("short", 13) == ["short"]


def test_columns_are_keras_shares_of_its_line_trimmed_evenly_by_rich() -> None:
    """(39, 31, 18) of 88 and (32, 28, 19, 29) of 108, each with a space either side: rich
    takes the excess over the line from each column in turn, rounding half to even."""
    assert column_rooms((0.45, 0.80, 1.0), 88) == [36, 27, 15]
    assert column_rooms((0.3, 0.56, 0.74, 1.0), 108) == [29, 25, 15, 26]
    assert column_rooms((0.45, 0.80, 1.0), 76) == [31, 22, 13]  # Keras in 80 columns


def test_rows_are_ruled_apart_and_long_texts_take_several_lines() -> None:
    body: list[str] = []
    CONNECTED.add(body, [("a (Dense)", "(None, 4)", "20", "x[0][0]"),
                         ("b" * 35 + " (Dense)", "(None, 4)", "1" * 17, "a[0][0], x[0][0]")])
    assert body[1] == CONNECTED.between
    assert [line.split("│")[1].strip() for line in body[2:]] == ["b" * 28 + "…", "(Dense)"]
    assert body[2].split("│")[3].strip() == "1" * 14 + "…"


def test_a_one_layer_table_closes_after_its_row() -> None:
    result = check({"model": {"inputs": [3], "layers": [{"type": "Dense", "units": 1}]}})
    lines = result["summary"].splitlines()
    assert lines[3].startswith("┡") and lines[-4].startswith("└")


def test_a_native_chain_lists_its_input_only_when_it_names_it() -> None:
    """A list of sizes is a Sequential's unnamed input; a named input is a functional
    model's, with its InputLayer row."""
    layers = [{"type": "Dense", "units": 3}]
    unnamed = check({"model": {"inputs": [4], "layers": layers}})["summary"]
    named = check({"model": {"inputs": {"features": [4]}, "layers": layers}})["summary"]
    assert "(InputLayer)" not in unnamed and unnamed.startswith('Model: "sequential"')
    assert "│ features (InputLayer) " in named and named.startswith('Model: "functional"')
