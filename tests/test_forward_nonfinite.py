"""NaN and infinities in a forward pass: where they start, and why (``nonfinite``).

Keras' predict gives them too (recorded: ``dtypes:mixed_dense_overflows_*``, a mixed-precision
Dense past float16's 65,504); the answer's ``nonfinite_values`` warning names the layer where
they start, with the cause, found by a second pass that runs only when an output has any."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest
from keras_fixtures import recorded
from shapecheck import check, forward


def encoded(values: Any) -> dict[str, Any]:
    array = np.asarray(values, dtype=np.float32)
    return {"dtype": "float32", "shape": list(array.shape),
            "base64": base64.b64encode(array.tobytes()).decode()}


def nonfinite_notes(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in result["diagnostics"] if d["code"] == "nonfinite_values"]


@pytest.mark.parametrize("flavour", ["keras3", "tfkeras2"])
@pytest.mark.parametrize("case_id, words", [
    ("dtypes:mixed_dense_overflows_its_outputs", "infinite"),
    ("dtypes:mixed_dense_overflows_its_inputs", "NaN"),
])
def test_a_float16_overflow_starts_at_the_mixed_precision_layer(
        flavour: str, case_id: str, words: str) -> None:
    """As recorded from Keras: the float32 Dense after it only carries the values."""
    case = recorded(flavour, case_id)
    x = case["forward"]["x"]
    result = check({"model": case["keras_json"], "forward": {
        "x": next(iter(x.values())), "weights": case["forward"]["weights"]}})
    [note] = nonfinite_notes(result)
    mixed = case["keras_json"]["config"]["layers"][2]["config"]["name"]
    assert (note["severity"], note["layer"]) == ("warning", mixed)
    assert "float16" in note["message"] and "65,504" in note["message"]
    assert words in note["message"]
    assert "dtype='float32'" in note["hint"]
    assert result["ok"] and result["forward"]["outputs"][0]["stats"]["nonfinite"] == 4


def test_a_float32_overflow_names_the_layer_and_its_inputs() -> None:
    result = check({"model": {"inputs": [4], "layers": [
        {"type": "Dense", "units": 3, "name": "big"}, {"type": "Dense", "units": 2}]},
        "forward": {"x": [[1e20, 1e20, 1e20, 1e20]],
                    "weights": {"big": [encoded(np.full((4, 3), 1e20)), encoded(np.zeros(3))]}}})
    [note] = nonfinite_notes(result)
    assert note["layer"] == "big"
    assert "the largest of magnitude 1e+20" in note["message"]
    assert "3 infinite and 0 NaN values" in note["message"]
    assert "overflow float32" in note["message"]


def test_a_negative_moving_variance_is_the_batch_norms_not_the_dense_before_it() -> None:
    """The pass folds the batch norm into the Dense; the second pass runs them as declared."""
    result = check({"model": {"inputs": [4], "layers": [
        {"type": "Dense", "units": 3, "name": "d"}, {"type": "BatchNormalization", "name": "bn"},
        {"type": "Dense", "units": 2, "name": "out"}]},
        "forward": {"weights": {"bn": [encoded(np.ones(3)), encoded(np.zeros(3)),
                                       encoded(np.zeros(3)), encoded([1.0, -2.0, 1.0])]}}})
    [note] = nonfinite_notes(result)
    assert note["layer"] == "bn"
    assert "negative for 1 channel(s)" in note["message"]
    assert "moving_variance" in note["hint"]


def test_a_finite_pass_runs_once_and_says_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    passes = []
    run_graph = forward.run_graph
    monkeypatch.setattr(forward, "run_graph",
                        lambda *args, **kwargs: passes.append(1) or run_graph(*args, **kwargs))
    result = check({"model": {"inputs": [4], "layers": [{"type": "Dense", "units": 3}]},
                    "forward": {"batch_size": 2}})
    assert nonfinite_notes(result) == [] and len(passes) == 1
    check({"model": {"inputs": [4], "layers": [{"type": "Dense", "units": 3, "name": "big"}]},
           "forward": {"x": [[1e30] * 4], "weights": {"big": [encoded(np.full((4, 3), 1e30)),
                                                              encoded(np.zeros(3))]}}})
    assert len(passes) == 3  # the second check's pass, then the one that locates
