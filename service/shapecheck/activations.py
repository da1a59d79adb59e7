"""Keras activation functions by name, as numpy functions (inference semantics).

Used by every layer that takes an ``activation`` argument, and by ``Activation`` itself. An
argument holds a Keras 3 name (``ACTIVATIONS``), or a ``ConfiguredActivation``: a name that
Keras computes with arguments of its own (an activation layer given as the activation, such as
``ELU(alpha=0.5)``) or, in a tf.keras 2 document, with tf.keras 2's definition
(``hard_sigmoid``). ``TF_KERAS_NAMES`` are the names tf.keras 2 accepts.
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


@blockwise
def tf_keras_hard_sigmoid(x: Array) -> Array:
    """tf.keras 2's ``hard_sigmoid``: ``clip(0.2·x + 0.5, 0, 1)`` (Keras 3's is
    ``relu6(x + 3) / 6``)."""
    return np.clip(x * np.float32(0.2) + np.float32(0.5), 0.0, 1.0)


@blockwise
def celu(x: Array, alpha: float = 1.0) -> Array:
    """``max(x, 0) + alpha·expm1(min(x, 0) / alpha)`` (JAX's ``celu``)."""
    y = np.maximum(x, 0) + alpha * np.expm1(np.minimum(x, 0) / alpha)
    return y.astype(x.dtype, copy=False)


def glu(x: Array, axis: int = -1) -> Array:
    """The gated linear unit: the first half of ``axis`` times the sigmoid of the second, so
    the axis halves (Keras declares the input's shape all the same, see ``SHAPE_CHANGING``).
    An odd size cannot be halved: Keras' predict fails on it too."""
    size = x.shape[axis]
    if size % 2:
        raise NotImplementedError(
            f"the glu activation splits the last axis in two halves, but it has {size} values, "
            "an odd number (Keras' predict fails too: axis size must be divisible by 2)")
    first, second = np.split(x, 2, axis)
    return first * _sigmoid(second)


def sparsemax(x: Array, axis: int = -1) -> Array:
    """Keras' sparsemax along ``axis``, term for term as its jax kernel computes it: the values
    above a threshold tau shifted down by it, zeros elsewhere. Its tau sums the cumulative sums
    over the support (not only the last), so the outputs need not sum to 1."""
    ordered = -np.sort(-x, axis=axis)
    cumulative = np.cumsum(ordered, axis=axis)
    ranks = np.arange(1, x.shape[axis] + 1, dtype=x.dtype)
    ranks = ranks.reshape([-1 if a == axis % x.ndim else 1 for a in range(x.ndim)])
    support = ordered - (cumulative - 1) / ranks > 0
    count = np.sum(support, axis=axis, keepdims=True)
    tau = (np.sum(np.where(support, cumulative, 0), axis=axis, keepdims=True) - 1) / count
    return np.maximum(x - tau.astype(x.dtype), 0)


@blockwise
def squareplus(x: Array, b: float = 4.0) -> Array:
    return (x + np.sqrt(np.square(x) + np.float32(b))) / np.float32(2)


@blockwise
def soft_shrink(x: Array, threshold: float = 0.5) -> Array:
    t = np.float32(threshold)
    return np.where(x > t, x - t, np.where(x < -t, x + t, np.float32(0)))


@blockwise
def hard_shrink(x: Array, threshold: float = 0.5) -> Array:
    return np.where(np.abs(x) > np.float32(threshold), x, np.float32(0))


@blockwise
def sparse_plus(x: Array) -> Array:
    """0 up to -1, x from 1, ``(x + 1)² / 4`` between."""
    one = np.float32(1)
    return np.where(x <= -one, np.float32(0), np.where(x >= one, x, np.square(x + one) / 4))


@blockwise
def sparse_sigmoid(x: Array) -> Array:
    return np.float32(0.5) * np.clip(x + np.float32(1), 0.0, 2.0)


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
    "celu": celu,
    "glu": glu,
    "sparsemax": sparsemax,
    "squareplus": squareplus,
    "soft_shrink": soft_shrink,
    "hard_shrink": hard_shrink,
    "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid,
}
"""Keras 3.15's activations by name, with their default arguments. Keras also knows
``threshold``, which needs arguments a name cannot give (its call fails)."""

ACTIVATION_NAMES = tuple(sorted(ACTIVATIONS))

SHAPE_CHANGING = frozenset({"glu"})
"""Activations whose output has another shape than their input: Keras declares the input's
shape for a layer that applies them, and computes the other one."""

TF_KERAS_NAMES = (
    "elu", "exponential", "gelu", "hard_sigmoid", "leaky_relu", "linear", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "softmax", "softplus", "softsign", "swish",
    "tanh")
"""The activation functions tf.keras 2.21 knows by name (``tf_keras.activations``); all but
``hard_sigmoid`` compute what Keras 3's do."""


class ConfiguredActivation(str):
    """An activation name computed by a function of its own: Keras' function with other
    arguments (``ELU(alpha=0.5)`` given as an activation is ``elu`` with alpha 0.5), or another
    Keras' definition (tf.keras 2's ``hard_sigmoid``).

    It is the name as a string, so the checks that read activation names (probabilities for
    the loss, a softmax over one unit) read it as that name; ``get`` gives its own function.
    """

    function: Callable[[Array], Array]
    label: str
    """How the document spelt it, for messages: ``ELU(alpha=0.5)``."""

    def __new__(cls, name: str, function: Callable[[Array], Array],
                label: str | None = None) -> ConfiguredActivation:
        configured = super().__new__(cls, name)
        configured.function = function
        configured.label = label or name
        return configured

    def __getnewargs__(self) -> tuple[str, Callable[[Array], Array], str]:
        """What ``copy`` and ``pickle`` make it again from."""
        return str(self), self.function, self.label

    def __repr__(self) -> str:
        return self.label


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
    """The numpy function of a Keras activation name (or a ``ConfiguredActivation``); None
    means linear."""
    if isinstance(name, ConfiguredActivation):
        return name.function
    return ACTIVATIONS["linear" if name is None else name]


def apply_in_place(name: str | None, x: Array) -> Array:
    """``get(name)(x)`` for an array the caller owns: written into ``x`` when the activation
    allows it, which saves an allocation and a pass over memory."""
    if isinstance(name, ConfiguredActivation):
        return name.function(x)
    in_place = IN_PLACE.get("linear" if name is None else name)
    return get(name)(x) if in_place is None else in_place(x)
