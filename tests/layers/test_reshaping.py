"""Reshaping layers: what the Keras fixtures do not show (422 paths, explanations, error
messages and hints, the resize weights of UpSampling2D)."""

from __future__ import annotations

import numpy as np
import pytest
from keras_fixtures import recorded
from layer_checks import error_of, only_row, refused_paths, run
from shapecheck import check
from shapecheck.layers import REGISTRY
from shapecheck.layers.reshaping import resize_weights


def layer(spec: dict):
    cls = REGISTRY[spec["type"]]
    return cls.from_config("x", {k: v for k, v in spec.items() if k != "type"})


@pytest.mark.parametrize(("spec", "path"), [
    ({"type": "Flatten", "data_format": "channels_middle"}, "model.layers.0.data_format"),
    ({"type": "Reshape"}, "model.layers.0.target_shape"),
    ({"type": "Reshape", "target_shape": [-1, -1]}, "model.layers.0.target_shape"),
    ({"type": "Reshape", "target_shape": [-2, 6]}, "model.layers.0.target_shape"),
    ({"type": "Permute", "dims": [0, 1]}, "model.layers.0.dims"),
    ({"type": "Permute", "dims": "21"}, "model.layers.0.dims"),
    ({"type": "RepeatVector", "n": 0}, "model.layers.0.n"),
    ({"type": "ZeroPadding1D", "padding": [[1, 2]]}, "model.layers.0.padding"),
    ({"type": "ZeroPadding2D", "padding": [1, 2, 3]}, "model.layers.0.padding"),
    ({"type": "ZeroPadding2D", "padding": [[1, 2, 3], 1]}, "model.layers.0.padding"),
    # Keras builds ZeroPadding2D(-1) (its int form is not validated) but predict fails.
    ({"type": "ZeroPadding2D", "padding": -1}, "model.layers.0.padding"),
    ({"type": "Cropping2D", "cropping": [1, -1]}, "model.layers.0.cropping"),
    ({"type": "Cropping3D", "cropping": [1, 1]}, "model.layers.0.cropping"),
    ({"type": "UpSampling1D", "size": [2]}, "model.layers.0.size"),
    ({"type": "UpSampling2D", "size": [2, 2, 2]}, "model.layers.0.size"),
    ({"type": "UpSampling2D", "interpolation": "cubic"}, "model.layers.0.interpolation"),
])
def test_invalid_arguments_are_refused_with_their_path(spec: dict, path: str) -> None:
    assert refused_paths([4, 4, 2], spec) == [path]


def test_flatten_explains_the_product() -> None:
    row = only_row(run([4, 4, 5], {"type": "Flatten"}))
    assert row["output_shapes"] == [[None, 80]]
    assert "4 · 4 · 5 = 80" in row["explain"]
    assert row["macs"] == 0


def test_reshape_size_mismatch_says_both_sizes_and_how_to_fix() -> None:
    problem = error_of(run([3, 5], {"type": "Reshape", "target_shape": [4, 4]}))
    assert problem["code"] == "layer_input_incompatible"
    assert "3 · 5 = 15 elements" in problem["message"]
    assert "(4, 4) holds 16" in problem["message"]
    assert "product is 15" in problem["hint"] and "-1" in problem["hint"]


def test_reshape_not_divisible_names_the_known_product() -> None:
    problem = error_of(run([3, 5], {"type": "Reshape", "target_shape": [-1, 4]}))
    assert "15 is not a multiple of 4" in problem["message"]


def test_reshape_explains_the_inferred_axis() -> None:
    row = only_row(run([3, 4], {"type": "Reshape", "target_shape": [2, -1]}))
    assert row["output_shapes"] == [[None, 2, 6]]
    assert "-1 is inferred as 12 / 2 = 6" in row["explain"]


def test_permute_explains_where_each_axis_comes_from() -> None:
    row = only_row(run([3, 4], {"type": "Permute", "dims": [2, 1]}))
    assert "output axis 1 is input axis 2 (4)" in row["explain"]


def test_permute_rank_mismatch_mentions_the_dims() -> None:
    problem = error_of(run([2, 3, 4], {"type": "Permute", "dims": [2, 1]}))
    assert "rank 3" in problem["message"] and "(None, 2, 3, 4)" in problem["message"]


def test_padding_explains_each_axis() -> None:
    row = only_row(run([3, 4, 2], {"type": "ZeroPadding2D", "padding": [[0, 1], [2, 3]]}))
    assert row["output_shapes"] == [[None, 4, 9, 2]]
    assert "height 0 + 3 + 1 = 4" in row["explain"]
    assert "width 2 + 4 + 3 = 9" in row["explain"]


def test_padding_rank_error_shows_the_expected_layout() -> None:
    problem = error_of(run([3, 4], {"type": "ZeroPadding2D"}))
    assert "(batch, height, width, channels)" in problem["message"]
    assert "(None, 3, 4)" in problem["message"]


def test_cropping_too_much_says_what_is_left() -> None:
    problem = error_of(run([4, 6, 2], {"type": "Cropping2D", "cropping": [[2, 2], 1]}))
    assert "removes 2 + 2 = 4 from the height axis (axis 1)" in problem["message"]
    assert "only 4 long" in problem["message"]
    assert "Crop less than 4" in problem["hint"]


def test_cropping_channels_first_crops_the_last_two_axes() -> None:
    row = only_row(run([2, 5, 6], {"type": "Cropping2D", "cropping": 1,
                                   "data_format": "channels_first"}))
    assert row["output_shapes"] == [[None, 2, 3, 4]]
    assert "width 6 − 1 − 1 = 4" in row["explain"]


def test_upsampling_explains_factor_and_interpolation() -> None:
    row = only_row(run([3, 4, 2], {"type": "UpSampling2D", "size": [2, 3],
                                   "interpolation": "bilinear"}))
    assert row["output_shapes"] == [[None, 6, 12, 2]]
    assert "height 3 × 2 = 6" in row["explain"] and "width 4 × 3 = 12" in row["explain"]
    assert "bilinear" in row["explain"]


def test_keras1_upsampling1d_length_is_read_as_size() -> None:
    result = run([3, 2], {"type": "UpSampling1D", "length": 3})
    assert only_row(result)["output_shapes"] == [[None, 9, 2]]
    assert any(d["code"] == "legacy_argument" and "'length'" in d["message"]
               for d in result["diagnostics"])


def test_bilinear_upsampling_of_an_edge_matches_jax_resize() -> None:
    # jax.image.resize([0, 1], 4, "bilinear") samples at -0.25, 0.25, 0.75, 1.25 and
    # renormalises the weights at the edges (it does not extrapolate).
    up = layer({"type": "UpSampling2D", "size": [1, 2], "interpolation": "bilinear"})
    x = np.array([0.0, 1.0], dtype=np.float32).reshape(1, 1, 2, 1)
    np.testing.assert_allclose(up.apply(x, []).ravel(), [0.0, 0.25, 0.75, 1.0], atol=1e-6)


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos3", "lanczos5", "area"])
def test_resize_weights_are_normalised(method: str) -> None:
    weights = resize_weights(5, 3, method)
    assert weights.shape == (5, 15)
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=1e-6)


def test_area_upsampling_by_an_integer_factor_is_nearest() -> None:
    np.testing.assert_array_equal(resize_weights(3, 2, "area"),
                                  np.repeat(np.eye(3, dtype=np.float32), 2, axis=1))


# -- tf.keras 2 documents ---------------------------------------------------------------------
@pytest.mark.parametrize(("case_id", "keras3_shape", "tf_keras_shape"), [
    ("upsample2d_unknown", [None, None, 6, 2], [None, None, None, 2]),
    ("upsample2d_bilinear_unknown_height", [None, None, 12, 3], [None, None, None, 3]),
    ("upsample2d_channels_first_unknown_width", [None, 3, 8, None], [None, 3, None, None]),
    ("upsample2d_unknown_channels", [None, 8, 8, None], [None, 8, 8, None]),
    ("upsample3d_unknown_depth", [None, None, 4, 6, 2], [None, None, 4, 6, 2]),
])
def test_tf_keras_2_upsampling2d_loses_both_sizes_when_one_is_unknown(
        case_id: str, keras3_shape: list, tf_keras_shape: list) -> None:
    """One config, the to_json() of each Keras: the shapes each recorded. tf.keras 2 resizes
    to a size computed at run time; its UpSampling1D/3D repeat as Keras 3's do."""
    for flavour, shape in (("keras3", keras3_shape), ("tfkeras2", tf_keras_shape)):
        case = recorded(flavour, f"reshaping:{case_id}")
        assert case["layers"][0]["output_shapes"] == [shape]
        assert only_row(check({"model": case["keras_json"]}))["output_shapes"] == [shape]


def test_tf_keras_2_upsampling2d_explains_the_lost_sizes() -> None:
    doc = recorded("tfkeras2", "reshaping:upsample2d_bilinear_unknown_height")["keras_json"]
    assert only_row(check({"model": doc}))["explain"] == (
        "each element repeated (bilinear interpolation); height or width is unknown, so "
        "tf.keras 2 resizes to a size computed at run time and both are unknown: "
        "(None, None, 4, 3) → (None, None, None, 3); no weights")
