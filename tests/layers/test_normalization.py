"""Normalization layers: what the Keras fixtures do not show (422 paths, explanations, error
hints, MACs, weight layout of the SpectralNormalization wrapper, in Keras 3 and tf.keras 2)."""

from __future__ import annotations

import numpy as np
import pytest
from keras_fixtures import recorded
from layer_checks import error_of, only_row, refused_paths, run
from shapecheck import check
from shapecheck.layers import REGISTRY


@pytest.mark.parametrize(("layer", "path"), [
    ({"type": "BatchNormalization", "axis": [1, 2]}, "model.layers.0.axis"),
    ({"type": "BatchNormalization", "axis": []}, "model.layers.0.axis"),
    ({"type": "LayerNormalization", "axis": "last"}, "model.layers.0.axis"),
    ({"type": "GroupNormalization", "groups": 0}, "model.layers.0.groups"),
    ({"type": "GroupNormalization", "groups": -2}, "model.layers.0.groups"),
    ({"type": "GroupNormalization", "axis": [1]}, "model.layers.0.axis"),
    ({"type": "SpectralNormalization", "layer": {"type": "Dense", "units": 2},
      "power_iterations": 0}, "model.layers.0.power_iterations"),
    ({"type": "SpectralNormalization"}, "model.layers.0.layer"),
    ({"type": "SpectralNormalization", "layer": {"type": "Dense", "units": 0}},
     "model.layers.0.layer.units"),
    ({"type": "SpectralNormalization", "layer": {"type": "NoSuchLayer"}}, "model.layers.0.layer"),
])
def test_invalid_arguments_are_refused_with_their_path(layer: dict, path: str) -> None:
    assert refused_paths([4, 6], layer) == [path]


def test_batch_normalization_reads_a_keras2_one_axis_list() -> None:
    row = only_row(run([4, 6], {"type": "BatchNormalization", "axis": [2]}))
    assert (row["params"], row["non_trainable_params"]) == (24, 12)


def test_batch_normalization_explains_channels_and_moving_statistics() -> None:
    row = only_row(run([8, 8, 16], {"type": "BatchNormalization"}))
    assert "each of the 16 channels of axis -1" in row["explain"]
    assert "moving mean and variance" in row["explain"]
    assert "= 64 (32 non-trainable)" in row["explain"]
    assert row["macs"] == 2 * 8 * 8 * 16


def test_batch_normalization_without_affine_costs_one_mac_per_element() -> None:
    row = only_row(run([5, 3], {"type": "BatchNormalization", "center": False, "scale": False}))
    assert row["macs"] == 15


def test_layer_normalization_explains_the_normalised_values() -> None:
    row = only_row(run([4, 4, 3], {"type": "LayerNormalization", "axis": [1, 2]}))
    assert "over axes [1, 2] (16 values)" in row["explain"]
    assert "gamma (4, 4) + beta (4, 4) = 32" in row["explain"]
    assert row["macs"] == 5 * 48


def test_axis_beyond_the_input_names_the_valid_range() -> None:
    error = error_of(run([4, 4, 3], {"type": "LayerNormalization", "axis": 5}))
    assert error["code"] == "layer_input_incompatible"
    assert "axis 5" in error["message"] and "(None, 4, 4, 3) has 4 axes" in error["message"]
    assert "-1" in error["hint"]


def test_unknown_normalised_axis_cannot_build_weights() -> None:
    error = error_of(run([None], {"type": "BatchNormalization"}))
    assert "unknown (None)" in error["message"]


def test_group_normalization_hint_lists_the_divisors() -> None:
    error = error_of(run([4, 6], {"type": "GroupNormalization", "groups": 4}))
    assert "6 is not a multiple of 4" in error["message"]
    assert "1, 2, 3, 6" in error["hint"]
    error = error_of(run([4, 6], {"type": "GroupNormalization", "groups": 8}))
    assert "more groups than channels" in error["message"]


def test_group_normalization_hint_offers_the_divisors_nearest_the_groups() -> None:
    error = error_of(run([4, 720720], {"type": "GroupNormalization", "groups": 32}))
    assert "divisor of 720720: 26, 28, 30, 33, 35, 36 (or -1" in error["hint"]


def test_group_normalization_explains_the_group_size() -> None:
    row = only_row(run([4, 4, 6], {"type": "GroupNormalization", "groups": 2}))
    assert "form 2 groups of 3 = 6 / 2" in row["explain"]


def test_instance_normalization_normalises_each_channel_of_each_sample() -> None:
    layer = REGISTRY["GroupNormalization"].from_config("gn", {"groups": -1, "epsilon": 0.0})
    x = np.random.default_rng(1).standard_normal((2, 5, 3)).astype(np.float32)
    y = layer.apply(x, [np.ones(3, np.float32), np.zeros(3, np.float32)])
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=1), 1, atol=1e-4)


def test_unit_normalization_keeps_a_zero_vector_zero() -> None:
    layer = REGISTRY["UnitNormalization"].from_config("u", {})
    x = np.array([[0.0, 0.0], [3.0, 4.0]], np.float32)
    np.testing.assert_allclose(layer.apply(x, []), [[0, 0], [0.6, 0.8]], rtol=1e-6)


def test_spectral_normalization_lists_kernel_then_vector_u_then_bias() -> None:
    result = run([5, 5, 2], {"type": "SpectralNormalization",
                             "layer": {"type": "Conv2D", "filters": 3, "kernel_size": 2}})
    row = only_row(result)
    assert "params: kernel (2, 2, 2, 3) + vector_u (1, 3) + bias (3,) = 30" in row["explain"]
    assert row["non_trainable_params"] == 3
    assert row["macs"] == 4 * 4 * 3 * 2 * 2 * 2
    assert "wrapped Conv2D" in row["explain"]


def test_spectral_normalization_refuses_a_layer_without_kernel() -> None:
    error = error_of(run([4], {"type": "SpectralNormalization",
                               "layer": {"type": "BatchNormalization"}}))
    assert "BatchNormalization has no 'kernel'" in error["message"]
    assert "Dense" in error["hint"]


def test_spectral_normalization_reads_a_keras_json_inner_layer() -> None:
    inner = {"module": "keras.layers", "class_name": "Dense",
             "config": {"name": "inner", "units": 4, "use_bias": False}}
    row = only_row(run([3], {"type": "SpectralNormalization", "layer": inner}))
    assert row["params"] == 3 * 4 + 4


def test_tf_keras_2_spectral_normalization_lists_vector_u_after_the_wrapped_weights() -> None:
    """tf.keras 2's get_weights(): the trainable weights (the kernel the wrapper tracks, then the
    wrapped layer's), then vector_u."""
    row = only_row(check({"model": recorded("tfkeras2", "normalization:sn_conv2d")["keras_json"]}))
    assert "params: kernel (2, 2, 2, 3) + bias (3,) + vector_u (1, 3) = 30" in row["explain"]
    assert row["non_trainable_params"] == 3


def test_tf_keras_2_spectral_normalization_trains_the_kernel_of_a_frozen_layer() -> None:
    """The wrapper tracks the kernel as trainable, so it comes first, and the frozen layer's bias
    after vector_u. (tf.keras 2's get_weights() lists the kernel a second time there, before the
    bias; shapecheck lists it once, as count_params counts it.)"""
    frozen = recorded("tfkeras2", "normalization:sn_conv2d_inner_frozen")["keras_json"]
    row = only_row(check({"model": frozen}))
    assert "params: kernel (2, 2, 2, 3) + vector_u (1, 3) + bias (3,) = 30" in row["explain"]
    assert (row["trainable_params"], row["non_trainable_params"]) == (24, 6)
    rng = np.random.default_rng(0)
    kernel, vector_u, bias = (rng.standard_normal(s).tolist() for s in [(2, 2, 2, 3), (1, 3), 3])
    x = rng.standard_normal((1, 5, 5, 2)).tolist()
    trainable = recorded("tfkeras2", "normalization:sn_conv2d_inner_frozen")["keras_json"]
    trainable["config"]["layers"][1]["config"]["layer"]["config"]["trainable"] = True
    outputs = [check({"model": doc, "forward": {"x": x, "weights": {"spectral_normalization": ws},
                                                "return": "values"}})["forward"]["outputs"]
               for doc, ws in [(frozen, [kernel, vector_u, bias]),
                               (trainable, [kernel, bias, vector_u])]]
    assert outputs[0] == outputs[1]


def test_tf_keras_2_spectral_normalization_refuses_a_depthwise_convolution() -> None:
    """tf.keras 2 refuses it (its DepthwiseConv2D has a depthwise_kernel, recorded in
    sn_depthwise_conv2d); Keras 3 wraps it. The tf.keras 2 document is the recorded sn_conv2d
    with its Conv2D made a DepthwiseConv2D."""
    assert recorded("tfkeras2", "normalization:sn_depthwise_conv2d")["error"]["layer"] == (
        "spectral_normalization")
    doc = recorded("tfkeras2", "normalization:sn_conv2d")["keras_json"]
    inner = doc["config"]["layers"][1]["config"]["layer"]
    inner["class_name"] = "DepthwiseConv2D"
    del inner["config"]["filters"]
    error = error_of(check({"model": doc}))
    assert error["layer"] == "spectral_normalization"
    assert "DepthwiseConv2D has no 'kernel'" in error["message"]
    assert "DepthwiseConv2D" not in error["hint"]
    keras_3 = recorded("keras3", "normalization:sn_depthwise_conv2d")
    row = only_row(check({"model": keras_3["keras_json"]}))
    assert row["params"] == keras_3["totals"]["params"]


def test_layer_scale_names_the_channels_it_expects() -> None:
    error = error_of(run([3, 5], {"type": "LayerScale", "init_values": 1e-6,
                                  "projection_dim": 4}))
    assert "4 scales (projection_dim)" in error["message"] and "5 channels" in error["message"]
    assert "projection_dim=5" in error["hint"]


def test_custom_scale_layer_explains_the_residual_sum() -> None:
    result = check({"model": {"inputs": {"a": [4, 3], "b": [4, 3]}, "layers": [
        {"type": "CustomScaleLayer", "scale": 0.17, "inputs": ["a", "b"]}]}})
    assert "shortcut + 0.17 × residual" in only_row(result)["explain"]
    result = check({"model": {"inputs": {"a": [4, 3], "b": [4, 2]}, "layers": [
        {"type": "CustomScaleLayer", "scale": 0.17, "inputs": ["a", "b"]}]}})
    assert "do not broadcast" in error_of(result)["message"]


def test_rms_normalization_scale_must_line_up_with_the_last_axes() -> None:
    """Keras builds RMSNormalization(axis=1) on (batch, 3, 4), but predict fails."""
    error = error_of(run([3, 4], {"type": "RMSNormalization", "axis": 1}))
    assert "scale of shape (3,)" in error["message"]
    assert "axis=-1" in error["hint"]


def test_rms_normalization_keras_builds_passes_its_shape_on() -> None:
    """Keras 3 builds RMSNormalization(axis=1) on (None, 5, 7, 2) and refuses the Conv1D after
    it (a kernel of rank 3 for an input of rank 4): that error comes first."""
    result = run([5, 7, 2], {"type": "RMSNormalization", "axis": 1, "name": "rms"},
                 {"type": "Conv1D", "filters": 2, "kernel_size": 9, "name": "conv"})
    errors = [d["layer"] for d in result["diagnostics"] if d["severity"] == "error"]
    assert errors == ["conv", "rms"]


def test_the_same_axis_twice_is_refused_at_predict_in_keras_3() -> None:
    """Keras 3 builds LayerNormalization(axis=[-1, 2]) on rank 3 and the layers after it
    (fixture normalization:ln_axis_repeated), but predict fails."""
    result = run([4, 5], {"type": "LayerNormalization", "axis": [-1, 2]},
                 {"type": "Dense", "units": 3})
    assert error_of(result)["message"] == (
        "LayerNormalization's axes [-1, 2] name the same axis of the input (None, 4, 5) twice: "
        "Keras builds the layer, but its predict fails.")
    assert result["layers"][1]["output_shapes"] == [[None, 4, 3]]


def test_tf_keras_2_refuses_to_build_the_same_axis_twice() -> None:
    """tf.keras 2: "Duplicate axis: (1, 1)" (fixture normalization:ln_axis_repeated)."""
    doc = recorded("tfkeras2", "normalization:sn_dense")["keras_json"]
    entry = doc["config"]["layers"][1]  # the SpectralNormalization, now a LayerNormalization
    entry["class_name"] = "LayerNormalization"
    entry["config"] = {"name": entry["config"]["name"], "axis": [1, -1]}
    assert error_of(check({"model": doc}))["message"] == (
        "LayerNormalization's axes [1, -1] name the same axis of the input (None, 4) twice.")
