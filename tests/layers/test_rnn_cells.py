"""The generic RNN layer and its cells: what the Keras fixtures do not show (422 paths, the
refusal of a cell used alone, explanations, MACs and initial states of stacked cells)."""

from __future__ import annotations

import pytest
from layer_checks import error_of, only_row, run
from shapecheck import check
from shapecheck.errors import RequestInvalid


def rnn(cell: object, **kw: object) -> dict:
    return {"type": "RNN", "cell": cell, **kw}


LSTM_GRU = [{"type": "LSTMCell", "units": 3}, {"type": "GRUCell", "units": 2}]


@pytest.mark.parametrize(("spec", "path"), [
    ({"type": "RNN"}, "model.layers.0.cell"),
    (rnn("LSTMCell"), "model.layers.0.cell"),
    (rnn([]), "model.layers.0.cell"),
    (rnn({"type": "LSTMCell"}), "model.layers.0.cell.units"),
    (rnn({"type": "Dense", "units": 2}), "model.layers.0.cell"),
    (rnn({"type": "LSTM", "units": 2}), "model.layers.0.cell"),
    (rnn([{"type": "GRUCell", "units": 2}, {"type": "GRUCell", "units": 0}]),
     "model.layers.0.cell.1.units"),
    (rnn({"type": "StackedRNNCells", "cells": [{"type": "Nope"}]}),
     "model.layers.0.cell.cells.0"),
    (rnn({"type": "GRUCell", "units": 2}, go_backwards="sometimes"), "model.layers.0.go_backwards"),
])
def test_bad_arguments_are_refused(spec: dict, path: str) -> None:
    with pytest.raises(RequestInvalid) as exc:
        check({"model": {"inputs": [5, 4], "layers": [spec]}})
    assert path in exc.value.errors


def test_keras_json_cells_are_read() -> None:
    cell = {"class_name": "StackedRNNCells", "config": {"cells": [
        {"class_name": "LSTMCell", "config": {"units": 3, "name": "a"}},
        {"class_name": "GRUCell", "config": {"units": 2, "reset_after": False}}]}}
    assert only_row(run([5, 4], rnn(cell)))["params"] == 4 * (4 + 3 + 1) * 3 + 3 * (3 + 2 + 1) * 2


def test_a_cell_alone_is_refused_with_a_hint() -> None:
    error = error_of(run([5, 4], {"type": "GRUCell", "units": 3}))
    assert error["layer"] == "gru_cell"
    assert "one time step" in error["message"]
    assert '"type": "RNN"' in error["hint"]


def test_stacked_states_follow_each_cell() -> None:
    row = only_row(run([5, 4], rnn(LSTM_GRU, return_state=True)))
    assert row["output_shapes"] == [[None, 2], [None, 3], [None, 3], [None, 2]]
    assert row["explain"].startswith(
        "runs LSTMCell(3) → GRUCell(2) at each of the 5 time steps and returns the last output "
        "of 2 units (None, 2), then the final states h1 (None, 3) and c1 (None, 3) and h2 "
        "(None, 2)")
    assert row["explain"].endswith("= 138")


def test_macs_count_each_cell_on_its_input() -> None:
    # 5 steps · ((4 + 3)·4·3 for the LSTM cell + (3 + 2)·3·2 for the GRU cell)
    assert only_row(run([5, 4], rnn(LSTM_GRU)))["macs"] == 5 * (84 + 30)


def test_initial_states_are_every_cells() -> None:
    error = error_of(run({"x": [5, 4], "h": [3]}, rnn(LSTM_GRU, inputs=["x", "h"])))
    assert "3 initial state(s) (h1, c1, h2)" in error["message"]
    assert "(None, 3), (None, 3), (None, 2)" in error["hint"]
    ok = run({"x": [5, 4], "h": [3], "c": [3], "g": [2]},
             rnn(LSTM_GRU, inputs=["x", "h", "c", "g"]))
    assert ok["ok"], ok["diagnostics"]


def test_stateful_needs_a_batch_size() -> None:
    error = error_of(run([5, 4], rnn(LSTM_GRU, stateful=True)))
    assert error["message"].startswith("RNN with stateful=True")
