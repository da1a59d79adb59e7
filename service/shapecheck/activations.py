"""Keras 3 activation functions by name, as numpy functions (inference semantics).

Used by every layer that takes an ``activation`` argument, and by ``Activation`` itself.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray

BLOCK = 1 << 14
"""Elements per block of a ``blockwise`` activation (64 KiB of float32)."""


def blockwise(function: Callable[..., Array]) -> Callable[..., Array]:
    """An elementwise function of several numpy operations, run block by block on arrays
    larger than ``BLOCK``: each operation's temporary stays in the CPU caches instead of
    streaming the whole array through memory (2-3× faster for gelu)."""

    @functools.wraps(function)
    def run(x: Array, *args: Any) -> Array:
        if x.size <= BLOCK:
            return function(x, *args)
        flat = np.ascontiguousarray(x).reshape(-1)
        first = function(flat[:BLOCK], *args)
        out = np.empty(flat.shape, first.dtype)
        out[:BLOCK] = first
        for start in range(BLOCK, flat.size, BLOCK):
            out[start:start + BLOCK] = function(flat[start:start + BLOCK], *args)
        return out.reshape(x.shape)

    return run


LONG_ROW = 8192
"""Values per row of ``channelwise``: numpy runs an element-wise loop over rows of ~6,000
float32 or more about 1.5 times faster than over rows of up to 4,096 (a few hundred channels,
or a scalar): 0.11 ms instead of 0.16 for a bias or a ReLU over 56·56·256 values."""


def channelwise(ufunc: np.ufunc, x: Array, row: Array) -> Array:
    """``ufunc(x, row)`` written into ``x``, ``row`` holding one value per channel (the last
    axis of ``x``) or one for all. A contiguous ``x`` is taken as rows of ``LONG_ROW``
    values or more, whole numbers of channel rows, against ``row`` repeated as many times;
    the rows left over (fewer than a long row) against ``row`` itself."""
    if not x.flags.c_contiguous:
        return ufunc(x, row, out=x)
    flat = x.reshape(-1, row.size)
    repeats = -(-LONG_ROW // row.size)
    whole = len(flat) // repeats * repeats
    long = flat[:whole].reshape(-1, repeats * row.size)
    ufunc(long, np.tile(row, repeats), out=long)
    ufunc(flat[whole:], row, out=flat[whole:])
    return x


ZERO = np.zeros(1, np.float32)
ZERO.flags.writeable = False


@blockwise
def _sigmoid(x: Array) -> Array:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def softmax(x: Array, axis: int | tuple[int, ...] = -1) -> Array:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x: Array) -> Array:
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def relu(x: Array, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> Array:
    """Keras' ``relu``: x above ``threshold`` (clipped at ``max_value``), else
    ``negative_slope * (x - threshold)``."""
    y = np.where(x > threshold, x, 0) if threshold else np.maximum(x, 0)
    if max_value is not None:
        y = np.clip(y, 0, max_value)
    if negative_slope:
        y = y - negative_slope * np.maximum(threshold - x, 0)
    return y.astype(x.dtype, copy=False)


@blockwise
def leaky_relu(x: Array, negative_slope: float = 0.2) -> Array:
    return np.where(x >= 0, x, negative_slope * x).astype(x.dtype, copy=False)


@blockwise
def elu(x: Array, alpha: float = 1.0) -> Array:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


@blockwise
def _selu(x: Array) -> Array:
    return 1.0507009873554805 * elu(x, 1.6732632423543772)


@blockwise
def _softplus(x: Array) -> Array:
    return np.logaddexp(x, 0.0).astype(x.dtype, copy=False)


def _erf(x: Array) -> Array:
    """Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, well inside float32 parity. Written in
    place: ``sign(x)·(1 − t·(a1 + t·(a2 + ... + t·a5))·exp(−x²))``, t = 1 / (1 + p·|x|)."""
    t = np.abs(x)
    t *= 0.3275911
    t += 1.0
    np.divide(1.0, t, out=t)
    poly = t * 1.061405429
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += coefficient
        poly *= t
    gaussian = np.negative(x)
    gaussian *= x
    poly *= np.exp(gaussian, out=gaussian)
    np.subtract(1.0, poly, out=poly)
    poly *= np.sign(x)
    return poly


SQRT_2 = np.float32(math.sqrt(2.0))
"""A float32 divisor: np.sqrt(2.0) is a float64 scalar, which would promote x to float64."""


@blockwise
def _gelu(x: Array) -> Array:
    y = _erf(x / SQRT_2)
    y += 1.0
    y *= 0.5 * x
    return y


def _relu6(x: Array) -> Array:
    return np.clip(x, 0.0, 6.0)


@blockwise
def _hard_sigmoid(x: Array) -> Array:
    return _relu6(x + 3.0) / 6.0


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "linear": lambda x: x,
    "relu": relu,
    "relu6": _relu6,
    "sigmoid": _sigmoid,
    "softmax": softmax,
    "log_softmax": _log_softmax,
    "tanh": np.tanh,
    "elu": elu,
    "selu": _selu,
    "softplus": _softplus,
    "softsign": blockwise(lambda x: x / (1.0 + np.abs(x))),
    "exponential": np.exp,
    "swish": blockwise(lambda x: x * _sigmoid(x)),
    "silu": blockwise(lambda x: x * _sigmoid(x)),
    "gelu": _gelu,
    "hard_sigmoid": _hard_sigmoid,
    "hard_silu": blockwise(lambda x: x * _hard_sigmoid(x)),
    "hard_swish": blockwise(lambda x: x * _hard_sigmoid(x)),
    "leaky_relu": leaky_relu,
    "mish": blockwise(lambda x: x * np.tanh(_softplus(x))),
    "log_sigmoid": blockwise(lambda x: -_softplus(-x)),
    "hard_tanh": lambda x: np.clip(x, -1.0, 1.0),
    "tanh_shrink": blockwise(lambda x: x - np.tanh(x)),
}

ACTIVATION_NAMES = tuple(sorted(ACTIVATIONS))


def _sigmoid_in_place(x: Array) -> Array:
    """``_sigmoid`` written into ``x``, the same operations in the same order."""
    x *= 0.5
    np.tanh(x, out=x)
    x += 1.0
    x *= 0.5
    return x


IN_PLACE: dict[str, Callable[[Array], Array]] = {
    "linear": lambda x: x,
    "relu": lambda x: channelwise(np.maximum, x, ZERO),
    "relu6": lambda x: np.clip(x, 0.0, 6.0, out=x),
    "sigmoid": _sigmoid_in_place,
    "tanh": lambda x: np.tanh(x, out=x),
    "hard_tanh": lambda x: np.clip(x, -1.0, 1.0, out=x),
}
"""Activations that can overwrite their input with the same values ``ACTIVATIONS`` gives."""


def get(name: str | None) -> Callable[[Array], Array]:
    """The numpy function of a Keras activation name; None means linear."""
    return ACTIVATIONS["linear" if name is None else name]


def apply_in_place(name: str | None, x: Array) -> Array:
    """``get(name)(x)`` for an array the caller owns: written into ``x`` when the activation
    allows it, which saves an allocation and a pass over memory."""
    in_place = IN_PLACE.get("linear" if name is None else name)
    return get(name)(x) if in_place is None else in_place(x)
