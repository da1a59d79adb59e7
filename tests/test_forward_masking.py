"""Keras masks in the forward pass.

tests/fixtures/keras3/layers/masking.json (tools/keras_fixtures/cases_masking.py) records Keras'
predict on models whose inputs hold padding: the parity tests replay its native documents.
Here the same models come as the Keras JSON Keras wrote for them, where the masks are explicit
(``mask`` arguments, ``not_equal`` operations): the engine follows them as it does for a native
document. Then what the fixtures do not show: which layers keep a mask, masks Keras cannot
apply (422), and a sample that is all padding.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_fixtures import array, cases
from shapecheck import check
from shapecheck.analysis import analyse
from shapecheck.errors import RequestInvalid
from shapecheck.forward import run_forward
from shapecheck.layers.base import REGISTRY
from test_forward_fixtures import assert_keras_json_forward_matches

MASKING_CASES = [c for c in cases() if c.id.startswith("masking:") and "forward" in c.values[0]]
"""The masking cases Keras 3 builds (it refuses tf.keras 2's ``softmax_robust_masking``)."""

KERAS_SUPPORTS_MASKING = {
    "Activation", "ActivityRegularization", "Add", "AdditiveAttention", "AlphaDropout",
    "Attention", "Average", "BatchNormalization", "Bidirectional", "Concatenate", "ConvLSTM1D",
    "ConvLSTM2D", "ConvLSTM3D", "Dense", "Dot", "Dropout", "ELU", "GRU", "GaussianDropout",
    "GaussianNoise", "GlobalAveragePooling1D", "GroupNormalization", "GroupedQueryAttention",
    "Identity", "LSTM", "LayerNormalization", "LeakyReLU", "Masking", "Maximum", "Minimum",
    "MultiHeadAttention", "Multiply", "Normalization", "PReLU", "RNN", "ReLU", "Rescaling",
    "SimpleRNN", "Softmax", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "Subtract",
    "TimeDistributed", "UnitNormalization"}
"""``layer.supports_masking`` of every layer type shapecheck has, read from Keras 3.15
instances (Embedding's is its ``mask_zero``)."""


def test_the_fixtures_hold_padding() -> None:
    assert len(MASKING_CASES) >= 70
    computed = [c for c in MASKING_CASES if c.values[0]["id"].endswith("_mask_of_fractions")]
    padded = [c for c in MASKING_CASES
              if any((array(x) == 0).any() for x in c.values[0]["forward"]["x"].values())]
    # masking_value_* pad with other values; bidirectional_conv_lstm_unmasked has no padding;
    # the *_mask_of_fractions cases compute their masks from their inputs
    assert len(computed) == 3
    assert len(padded) >= len(MASKING_CASES) - 3 - len(computed)


@pytest.mark.parametrize("case", MASKING_CASES)
def test_keras_json_with_explicit_masks_matches_keras_predict(case: dict) -> None:
    assert_keras_json_forward_matches(case)


def test_the_layers_that_keep_a_mask_are_keras_ones() -> None:
    assert {name for name, cls in REGISTRY.items() if cls.supports_masking} \
        == KERAS_SUPPORTS_MASKING


def forward(doc: dict, x: np.ndarray, random: bool = False) -> list[np.ndarray]:
    """The model outputs on ``x``, every weight 0.1 (or drawn from a normal distribution)."""
    analysis = analyse(doc, {})
    rng = np.random.default_rng(0)
    weights = {name: [rng.standard_normal(w.shape).astype(np.float32) if random
                      else np.full(w.shape, 0.1, np.float32) for w in state.weights]
               for name, state in analysis.propagation.states.items() if state.weights}
    values = run_forward(analysis.graph, analysis.propagation, {"input": x}, weights)
    return [values[ref] for ref in analysis.graph.outputs]


EMBEDDING = {"type": "Embedding", "input_dim": 5, "output_dim": 3, "mask_zero": True}
TOKENS = np.array([[1, 2, 0, 0], [0, 0, 0, 0]], np.float32)


def test_a_sample_that_is_all_padding_averages_to_nan_as_in_keras() -> None:
    """GlobalAveragePooling1D divides the sum of the unmasked steps by their count: 0 / 0."""
    with np.errstate(invalid="ignore"):
        average, = forward({"inputs": [4], "layers": [EMBEDDING,
                                                      {"type": "GlobalAveragePooling1D"}]},
                           TOKENS)
    np.testing.assert_allclose(average[0], [0.1, 0.1, 0.1], rtol=1e-6)
    assert np.isnan(average[1]).all()


def test_masked_steps_repeat_the_last_output_and_zeros_before_the_first() -> None:
    doc = {"inputs": [4], "layers": [EMBEDDING, {"type": "SimpleRNN", "units": 2,
                                                 "return_sequences": True}]}
    outputs, = forward(doc, np.array([[0, 3, 0, 4]], np.float32))
    assert (outputs[0, 0] == 0).all()
    assert (outputs[0, 2] == outputs[0, 1]).all()
    assert not (outputs[0, 3] == outputs[0, 2]).all()


def test_without_mask_zero_nothing_is_masked() -> None:
    unmasked = {**EMBEDDING, "mask_zero": False}
    average, = forward({"inputs": [4], "layers": [unmasked,
                                                  {"type": "GlobalAveragePooling1D"}]}, TOKENS)
    np.testing.assert_allclose(average, np.full((2, 3), 0.1), rtol=1e-6)


def test_softmax_cannot_apply_an_embedding_mask() -> None:
    """Keras aligns Softmax's mask (batch, steps) on the input's last axes (steps, features):
    it builds the model (the static analysis accepts it too), but its predict fails at Softmax
    (tests/test_forward_masked_models.py replays Keras' record of it)."""
    doc = {"inputs": [4], "layers": [EMBEDDING, {"type": "Softmax", "name": "soft"}]}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc, "forward": {"x": TOKENS.tolist()}})
    message, = exc.value.errors["forward"]
    assert message.startswith("layer 'soft' (Softmax) cannot run on this data: Softmax "
                              "applies its input's mask (2, 4) to the input (2, 4, 3)")


def test_a_layer_that_drops_the_mask_lets_softmax_run() -> None:
    doc = {"inputs": [4], "layers": [EMBEDDING, {"type": "Reshape", "target_shape": [4, 3, 1]},
                                     {"type": "Softmax"}]}
    softmax, = forward(doc, TOKENS)
    np.testing.assert_allclose(softmax, np.ones((2, 4, 3, 1)))


def test_conv_lstm_refuses_a_masked_sequence() -> None:
    doc = {"inputs": [3, 4, 4, 2], "layers": [
        {"type": "Masking"}, {"type": "ConvLSTM2D", "filters": 2, "kernel_size": 3,
                              "name": "conv_lstm"}]}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc, "forward": {"batch_size": 2}})
    message, = exc.value.errors["forward"]
    assert "layer 'conv_lstm' (ConvLSTM2D) cannot run on this data" in message
    assert "Drop the mask" in message


def test_a_time_distributed_layer_gets_its_slice_of_the_mask() -> None:
    """Tokens (batch, 2, 4): each of the 2 steps is a sequence of 4 with its own padding."""
    doc = {"inputs": [2, 4], "layers": [
        EMBEDDING, {"type": "TimeDistributed", "layer": {"type": "GlobalAveragePooling1D"}}]}
    tokens = np.array([[[1, 0, 0, 0], [2, 3, 0, 4]]], np.float32)
    average, = forward(doc, tokens)
    np.testing.assert_allclose(average, np.full((1, 2, 3), 0.1), rtol=1e-6)


def test_the_query_mask_zeroes_attention_outputs_and_marks_mha_outputs() -> None:
    doc = {"inputs": [4], "layers": [
        EMBEDDING, {"type": "Attention", "name": "att", "inputs": ["embedding", "embedding"]},
        {"type": "MultiHeadAttention", "num_heads": 1, "key_dim": 2, "name": "mha",
         "inputs": ["embedding", "embedding"]},
        {"type": "GlobalAveragePooling1D", "name": "pooled", "inputs": "mha"}],
        "outputs": ["att", "mha", "pooled"]}
    attended, mha, pooled = forward(doc, np.array([[1, 2, 0, 0]], np.float32), random=True)
    assert (attended[0, 2:] == 0).all() and (attended[0, :2] != 0).all()
    np.testing.assert_allclose(pooled, mha[:, :2].mean(axis=1), rtol=1e-6)
    assert not np.allclose(pooled, mha.mean(axis=1))


def test_mask_outputs_follow_the_outputs_of_a_bidirectional_layer() -> None:
    analysis = analyse({"inputs": [4], "layers": [
        EMBEDDING, {"type": "Bidirectional", "merge_mode": None, "name": "bi",
                    "layer": {"type": "GRU", "units": 2, "return_sequences": True}}]}, {})
    bidirectional = analysis.graph.layers["bi"]
    mask = TOKENS != 0
    masks = bidirectional.compute_mask([np.zeros((2, 4, 3))], [mask])
    assert len(masks) == 2 and all(m is mask for m in masks)
    assert bidirectional.forward_layer.args.zero_output_for_mask


def test_multi_head_attention_refuses_masks_of_inputs_that_are_not_sequences() -> None:
    doc = {"inputs": [2, 3], "layers": [
        EMBEDDING, {"type": "MultiHeadAttention", "num_heads": 1, "key_dim": 2, "name": "mha",
                    "inputs": ["embedding", "embedding"]}]}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc, "forward": {"x": [[[1, 0, 2], [3, 0, 0]]]}})
    message, = exc.value.errors["forward"]
    assert message == (
        "layer 'mha' (MultiHeadAttention) cannot run on this data: MultiHeadAttention follows "
        "the masks of sequences (batch, steps, features) only, but it takes (1, 2, 3, 3), "
        "(1, 2, 3, 3).")


def keras_tensor(layer: str) -> dict:
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None, 6, 4], "dtype": "float32", "keras_history": [layer, 0, 0]}}


def keras_json(layer: dict, kwargs: dict, operations: tuple[dict, ...] = ()) -> dict:
    """A Keras 3 model: input 'x' (batch, 6, 4), given twice to ``layer`` called with
    ``kwargs``; ``operations``: layers between them (that compute masks)."""
    node = {"args": [keras_tensor("x"), keras_tensor("x")], "kwargs": kwargs}
    return {"class_name": "Functional", "config": {
        "name": "model", "input_layers": [["x", 0, 0]], "output_layers": [["out", 0, 0]],
        "layers": [
            {"class_name": "InputLayer", "name": "x", "inbound_nodes": [],
             "config": {"name": "x", "batch_shape": [None, 6, 4], "dtype": "float32"}},
            *operations, {**layer, "name": "out", "inbound_nodes": [node]}]}}


MHA_JSON = {"class_name": "MultiHeadAttention", "config": {"name": "out", "num_heads": 2,
                                                           "key_dim": 3}}


@pytest.mark.parametrize(("kwargs", "what"), [
    ({"value_mask": "\u0000NaN\u0000"},
     "cannot take its value_mask argument, which is no tensor nor list of tensors (a str)"),
    ({"attention_mask": {"class_name": "?", "config": {}}},
     "cannot take its attention_mask argument, which is no tensor nor list of tensors (a dict)"),
    ({"mask": [["__keras_tensor__", {"keras_history": ["x", 0, 0]}], None]},
     "cannot take its mask argument, which is no tensor nor list of tensors (a list)"),
    # A tensor in a structure that is no mask (found by tools/fuzz_engine.py: it was a 500).
    ({"mask": {"value": {"class_name": "__keras_tensor__",
                         "config": {"shape": [None, 6, 4], "keras_history": ["x", 0, 0]}}}},
     "cannot take its mask argument, which is no tensor nor list of tensors (a dict)"),
])
def test_a_mask_argument_that_reads_no_tensor_is_refused(kwargs: dict, what: str) -> None:
    """Keras' call cannot take such a mask: the forward pass refuses it, naming the layer."""
    with pytest.raises(RequestInvalid) as exc:
        check({"model": keras_json(MHA_JSON, kwargs), "forward": {"batch_size": 1}})
    message, = exc.value.errors["forward"]
    assert message.startswith(f"layer 'out' (MultiHeadAttention) {what}")


def test_a_mask_argument_of_none_is_no_mask() -> None:
    result = check({"model": keras_json(MHA_JSON, {"mask": [None, None]}),
                    "forward": {"batch_size": 1}})
    assert result["forward"]["outputs"][0]["shape"] == [1, 6, 4]


def masked_call(layer: dict, call: dict, inputs: dict, reads: int = 2) -> str:
    """The 422 message of a forward pass of ``layer`` on the first ``reads`` of ``inputs``,
    called with ``call``."""
    doc = {"inputs": inputs, "layers": [{**layer, "name": "out", "inputs": list(inputs)[:reads],
                                         "call": call}], "outputs": ["out"]}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc, "forward": {"batch_size": 2}})
    message, = exc.value.errors["forward"]
    return message


MHA = {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3}


def test_an_attention_mask_that_does_not_fit_the_scores_is_refused() -> None:
    """Keras' call fails to broadcast it too."""
    message = masked_call(MHA, {"attention_mask": "am"},
                          {"q": [6, 4], "v": [6, 4], "am": [4, 6]})
    assert message == (
        "layer 'out' (MultiHeadAttention) cannot run on this data: its attention mask "
        "(2, 1, 4, 6) does not broadcast to the attention scores (2, 2, 6, 6); Keras cannot "
        "apply it either.")


def test_a_list_where_attention_takes_one_mask_is_refused() -> None:
    message = masked_call(MHA, {"value_mask": ["m"]}, {"q": [6, 4], "v": [6, 4], "m": [6]})
    assert message.endswith("MultiHeadAttention takes its value_mask argument as one tensor, "
                            "but it is a list.")


def test_merge_masks_that_do_not_broadcast_are_refused() -> None:
    """Keras ORs the masks of a merge's inputs: these it cannot."""
    message = masked_call({"type": "Add"}, {"mask": ["m1", "m2"]},
                          {"a": [6], "b": [6], "m1": [6], "m2": [4]})
    assert message == (
        "layer 'out' (Add) cannot run on this data: Add combines the masks of its inputs "
        "element by element, but (2, 6), (2, 4) do not broadcast; Keras cannot combine them "
        "either.")


def test_a_nested_list_in_a_mask_argument_is_refused() -> None:
    add = {"class_name": "Add", "config": {"name": "out"}}
    mask = {"class_name": "__keras_tensor__",
            "config": {"shape": [None, 6, 4], "dtype": "bool", "keras_history": ["x", 0, 0]}}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": keras_json(add, {"mask": [[mask], None]}), "forward": {"batch_size": 1}})
    assert exc.value.errors["forward"] == [
        "layer 'out' (Add) cannot run on this data: its mask argument gives a list where one "
        "input's mask goes"]


def operation(name: str, config: dict, *args: object) -> dict:
    return {"module": "keras.src.ops.numpy", "class_name": name, "name": name.lower(),
            "config": {"name": name.lower(), **config}, "inbound_nodes": [
                {"args": list(args), "kwargs": {}}]}


@pytest.mark.parametrize(("operations", "why"), [
    ((operation("NotEqual", {}, keras_tensor("x"), -10**400),),
     "int too large to convert to float"),
    ((operation("NotEqual", {}, keras_tensor("x"), 0),
      operation("Any", {"axis": -2**64 - 1}, keras_tensor("notequal"))),
     "Python int too large to convert to C long"),
])
def test_a_mask_operation_on_a_huge_integer_is_refused(operations: tuple, why: str) -> None:
    """Keras cannot convert such a number (an argument, an axis) either."""
    doc = keras_json(MHA_JSON, {"value_mask": keras_tensor(operations[-1]["name"])}, operations)
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc, "forward": {"batch_size": 1}})
    assert exc.value.errors["forward"] == [
        f"layer 'out' (MultiHeadAttention) cannot compute its value_mask argument: {why}"]
