"""Keras masks the native builder cannot express: through nested models, and given as call
arguments (``mask=``, ``query_mask``/``value_mask``/``key_mask``/``attention_mask``).

tests/fixtures/keras3/masked/masked_models.json (tools/keras_fixtures/masked_models.py) records
models built in Python with real Keras: their ``to_json()``, their layers' shapes and Keras'
``predict`` on random weights and inputs (masks among them). Each is replayed from its Keras
JSON, and from its native document where one says the same model. Masks never change shapes:
the static analysis of a document is the same without its mask arguments.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from keras_fixtures import FIXTURES, array
from shapecheck import check, forward_plan
from shapecheck.analysis import analyse
from shapecheck.errors import RequestInvalid
from shapecheck.formats import load_model
from shapecheck.forward import run_forward
from shapecheck.forward_plan import AddInPlace
from shapecheck.graph import MaskOp, TensorRef
from test_forward_fixtures import assert_keras_json_forward_matches

RECORDS = json.loads((FIXTURES / "keras3" / "masked" / "masked_models.json").read_text())
CASES = [pytest.param(c, id=c["id"]) for c in RECORDS["cases"]]
RUNS = [c for c in CASES if "outputs" in c.values[0]["forward"]]
REFUSED = [c for c in CASES if "predict_refused" in c.values[0]["forward"]]
NATIVE = [c for c in CASES if "native" in c.values[0]]


def test_the_fixtures_cover_nested_models_and_mask_arguments() -> None:
    arguments = {key for case in CASES for layer in case.values[0]["keras_json"]["config"]
                 ["layers"] for node in layer["inbound_nodes"] for key, value in
                 node["kwargs"].items() if key.endswith("mask") and value is not None}
    assert arguments == {"mask", "query_mask", "value_mask", "key_mask", "attention_mask",
                         "use_causal_mask"}
    nested = [c for c in CASES if any(layer["class_name"] in ("Sequential", "Functional")
                                      for layer in c.values[0]["keras_json"]["config"]["layers"])]
    assert len(nested) >= 10 and len(CASES) >= 35 and len(NATIVE) >= 10 and REFUSED


@pytest.mark.parametrize("case", CASES)
def test_shapes_match_keras_and_ignore_the_mask_arguments(case: dict) -> None:
    result = check({"model": case["keras_json"]})
    assert result["ok"], result["diagnostics"]
    rows = {row["name"]: row for row in result["layers"]}
    for expected in case["layers"]:
        if expected["name"] in rows:
            assert rows[expected["name"]]["output_shapes"] == expected["output_shapes"]
            assert rows[expected["name"]]["params"] == expected["params"]
    assert [o["shape"] for o in result["model"]["outputs"]] == case["outputs"]
    assert result["totals"]["params"] == case["totals"]["params"]
    unmasked = check({"model": without_mask_arguments(case["keras_json"])})
    assert unmasked["layers"] == result["layers"]
    assert unmasked["diagnostics"] == result["diagnostics"]


@pytest.mark.parametrize("case", CASES)
def test_the_summary_lists_the_operations_of_masks_with_keras_shapes(case: dict) -> None:
    """The Keras operations that compute only masks are no layers of the answer, but rows of
    its summary (as of Keras 3's), with the shapes Keras computed for them."""
    result = check({"model": case["keras_json"]})
    layers = {row["name"] for row in result["layers"]}
    cells = summary_cells(result["summary"])
    for expected in case["layers"]:
        if expected["name"] not in layers:
            (shape,) = expected["output_shapes"]
            assert cells[expected["name"]][1:3] == [f"({', '.join(map(str, shape))})", "0"]


def summary_cells(summary: str) -> dict[str, list[str]]:
    """The cells of each row's first line, by the layer's name."""
    rows = [[cell.strip() for cell in line.strip("│").split("│")]
            for line in summary.splitlines() if line.startswith("│")]
    return {cells[0].split(" ")[0]: cells for cells in rows if cells[0]}


def without_mask_arguments(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    for layer in doc["config"]["layers"]:
        for node in layer["inbound_nodes"]:
            for key in [k for k in node["kwargs"] if k in ("mask", "query_mask", "value_mask",
                                                           "key_mask", "attention_mask")]:
                del node["kwargs"][key]
    return doc


@pytest.mark.parametrize("case", RUNS)
def test_keras_json_forward_matches_keras_predict(case: dict) -> None:
    assert_keras_json_forward_matches(case)


@pytest.mark.parametrize("case", [c for c in NATIVE if c in RUNS])
def test_native_document_forward_matches_keras_predict(case: dict) -> None:
    recorded = case["forward"]
    result = check({"model": case["native"], "forward": {
        "x": recorded["x"], "weights": recorded["weights"], "return": "values"}})
    for out, expected in zip(result["forward"]["outputs"], recorded["outputs"], strict=True):
        want, got = array(expected), array(out["values"])
        assert got.shape == want.shape
        assert float(np.max(np.abs(got - want))) <= 1e-4 * float(np.max(np.abs(want)))


@pytest.mark.parametrize("case", REFUSED)
def test_where_keras_predict_fails_the_forward_pass_refuses_at_the_same_layer(
        case: dict) -> None:
    """A masking Embedding before Softmax: Keras builds the model (so the static analysis
    accepts it), and its predict fails at Softmax, whose mask does not broadcast."""
    recorded = case["forward"]
    assert "must be broadcastable" in recorded["predict_refused"]
    for doc in (case["keras_json"], case["native"]):
        assert check({"model": doc})["ok"]
        with pytest.raises(RequestInvalid) as exc:
            check({"model": doc, "forward": {"x": recorded["x"], "weights": recorded["weights"]}})
        message, = exc.value.errors["forward"]
        assert message.startswith("layer 'soft' (Softmax) cannot run on this data: Softmax "
                                  "applies its input's mask (3, 6) to the input (3, 6, 4)")


def test_the_loader_reads_mask_arguments_apart_from_the_inputs() -> None:
    case = next(c.values[0] for c in CASES if c.id == "mask_from_ops_logic")
    graph = load_model(case["keras_json"], {})
    lstm = next(c for c in graph.calls if c.layer == "lstm")
    assert lstm.inputs == [TensorRef("emb")]
    assert lstm.masks == {"mask": MaskOp("LogicalAnd", (
        MaskOp("NotEqual", (TensorRef("a"), 0)), MaskOp("Greater", (TensorRef("b"), 1))))}
    assert not {"not_equal_17", "greater", "logical_and"} & graph.layers.keys()


def keras_json(case_id: str) -> dict:
    return copy.deepcopy(next(c.values[0] for c in CASES if c.id == case_id)["keras_json"])


def forward_refusal(doc: dict) -> str:
    assert check({"model": doc})["ok"]  # masks are no inputs: shapes do not see them
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc, "forward": {"batch_size": 2}})
    message, = exc.value.errors["forward"]
    return message


def entry(doc: dict, **match: str) -> dict:
    """The first layer entry of a Keras document whose keys have these values."""
    return next(e for e in doc["config"]["layers"] if match.items() <= e.items())


def operation_of_another_kind(doc: dict) -> None:
    entry(doc, class_name="NotEqual").update(class_name="Tril", registered_name="Tril")


def mask_from_nowhere(doc: dict) -> None:
    mask = entry(doc, name="lstm")["inbound_nodes"][0]["kwargs"]["mask"]
    mask["config"]["keras_history"] = ["nowhere", 0, 0]


def operation_reading_itself(doc: dict) -> None:
    operation = entry(doc, class_name="NotEqual")
    operation["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = [
        operation["name"], 0, 0]


@pytest.mark.parametrize(("case_id", "breaks", "refusal"), [
    ("mask_from_ops_not_equal", operation_of_another_kind,
     "layer 'lstm' (LSTM) reads its mask argument from the Keras operation Tril, which the "
     "forward pass does not compute"),
    ("explicit_mask_wins_over_the_embedding_mask", mask_from_nowhere,
     "layer 'lstm' (LSTM) reads its mask argument from 'nowhere', which is neither a model "
     "input nor an output computed before this layer"),
    ("mask_from_ops_not_equal", operation_reading_itself,
     "reads its mask argument from 'not_equal"),
], ids=["operation_not_computed", "tensor_nobody_computes", "operation_reads_itself"])
def test_a_mask_the_forward_pass_cannot_compute_is_refused(case_id: str, breaks,
                                                             refusal: str) -> None:
    doc = keras_json(case_id)
    breaks(doc)
    assert refusal in forward_refusal(doc)


def test_a_native_mask_names_a_tensor_of_the_model() -> None:
    doc = {"inputs": {"x": [6, 4]}, "layers": [
        {"type": "LSTM", "units": 2, "name": "lstm", "call": {"mask": "nowhere"}}]}
    result = check({"model": doc})
    error, = result["diagnostics"]
    assert (error["code"], error["layer"]) == ("invalid_graph", "lstm")
    assert error["message"] == ("The mask argument of 'lstm' names 'nowhere', which is neither a "
                                "layer nor a model input.")
    assert error["hint"] == "Name a model input or a layer: lstm, x."
    with pytest.raises(RequestInvalid) as exc:
        check({"model": {**doc, "layers": [{**doc["layers"][0], "call": {"mask": 3}}]}})
    assert exc.value.errors == {"model.layers.0.call.mask": ["must be a layer or input name"]}


def test_a_tensor_a_mask_reads_is_not_overwritten_in_place() -> None:
    """The residual Add writes into the linear branch that nothing else reads, not into the
    one an attention mask reads (nonzero values attend)."""
    doc = {"inputs": {"x": [6, 4]}, "layers": [
        {"type": "Dense", "units": 6, "name": "pattern", "activation": "relu", "inputs": "x"},
        {"type": "Dense", "units": 6, "name": "other", "inputs": "x"},
        {"type": "Add", "name": "sum", "inputs": ["pattern", "other"]},
        {"type": "MultiHeadAttention", "num_heads": 1, "key_dim": 2, "name": "mha",
         "inputs": ["x", "x"], "call": {"attention_mask": "pattern"}}],
        "outputs": ["sum", "mha"]}
    analysis = analyse(doc, {})
    rng = np.random.default_rng(0)
    weights = {name: [rng.standard_normal(w.shape).astype(np.float32) for w in state.weights]
               for name, state in analysis.propagation.states.items() if state.weights}
    graph, _ = forward_plan.prepare(analysis.graph, analysis.propagation, weights)
    assert isinstance(graph.layers["sum"], AddInPlace) and graph.layers["sum"].into == 1
    x = rng.standard_normal((2, 6, 4)).astype(np.float32)
    total, attended = run_forward(analysis.graph, analysis.propagation, {"x": x},
                                  weights).values()
    pattern = np.maximum(x @ weights["pattern"][0] + weights["pattern"][1], 0)
    np.testing.assert_allclose(total, pattern + x @ weights["other"][0] + weights["other"][1],
                               rtol=1e-5, atol=1e-5)
    unmasked = {**doc, "layers": [*doc["layers"][:3], {**doc["layers"][3], "call": {}}]}
    plain = analyse(unmasked, {})
    assert not np.allclose(attended, run_forward(plain.graph, plain.propagation, {"x": x},
                                                 weights)[TensorRef("mha")])


def test_a_tensor_read_as_a_mask_then_as_an_input_lives_until_then() -> None:
    doc = {"inputs": {"x": [6, 4], "m": [6]}, "layers": [
        {"type": "LSTM", "units": 2, "name": "lstm", "inputs": "x", "call": {"mask": "m"}},
        {"type": "Dense", "units": 3, "name": "dense", "inputs": "m"}],
        "outputs": ["lstm", "dense"]}
    m = [[1, 1, 0, 1, 0, 0], [1, 0, 1, 1, 1, 0]]
    result = check({"model": doc, "forward": {"x": {"x": np.ones((2, 6, 4)).tolist(), "m": m},
                                              "weights": {"dense": [np.eye(6, 3).tolist(),
                                                                    [0.0, 0.0, 0.5]]},
                                              "return": "values"}})
    dense = result["forward"]["outputs"][1]["values"]
    np.testing.assert_allclose(dense, [[1, 1, 0.5], [1, 0, 1.5]])


def test_a_mask_operation_without_its_settings_is_refused() -> None:
    doc = keras_json("mask_from_ops_any_over_features")
    operation = next(e for e in doc["config"]["layers"] if e["class_name"] == "Any")
    operation.update(class_name="ExpandDims", config={"name": operation["name"]})
    assert forward_refusal(doc).startswith(
        "layer 'gru' (GRU) cannot compute its mask argument: ")


def mask_argument_run(layer: dict, mask: object) -> dict:
    """A forward pass of ``layer`` on x with ``mask`` as its call's mask argument (an input
    name, or a list of them), values returned."""
    doc = {"inputs": {"x": [6, 4], "m": [6]},
           "layers": [{**layer, "name": "under_test", "inputs": "x", "call": {"mask": mask}}]}
    m = [[1, 1, 0, 1, 0, 0], [1, 0, 1, 1, 1, 0]]
    x = np.random.default_rng(0).standard_normal((2, 6, 4)).tolist()
    return check({"model": doc, "forward": {"x": {"x": x, "m": m}, "return": "values"}})


@pytest.mark.parametrize("layer", [{"type": "LSTM", "units": 2},
                                   {"type": "Bidirectional",
                                    "layer": {"type": "GRU", "units": 2}}])
def test_a_recurrent_layer_takes_the_first_mask_of_a_list(layer: dict) -> None:
    """Keras 3 predict: LSTM(x, mask=[m]) is LSTM(x, mask=m), mask=[None] no mask, mask=[]
    fails (IndexError); Bidirectional the same."""
    outputs = {str(mask): mask_argument_run(layer, mask)["forward"]["outputs"][0]["values"]
               for mask in ("m", ["m"], None, [None])}
    assert outputs["m"] == outputs["['m']"] and outputs["None"] == outputs["[None]"]
    assert outputs["m"] != outputs["None"]
    with pytest.raises(RequestInvalid) as exc:
        mask_argument_run(layer, [])
    assert "an empty list" in exc.value.errors["forward"][0]


@pytest.mark.parametrize("mask", [[], ["m"], [None]])
def test_a_list_of_masks_for_a_layer_of_one_input_is_refused(mask: list) -> None:
    """Keras 3 hands the list to Softmax.call, which fails on it ('list' object has no
    attribute 'shape'); a mutation of the recorded softmax_mask_per_element made it a 500."""
    with pytest.raises(RequestInvalid) as exc:
        mask_argument_run({"type": "Softmax"}, mask)
    (message,) = exc.value.errors["forward"]
    assert message.startswith("layer 'under_test' (Softmax)") and "a list of" in message
