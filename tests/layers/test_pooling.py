"""Pooling: what the Keras fixtures do not show (422 paths, defaults, explanations, error
messages and hints, the padded windows of the kernels, Keras 1 arguments, the data-format
lint)."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from layer_checks import error_of, only_row, refused_paths, run
from shapecheck.layers import REGISTRY
from shapecheck.layers.pooling import reduce_axis


def layer(spec: dict):
    cls = REGISTRY[spec["type"]]
    return cls.from_config("x", {k: v for k, v in spec.items() if k != "type"})


@pytest.mark.parametrize(("spec", "path"), [
    # Keras' pooling compares the padding case-sensitively, unlike its convolutions.
    ({"type": "MaxPooling2D", "padding": "SAME"}, "model.layers.0.padding"),
    ({"type": "MaxPooling2D", "padding": "causal"}, "model.layers.0.padding"),
    ({"type": "MaxPooling2D", "pool_size": 0}, "model.layers.0.pool_size"),
    ({"type": "MaxPooling2D", "pool_size": [2, 2, 2]}, "model.layers.0.pool_size"),
    ({"type": "MaxPooling2D", "strides": 0}, "model.layers.0.strides"),
    ({"type": "MaxPooling2D", "strides": [2]}, "model.layers.0.strides"),
    ({"type": "AveragePooling2D"}, "model.layers.0.pool_size"),
    ({"type": "AveragePooling2D", "pool_size": 2, "data_format": "NCHW"},
     "model.layers.0.data_format"),
    ({"type": "GlobalAveragePooling2D", "keepdims": "maybe"}, "model.layers.0.keepdims"),
    ({"type": "GlobalMaxPooling2D", "data_format": "first"}, "model.layers.0.data_format"),
])
def test_invalid_arguments_are_refused_with_their_path(spec: dict, path: str) -> None:
    assert refused_paths([8, 8, 4], spec) == [path]


def test_max_pooling_defaults_to_2_with_strides_of_the_pool() -> None:
    row = only_row(run([9, 8, 4], {"type": "MaxPooling2D"}))
    assert row["output_shapes"] == [[None, 4, 4, 4]]
    assert row["explain"] == ("4 = floor((9 − 2) / 2) + 1; 4 = floor((8 − 2) / 2) + 1 on the "
                              "spatial axes; the 4 channels are kept, each pooled on its own; "
                              "no weights")
    assert (row["params"], row["macs"]) == (0, 0)
    row = only_row(run([9, 4], {"type": "MaxPooling1D", "pool_size": 3, "strides": None}))
    assert row["output_shapes"] == [[None, 3, 4]]


def test_same_padding_explains_the_ceiling() -> None:
    row = only_row(run([3, 9, 8], {"type": "AveragePooling2D", "pool_size": 3, "strides": 2,
                                   "padding": "same", "data_format": "channels_first"}))
    assert row["output_shapes"] == [[None, 3, 5, 4]]
    assert "5 = ceil(9 / 2) with padding='same'; 4 = ceil(8 / 2) with padding='same'" in (
        row["explain"])


def test_pool_larger_than_the_input_is_refused_with_a_fix() -> None:
    problem = error_of(run([2, 8, 4], {"type": "MaxPooling2D", "pool_size": 3}))
    assert problem["code"] == "layer_input_incompatible"
    assert "window of 3 over an axis of length 2 (input (None, 2, 8, 4))" in problem["message"]
    assert "padding='same'" in problem["hint"] and "smaller pool_size" in problem["hint"]


def test_wrong_rank_names_the_layout() -> None:
    problem = error_of(run([8, 8, 8, 3], {"type": "GlobalAveragePooling2D",
                                          "data_format": "channels_first"}))
    assert "rank 4 (batch, channels, height, width)" in problem["message"]
    assert "too many axes" in problem["hint"]
    problem = error_of(run([8], {"type": "MaxPooling1D"}))
    assert "rank 3 (batch, steps, channels)" in problem["message"]


def test_global_pooling_explains_what_it_reduces() -> None:
    row = only_row(run([9, 8, 4], {"type": "GlobalAveragePooling2D"}))
    assert row["explain"] == ("the mean of each of the 4 channels over the spatial axes (9, 8) "
                              "→ (None, 4); no weights")
    row = only_row(run([4, 9, 8], {"type": "GlobalMaxPooling2D", "keepdims": True,
                                   "data_format": "channels_first"}))
    assert row["output_shapes"] == [[None, 4, 1, 1]]
    assert "the max of each of the 4 channels" in row["explain"]
    assert "kept with length 1, keepdims=True" in row["explain"]


def test_average_pooling_with_same_padding_divides_by_the_unpadded_elements() -> None:
    pool = layer({"type": "AveragePooling1D", "pool_size": 2, "strides": 1, "padding": "same"})
    x = np.array([[[1.0], [2.0], [3.0]]], dtype=np.float32)
    np.testing.assert_allclose(pool.apply(x, [])[0, :, 0], [1.5, 2.5, 3.0])


def test_max_pooling_with_same_padding_never_picks_the_padding() -> None:
    pool = layer({"type": "MaxPooling2D", "pool_size": 3, "strides": 2, "padding": "same"})
    x = -1.0 - np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    # 'same' pads one position after each axis; windows start at 0 and 2, and their maxima
    # are their top-left elements (a zero padding would give 0 in the last windows).
    np.testing.assert_allclose(pool.apply(x, [])[0, :, :, 0], [[-1.0, -3.0], [-9.0, -11.0]])


@pytest.mark.parametrize(("kind", "shape", "pool", "strides", "padding"), [
    ("MaxPooling2D", (2, 11, 12, 3), 3, 2, "valid"),
    ("MaxPooling2D", (1, 9, 7, 2), [3, 2], [1, 3], "same"),
    ("AveragePooling2D", (2, 8, 9, 3), [2, 3], [3, 2], "same"),
    ("MaxPooling1D", (2, 13, 3), 4, 3, "same"),
    ("AveragePooling3D", (1, 5, 6, 7, 2), [2, 3, 2], [1, 2, 2], "valid"),
    ("MaxPooling3D", (1, 6, 5, 7, 2), 3, [2, 1, 3], "same"),
    ("AveragePooling1D", (2, 2, 3), 3, 1, "same"),  # every window crosses a border
    ("MaxPooling2D", (1, 2, 3, 1), 4, 1, "same"),
])
def test_pooling_one_axis_at_a_time_equals_the_windows_at_once(
        kind: str, shape: tuple, pool: int | list, strides: int | list, padding: str) -> None:
    pool_layer = layer({"type": kind, "pool_size": pool, "strides": strides, "padding": padding})
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    got = pool_layer.apply(x, [])
    reduce = np.max if kind.startswith("Max") else np.sum
    value = -np.inf if kind.startswith("Max") else 0.0
    views = pool_layer.padded_windows(x, value)  # (N, *out, C, *window)
    want = reduce(views, axis=pool_layer.window_axes)
    if kind.startswith("Average"):
        ones = np.ones((1, *shape[1:-1], 1), np.float32)
        want = want / pool_layer.padded_windows(ones, 0.0).sum(axis=pool_layer.window_axes)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert not np.shares_memory(got, x)


@pytest.mark.parametrize("ufunc", [np.maximum, np.add])
def test_reducing_an_axis_pads_where_the_windows_cross_the_borders(ufunc: np.ufunc) -> None:
    # Every window element in turn: inside the axis for some outputs, in the padding before
    # or after it for others, or for all (the windows of 4 elements over 1 to 4 values).
    rng = np.random.default_rng(5)
    for length, k, s, d, before, after in itertools.product(
            range(1, 5), range(1, 4), range(1, 4), range(1, 3), range(5), range(5)):
        if length + before + after < d * (k - 1) + 1:
            continue
        x = rng.standard_normal((2, length, 3)).astype(np.float32)
        padded = np.pad(x, [(0, 0), (before, after), (0, 0)], constant_values=-0.5)
        n = (padded.shape[1] - d * (k - 1) - 1) // s + 1
        want = functools.reduce(ufunc, [padded[:, j * d:j * d + s * (n - 1) + 1:s]
                                        for j in range(k)])
        got = reduce_axis(ufunc, x, 1, (k, s, d), (before, after), -0.5)
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=str((length, k, s, d, before,
                                                                       after)))


def test_keras_1_pooling_arguments_are_translated() -> None:
    result = run([10, 4], {"type": "MaxPooling1D", "pool_length": 3, "stride": 2,
                           "border_mode": "same"})
    assert only_row(result)["output_shapes"] == [[None, 5, 4]]
    renamed = {d["message"].split("'")[1] for d in result["diagnostics"]
               if d["code"] == "legacy_argument"}
    assert renamed == {"pool_length", "stride", "border_mode"}


def test_keras_1_dim_ordering_th_reads_channels_first() -> None:
    result = run([3, 8, 8], {"type": "GlobalMaxPooling2D", "dim_ordering": "th"})
    assert only_row(result)["output_shapes"] == [[None, 3]]


@pytest.mark.parametrize(("spec", "canonical", "shape"), [
    ({"type": "MaxPool2D"}, "MaxPooling2D", [4, 4, 2]),
    ({"type": "AvgPool1D", "pool_size": 2}, "AveragePooling1D", [4, 2]),
    ({"type": "GlobalMaxPool3D"}, "GlobalMaxPooling3D", [4, 4, 4, 2]),
    ({"type": "GlobalAvgPool2D"}, "GlobalAveragePooling2D", [4, 4, 2]),
])
def test_keras_3_synonyms_are_accepted_without_a_warning(spec: dict, canonical: str,
                                                         shape: list) -> None:
    result = run(shape, spec)
    assert only_row(result)["type"] == canonical
    assert not result["diagnostics"]


@pytest.mark.parametrize("spec", [{"type": "MaxPooling2D"},
                                  {"type": "GlobalAveragePooling2D"}])
def test_the_data_format_lint_reads_pooling_layers(spec: dict) -> None:
    result = run([3, 32, 32], spec)
    notes = [d for d in result["diagnostics"] if d["code"] == "suspicious_data_format"]
    assert len(notes) == 1 and "channels_last" in notes[0]["message"]
    channels_first = run([3, 32, 32], {**spec, "data_format": "channels_first"})
    assert not channels_first["diagnostics"]


@pytest.mark.parametrize(("spec", "path"), [
    ({"type": "AdaptiveAveragePooling2D"}, "model.layers.0.output_size"),
    ({"type": "AdaptiveAveragePooling2D", "output_size": 0}, "model.layers.0.output_size"),
    ({"type": "AdaptiveMaxPooling2D", "output_size": [2, 2, 2]}, "model.layers.0.output_size"),
    ({"type": "AdaptiveMaxPooling1D", "output_size": 2, "data_format": "NCW"},
     "model.layers.0.data_format"),
    # Keras lower-cases the other pooling layers' data_format, not this one's.
    ({"type": "AdaptiveMaxPooling2D", "output_size": 2, "data_format": "CHANNELS_LAST"},
     "model.layers.0.data_format"),
])
def test_adaptive_pooling_refuses_bad_arguments(spec: dict, path: str) -> None:
    assert refused_paths([8, 8, 4], spec) == [path]


def test_adaptive_pooling_explains_its_fixed_output() -> None:
    row = only_row(run([7, 5, 3], {"type": "AdaptiveMaxPooling2D", "output_size": [3, 2]}))
    assert row["output_shapes"] == [[None, 3, 2, 3]]
    assert "(7, 5)" in row["explain"] and "(3, 2)" in row["explain"]


def test_adaptive_pooling_needs_its_rank() -> None:
    problem = error_of(run([8, 3], {"type": "AdaptiveAveragePooling2D", "output_size": 2}))
    assert "rank 4" in problem["message"]


def test_adaptive_average_uses_keras_small_and_big_windows() -> None:
    # Length 5 to 3: spans [0, 2), [1, 4), [3, 5) — lengths 2, 3, 2.
    x = np.arange(5, dtype=np.float32).reshape(1, 5, 1)
    y = layer({"type": "AdaptiveAveragePooling1D", "output_size": 3}).apply(x, [])
    np.testing.assert_allclose(y.ravel(), [0.5, 2.0, 3.5])
