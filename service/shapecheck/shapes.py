"""Shapes and the arithmetic every spatial layer shares.

A shape is a plain tuple of ``int | None``; ``None`` is an unknown dimension (the batch axis, or
an axis the user left open). The formulas here are Keras 3's own
(``keras/src/ops/operation_utils.py``), kept in one place so that convolution, pooling,
transposed convolution and the forward kernels all agree.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence

Dim = int | None
Shape = tuple[Dim, ...]

PADDINGS = ("valid", "same")
CONV_PADDINGS = ("valid", "same", "causal")
DATA_FORMATS = ("channels_last", "channels_first")


def format_shape(shape: Sequence[Dim] | None) -> str:
    """``(None, 3, 4)`` as Keras prints it; a 1-tuple keeps its comma: ``(None,)``.

    A model's rows explain the same few shapes over and over (each layer's output is the next
    one's input): tuples are formatted once, and then looked up.
    """
    if type(shape) is tuple:
        try:
            return _formatted(shape)
        except TypeError:  # holds something unhashable
            pass
    return _format(shape)


def _format(shape: Sequence[Dim] | None) -> str:
    if shape is None:
        return "?"
    if len(shape) == 1:
        return f"({shape[0]},)"  # None formats as "None"
    return f"({', '.join(['None' if d is None else str(d) for d in shape])})"  # hot: no calls


_formatted = functools.lru_cache(maxsize=4096)(_format)


def shapes_text(shapes: Iterable[Sequence[Dim] | None]) -> str:
    """``(None, 4), (None, 8)``: shapes listed, as explanations and messages list them."""
    return ", ".join([format_shape(s) for s in shapes])


def num_elements(shape: Iterable[Dim]) -> int | None:
    """Product of the dimensions, or None when any is unknown."""
    total = 1
    for d in shape:
        if d is None:
            return None
        total *= d
    return total


def conv_output_length(
    length: Dim, kernel: int, padding: str, stride: int, dilation: int = 1
) -> Dim:
    """Output length of a convolution or pooling window along one axis.

    ``valid``: ``floor((L - d*(k-1) - 1) / s) + 1``; ``same``, ``causal``: ``floor((L-1)/s) + 1``.
    May return 0 or a negative number; callers decide what that means.
    """
    if length is None:
        return None
    if padding == "valid":
        return (length - dilation * (kernel - 1) - 1) // stride + 1
    return (length - 1) // stride + 1


def deconv_output_length(
    length: Dim,
    kernel: int,
    padding: str,
    stride: int,
    dilation: int = 1,
    output_padding: int | None = None,
) -> Dim:
    """Output length of a transposed convolution along one axis (Keras ``deconv_output_length``)."""
    if length is None:
        return None
    kernel = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(kernel - stride, 0)
        return length * stride
    pad = kernel // 2 if padding == "same" else 0
    return (length - 1) * stride + kernel - 2 * pad + output_padding


def deconv_padding_amounts(
    kernel: int, padding: str, stride: int, dilation: int = 1, output_padding: int | None = None
) -> tuple[int, int]:
    """(before, after) zero padding of the stride-spread input that gives a transposed
    convolution its ``deconv_output_length`` (Keras' conversion of its arguments for JAX)."""
    kernel = dilation * (kernel - 1) + 1
    if padding == "valid":
        extra = max(kernel, stride) - kernel if output_padding is None else output_padding
        return kernel - 1, kernel - 1 + extra
    if output_padding is None:
        total = stride + kernel - 2
    else:
        total = kernel + kernel % 2 - 2 + output_padding
    before = min(total // 2 + total % 2, kernel - 1)
    return before, total - before


def same_padding_amounts(
    length: int, kernel: int, stride: int, dilation: int = 1
) -> tuple[int, int]:
    """(before, after) zero padding that TensorFlow/JAX ``SAME`` applies along one axis."""
    effective = dilation * (kernel - 1) + 1
    out = -(-length // stride)  # exact: no float division of huge lengths
    total = max((out - 1) * stride + effective - length, 0)
    return total // 2, total - total // 2


def fold_batch_axes(shape: Shape, inner_rank: int) -> Shape:
    """``shape`` with every axis before its last ``inner_rank`` folded into one batch axis
    (unknown when any of them is), as TensorFlow's convolution folds the batch axes of an
    input of higher rank; a shape without such axes as it is."""
    if len(shape) <= inner_rank + 1:
        return shape
    return (num_elements(shape[:-inner_rank]), *shape[-inner_rank:])


def spatial_axes(rank: int, data_format: str) -> tuple[int, ...]:
    """Indices of the spatial axes in a batched tensor of ``rank`` spatial dimensions."""
    first = 1 if data_format == "channels_last" else 2
    return tuple(range(first, first + rank))


def channel_axis(data_format: str) -> int:
    """Index of the channel axis in a batched tensor."""
    return -1 if data_format == "channels_last" else 1


def channel_axis_from_end(rank: int, data_format: str) -> int:
    """The channel axis of a batch of ``rank``-D feature maps counted from the end (tf.keras 2's
    ``_get_channel_axis``): the axis ``channel_axis`` names, and still the channel axis when
    more batch axes lead, as tf.keras 2's convolutions allow."""
    return -1 if data_format == "channels_last" else -1 - rank


def broadcast_shapes(a: Shape, b: Shape, *, known_wins: bool = False) -> Shape | None:
    """Keras' elementwise-merge broadcasting (``Merge._compute_elemwise_op_output_shape``).

    Shapes are aligned on their last axes; an unknown axis on either side stays unknown; a 1
    stretches. Returns None when two known axes differ and neither is 1.

    ``known_wins``: TensorFlow's static broadcasting instead, which tf.keras 2's merges get
    from their ops: an unknown axis against a known length above 1 takes that length (the
    unknown one can only be 1 or equal to it); against a 1 or a 0 it stays unknown.
    """
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return a
    out: list[Dim] = list(a[: len(a) - len(b)])
    for x, y in zip(a[len(a) - len(b):], b, strict=True):
        if x is None or y is None:
            known = y if x is None else x
            out.append(known if known_wins and known is not None and known > 1 else None)
        elif x == 1 or y == 1 or x == y:
            out.append(y if x == 1 else x)
        else:
            return None
    return tuple(out)


DIVISOR_SEARCH = 1 << 17
"""Trial divisions ``nearest_divisors`` may spend: axes up to ~1.7e10 get their divisors, larger
ones (which only absurd requests have) get none, rather than a search that never ends."""


def nearest_divisors(n: int, target: int, count: int = 6) -> list[int]:
    """Up to ``count`` divisors of ``n`` nearest to ``target``, ascending: what a hint offers
    instead of a split of ``n`` into ``target`` equal parts that does not exist. Empty when
    ``n`` is too large to factor quickly."""
    if n < 1 or math.isqrt(n) > DIVISOR_SEARCH:
        return []
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    divisors = sorted({*small, *(n // d for d in small)})
    return sorted(sorted(divisors, key=lambda d: (abs(d - target), d))[:count])
