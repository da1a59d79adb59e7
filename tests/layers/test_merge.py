"""Merge layers: what the Keras fixtures do not show (error messages and hints, batch sizes,
422 paths, explanations, the Dot kernel's edge cases)."""

from __future__ import annotations

import numpy as np
import pytest
from keras_fixtures import recorded
from layer_checks import error_of, only_row
from shapecheck import check
from shapecheck.errors import RequestInvalid
from shapecheck.layers import REGISTRY


def merge(shapes: dict, spec: dict) -> dict:
    return check({"model": {"inputs": shapes, "layers": [{**spec, "inputs": list(shapes)}]}})


def with_batches(shapes: dict, spec: dict) -> dict:
    """Model inputs with a known batch size (InputLayer batch_shape)."""
    inputs = [{"type": "InputLayer", "name": n, "batch_shape": s} for n, s in shapes.items()]
    return check({"model": {"layers": [*inputs, {**spec, "inputs": list(shapes)}]}})


def test_concatenate_mismatch_names_the_axes_the_shapes_and_a_fix() -> None:
    problem = error_of(merge({"a": [32, 32, 16], "b": [30, 30, 8]}, {"type": "Concatenate"}))
    assert problem["code"] == "layer_input_incompatible"
    message = problem["message"]
    assert "along axis -1 (axis 3 here), so all other axes must match" in message
    assert "(None, 32, 32, 16), (None, 30, 30, 8)" in message
    assert "axis 1 (32 vs 30) and axis 2 (32 vs 30)" in message
    assert "padding='same'" in problem["hint"]
    assert "Cropping2D, ZeroPadding2D" in problem["hint"]


def test_concatenate_of_vectors_hints_dense_not_cropping() -> None:
    problem = error_of(merge({"a": [3], "b": [4]}, {"type": "Concatenate", "axis": 0}))
    assert "axis 1 (3 vs 4)" in problem["message"]
    assert "Dense" in problem["hint"] and "Cropping" not in problem["hint"]


def test_concatenate_rank_mismatch_lists_the_ranks() -> None:
    problem = error_of(merge({"a": [3, 4], "b": [4]}, {"type": "Concatenate"}))
    assert "same rank" in problem["message"] and "(ranks 3, 2)" in problem["message"]


def test_concatenate_explains_the_sum() -> None:
    row = only_row(merge({"a": [4, 4, 2], "b": [4, 4, 3]}, {"type": "Concatenate"}))
    assert "joined along axis 3: 2 + 3 = 5" in row["explain"]
    assert row["params"] == 0 and row["macs"] == 0


def test_add_mismatch_names_both_shapes_and_every_differing_axis() -> None:
    problem = error_of(merge({"a": [32, 32, 16], "b": [30, 30, 8]}, {"type": "Add"}))
    message = problem["message"]
    assert "(None, 32, 32, 16) and (None, 30, 30, 8)" in message
    assert "axis 1 (32 vs 30), axis 2 (32 vs 30), axis 3 (16 vs 8)" in message
    assert "1×1 Conv2D" in problem["hint"]


def test_merges_refuse_different_known_batch_sizes() -> None:
    problem = error_of(with_batches({"a": [2, 3], "b": [4, 3]}, {"type": "Multiply"}))
    assert "different batch sizes" in problem["message"]
    assert "(2, 3), (4, 3)" in problem["message"]


def test_a_known_batch_size_is_kept() -> None:
    row = only_row(with_batches({"a": [2, 3], "b": [None, 3]}, {"type": "Add"}))
    assert row["output_shapes"] == [[2, 3]]


def test_subtract_wants_exactly_two_inputs() -> None:
    problem = error_of(merge({"a": [3], "b": [3], "c": [3]}, {"type": "Subtract"}))
    assert "exactly 2 input tensors, but received 3" in problem["message"]


def test_broadcast_is_explained() -> None:
    row = only_row(merge({"a": [3, 4], "b": [1, 4]}, {"type": "Maximum"}))
    assert row["output_shapes"] == [[None, 3, 4]]
    assert "broadcast" in row["explain"] and "maximum" in row["explain"]


@pytest.mark.parametrize("axes", ["last", [1, 1, 1], [1, "2"], True, None])
def test_dot_axes_must_be_an_int_or_a_pair(axes: object) -> None:
    with pytest.raises(RequestInvalid) as exc:
        merge({"a": [3], "b": [3]}, {"type": "Dot", "axes": axes})
    assert list(exc.value.errors) == ["model.layers.0.axes"]


def test_concatenate_axis_must_be_an_integer() -> None:
    with pytest.raises(RequestInvalid) as exc:
        merge({"a": [3], "b": [3]}, {"type": "Concatenate", "axis": "last"})
    assert list(exc.value.errors) == ["model.layers.0.axis"]


def test_dot_over_the_batch_axis_is_refused() -> None:
    # Keras builds Dot(axes=0) but its predict fails in batch_dot.
    problem = error_of(merge({"a": [3, 4], "b": [3, 4]}, {"type": "Dot", "axes": 0}))
    assert "batch axis (axis 0)" in problem["message"]


def test_dot_mismatch_names_the_two_axes() -> None:
    problem = error_of(merge({"a": [3, 4], "b": [3, 5]}, {"type": "Dot", "axes": -1}))
    assert "axis 2 of (None, 3, 4) with axis 2 of (None, 3, 5)" in problem["message"]
    assert "they are 4 and 5" in problem["message"]


def test_dot_explains_the_contraction() -> None:
    row = only_row(merge({"a": [3, 4], "b": [4, 5]}, {"type": "Dot", "axes": [2, 1]}))
    assert row["output_shapes"] == [[None, 3, 5]]
    assert "axis 2 of (None, 3, 4) and axis 1 of (None, 4, 5) (4 terms summed)" in row["explain"]


def test_dot_normalize_of_a_zero_vector_gives_zero_not_nan() -> None:
    dot = REGISTRY["Dot"].from_config("dot", {"axes": 1, "normalize": True})
    x = np.zeros((1, 3), dtype=np.float32)
    y = np.ones((1, 3), dtype=np.float32)
    np.testing.assert_array_equal(dot.forward([x, y], []), [np.zeros((1, 1), np.float32)])


def test_dot_normalize_is_the_cosine_similarity() -> None:
    dot = REGISTRY["Dot"].from_config("dot", {"axes": 1, "normalize": True})
    x = np.array([[3.0, 4.0]], dtype=np.float32)
    y = np.array([[4.0, 3.0]], dtype=np.float32)
    np.testing.assert_allclose(dot.forward([x, y], [])[0], [[24 / 25]], rtol=1e-6)


# -- tf.keras 2 documents ---------------------------------------------------------------------
@pytest.mark.parametrize(("case_id", "keras3_shape", "tf_keras_shape"), [
    ("add_unknown", [None, None, 4], [None, 5, 4]),
    ("add_unknown_and_one", [None, None, 4], [None, None, 4]),
    ("minimum_unknown_axes_on_both_sides", [None, 2, None, None], [None, 2, 2, 4]),
    ("subtract_lower_rank_unknown", [None, 4, None], [None, 4, 2]),
    ("maximum_three_unknown", [None, None, None], [None, 5, 7]),
    ("average_unknown_both", [None, None, 3], [None, None, 3]),
    ("concat_unknown_axis", [None, None, 4], [None, None, 4]),
    ("concat_unknown_other", [None, None, 6], [None, 3, 6]),
    ("concat_unknown_on_both_sides", [None, None, 4, 3], [None, 3, 4, 3]),
])
def test_tf_keras_2_merges_take_a_known_length_from_any_input(
        case_id: str, keras3_shape: list, tf_keras_shape: list) -> None:
    """One config, the to_json() of each Keras: the shapes each recorded. tf.keras 2's are
    TensorFlow's ops': an unknown axis takes a known length above 1 of another input."""
    for flavour, shape in (("keras3", keras3_shape), ("tfkeras2", tf_keras_shape)):
        case = recorded(flavour, f"merge:{case_id}")
        assert case["layers"][0]["output_shapes"] == [shape]
        assert only_row(check({"model": case["keras_json"]}))["output_shapes"] == [shape]


def test_tf_keras_2_builds_a_dense_on_the_features_a_merge_made_known() -> None:
    keras3 = recorded("keras3", "merge:subtract_unknown_then_dense")
    assert keras3["error"]["layer"] == "dense"
    assert error_of(check({"model": keras3["native"]}))["layer"] == "dense"
    tf_keras = recorded("tfkeras2", "merge:subtract_unknown_then_dense")
    rows = check({"model": tf_keras["keras_json"]})["layers"]
    assert [(r["output_shapes"], r["params"]) for r in rows] == [
        ([[None, 4, 2]], 0), ([[None, 4, 3]], 9)]
    assert rows[0]["explain"].startswith(
        "2 inputs subtracted element by element (broadcast: axes of 1 stretch, an unknown axis "
        "takes another input's known length above 1, as in tf.keras 2): (None, None, 2), "
        "(None, 4, None) → (None, 4, 2)")
