"""Activation layers: what the Keras fixtures do not show (422 paths, Keras 1/2 names,
PReLU's weights and errors, Softmax axes, the numpy relu against Keras' documented values)."""

from __future__ import annotations

import numpy as np
import pytest
from layer_checks import error_of, only_row, refused_paths, run
from shapecheck import activations


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
