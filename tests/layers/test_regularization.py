"""Regularization layers and Masking: what the Keras fixtures do not show (422 paths, Keras 1
names, rank messages, explanations, Masking's float32 comparison)."""

from __future__ import annotations

import numpy as np
import pytest
from keras_fixtures import recorded
from layer_checks import error_of, only_row, refused_paths, run, tf_keras_2_refusal
from shapecheck import check
from shapecheck.layers import REGISTRY


@pytest.mark.parametrize(("spec", "path"), [
    ({"type": "Dropout"}, "model.layers.0.rate"),
    ({"type": "Dropout", "rate": "0.5"}, "model.layers.0.rate"),
    ({"type": "Dropout", "rate": 0.5, "noise_shape": "batch"}, "model.layers.0.noise_shape"),
    ({"type": "GaussianNoise"}, "model.layers.0.stddev"),
    ({"type": "SpatialDropout2D", "rate": 0.1, "data_format": "nhwc"},
     "model.layers.0.data_format"),
    ({"type": "ActivityRegularization", "l2": -0.5}, "model.layers.0.l2"),
    ({"type": "Masking", "mask_value": "pad"}, "model.layers.0.mask_value"),
])
def test_invalid_arguments_are_refused_with_their_path(spec: dict, path: str) -> None:
    assert refused_paths([3, 4], spec) == [path]


@pytest.mark.parametrize(("spec", "old"), [
    ({"type": "Dropout", "p": 0.5}, "'p'"),
    ({"type": "GaussianNoise", "sigma": 0.2}, "'sigma'"),
])
def test_keras1_argument_names_are_translated(spec: dict, old: str) -> None:
    result = run([4], spec)
    only_row(result)
    assert any(d["code"] == "legacy_argument" and old in d["message"]
               for d in result["diagnostics"])


def test_dropout_is_explained_as_inactive_at_inference() -> None:
    row = only_row(run([3, 4], {"type": "Dropout", "rate": 0.5}))
    assert row["output_shapes"] == [[None, 3, 4]]
    assert "at inference the input passes unchanged" in row["explain"]


def test_spatial_dropout_rank_error_shows_the_expected_layout() -> None:
    problem = error_of(run([4, 4], {"type": "SpatialDropout2D", "rate": 0.2}))
    assert "rank 4" in problem["message"]
    assert "(batch, height, width, channels)" in problem["message"]


def test_spatial_dropout1d_has_no_data_format_argument() -> None:
    # Unknown arguments are ignored; SpatialDropout1D is always (batch, steps, channels).
    row = only_row(run([5, 3], {"type": "SpatialDropout1D", "rate": 0.1,
                                "data_format": "channels_first"}))
    assert row["output_shapes"] == [[None, 5, 3]]


def test_activity_regularization_explains_its_penalty() -> None:
    row = only_row(run([4], {"type": "ActivityRegularization", "l1": 0.01}))
    assert "l1=0.01, l2=0" in row["explain"]


def test_masking_zeroes_steps_equal_to_the_float32_mask_value() -> None:
    masking = REGISTRY["Masking"].from_config("m", {"mask_value": 0.1})
    x = np.array([[[0.1, 0.1], [0.1, 0.2]]], dtype=np.float32)
    expected = np.array([[[0.0, 0.0], [0.1, 0.2]]], dtype=np.float32)
    np.testing.assert_array_equal(masking.apply(x, []), expected)


def test_masking_explains_what_it_masks() -> None:
    row = only_row(run([5, 3], {"type": "Masking", "mask_value": -1}))
    assert "(3 features) is all -1" in row["explain"]


def test_tf_keras_2_gaussian_noise_takes_any_stddev_but_a_negative_one() -> None:
    """tf.keras 2 builds GaussianNoise(2.0) (Keras 3 refuses it), and GaussianNoise(-1.0) too,
    which shapecheck refuses on purpose: no noise has a negative spread."""
    case = "regularization:gaussian_noise_too_large"
    assert only_row(check({"model": recorded("tfkeras2", case)["keras_json"]}))[
        "output_shapes"] == [[None, 4]]
    (message,) = tf_keras_2_refusal(case, "stddev", -1.0)
    assert "-1.0" in message
