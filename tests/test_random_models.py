"""Random models recorded from real Keras 3 (tools/keras_fixtures/random_models.py, one seed):
Sequential chains and small functional graphs of common layers with random arguments, some of
which Keras refuses. Each is replayed from its native document and, where Keras built it, from
its ``model.to_json()``: the same per-layer shapes and parameters and the same totals, or the
refusal at the same layer (an error diagnostic there, or a 422 for that layer's arguments), and,
where recorded, the same numbers as Keras ``predict``.

``SHAPECHECK_RANDOM_MODELS=<file>`` replays another sweep of the generator (another ``--seed``,
written with ``--out``) instead of the committed one, to look for new divergences."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from keras_fixtures import FIXTURES, array, assert_rows_equal, check_as_read_back
from shapecheck import check
from shapecheck.analysis import analyse
from shapecheck.errors import RequestInvalid
from shapecheck.formats.naming import AutoNamer
from shapecheck.forward import run_forward
from shapecheck.graph import TensorRef

COMMITTED = FIXTURES / "keras3" / "random" / "random_models.json"
RECORDS = json.loads(Path(os.environ.get("SHAPECHECK_RANDOM_MODELS", COMMITTED)).read_text())
CASES = [pytest.param(c, id=c["id"]) for c in RECORDS["cases"]]
BUILT = [c for c in CASES if "error" not in c.values[0]]
REFUSED = [c for c in CASES if "error" in c.values[0]]
FORWARD = [c for c in CASES if "forward" in c.values[0]]

# Where the engine deliberately refuses what Keras builds: (seed, case id) -> the layer the
# engine refuses (an error diagnostic there or a 422 for its arguments) instead of Keras' answer.
DIVERGENCES = {
    # Softmax(axis=9) on a rank-3 input: Keras builds it (its output shape is the input's) and
    # only predict fails; the engine refuses the axis the input does not have. (Keras refuses
    # the model later, at a GroupNormalization of more groups than channels.)
    (20261122, "functional_208"): "softmax",
}


def test_the_models_spread_over_layers_graphs_and_refusals() -> None:
    types = {e["type"] for c in CASES for e in c.values[0]["native"]["layers"]}
    assert {"Conv1D", "Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D",
            "LSTM", "GRU", "SimpleRNN", "Bidirectional", "TimeDistributed", "Embedding",
            "Reshape", "Permute", "Concatenate", "Add", "Multiply"} <= types
    assert len(CASES) >= 300
    assert 0.15 * len(CASES) < len(REFUSED) < 0.6 * len(CASES)
    assert len(FORWARD) >= 50


@pytest.mark.parametrize("case", CASES)
def test_native_document_matches_keras(case: dict) -> None:
    divergence = DIVERGENCES.get((RECORDS["seed"], case["id"]))
    if divergence:
        case = {**case, "error": {"layer": divergence}}
    native = case["native"]
    try:
        result = check({"model": native})
    except RequestInvalid as exc:
        assert "error" in case, exc.errors
        index = layer_index(native, case["error"]["layer"])
        assert all(path.startswith(f"model.layers.{index}.") for path in exc.errors), exc.errors
        return
    if "error" in case:
        errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
        assert errors, f"Keras refuses this model: {case['error']}"
        assert errors[0]["layer"] == case["error"]["layer"], (case["error"], errors[0])
        return
    assert result["ok"], result["diagnostics"]
    assert {row["name"] for row in result["layers"]} == {r["name"] for r in case["layers"]}
    assert_rows_equal(result, case["layers"], case["totals"]["params"])


@pytest.mark.parametrize("case", BUILT)
def test_keras_json_matches_keras(case: dict) -> None:
    check_as_read_back(case)


@pytest.mark.parametrize("case", FORWARD)
@pytest.mark.parametrize("document", ["native", "keras_json"])
def test_forward_matches_keras_predict(case: dict, document: str) -> None:
    recorded = case["forward"]
    analysis = analyse(case[document], {})
    weights = {name: [array(w) for w in ws] for name, ws in recorded["weights"].items()}
    inputs = {name: array(x) for name, x in recorded["x"].items()}
    values = run_forward(analysis.graph, analysis.propagation, inputs, weights)
    for ref, expected in zip(analysis.graph.outputs, recorded["outputs"], strict=True):
        want = array(expected)
        got = values[TensorRef(ref.layer, ref.call, ref.index)]
        scale = max(float(np.max(np.abs(want))), 1e-6)
        assert got.shape == want.shape, ref.layer
        assert float(np.max(np.abs(got - want))) <= 1e-4 * scale, ref.layer


def layer_index(native: dict, name: str) -> int:
    """Index in the native document of the (automatically named) layer ``name``."""
    namer = AutoNamer()
    return [e.get("name") or namer.name(e["type"]) for e in native["layers"]].index(name)
