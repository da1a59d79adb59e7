"""Keras' default initialisers in numpy: fans, distributions, names, and the weight cache."""

from __future__ import annotations

import math

import numpy as np
import pytest
from keras_fixtures import cases
from shapecheck.analysis import analyse
from shapecheck.errors import RequestInvalid
from shapecheck.initializers import (
    INITIALIZERS,
    WeightCache,
    compute_fans,
    default_weights,
    initializer,
)
from shapecheck.layers.base import Weight


def draw(name: str, shape: tuple[int, ...], seed: int = 0, weight: str = "kernel") -> np.ndarray:
    return initializer(name)(np.random.default_rng(seed), Weight(weight, shape))


@pytest.mark.parametrize(("shape", "fans"), [
    ((), (1, 1)), ((7,), (7, 7)), ((3, 5), (3, 5)), ((3, 3, 4, 8), (36, 72)),
    ((2, 2, 2, 3, 4), (24, 32)),
])
def test_fans_as_keras_computes_them(shape, fans):
    assert compute_fans(shape) == fans


@pytest.mark.parametrize(("name", "shape", "limit"), [
    ("glorot_uniform", (300, 500), math.sqrt(6 / 800)),
    ("he_uniform", (3, 3, 64, 32), math.sqrt(6 / 576)),
    ("lecun_uniform", (400, 100), math.sqrt(3 / 400)),
    ("uniform", (200, 300), 0.05),
    ("RandomUniform", (200, 300), 0.05),
])
def test_uniform_initialisers_fill_their_interval(name, shape, limit):
    values = draw(name, shape)
    assert values.dtype == np.float32 and values.shape == shape
    assert -limit <= values.min() < -0.98 * limit and 0.98 * limit < values.max() <= limit
    assert values.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)


TRUNCATION = 0.87962566103423978  # the stddev of a unit normal truncated at ±2


@pytest.mark.parametrize(("name", "shape", "stddev"), [
    # VarianceScaling divides its stddev by TRUNCATION so that the values have it after the
    # truncation; TruncatedNormal(stddev=0.05) does not.
    ("glorot_normal", (300, 500), math.sqrt(2 / 800)),
    ("he_normal", (3, 3, 64, 32), math.sqrt(2 / 576)),
    ("lecun_normal", (400, 100), math.sqrt(1 / 400)),
    ("truncated_normal", (300, 300), 0.05 * TRUNCATION),
    ("TruncatedNormal", (300, 300), 0.05 * TRUNCATION),
])
def test_truncated_normals_have_keras_stddev_and_stay_within_two(name, shape, stddev):
    values = draw(name, shape)
    assert np.abs(values).max() <= 2 * stddev / TRUNCATION
    assert values.std() == pytest.approx(stddev, rel=0.02)


def test_normal_has_stddev_005():
    assert draw("normal", (400, 400)).std() == pytest.approx(0.05, rel=0.02)


@pytest.mark.parametrize("shape", [(8, 32), (32, 8), (3, 3, 4, 16)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    q = draw("orthogonal", shape).reshape(-1, shape[-1])
    gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)


def test_constants_and_the_lstm_forget_bias():
    assert not draw("zeros", (3,)).any() and (draw("ones", (2, 2)) == 1).all()
    np.testing.assert_array_equal(draw("unit_forget_bias", (8,)), [0, 0, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(draw("identity", (2, 3)), np.eye(2, 3))


def test_unknown_names_are_an_engine_bug():
    with pytest.raises(KeyError, match="no initialiser named 'glorot_uniformm'"):
        initializer("glorot_uniformm")


def test_every_initialiser_a_fixture_layer_names_is_known():
    names = set()
    for param in cases():
        case = param.values[0]
        if "error" in case:
            continue
        try:
            analysis = analyse(case["native"], {})
        except RequestInvalid:  # arguments Keras refuses when it builds the layer
            continue
        for state in analysis.propagation.states.values():
            names.update(w.initializer for w in state.weights or ())
    assert names
    assert {n for n in names if n not in INITIALIZERS} == set()


LAYOUT = [("dense", [Weight("kernel", (3, 4), initializer="glorot_uniform"), Weight("bias", (4,))]),
          ("lstm", [Weight("recurrent_kernel", (2, 8), initializer="orthogonal")])]


def test_default_weights_are_seeded_cached_and_read_only():
    first = default_weights(LAYOUT, seed=1)
    assert default_weights(LAYOUT, seed=1) is first
    assert [a.shape for a in first["dense"]] == [(3, 4), (4,)]
    with pytest.raises(ValueError, match="read-only"):
        first["dense"][0][0, 0] = 1.0
    other = default_weights(LAYOUT, seed=2)
    assert not np.array_equal(other["dense"][0], first["dense"][0])
    fresh = WeightCache().get("key", lambda: {"dense": [draw("glorot_uniform", (3, 4), 1)]})
    np.testing.assert_array_equal(fresh["dense"][0], first["dense"][0])


def test_the_cache_is_bounded_in_entries_and_bytes():
    cache = WeightCache(max_entries=2, max_bytes=1000)
    for key in "abc":
        cache.get(key, lambda: {"l": [np.zeros(10, dtype=np.float32)]})
    assert list(cache.entries) == ["b", "c"]
    cache.get("big", lambda: {"l": [np.zeros(1000, dtype=np.float32)]})
    assert "big" not in cache.entries
    cache.get("mid", lambda: {"l": [np.zeros(245, dtype=np.float32)]})
    assert list(cache.entries) == ["mid"]


def test_stft_kernels_equal_keras_stft_initializer():
    # keras.src.initializers.STFT(side, "hann", "density", periodic=False)((4, 1, 3)),
    # STFTSpectrogram's defaults, as Keras 3.15 computes them.
    real = [[0.0, 0.0, 0.0], [0.707107, 0.0, -0.707107], [0.707107, -0.707107, 0.707107],
            [0.0, 0.0, 0.0]]
    imag = [[0.0, 0.0, 0.0], [0.0, -0.707107, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    np.testing.assert_allclose(draw("stft", (4, 1, 3), weight="real_kernel")[:, 0], real,
                               atol=1e-6)
    np.testing.assert_allclose(draw("stft", (4, 1, 3), weight="imag_kernel")[:, 0], imag,
                               atol=1e-6)
