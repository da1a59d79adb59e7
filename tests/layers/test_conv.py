"""Convolutions: what the Keras fixtures do not show (422 paths, explanations, error messages
and hints, MACs, weight names, legacy names, and the transposed kernel as the adjoint)."""

from __future__ import annotations

import numpy as np
import pytest
from keras_fixtures import check_as_read_back, recorded
from layer_checks import codes, error_of, only_row, refused_paths, run
from shapecheck import check
from shapecheck.layers import REGISTRY
from shapecheck.layers.conv import convolve, convolve_transpose
from shapecheck.shapes import deconv_output_length


@pytest.mark.parametrize(("spec", "path"), [
    ({"type": "Conv2D", "filters": 0, "kernel_size": 3}, "model.layers.0.filters"),
    ({"type": "Conv2D", "kernel_size": 3}, "model.layers.0.filters"),
    ({"type": "Conv2D", "filters": 4, "kernel_size": [3, 3, 3]}, "model.layers.0.kernel_size"),
    ({"type": "Conv2D", "filters": 4, "kernel_size": 0}, "model.layers.0.kernel_size"),
    ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "strides": [1, 0]},
     "model.layers.0.strides"),
    ({"type": "Conv2D", "filters": 5, "kernel_size": 3, "groups": 2}, "model.layers.0.groups"),
    ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
     "model.layers.0.dilation_rate"),
    ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "causal"},
     "model.layers.0.padding"),
    ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "full"},
     "model.layers.0.padding"),
    ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "data_format": "NHWC"},
     "model.layers.0.data_format"),
    ({"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 0},
     "model.layers.0.depth_multiplier"),
    ({"type": "DepthwiseConv2D", "kernel_size": 3, "padding": "causal"},
     "model.layers.0.padding"),
    ({"type": "SeparableConv2D", "kernel_size": 3}, "model.layers.0.filters"),
    ({"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3, "strides": 2,
      "output_padding": 2}, "model.layers.0.output_padding"),
    ({"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3, "output_padding": -1},
     "model.layers.0.output_padding"),
    ({"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3, "strides": 2,
      "output_padding": [1, 1, 1]}, "model.layers.0.output_padding"),
    ({"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3, "padding": "causal"},
     "model.layers.0.padding"),
])
def test_invalid_arguments_are_refused_with_their_path(spec: dict, path: str) -> None:
    assert refused_paths([8, 8, 4], spec) == [path]


def test_conv1d_takes_causal_padding_and_upper_case_names() -> None:
    row = only_row(run([10, 2], {"type": "Conv1D", "filters": 3, "kernel_size": 4,
                                 "padding": "Causal", "data_format": "CHANNELS_LAST"}))
    assert row["output_shapes"] == [[None, 10, 3]]
    assert "10 = ceil(10 / 1) with padding='causal'" in row["explain"]


def test_conv2d_explains_the_formula_and_the_parameters() -> None:
    row = only_row(run([100, 100, 3], {"type": "Conv2D", "filters": 32, "kernel_size": 3}))
    assert row["explain"] == ("98 = floor((100 − 3) / 1) + 1 on each spatial axis; 32 filters "
                              "give 32 channels; params (3·3·3 + 1)·32 = 896")
    assert row["macs"] == 98 * 98 * 32 * 3 * 3 * 3


def test_grouped_convolution_explains_and_counts_per_group() -> None:
    row = only_row(run([9, 8, 4], {"type": "Conv2D", "filters": 6, "kernel_size": [3, 2],
                                   "groups": 2, "strides": 2, "padding": "same"}))
    assert row["output_shapes"] == [[None, 5, 4, 6]]
    assert "5 = ceil(9 / 2) with padding='same'; 4 = ceil(8 / 2)" in row["explain"]
    assert "params (3·2·4/2 + 1)·6 = 78" in row["explain"]
    assert row["params"] == 78
    assert row["macs"] == 5 * 4 * 6 * (3 * 2 * 4 // 2)


def test_dilated_convolution_explains_the_dilated_window() -> None:
    row = only_row(run([9, 9, 1], {"type": "Conv2D", "filters": 1, "kernel_size": 3,
                                   "dilation_rate": 3}))
    assert row["explain"].startswith("3 = floor((9 − 7) / 1) + 1 on each spatial axis")


def test_window_larger_than_the_input_is_refused_at_that_layer_with_a_fix() -> None:
    problem = error_of(run([5, 5, 1], {"type": "Conv2D", "filters": 2, "kernel_size": 3,
                                       "strides": 2, "name": "down"},
                           {"type": "Conv2D", "filters": 2, "kernel_size": 3, "name": "late"}))
    assert problem["code"] == "layer_input_incompatible"
    assert problem["layer"] == "late"
    assert "window of 3 over an axis of length 2 (input (None, 2, 2, 2))" in problem["message"]
    assert "padding='same'" in problem["hint"] and "smaller kernel_size" in problem["hint"]


def test_dilated_window_too_large_names_the_dilation() -> None:
    problem = error_of(run([8, 8, 4], {"type": "Conv2D", "filters": 6, "kernel_size": 3,
                                       "dilation_rate": 4}))
    assert "window of 3 (dilated to 9) over an axis of length 8" in problem["message"]
    assert "smaller kernel_size or dilation_rate" in problem["hint"]


def test_wrong_rank_names_the_expected_layout_and_how_to_fix() -> None:
    problem = error_of(run([8, 4], {"type": "Conv2D", "filters": 6, "kernel_size": 3}))
    assert ("expects inputs of rank 4 (batch, height, width, channels), but received "
            "(None, 8, 4) of rank 3") in problem["message"]
    assert "channel axis of 1" in problem["hint"]
    problem = error_of(run([8], {"type": "Conv1DTranspose", "filters": 2, "kernel_size": 3,
                                 "data_format": "channels_first"}))
    assert "rank 3 (batch, channels, steps)" in problem["message"]


def test_unknown_channels_cannot_build_the_kernel() -> None:
    for spec in ({"type": "Conv2D", "filters": 6, "kernel_size": 3},
                 {"type": "DepthwiseConv2D", "kernel_size": 3},
                 {"type": "Conv2DTranspose", "filters": 6, "kernel_size": 3}):
        problem = error_of(run([8, 8, None], spec))
        assert "needs to know the number of input channels" in problem["message"]
        assert "fixed size" in problem["hint"]


def test_input_channels_not_divisible_by_groups() -> None:
    problem = error_of(run([8, 8, 3], {"type": "Conv2D", "filters": 6, "kernel_size": 3,
                                       "groups": 2}))
    assert "groups=2 needs the input channels to be divisible by 2, but the input has 3" in (
        problem["message"])
    assert "divisor of the input channels" in problem["hint"]


def test_depthwise_explains_the_multiplier_and_counts_one_channel_per_output() -> None:
    row = only_row(run([9, 8, 4], {"type": "DepthwiseConv2D", "kernel_size": 3,
                                   "depth_multiplier": 2}))
    assert row["output_shapes"] == [[None, 7, 6, 8]]
    assert "each of the 4 channels gets its own 2 kernel(s)" in row["explain"]
    assert "4·2 = 8 channels" in row["explain"]
    assert row["explain"].endswith("params (3·3 + 1)·4·2 = 80")
    assert row["macs"] == 7 * 6 * 8 * 9


def test_separable_counts_depthwise_plus_pointwise() -> None:
    row = only_row(run([9, 8, 4], {"type": "SeparableConv2D", "filters": 8, "kernel_size": 3,
                                   "depth_multiplier": 2, "use_bias": False}))
    assert row["params"] == 3 * 3 * 4 * 2 + 8 * 8
    assert row["explain"].endswith("params depthwise 3·3·4·2 + pointwise 8·8 = 136")
    assert "then pointwise 1×1 to 8 filters" in row["explain"]
    assert row["macs"] == 7 * 6 * (4 * 2) * 9 + 7 * 6 * (4 * 2) * 8


@pytest.mark.parametrize(("args", "shape", "formula"), [
    ({}, [None, 9, 11, 2], "9 = (4 − 1)·2 + max(3, 2); 11 = (5 − 1)·2 + max(3, 2)"),
    ({"padding": "same"}, [None, 8, 10, 2], "8 = 4·2 with padding='same'"),
    ({"output_padding": 1}, [None, 10, 12, 2], "10 = (4 − 1)·2 + 3 + 1"),
    ({"output_padding": [1, 0], "padding": "same"}, [None, 8, 9, 2],
     "8 = (4 − 1)·2 + 3 mod 2 + 1 with padding='same'"),
])
def test_transposed_convolution_explains_its_length(args: dict, shape: list,
                                                     formula: str) -> None:
    row = only_row(run([4, 5, 3], {"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3,
                                   "strides": 2, **args}))
    assert row["output_shapes"] == [shape]
    assert formula in row["explain"]
    assert row["explain"].endswith("params (3·3·3 + 1)·2 = 56")
    assert row["macs"] == 4 * 5 * 3 * 9 * 2  # every input element meets the whole kernel


@pytest.mark.parametrize(("spec", "names"), [
    ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "groups": 2},
     [("kernel", (3, 3, 3, 4), "glorot_uniform"), ("bias", (4,), "zeros")]),
    ({"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 2},
     [("kernel", (3, 3, 6, 2), "glorot_uniform"), ("bias", (12,), "zeros")]),
    ({"type": "SeparableConv1D", "filters": 5, "kernel_size": 3, "depth_multiplier": 2},
     [("depthwise_kernel", (3, 6, 2), "glorot_uniform"),
      ("pointwise_kernel", (1, 12, 5), "glorot_uniform"), ("bias", (5,), "zeros")]),
    ({"type": "Conv3DTranspose", "filters": 5, "kernel_size": 2, "use_bias": False},
     [("kernel", (2, 2, 2, 5, 6), "glorot_uniform")]),
])
def test_weights_have_keras_names_shapes_and_initialisers(spec: dict, names: list) -> None:
    cls = REGISTRY[spec["type"]]
    layer = cls.from_config("x", {k: v for k, v in spec.items() if k != "type"})
    rank = layer.rank
    weights = layer.build([(None, *(8,) * rank, 6)])
    assert [(w.name, w.shape, w.initializer) for w in weights] == names


@pytest.mark.parametrize(("legacy", "config", "keras3", "shape"), [
    ("AtrousConvolution2D", {"nb_filter": 8, "nb_row": 3, "nb_col": 3, "atrous_rate": [2, 2]},
     "Conv2D", [None, 12, 12, 8]),
    ("AtrousConvolution1D", {"nb_filter": 8, "filter_length": 3, "atrous_rate": 3},
     "Conv1D", [None, 10, 8]),
    ("Deconvolution2D", {"nb_filter": 8, "nb_row": 3, "nb_col": 3, "subsample": [2, 2],
                         "border_mode": "same", "output_shape": [None, 32, 32, 8]},
     "Conv2DTranspose", [None, 32, 32, 8]),
    ("Deconvolution3D", {"filters": 2, "kernel_size": 2, "strides": 2}, "Conv3DTranspose",
     [None, 32, 32, 32, 2]),
])
def test_keras_1_names_are_read_with_a_warning(legacy: str, config: dict, keras3: str,
                                               shape: list) -> None:
    rank = len(shape) - 2
    result = run([*(16,) * rank, 3], {"type": legacy, **config})
    row = only_row(result)
    assert row["type"] == keras3
    assert row["output_shapes"] == [shape]
    warnings = [d for d in result["diagnostics"] if d["code"] == "legacy_argument"]
    assert any(f"{legacy} is the Keras 1/2 name of {keras3}" in d["message"] for d in warnings)


@pytest.mark.parametrize("synonym", ["SeparableConvolution1D", "Convolution1DTranspose"])
def test_keras_3_synonyms_are_accepted_without_a_warning(synonym: str) -> None:
    result = run([8, 2], {"type": synonym, "filters": 3, "kernel_size": 2})
    assert only_row(result)["params"] > 0
    assert "legacy_argument" not in codes(result)


def test_transposed_convolution_is_the_adjoint_of_the_convolution() -> None:
    """<conv(x), y> = <x, conv_transpose(y)> with the same kernel: the transposed kernel
    really is the gradient of the convolution, strides and padding included."""
    rng = np.random.default_rng(1)
    # (*k, 4, 5): 4 → 5 channels for the convolution, 5 → 4 for the transposed one.
    kernel = rng.standard_normal((3, 2, 4, 5))
    for padding, strides in (("valid", (2, 3)), ("same", (2, 2)), ("valid", (1, 1))):
        x = rng.standard_normal((2, 9, 10, 4))
        forward = convolve(x, kernel, strides, (1, 1), padding)
        y = rng.standard_normal(forward.shape)
        # output_padding makes the transposed output exactly x's shape.
        output_padding = [n - deconv_output_length(m, k, padding, s, 1, 0) for n, m, k, s in
                          zip(x.shape[1:3], forward.shape[1:3], kernel.shape[:2], strides,
                              strict=True)]
        back = convolve_transpose(y, kernel, strides, (1, 1), padding, output_padding)
        assert back.shape == x.shape
        assert np.isclose(np.sum(forward * y), np.sum(x * back))


# -- tf.keras 2 documents ---------------------------------------------------------------------
BATCH_AXES_CASES = ["conv1d_batch_axes", "conv1d_batch_axes_channels_first_causal_groups",
                    "conv2d_batch_axes_same_3x3", "conv2d_batch_axes_strided",
                    "conv2d_batch_axes_channels_first_dilated", "conv2d_rank_too_high",
                    "conv3d_batch_axes"]


@pytest.mark.parametrize("case_id", BATCH_AXES_CASES)
def test_tf_keras_2_convolutions_take_the_leading_axes_as_batch_axes(case_id: str) -> None:
    """Keras 3 refuses an input of higher rank; tf.keras 2 convolves each entry of the axes
    before the feature maps (its shapes, parameters and predict numbers are replayed by
    tests/test_keras_import.py)."""
    keras3 = recorded("keras3", f"conv:{case_id}")
    layer = keras3["error"]["layer"]
    assert error_of(check({"model": keras3["native"]}))["layer"] == layer
    tf_keras = recorded("tfkeras2", f"conv:{case_id}")
    assert check_as_read_back(tf_keras)["layers"][0]["name"] == layer


def test_tf_keras_2_explains_and_counts_the_batch_axes() -> None:
    row = only_row(check({"model": recorded("tfkeras2", "conv:conv1d_batch_axes")["keras_json"]}))
    assert row["explain"] == (
        "the 2 axes (None, 5) are batch axes (tf.keras 2); 5 = floor((7 − 3) / 1) + 1 on each "
        "spatial axis; 4 filters give 4 channels; params (3·2 + 1)·4 = 28")
    assert row["macs"] == 5 * 5 * 4 * 3 * 2  # per sample: 5 entries of 5 positions


def test_tf_keras_2_cannot_stride_channels_first_over_batch_axes() -> None:
    """TensorFlow applies the strides to the wrong axes there: tf.keras 2 refuses the shape."""
    assert recorded("tfkeras2", "conv:conv2d_batch_axes_channels_first_strided")["error"][
        "layer"] == "conv2d"
    doc = recorded("tfkeras2", "conv:conv2d_batch_axes_channels_first_dilated")["keras_json"]
    doc["config"]["layers"][1]["config"].update(dilation_rate=[1, 1], strides=[2, 2])
    error = error_of(check({"model": doc}))
    assert error["layer"] == "conv2d"
    assert ("takes the axes before the last 3 of (None, 3, 2, 6, 7) as batch axes, but with "
            "channels_first and strides=[2, 2]") in error["message"]
    assert "data_format='channels_last'" in error["hint"]


@pytest.mark.parametrize(("case_id", "class_name"), [
    ("conv2d_transpose_batch_axes", "Conv2DTranspose"),
    ("separable2d_batch_axes", "SeparableConv2D"),
    ("depthwise2d_batch_axes", "DepthwiseConv2D"),
])
def test_tf_keras_2_other_convolutions_refuse_batch_axes(case_id: str, class_name: str) -> None:
    assert "error" in recorded("tfkeras2", f"conv:{case_id}")
    doc = recorded("tfkeras2", "conv:conv2d_batch_axes_strided")["keras_json"]
    doc["config"]["layers"][1]["class_name"] = class_name
    error = error_of(check({"model": doc}))
    assert error["layer"] == "conv2d"
    assert "expects inputs of rank 4" in error["message"]
