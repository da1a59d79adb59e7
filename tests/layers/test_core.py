"""Core: what the Keras fixtures do not show for EinsumDense and ReversibleEmbedding (422
paths, error messages and hints, macs, explanations), and the cases of
tests/fixtures/keras3/calls/call_options.json (tests/test_forward_options.py replays their
forward pass from their Keras JSON): ReversibleEmbedding's ``reverse=True`` calls, shapes and
parameters from their Keras JSON, and every case a native document can say, from it."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from keras_fixtures import array, assert_rows_equal, cases, check_as_read_back, recorded
from layer_checks import codes, error_of, only_diagnostic, only_row, refused_paths, run
from shapecheck import check
from shapecheck.errors import RequestInvalid
from shapecheck.jsonpatch import apply_patch


def einsum(equation: str, output_shape, **args) -> dict:
    return {"type": "EinsumDense", "equation": equation, "output_shape": output_shape, **args}


@pytest.mark.parametrize(("spec", "path"), [
    (einsum("ab,bc", 6), "model.layers.0.equation"),
    (einsum("ab,bc->ac,d", 6), "model.layers.0.equation"),
    (einsum("a...b,bc->ac", 6), "model.layers.0.equation"),
    (einsum("ab,bd->ac", 6), "model.layers.0.equation"),
    (einsum("ab,bcx->ac", 6), "model.layers.0.equation"),
    (einsum("ab,bc->ac", 6, bias_axes="b"), "model.layers.0.bias_axes"),
    (einsum("ab,bc->ac", 6, bias_axes=""), "model.layers.0.bias_axes"),  # Keras: min() of []
    (einsum("ab,bc->ac", [6, 2]), "model.layers.0.output_shape"),
    (einsum("ab,bc->ac", -1), "model.layers.0.output_shape"),
    ({"type": "EinsumDense", "output_shape": 2}, "model.layers.0.equation"),
])
def test_einsum_dense_refuses_bad_arguments(spec: dict, path: str) -> None:
    assert refused_paths([4], spec) == [path]


def test_einsum_dense_input_of_the_wrong_rank_says_how_to_fix_it() -> None:
    problem = error_of(run([3, 4], einsum("ab,bc->ac", 6)))
    assert problem["code"] == "layer_input_incompatible"
    assert "names 2 input axes ('ab', batch first)" in problem["message"]
    assert "(None, 3, 4) has 3" in problem["message"]
    assert "'...'" in problem["hint"]


def test_einsum_dense_output_shape_against_the_input() -> None:
    problem = error_of(run([3, 4], einsum("abc,cd->abd", [5, 6])))
    assert "axis 'b' is 3 in its input (None, 3, 4) but 5 in its output_shape" in \
        problem["message"]
    assert "Set output_shape to 3 on axis 'b'" in problem["hint"]


def test_einsum_dense_macs_multiply_every_letter_but_the_batch() -> None:
    # b=3, c=4, d=2, e=5
    row = only_row(run([3, 4], einsum("abc,cde->abde", [3, 2, 5], bias_axes="de")))
    assert row["macs"] == 3 * 4 * 2 * 5
    assert row["params"] == 4 * 2 * 5 + 2 * 5
    # The elided axes are positions the kernel is applied at, like Dense's.
    row = only_row(run([7, 4], einsum("...b,bc->...c", 6)))
    assert row["macs"] == 7 * 4 * 6


def test_einsum_dense_explains_its_letters() -> None:
    row = only_row(run([3, 4], einsum("abc,cd->abd", [3, 6], bias_axes="d")))
    assert "a=None, b=3, c=4, d=6" in row["explain"]
    assert "kernel (4, 6)" in row["explain"]


def test_einsum_dense_warns_where_keras_3_declares_the_elided_axes_reversed() -> None:
    """Keras 3 declares (None, 3, 2, 2) for '...b,bc->...c' on (None, 2, 3, 4) and its predict
    computes (N, 2, 3, 2): the warning says so, and its verified fix names every axis, which
    Keras declares as it computes (the recorded einsum_left_ellipsis_named_axes)."""
    native = recorded("keras3", "core:einsum_left_ellipsis_reversed")["native"]
    result = check({"model": native})
    note = only_diagnostic(result, "declared_shape_differs")
    assert "computes (None, 2, 3, 2), but Keras 3 declares (None, 3, 2, 2)" in note["message"]
    (fix,) = note["fixes"]
    fixed = apply_patch(native, fix["patch"])
    named = recorded("keras3", "core:einsum_left_ellipsis_named_axes")
    assert fixed["layers"][0]["output_shape"] == named["native"]["layers"][0]["output_shape"]
    assert fix["result"]["output_shape"] == named["layers"][0]["output_shapes"][0]
    assert "declared_shape_differs" not in codes(check({"model": fixed}))


def test_einsum_dense_elided_axes_of_equal_sizes_or_in_tf_keras_2_get_no_warning() -> None:
    assert codes(run([3, 3, 4], einsum("...b,bc->...c", 2))) == []
    tf_keras = recorded("tfkeras2", "core:einsum_left_ellipsis_reversed")
    result = check({"model": tf_keras["keras_json"]})
    assert codes(result) == []
    assert result["layers"][-1]["output_shapes"] == tf_keras["layers"][0]["output_shapes"]


def test_forward_runs_a_dense_on_the_axes_the_einsum_computes_in_order() -> None:
    """Keras 3 declares the elided axes reversed, (None, 3, 2, 2), and computes (N, 2, 3, 2):
    the Dense after it reads the last axis only, and predict runs it on the computed shape
    (fixture einsum_left_ellipsis_reversed_then_dense_predict records its numbers)."""
    native = recorded("keras3", "core:einsum_left_ellipsis_reversed_then_dense_predict")["native"]
    forward = check({"model": native, "forward": {"seed": 0}})["forward"]
    assert [row["output_shape"] for row in forward["layers"]] == [[1, 2, 3, 2], [1, 2, 3, 3]]


def test_reversible_embedding_untied_has_a_reverse_kernel() -> None:
    row = only_row(run([5], {"type": "ReversibleEmbedding", "input_dim": 20, "output_dim": 4,
                             "tie_weights": False}))
    assert row["output_shapes"] == [[None, 5, 4]]
    assert row["params"] == 2 * 20 * 4


# -- ReversibleEmbedding called with reverse=True ---------------------------------------------
CALL_CASES = cases(kind="calls")
REVERSE_CASES = [c for c in CALL_CASES if c.id.startswith("call_options:reversible")]
NATIVE_CALL_CASES = [c for c in CALL_CASES
                     if not any("again" in entry for entry in c.values[0]["native"]["layers"])]
"""The cases a native document can say: a layer's call options in its entry's ``call``, but no
second call of a layer (``again``)."""
EMB = {"type": "ReversibleEmbedding", "input_dim": 10, "output_dim": 4}
REVERSE = {"reverse": True}


def test_the_fixtures_cover_the_reverse_call() -> None:
    assert len(REVERSE_CASES) >= 13
    assert sum(c in NATIVE_CALL_CASES for c in REVERSE_CASES) >= 2
    configs = [layer["config"] for case in REVERSE_CASES
               for layer in case.values[0]["keras_json"]["config"]["layers"]
               if layer["class_name"] == "ReversibleEmbedding"]
    assert {c["tie_weights"] for c in configs} == {True, False}
    assert {c["mask_zero"] for c in configs} == {True, False}
    assert any(c["logit_soft_cap"] for c in configs)


@pytest.mark.parametrize("case", REVERSE_CASES)
def test_reverse_calls_from_keras_json_match_keras(case: dict) -> None:
    check_as_read_back(case)


@pytest.mark.parametrize("case", NATIVE_CALL_CASES)
def test_call_options_of_native_documents_match_keras(case: dict) -> None:
    """The attention options and reverse=True given as a native entry's ``call``."""
    recorded = case["forward"]
    x = recorded["x"]
    result = check({"model": case["native"], "forward": {
        "x": next(iter(x.values())) if len(x) == 1 else x, "weights": recorded["weights"],
        "return": "values"}})
    assert result["ok"], result["diagnostics"]
    assert_rows_equal(result, case["layers"], case["totals"]["params"])
    outputs = result["forward"]["outputs"]
    assert len(outputs) == len(recorded["outputs"])
    for out, expected in zip(outputs, recorded["outputs"], strict=True):
        want = array(expected)
        got = np.frombuffer(base64.b64decode(out["values"]["base64"]), "<f4")
        np.testing.assert_allclose(got.reshape(want.shape), want,
                                   atol=1e-4 * float(np.max(np.abs(want))))


def test_reverse_call_macs_and_explanation_give_the_arithmetic() -> None:
    row = only_row(run([3, 4], {**EMB, "tie_weights": False, "logit_soft_cap": 1.5,
                                "call": REVERSE}))
    assert row["output_shapes"] == [[None, 3, 10]]
    assert row["macs"] == 3 * 4 * 10
    assert row["explain"] == (
        "reverse=True: each vector of 4 is multiplied by reverse_embeddings (4×10), giving 10 "
        "logits, one per index, (None, 3, 4) → (None, 3, 10), soft-capped to "
        "1.5·tanh(logits / 1.5); params: embeddings (10, 4) + reverse_embeddings (4, 10) = 80")
    tied = only_row(run([4], {**EMB, "call": REVERSE}))
    assert tied["macs"] == 4 * 10 and "the transposed embeddings (4×10)" in tied["explain"]


def test_a_lookup_has_no_macs_and_reverse_false_is_the_lookup() -> None:
    row = only_row(run([5], {**EMB, "call": {"reverse": False}}))
    assert row["output_shapes"] == [[None, 5, 4]]
    assert row["macs"] == 0
    assert row["explain"].startswith("each of the (5,) integer indices (0 to 9) becomes a "
                                     "vector of 4")


def test_reverse_call_on_vectors_of_another_size_is_refused() -> None:
    """Keras declares (None, 5, 10) here, but its matmul fails in predict."""
    error = error_of(run([5, 3], {**EMB, "call": REVERSE}))
    assert error["message"] == (
        "ReversibleEmbedding with reverse=True multiplies vectors of 4 values (its output_dim) "
        "by the 4×10 projection, but received (None, 5, 3), vectors of 3.")
    assert error["hint"] == "Bring the hidden states to 4 features first (e.g. Dense(4))."


def test_reverse_call_without_a_feature_axis_is_refused() -> None:
    """Keras declares (10,) for a (None,) input, dropping the batch axis."""
    error = error_of(run([], {**EMB, "call": REVERSE}))
    assert "received (None,), which has only the batch axis" in error["message"]


def test_reverse_call_on_unknown_features_checks_the_data() -> None:
    row = only_row(run([3, None], {**EMB, "call": REVERSE}))
    assert row["output_shapes"] == [[None, 3, 10]]
    assert row["macs"] == 3 * 4 * 10
    x = np.ones((2, 3, 5)).tolist()
    with pytest.raises(RequestInvalid) as exc:
        run([3, None], {**EMB, "name": "emb", "call": REVERSE}, forward={"x": x})
    message, = exc.value.errors["forward.x"]
    assert message.startswith("with data of shape input (2, 3, 5), layer 'emb' cannot run: "
                              "ReversibleEmbedding with reverse=True multiplies vectors of 4")


@pytest.mark.parametrize(("layer", "path"), [
    ({**EMB, "call": [True]}, "model.layers.0.call"),
    ({**EMB, "call": "reverse"}, "model.layers.0.call"),
    ({**EMB, "tie_weights": "maybe"}, "model.layers.0.tie_weights"),
    ({**EMB, "logit_soft_cap": "high"}, "model.layers.0.logit_soft_cap"),
    ({**EMB, "output_dim": 0}, "model.layers.0.output_dim"),
])
def test_reversible_embedding_refuses_bad_arguments(layer: dict, path: str) -> None:
    assert refused_paths([5], layer) == [path]


def test_logits_of_a_masking_reverse_call_carry_no_mask() -> None:
    """Keras (checked with 3.15.1): GlobalAveragePooling1D after the reverse call of a
    mask_zero layer averages every step, the padding included."""
    doc = {"class_name": "Functional", "keras_version": "3.15.1", "config": {
        "name": "lm", "layers": [
            {"class_name": "InputLayer", "name": "tokens", "inbound_nodes": [],
             "config": {"batch_shape": [None, 5], "name": "tokens"}},
            {"class_name": "ReversibleEmbedding", "name": "emb",
             "config": {"name": "emb", "input_dim": 10, "output_dim": 4, "mask_zero": True},
             "inbound_nodes": [node("tokens", 0, {}), node("emb", 0, REVERSE)]},
            {"class_name": "GlobalAveragePooling1D", "name": "gap", "config": {"name": "gap"},
             "inbound_nodes": [node("emb", 1, {})]}],
        "input_layers": [["tokens", 0, 0]],
        "output_layers": [["emb", 1, 0], ["gap", 0, 0]]}}
    x = [[1, 2, 0, 0, 0]]
    result = check({"model": doc, "forward": {"x": x, "return": "values"}})
    logits, average = (np.asarray(o["values"]) for o in result["forward"]["outputs"])
    np.testing.assert_allclose(average, logits.mean(axis=1), rtol=1e-5)


def node(layer: str, call: int, kwargs: dict) -> dict:
    """A Keras 3 inbound node reading output 0 of call ``call`` of ``layer``."""
    return {"args": [{"class_name": "__keras_tensor__",
                      "config": {"keras_history": [layer, call, 0]}}], "kwargs": kwargs}


@pytest.mark.parametrize("layer", [{"type": "Dense", "units": 2, "activation": "RELU"},
                                   {"type": "Activation", "activation": "Tanh"}])
def test_activation_names_are_case_sensitive_as_in_keras(layer: dict) -> None:
    # Keras 3: "Could not interpret activation function identifier: RELU".
    with pytest.raises(RequestInvalid) as exc:
        check({"model": {"inputs": [3], "layers": [layer]}})
    assert list(exc.value.errors) == ["model.layers.0.activation"]


def test_padding_and_data_format_stay_case_insensitive_as_in_keras() -> None:
    layer = {"type": "Conv1D", "filters": 2, "kernel_size": 2, "padding": "SAME",
             "data_format": "Channels_Last", "activation": "relu"}
    row = only_row(check({"model": {"inputs": [5, 3], "layers": [layer]}}))
    assert row["output_shapes"] == [[None, 5, 2]]
