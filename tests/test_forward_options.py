"""Call options in the forward pass: ``return_attention_scores`` and ``use_causal_mask`` of the
attention layers, which only a Keras JSON document carries.

tests/fixtures/keras3/calls/call_options.json (tools/keras_fixtures/cases_call_options.py)
records Keras' predict on such calls, alone and with masked inputs; each is replayed from its
Keras JSON through the whole ``forward`` request.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from keras_fixtures import FIXTURES, cases
from shapecheck import check
from shapecheck.errors import RequestInvalid
from test_forward_fixtures import assert_keras_json_forward_matches

CALL_CASES = cases(kind="calls")


def keras_model(name: str) -> dict:
    return json.loads((FIXTURES / "keras3" / "models" / f"{name}.json").read_text())["keras_json"]


def test_the_fixtures_call_with_options() -> None:
    options = {key for case in CALL_CASES for layer in case.values[0]["keras_json"]["config"]
               ["layers"] for node in layer["inbound_nodes"] for key in node["kwargs"]}
    assert {"return_attention_scores", "use_causal_mask"} <= options
    assert len(CALL_CASES) >= 19


@pytest.mark.parametrize("case", CALL_CASES)
def test_options_reach_the_kernels_as_in_keras_predict(case: dict) -> None:
    assert_keras_json_forward_matches(case)


def test_scores_over_a_longer_value_are_returned_as_keras_computes_them() -> None:
    """Keras declares MultiHeadAttention's scores (batch, heads, Tq, Tq) = (None, 2, 4, 4)
    but computes them over the value's 6 steps; this request was a 500."""
    doc = keras_model("attention_with_key_and_scores")
    result = check({"model": doc, "forward": {"batch_size": 2}})
    assert [o["shape"] for o in result["forward"]["outputs"]] == [[2, 4, 8], [2, 2, 4, 6]]
    assert [o["shape"] for o in result["model"]["outputs"]] == [[None, 4, 8], [None, 2, 4, 4]]
    sums = decoded_scores(doc).sum(axis=-1)
    np.testing.assert_allclose(sums, np.ones_like(sums), rtol=1e-5)


def decoded_scores(doc: dict) -> np.ndarray:
    result = check({"model": doc, "forward": {"batch_size": 2, "return": "values"}})
    values = result["forward"]["outputs"][1]["values"]
    return np.asarray(values, np.float32)


def test_a_layer_reading_scores_of_the_undeclared_shape_cannot_run() -> None:
    """A Dense built for the declared (…, 4) scores receives (…, 6): Keras' predict fails."""
    doc = copy.deepcopy(keras_model("attention_with_key_and_scores"))
    config = doc["config"]
    config["layers"].append({
        "module": "keras.layers", "class_name": "Dense", "name": "reader",
        "config": {"name": "reader", "units": 3},
        "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
            "shape": [None, 2, 4, 4], "dtype": "float32", "keras_history": ["mha", 0, 1]}}],
            "kwargs": {}}]})
    config["output_layers"] = [["reader", 0, 0]]
    assert check({"model": doc})["ok"]
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc, "forward": {"batch_size": 2}})
    message, = exc.value.errors["forward"]
    assert message.startswith("layer 'mha' (MultiHeadAttention) computes output 1 with shape "
                              "(2, 2, 4, 6) where Keras declares (2, 2, 4, 4)")
    assert "layer 'reader', which reads it, was built for the declared shape" in message
