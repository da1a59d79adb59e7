"""Activation layers: what the Keras fixtures do not show (422 paths, Keras 1/2 names,
PReLU's weights and errors, Softmax axes, the numpy relu against Keras' documented values); and
the activations layers take as an argument (below)."""

from __future__ import annotations

import numpy as np
import pytest
from keras_fixtures import assert_forward_as_recorded, recorded
from layer_checks import (
    codes,
    error_of,
    forward_refusal_where_predict_fails,
    only_diagnostic,
    only_row,
    refused_paths,
    run,
    tf_keras_2_refusal,
)
from shapecheck import activations, check
from shapecheck.analysis import analyse
from shapecheck.errors import RequestInvalid
from shapecheck.layers import REGISTRY
from shapecheck.layers.activations import TF_KERAS_2, activation_arguments
from shapecheck.layers.tf_keras import TF_KERAS_VARIANTS


@pytest.mark.parametrize(("spec", "path"), [
    ({"type": "ReLU", "max_value": "6"}, "model.layers.0.max_value"),
    ({"type": "LeakyReLU", "negative_slope": True}, "model.layers.0.negative_slope"),
    ({"type": "ELU", "alpha": None}, "model.layers.0.alpha"),
    ({"type": "Softmax", "axis": "last"}, "model.layers.0.axis"),
    ({"type": "Softmax", "axis": []}, "model.layers.0.axis"),
    ({"type": "Softmax", "axis": [1, 1.5]}, "model.layers.0.axis"),
    # Keras would turn 0 into "the last axis" (param_shape[-1]); axes are counted from 1.
    ({"type": "PReLU", "shared_axes": 0}, "model.layers.0.shared_axes"),
    ({"type": "PReLU", "shared_axes": [[1, 2]]}, "model.layers.0.shared_axes"),
])
def test_invalid_arguments_are_refused_with_their_path(spec: dict, path: str) -> None:
    assert refused_paths([3, 4], spec) == [path]


def test_keras2_leaky_relu_alpha_is_read_as_negative_slope() -> None:
    result = run([4], {"type": "LeakyReLU", "alpha": 0.1})
    only_row(result)
    assert any(d["code"] == "legacy_argument" and "'alpha'" in d["message"]
               for d in result["diagnostics"])


def test_elu_alpha_is_its_own_argument_not_a_legacy_name() -> None:
    result = run([4], {"type": "ELU", "alpha": 0.5})
    only_row(result)
    assert not result["diagnostics"]


def test_thresholded_relu_is_not_a_keras3_layer() -> None:
    problem = error_of(run([4], {"type": "ThresholdedReLU", "theta": 1.0}))
    assert problem["code"] == "unknown_layer"


def test_prelu_has_one_slope_per_channel_when_spatial_axes_are_shared() -> None:
    row = only_row(run([8, 8, 16], {"type": "PReLU", "shared_axes": [1, 2]}))
    assert row["params"] == 16
    assert "one learnt slope per element of (1, 1, 16)" in row["explain"]
    assert "shared along axes 1, 2" in row["explain"]


def test_prelu_needs_known_sizes_on_the_axes_it_does_not_share() -> None:
    problem = error_of(run([None, 3], {"type": "PReLU"}))
    assert "size of axis 1 (not shared)" in problem["message"]
    assert "unknown (None)" in problem["message"]


def test_prelu_shared_axis_beyond_the_input() -> None:
    problem = error_of(run([3, 4], {"type": "PReLU", "shared_axes": [3]}))
    assert "shares axis 3" in problem["message"] and "axes 1 to 2" in problem["message"]


def test_softmax_on_a_missing_axis_is_reported() -> None:
    # Keras builds the model (Softmax's shape rule ignores the axis) but predict fails.
    problem = error_of(run([3, 4], {"type": "Softmax", "axis": 3}))
    assert "axis 3" in problem["message"] and "(None, 3, 4)" in problem["message"]


@pytest.mark.parametrize("axis", [[1, 1], [1, -2]])
def test_softmax_on_an_axis_listed_twice_is_reported(axis: list) -> None:
    # Keras builds the model, but predict fails: "duplicate value in 'axis'".
    problem = error_of(run([3, 4], {"type": "Softmax", "axis": axis}))
    assert problem["message"].startswith(f"Softmax normalises along axes {axis}, which name "
                                         "axis 1 of the input (None, 3, 4) more than once")


def test_softmax_explains_its_axis() -> None:
    row = only_row(run([3, 4], {"type": "Softmax", "axis": -2}))
    assert "along axis 1" in row["explain"]


X = np.array([-10, -5, 0.0, 5, 10], dtype=np.float32)


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, [0, 0, 0, 5, 10]),
    ({"negative_slope": 0.5}, [-5, -2.5, 0, 5, 10]),
    ({"max_value": 5.0}, [0, 0, 0, 5, 5]),
    ({"threshold": 5.0}, [0, 0, 0, 0, 10]),
    ({"negative_slope": 0.5, "threshold": 5.0, "max_value": 8.0}, [-7.5, -5, -2.5, 0, 8]),
])
def test_relu_matches_the_values_keras_documents(kwargs: dict, expected: list) -> None:
    y = activations.relu(X, **kwargs)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected)


# -- activations given as a layer's argument ------------------------------------------------------
# Keras 3's newer functions, glu, activation layers given by their config and tf.keras 2's
# activations are recorded in tests/fixtures/{keras3,tfkeras2}/layers/activations.json; these
# tests check what the fixtures cannot: the refusals' words, the diagnostics, the forward pass
# where Keras' predict fails, and documents edited to what only a hand-written one holds.
@pytest.mark.parametrize("layer", [{"type": "Dense", "units": 2, "activation": "threshold"},
                                   {"type": "Activation", "activation": "threshold"}])
def test_threshold_by_name_is_refused_at_its_layer(layer: dict) -> None:
    """Keras 3 builds the model, but the call fails: threshold() missing 2 required positional
    arguments: 'threshold' and 'default_value'."""
    with pytest.raises(RequestInvalid) as exc:
        run([3], layer)
    (message,) = exc.value.errors["model.layers.0.activation"]
    assert message.startswith("Keras' 'threshold' activation needs its threshold and "
                              "default_value arguments, which a name cannot give")
    assert "Use a ReLU layer with threshold=... instead." in message


def test_prelu_as_an_activation_is_refused_with_the_layer_to_use() -> None:
    with pytest.raises(RequestInvalid) as exc:
        run([3], {"type": "Dense", "units": 2, "activation": {
            "module": "keras.layers", "class_name": "PReLU", "config": {}}})
    assert exc.value.errors == {"model.layers.0.activation": [
        "a PReLU given as an activation adds its learnt slopes to this layer's weights, which "
        "shapecheck does not model: put a PReLU layer after this layer instead"]}


def test_an_activation_layer_class_name_alone_is_tf_keras_2_only() -> None:
    """Keras 3: "Could not interpret activation function identifier: ELU" (fixture
    activations:dense_elu_by_class_name); tf.keras 2 reads it as ELU()."""
    with pytest.raises(RequestInvalid) as exc:
        run([3], {"type": "Dense", "units": 2, "activation": "ELU"})
    assert exc.value.errors == {"model.layers.0.activation": [
        'Keras 3 takes the activation layer ELU as its config ({"class_name": "ELU", '
        '"config": {...}}), not by its class name alone as tf.keras 2 did; the function '
        "'elu' is ELU with its defaults"]}
    tf_keras = recorded("tfkeras2", "activations:dense_elu_by_class_name")
    dense = tf_keras["keras_json"]["config"]["layers"][1]["config"]
    assert dense["activation"]["class_name"] == "ELU"  # what tf.keras 2 writes
    dense["activation"] = "ELU"  # what a hand-written document may hold
    assert_forward_as_recorded(tf_keras["keras_json"], tf_keras["forward"])


def test_robust_masking_of_a_softmax_activation_is_tf_keras_2_only() -> None:
    """tf.keras 2's Softmax takes robust_masking, which changes nothing where no mask reaches
    it (as an activation): the numbers recorded without it. Keras 3's Softmax refuses it."""
    tf_keras = recorded("tfkeras2", "activations:dense_softmax_layer_axis")
    dense = tf_keras["keras_json"]["config"]["layers"][1]["config"]
    dense["activation"]["config"]["robust_masking"] = True
    assert_forward_as_recorded(tf_keras["keras_json"], tf_keras["forward"])
    with pytest.raises(RequestInvalid) as exc:
        run([3], {"type": "Dense", "units": 2, "activation": {
            "module": "keras.layers", "class_name": "Softmax",
            "config": {"robust_masking": True}}})
    (message,) = exc.value.errors["model.layers.0.activation"]
    assert "Unrecognized keyword arguments passed to Softmax" in message


def test_tf_keras_2_refuses_keras_3_activation_names() -> None:
    assert tf_keras_2_refusal("activations:dense_hard_sigmoid", "activation", "hard_silu") == [
        "'hard_silu' is a Keras 3 activation that tf.keras 2 does not have (it refuses it: "
        "Unknown activation function 'hard_silu')"]


def test_keras_3_finds_an_activation_layer_in_keras_layers_only() -> None:
    """Keras 3: "Could not locate class 'ELU'" (fixture activations:
    dense_elu_layer_without_module); tf.keras 2 reads it."""
    with pytest.raises(RequestInvalid) as exc:
        run([3], {"type": "Dense", "units": 2, "activation": {"class_name": "ELU",
                                                              "config": {}}})
    (message,) = exc.value.errors["model.layers.0.activation"]
    assert "its module, which must be 'keras.layers', got None" in message


def test_tf_keras_2_hard_sigmoid_is_still_read_as_a_probability() -> None:
    """tf.keras 2 computes its own hard_sigmoid (clip(0.2·x + 0.5, 0, 1)); the checks that read
    activation names take it as hard_sigmoid all the same."""
    doc = recorded("tfkeras2", "activations:dense_hard_sigmoid")["keras_json"]
    layer = analyse(doc, {}).graph.layers["dense"]
    assert layer.args.activation == "hard_sigmoid"
    assert activations.get(layer.args.activation) is activations.tf_keras_hard_sigmoid
    result = check({"model": doc, "y_shape": [None, 8], "loss": "binary_crossentropy"})
    assert "activation_loss_mismatch" not in codes(result)


def test_every_layer_with_an_activation_reads_it_as_tf_keras_2_in_its_documents() -> None:
    with_activations = [name for name, cls in REGISTRY.items() if activation_arguments(cls)]
    assert {"Dense", "Activation", "Conv2D", "LSTM", "GRUCell", "ConvLSTM2D"} <= set(
        with_activations)
    for name in with_activations:
        variant = TF_KERAS_VARIANTS[name]
        assert issubclass(variant, REGISTRY[name])
        assert all(variant.schema().fields[argument].vocabulary is TF_KERAS_2
                   for argument in activation_arguments(variant))


# -- glu: Keras declares the shape before the activation halves it -------------------------------
def test_glu_warns_that_predict_halves_the_declared_shape() -> None:
    result = run([3, 5], {"type": "Dense", "units": 4, "activation": "glu"},
                 {"type": "Dense", "units": 1})
    assert result["layers"][0]["output_shapes"] == [[None, 3, 4]]  # as Keras' summary
    note = only_diagnostic(
        result, "activation_changes_shape", severity="warning", layer="dense", message=(
            "'dense' applies the glu activation, which splits the last axis in two halves and "
            "multiplies the first by the sigmoid of the second: Keras declares (None, 3, 4), as "
            "the summary shows, but its predict gives 2 features on the last axis; a layer "
            "after it, built for 4 features, fails at predict."))
    assert note["hint"].startswith("Use another activation, or build the gate where Keras sees "
                                   "it: Dense(n) and Dense(n, activation='sigmoid')")


@pytest.mark.parametrize(("layer", "says"), [
    ({"type": "Dense", "units": 5, "activation": "glu"},
     "the last axis of (None, 3, 5) has 5 values, an odd number, so Keras builds the model but "
     "its predict fails."),
    ({"type": "LSTM", "units": 4, "recurrent_activation": "glu"},
     "'lstm' applies glu as its recurrent_activation, which splits the last axis in two halves "
     "and multiplies the first by the sigmoid of the second, inside the recurrent cell: its "
     "state of 4 units would lose half of them at every step, so Keras builds the model but "
     "its predict fails."),
])
def test_glu_warns_where_keras_predict_fails(layer: dict, says: str) -> None:
    note = only_diagnostic(run([3, 5], layer), "activation_changes_shape")
    assert note["message"].endswith(says)


def test_the_forward_pass_refuses_a_layer_built_for_the_shape_glu_halves() -> None:
    """Keras' predict fails at 'dense_1' (expected axis -1 of input shape to have value 4)."""
    message = forward_refusal_where_predict_fails("activations:dense_glu_then_dense",
                                                  "incompatible with the layer")
    assert message.startswith(
        "layer 'dense' (Dense) computes output 0 with shape (2, 2) where Keras declares (2, 4) "
        "(its activation 'glu' halves the last axis, which Keras leaves out of the shape it "
        "declares); layer 'dense_1', which reads it, was built for the declared shape: its "
        "kernel has shape (4, 3), these inputs need (2, 3)")


def test_the_forward_pass_refuses_glu_on_an_odd_size() -> None:
    message = forward_refusal_where_predict_fails("activations:dense_glu_odd",
                                                  "axis size must be divisible by 2")
    assert message == (
        "layer 'dense' (Dense) cannot run on this data: the glu activation splits the last axis "
        "in two halves, but it has 5 values, an odd number (Keras' predict fails too: axis size "
        "must be divisible by 2)")


def test_a_glu_activation_layer_is_not_folded_into_the_layer_before() -> None:
    """The forward plan folds an Activation into the Dense before it; glu's output is checked
    against the Activation's own declared shape, so it stays a layer."""
    with pytest.raises(RequestInvalid) as exc:
        check({"model": {"inputs": [5], "layers": [
            {"type": "Dense", "units": 4}, {"type": "Activation", "activation": "glu"},
            {"type": "Dense", "units": 3}]}, "forward": {"batch_size": 2}})
    (message,) = exc.value.errors["forward"]
    assert message.startswith("layer 'activation' (Activation) computes output 0 with shape "
                              "(2, 2) where Keras declares (2, 4)")


@pytest.mark.parametrize(("activation", "says"), [
    ({"module": [["keras.layers"]], "class_name": "ELU"}, "its module, which must be"),
    ({"module": "keras.layers", "class_name": ["ELU"]}, "got the class ['ELU']"),
    ({"module": "keras.layers", "class_name": "ELU", "config": [1]}, "must be an object"),
    ({"module": "keras.layers", "class_name": "ELU", "config": {"alpha": "big"}},
     "ELU's alpha: must be a number"),
])
def test_a_malformed_activation_config_is_refused_not_a_crash(activation: dict,
                                                              says: str) -> None:
    """tools/fuzz_engine.py: an unhashable module or class name raised TypeError."""
    with pytest.raises(RequestInvalid) as exc:
        run([3], {"type": "Dense", "units": 2, "activation": activation})
    (message,) = exc.value.errors["model.layers.0.activation"]
    assert says in message


def test_a_softmax_activation_on_an_axis_the_output_lacks_cannot_run() -> None:
    """Keras builds Dense(activation=Softmax(axis=...)) for any axis; predict fails. An axis of
    10^30 once overflowed numpy (tools/fuzz_engine.py)."""
    softmax = {"module": "keras.layers", "class_name": "Softmax", "config": {"axis": 10**30}}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": {"inputs": [3], "layers": [
            {"type": "Dense", "units": 2, "activation": softmax}]}, "forward": {}})
    assert exc.value.errors == {"forward": [
        "layer 'dense' (Dense) cannot run on this data: Softmax normalises along axis "
        f"{10**30}, which the input (1, 2) does not have (Keras builds the model, but predict "
        "fails)."]}


def test_a_softmax_keras_builds_passes_its_declared_shape_on() -> None:
    """Keras 3 builds Softmax(axis=5) on (None, 4, 3), declaring (None, 4, 3), and then refuses
    Dot((None, 4, 3), (None, 4, 5)): that error comes first, the Softmax's (at predict) after.
    (A random sweep, seed 9101, found the Dot unchecked behind the Softmax.)"""
    result = run({"a": [4, 3], "b": [4, 5]},
                 {"type": "Softmax", "axis": 5, "name": "softmax", "inputs": "a"},
                 {"type": "Dot", "axes": -1, "name": "dot", "inputs": ["softmax", "b"]})
    assert [(d["layer"], d["code"]) for d in result["diagnostics"]] == [
        ("dot", "layer_input_incompatible"), ("softmax", "layer_input_incompatible")]
    assert "Keras builds the model, but predict fails" in result["diagnostics"][1]["message"]
    dense = run([4, 3], {"type": "Softmax", "axis": 5}, {"type": "Dense", "units": 2})
    assert dense["layers"][1]["output_shapes"] == [[None, 4, 2]]
