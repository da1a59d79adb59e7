"""Every layer case recorded from real Keras 3: same shapes, same parameter counts, the same
refused layer, and (where recorded) the same numbers out of the forward pass."""

from __future__ import annotations

import numpy as np
import pytest
from keras_fixtures import array, cases

from shapecheck import check
from shapecheck.engine import analyse
from shapecheck.forward import run_forward
from shapecheck.graph import TensorRef

LAYER_CASES = cases()


@pytest.mark.parametrize("case", LAYER_CASES)
def test_shapes_and_params_match_keras(case: dict) -> None:
    result = check({"model": case["native"]})
    if "error" in case:
        errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
        assert not result["ok"], f"Keras refuses this model: {case['error']['message']}"
        assert errors[0]["layer"] == case["error"]["layer"], errors
        return
    assert result["ok"], result["diagnostics"]
    ours = {row["name"]: row for row in result["layers"]}
    for expected in case["layers"]:
        row = ours[expected["name"]]
        assert row["output_shapes"] == expected["output_shapes"], expected["name"]
        assert row["params"] == expected["params"], expected["name"]
        assert row["trainable_params"] == expected["trainable_params"], expected["name"]
        assert row["non_trainable_params"] == expected["non_trainable_params"]
    assert result["totals"]["params"] == case["totals"]["params"]


FORWARD_CASES = [c for c in LAYER_CASES if "forward" in c.values[0]]


@pytest.mark.parametrize("case", FORWARD_CASES)
def test_forward_matches_keras_predict(case: dict) -> None:
    recorded = case["forward"]
    analysis = analyse(case["native"], {})
    weights = {name: [array(w) for w in ws] for name, ws in recorded["weights"].items()}
    inputs = {name: array(x) for name, x in recorded["x"].items()}
    values = run_forward(analysis.graph, analysis.propagation, inputs, weights)
    for ref, expected in zip(analysis.graph.outputs, recorded["outputs"], strict=True):
        want = array(expected)
        got = values[TensorRef(ref.layer, ref.call, ref.index)]
        scale = max(float(np.max(np.abs(want))), 1e-6)
        assert got.shape == want.shape
        assert float(np.max(np.abs(got - want))) <= 1e-4 * scale, ref.layer
