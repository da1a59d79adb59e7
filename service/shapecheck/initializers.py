"""Keras 3's weight initialisers in numpy, for forward passes without user weights.

A layer names the Keras default initialiser of each weight (``Weight.initializer``); this module
draws it from a seeded ``np.random.Generator``, in float32, one draw per weight. The formulas
are those of ``keras/src/initializers/``: the values differ from Keras' (another random
generator), the distributions do not. Whole models' weights are cached per (weight layout,
seed) in a small LRU, so that repeated forward passes of one model skip the drawing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence

import numpy as np

from .formats.naming import snake_case
from .layers.base import Weight
from .lru import LRU

Array = np.ndarray
Draw = Callable[[np.random.Generator, tuple[int, ...]], Array]
Initializer = Callable[[np.random.Generator, Weight], Array]

TRUNCATED_NORMAL_STDDEV = 0.87962566103423978
"""Standard deviation of a unit normal truncated at ±2: VarianceScaling divides by it."""


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras' ``compute_fans``: (fan_in, fan_out), a kernel's (..., input_depth, depth)."""
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], stddev: float) -> Array:
    """Normal values of ``stddev``, those beyond two standard deviations drawn again."""
    values = rng.standard_normal(shape, dtype=np.float32)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()), dtype=np.float32)
        outside = np.abs(values) > 2
    values *= stddev
    return values


def uniform(rng: np.random.Generator, shape: tuple[int, ...], limit: float) -> Array:
    """Uniform values in [-limit, limit)."""
    values = rng.random(shape, dtype=np.float32)
    values *= 2 * limit
    values -= limit
    return values


def variance_scaling(scale: float, mode: str, distribution: str) -> Draw:
    """Keras' ``VarianceScaling``: the family of Glorot, He and LeCun."""

    def draw(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, fan)
        if distribution == "truncated_normal":
            return truncated_normal(rng, shape, math.sqrt(variance) / TRUNCATED_NORMAL_STDDEV)
        if distribution == "untruncated_normal":
            return normal(rng, shape, math.sqrt(variance))
        return uniform(rng, shape, math.sqrt(3 * variance))

    return draw


def normal(rng: np.random.Generator, shape: tuple[int, ...], stddev: float = 0.05) -> Array:
    values = rng.standard_normal(shape, dtype=np.float32)
    values *= stddev
    return values


def orthogonal(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """Keras' ``Orthogonal``: Q of the QR factorisation of a normal (rows, last axis) matrix."""
    rows, cols = math.prod(shape[:-1]), shape[-1]
    a = rng.standard_normal((max(rows, cols), min(rows, cols)), dtype=np.float32)
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return np.ascontiguousarray(q.reshape(shape), dtype=np.float32)


def identity(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    return np.eye(*shape, dtype=np.float32)


def unit_forget_bias(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """LSTM's bias with ``unit_forget_bias``: zeros, but ones for the forget gate (the second
    quarter, gates in Keras' order i, f, c, o)."""
    bias = np.zeros(shape, dtype=np.float32)
    units = shape[-1] // 4
    bias[..., units:2 * units] = 1
    return bias


def zeros(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    return np.zeros(shape, dtype=np.float32)


def ones(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    return np.ones(shape, dtype=np.float32)


def stft(rng: np.random.Generator, weight: Weight) -> Array:
    """Keras' ``STFT`` initialiser as STFTSpectrogram uses it by default (a symmetric Hann
    window, density scaling): the real part of the DFT of a windowed frame for
    ``real_kernel``, the imaginary part for ``imag_kernel``. Shape (frame, 1, frequencies)."""
    frame_length, _, frequencies = weight.shape
    time = np.arange(frame_length, dtype=np.float64)[:, None, None]
    frequency = np.arange(frequencies, dtype=np.float64)[None, None, :] / ((frequencies - 1) * 2)
    angle = -2 * time * frequency * np.pi
    kernel = np.sin(angle) if weight.name.startswith("imag") else np.cos(angle)
    window = np.hanning(frame_length)[:, None, None]  # symmetric, as scipy's periodic=False
    return (kernel * window / np.sqrt(np.sum(window**2))).astype(np.float32)


def by_shape(draw: Draw) -> Initializer:
    """An initialiser that needs only the weight's shape."""
    return lambda rng, weight: draw(rng, tuple(weight.shape))


DRAWS: dict[str, Draw] = {
    "zeros": zeros,
    "zero": zeros,
    "constant": zeros,
    "ones": ones,
    "one": ones,
    "glorot_uniform": variance_scaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": variance_scaling(1.0, "fan_avg", "truncated_normal"),
    "he_uniform": variance_scaling(2.0, "fan_in", "uniform"),
    "he_normal": variance_scaling(2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": variance_scaling(1.0, "fan_in", "uniform"),
    "lecun_normal": variance_scaling(1.0, "fan_in", "truncated_normal"),
    "variance_scaling": variance_scaling(1.0, "fan_in", "truncated_normal"),
    "orthogonal": orthogonal,
    "identity": identity,
    "random_uniform": lambda rng, shape: uniform(rng, shape, 0.05),
    "uniform": lambda rng, shape: uniform(rng, shape, 0.05),
    "random_normal": normal,
    "normal": normal,
    "truncated_normal": lambda rng, shape: truncated_normal(rng, shape, 0.05),
    "unit_forget_bias": unit_forget_bias,
}
INITIALIZERS: dict[str, Initializer] = {**{name: by_shape(draw) for name, draw in DRAWS.items()},
                                        "stft": stft}


def canonical(name: str) -> str:
    """A Keras initialiser name, snake_case (``glorot_uniform``) or class (``GlorotUniform``),
    as the key of ``INITIALIZERS``."""
    key = name if name in INITIALIZERS else snake_case(name)
    if key not in INITIALIZERS:
        raise KeyError(f"no initialiser named {name!r}")
    return key


def initializer(name: str) -> Initializer:
    return INITIALIZERS[canonical(name)]


def draw_macs(weight: Weight) -> int:
    """Multiply-accumulates of drawing ``weight``: an orthogonal one factorises a
    (max, min)-shaped matrix, about max·min² of them; the others are elementwise."""
    if canonical(weight.initializer) != "orthogonal":
        return 0
    rows, cols = math.prod(weight.shape[:-1]), weight.shape[-1]
    return max(rows, cols) * min(rows, cols) ** 2


def initial_values(weights: Sequence[Weight], rng: np.random.Generator) -> list[Array]:
    """One layer's weights drawn in order, as Keras' ``build`` creates them."""
    return [initializer(w.initializer)(rng, w) for w in weights]


LayerWeights = dict[str, list[Array]]


class WeightCache:
    """A small LRU of named lists of seeded arrays (whole models' initial weights, a forward
    pass's random inputs), bounded in entries and in bytes.

    The cached arrays are read-only: kernels must not write into their weights or inputs.
    """

    def __init__(self, max_entries: int = 4, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.entries: LRU[LayerWeights] = LRU(max_entries, max_bytes, size=weights_bytes)

    def get(self, key: Hashable, make: Callable[[], LayerWeights]) -> LayerWeights:
        weights = self.entries.get(key)
        if weights is None:
            weights = make()
            for arrays in weights.values():
                for a in arrays:
                    a.flags.writeable = False
            self.entries.put(key, weights)
        return weights


def weights_bytes(weights: LayerWeights) -> int:
    return sum(a.nbytes for arrays in weights.values() for a in arrays)


CACHE = WeightCache()


def default_weights(layers: Sequence[tuple[str, Sequence[Weight]]], seed: int) -> LayerWeights:
    """Every layer's initial weights from one generator seeded by ``seed``, in layer order.

    The values depend only on the layers' weight layouts and the seed, which is the cache key:
    two documents of the same model share their entry.
    """
    key = (seed, tuple((name, tuple((w.shape, w.initializer) for w in ws)) for name, ws in layers))

    def draw() -> LayerWeights:
        rng = np.random.default_rng(seed)
        return {name: initial_values(ws, rng) for name, ws in layers}

    return CACHE.get(key, draw)
