"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, ZeroPadding1D/2D/3D,
Cropping1D/2D/3D, UpSampling1D/2D/3D.

Shapes follow the ``compute_output_shape`` of Keras 3's ``keras/src/layers/reshaping/``; the
forward kernels are numpy reshapes, transposes, pads, slices and repeats. UpSampling2D's smooth
interpolations reproduce ``jax.image.resize`` (what Keras' JAX backend calls) with one weight
matrix per spatial axis. tf.keras 2 documents get tf.keras 2's UpSampling2D shapes
(``TfKerasUpSampling2D``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
from marshmallow import fields

from ..errors import ArgumentError, LayerInputIncompatible
from ..fields import Choice, Int, IntTuple, PositiveInt, ShapeField
from ..shapes import DATA_FORMATS, Dim, Shape, format_shape, num_elements, spatial_axes
from .base import Array, Layer, LayerArgs, Shapes, integer_values, register
from .conv import SPATIAL_NAMES, require_feature_maps
from .tf_keras import tf_keras_variant

Pairs = tuple[tuple[int, int], ...]


class DataFormatArgs(LayerArgs):
    data_format = Choice(DATA_FORMATS, load_default=None, allow_none=True)


class ReshapingLayer(Layer):
    """A layer without weights that moves, adds or removes elements; ``data_format`` None is
    channels_last, as Keras' ``standardize_data_format``."""

    family = "reshaping"
    keeps_integers = True

    @property
    def data_format(self) -> str:
        return getattr(self.args, "data_format", None) or "channels_last"


@register
class Flatten(ReshapingLayer):
    """Flattens every axis but the batch axis into one: (batch, ...) → (batch, product).

    With ``channels_first`` the channel axis is moved last before flattening, so the
    element order matches a channels_last model. A rank-1 input (batch,) becomes (batch, 1).
    """

    keras_name = "Flatten"
    Args = DataFormatArgs

    def output_shape(self, shape: Shape) -> Shape:
        return (shape[0], num_elements(shape[1:]))

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        if self.data_format == "channels_first" and x.ndim > 2:
            x = np.moveaxis(x, 1, -1)
        return x.reshape(x.shape[0], -1)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        rest = inputs[0][1:]
        size = outputs[0][1]
        if not rest:
            return "a rank-1 input gets a feature axis of 1"
        if size is None:
            return (f"the axes {format_shape(rest)} are flattened into one; an unknown axis "
                    "makes their product unknown (None)")
        return f"the axes {format_shape(rest)} are flattened into one: {product_text(rest)}"


def product_text(dims: Sequence[int]) -> str:
    """``3 · 4 = 12``; ``700`` for one axis."""
    if len(dims) == 1:
        return f"{dims[0]:,}"
    return f"{' · '.join(str(d) for d in dims)} = {math.prod(dims):,}"


@register
class Reshape(ReshapingLayer):
    """Rearranges the elements of each sample into ``target_shape`` (batch axis excluded);
    one entry may be -1, inferred from the number of elements."""

    keras_name = "Reshape"

    class Args(LayerArgs):
        target_shape = ShapeField(required=True, allow_minus_one=True)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.target: Shape = tuple(args["target_shape"])
        if self.target.count(-1) > 1:
            raise ArgumentError("target_shape", "may contain at most one -1 (the axis to "
                                                f"infer), got {list(self.target)}")

    def output_shape(self, shape: Shape) -> Shape:
        """Keras' ``compute_reshape_output_shape``: with an unknown input axis nothing can be
        checked and -1 stays unknown."""
        size = num_elements(shape[1:])
        if size is None or None in self.target:
            return (shape[0], *(None if d == -1 else d for d in self.target))
        known = math.prod(d for d in self.target if d != -1)
        if -1 not in self.target and known != size:
            raise self.size_mismatch(shape, f"{format_shape(self.target)} holds {known:,}")
        if -1 in self.target and (known == 0 or size % known):
            raise self.size_mismatch(shape, f"{size:,} is not a multiple of {known:,}, the "
                                            "product of the other target axes")
        return (shape[0], *(size // known if d == -1 else d for d in self.target))

    def size_mismatch(self, shape: Shape, why: str) -> LayerInputIncompatible:
        rest = shape[1:]
        return LayerInputIncompatible(
            f"Reshape cannot rearrange {format_shape(shape)} into target_shape "
            f"{format_shape(self.target)}: each sample has {product_text(rest) if rest else 1}"
            f" elements, and {why}.",
            "A reshape keeps the number of elements: choose a target_shape whose product is "
            f"{num_elements(rest):,}, or put -1 on one axis to let it be inferred.")

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        """As Keras' ``call``: a None in ``target_shape`` is inferred like -1, at run time."""
        target = [-1 if d is None else d for d in self.output_shape((None, *x.shape[1:]))[1:]]
        if target.count(-1) > 1:
            raise NotImplementedError(
                f"target_shape {format_shape(self.target)} leaves {target.count(-1)} axes to "
                "infer (None or -1), and a reshape can infer only one: Keras' predict fails "
                "on it too")
        try:
            return x.reshape(x.shape[0], *target)
        except ValueError as exc:  # the inferred axis does not divide the elements
            raise NotImplementedError(f"{exc}; Keras' predict fails on it too") from None

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        rest, out = inputs[0][1:], outputs[0][1:]
        size = num_elements(rest)
        if size is None or None in self.target:
            return (f"the elements of {format_shape(rest)} are rearranged as "
                    f"{format_shape(out)}; an unknown axis leaves -1 unknown")
        inferred = ""
        if -1 in self.target:
            axis = self.target.index(-1)
            others = math.prod(d for d in self.target if d != -1)
            inferred = f"; -1 is inferred as {size:,} / {others:,} = {out[axis]:,}"
        return (f"the {size:,} elements of each sample {format_shape(rest)} are rearranged as "
                f"{format_shape(out)}{inferred}")


@register
class Permute(ReshapingLayer):
    """Reorders the axes of each sample; ``dims`` counts axes from 1 (the batch axis is 0 and
    stays first)."""

    keras_name = "Permute"

    class Args(LayerArgs):
        dims = fields.List(Int(), required=True, metadata={"type": "list of integers >= 1"})

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.dims: tuple[int, ...] = tuple(args["dims"])
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ArgumentError("dims", "must be a permutation of 1, 2, ..., n (axes are "
                                        f"counted from 1, the batch axis is not permuted), "
                                        f"got {list(self.dims)}")

    def output_shape(self, shape: Shape) -> Shape:
        self.require_rank(shape, len(self.dims) + 1,
                          what=f"(batch axis included, one more than the {len(self.dims)} dims)")
        return (shape[0], *(shape[d] for d in self.dims))

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return np.transpose(x, (0, *self.dims))

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        moves = ", ".join(f"output axis {i} is input axis {d} ({inputs[0][d]})"
                          for i, d in enumerate(self.dims, start=1))
        return f"{format_shape(inputs[0])} → {format_shape(outputs[0])}: {moves}"


@register
class RepeatVector(ReshapingLayer):
    """Repeats a vector ``n`` times: (batch, features) → (batch, n, features)."""

    keras_name = "RepeatVector"

    class Args(LayerArgs):
        n = PositiveInt(required=True)

    def output_shape(self, shape: Shape) -> Shape:
        self.require_rank(shape, 2, what="(batch, features)")
        return (shape[0], self.args.n, shape[1])

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return np.repeat(x[:, np.newaxis, :], self.args.n, axis=1)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"the vector of {inputs[0][1]} features is repeated {self.args.n} times: "
                f"{format_shape(outputs[0])}")


def axis_pairs(value: int | tuple, rank: int, field: str) -> Pairs:
    """A padding or cropping argument as one (before, after) pair per spatial axis.

    An int applies to both sides of every axis. A 1-D layer takes one (before, after) pair;
    2-D and 3-D layers take one entry per axis, an int (both sides) or a (before, after) pair.
    """
    if isinstance(value, int):
        return ((value, value),) * rank
    if rank == 1:
        return (pair(value, field),)
    if len(value) != rank:
        raise ArgumentError(field, f"must be an integer or a list of {rank} entries, one per "
                                   f"spatial axis, got {list(value)}")
    return tuple(pair(v, field) for v in value)


def pair(value: int | tuple, field: str) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ArgumentError(field, "each entry must be an integer or a (before, after) pair of "
                                   f"integers, got {list(value)}")
    return (value[0], value[1])


class SpatialReshaping(ReshapingLayer):
    """A reshaping layer acting on the ``rank`` spatial axes of (batch, spatial..., channels)
    or (batch, channels, spatial...)."""

    rank: ClassVar[int]

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.axes = spatial_axes(self.rank, self.data_format)
        """The indices of the spatial axes."""

    def output_shape(self, shape: Shape) -> Shape:
        require_feature_maps(self, shape, self.rank, self.data_format)
        out = list(shape)
        for i, axis in enumerate(self.axes):
            out[axis] = None if shape[axis] is None else self.axis_length(shape, i, axis)
        return tuple(out)

    def axis_length(self, shape: Shape, i: int, axis: int) -> int:
        """The output length of spatial axis ``i`` (index ``axis``) of a known length."""
        raise NotImplementedError

    def axis_names(self) -> list[str]:
        return SPATIAL_NAMES[self.rank].split(", ")


class ZeroPadding(SpatialReshaping):
    """Shared by ZeroPadding1D/2D/3D: zeros added before and after each spatial axis."""

    class Args(DataFormatArgs):
        padding = IntTuple(min_value=0, load_default=1)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.padding = axis_pairs(args["padding"], self.rank, "padding")

    def axis_length(self, shape: Shape, i: int, axis: int) -> int:
        return shape[axis] + sum(self.padding[i])

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        widths = [(0, 0)] * x.ndim
        for axis, amounts in zip(self.axes, self.padding, strict=True):
            widths[axis] = amounts
        return np.pad(x, widths)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        shape, out = inputs[0], outputs[0]
        parts = [axis_change(name, shape[axis], f"{before} + {shape[axis]} + {after}", out[axis])
                 for name, axis, (before, after) in zip(self.axis_names(), self.axes,
                                                         self.padding, strict=True)]
        return "zeros added on each side: " + "; ".join(parts)


def axis_change(name: str, length: Dim, formula: str, result: Dim) -> str:
    """``height 2 + 28 + 2 = 32``: ``formula`` is the arithmetic on the input ``length``,
    unused when that is unknown."""
    if length is None:
        return f"{name} unknown (None) stays unknown"
    return f"{name} {formula} = {result}"


@register
class ZeroPadding1D(ZeroPadding):
    """Pads the steps axis of (batch, steps, channels) with zeros; ``padding`` is an int or a
    (left, right) pair."""

    keras_name = "ZeroPadding1D"
    rank = 1


@register
class ZeroPadding2D(ZeroPadding):
    """Pads height and width with zeros; ``padding`` is an int, (symmetric height, symmetric
    width) or ((top, bottom), (left, right))."""

    keras_name = "ZeroPadding2D"
    rank = 2


@register
class ZeroPadding3D(ZeroPadding):
    """Pads the three spatial axes with zeros; ``padding`` is an int, three ints or three
    (before, after) pairs."""

    keras_name = "ZeroPadding3D"
    rank = 3


class CroppingArgs(DataFormatArgs):
    cropping = IntTuple(min_value=0, load_default=1)


class Cropping(SpatialReshaping):
    """Shared by Cropping1D/2D/3D: elements removed before and after each spatial axis. Keras
    refuses a cropping that leaves nothing of an axis."""

    Args = CroppingArgs

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.cropping = axis_pairs(args["cropping"], self.rank, "cropping")

    def axis_length(self, shape: Shape, i: int, axis: int) -> int:
        before, after = self.cropping[i]
        length = shape[axis] - before - after
        if length <= 0:
            name = self.axis_names()[i]
            raise LayerInputIncompatible(
                f"{self.keras_name} removes {before} + {after} = {before + after} from the "
                f"{name} axis (axis {axis}), which is only {shape[axis]} long in "
                f"{format_shape(shape)}: nothing would be left.",
                f"Crop less than {shape[axis]} in total on that axis, or check the layers "
                "upstream: the input is smaller than this cropping expects.")
        return length

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        index = [slice(None)] * x.ndim
        for axis, (before, after) in zip(self.axes, self.cropping, strict=True):
            index[axis] = slice(before, x.shape[axis] - after)
        return x[tuple(index)]

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        shape, out = inputs[0], outputs[0]
        parts = [axis_change(name, shape[axis], f"{shape[axis]} − {before} − {after}", out[axis])
                 for name, axis, (before, after) in zip(self.axis_names(), self.axes,
                                                         self.cropping, strict=True)]
        return "cropped on each side: " + "; ".join(parts)


@register
class Cropping1D(Cropping):
    """Crops the steps axis of (batch, steps, channels); ``cropping`` is an int or a (left,
    right) pair. Keras' Cropping1D has no data_format."""

    keras_name = "Cropping1D"
    rank = 1

    class Args(LayerArgs):
        cropping = IntTuple(min_value=0, load_default=1)


@register
class Cropping2D(Cropping):
    """Crops height and width; ``cropping`` is an int, (symmetric height, symmetric width) or
    ((top, bottom), (left, right))."""

    keras_name = "Cropping2D"
    rank = 2

    class Args(CroppingArgs):
        cropping = IntTuple(min_value=0, load_default=0)


@register
class Cropping3D(Cropping):
    """Crops the three spatial axes; ``cropping`` is an int, three ints or three (before,
    after) pairs."""

    keras_name = "Cropping3D"
    rank = 3


@tf_keras_variant
class TfKerasFlatten(Flatten):
    """Flatten as tf.keras 2 runs it, but on an empty tensor: TensorFlow's reshape to (-1,
    0) then takes its rows from the product of the axes that are not empty, not from the
    batch, which the forward pass does not follow."""

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        if x.size == 0:
            raise NotImplementedError(
                f"tf.keras 2 flattens the empty {format_shape(x.shape)} into as many rows as "
                "its non-empty axes hold, not one per sample; the forward pass does not follow")
        return super().apply(x, weights)


@tf_keras_variant
class TfKerasCropping3D(Cropping3D):
    """Cropping3D as tf.keras 2 builds it: it checks no cropping against the input, and its
    slices keep what is left, so an axis cropped to nothing (or more) has length 0 and its
    predict gives empty arrays."""

    def axis_length(self, shape: Shape, i: int, axis: int) -> int:
        before, after = self.cropping[i]
        return max(0, shape[axis] - before - after)


class UpSampling(SpatialReshaping):
    """Shared by UpSampling1D/2D/3D: each spatial axis ``size`` times longer."""

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.size = self.expand_tuple(args["size"], self.rank, "size")

    def axis_length(self, shape: Shape, i: int, axis: int) -> int:
        return shape[axis] * self.size[i]

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        for axis, factor in zip(self.axes, self.size, strict=True):
            x = np.repeat(x, factor, axis=axis)
        return x


    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        shape, out = inputs[0], outputs[0]
        parts = [axis_change(name, shape[axis], f"{shape[axis]} × {factor}", out[axis])
                 for name, axis, factor in zip(self.axis_names(), self.axes, self.size,
                                               strict=True)]
        return f"each element repeated ({self.interpolation_text()}): " + "; ".join(parts)

    def interpolation_text(self) -> str:
        return "nearest neighbour"


@register
class UpSampling1D(UpSampling):
    """Repeats each step ``size`` times: (batch, steps, channels) → (batch, steps·size,
    channels). Keras' UpSampling1D has no data_format."""

    keras_name = "UpSampling1D"
    legacy_args = MappingProxyType({"length": "size"})
    rank = 1

    class Args(LayerArgs):
        size = PositiveInt(load_default=2)


RESIZE_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")
"""Keras' resize methods (JAX backend), and ``area`` of the TensorFlow backend."""


class RoundsInterpolatedIntegers(Layer):
    """An image layer that Keras 3 runs by ``jax.image.resize``, which keeps integer images
    integers: what it interpolates is rounded, ties to even, and saturated at the dtype's
    range; nearest neighbours are copied. Reads ``args.interpolation``."""

    keeps_integers = True

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        if self.args.interpolation == "nearest":
            return outputs
        return [integer_values(y, dtype, np.round) for y in outputs]

    def integer_caveat(self, dtype: str) -> str | None:
        if self.args.interpolation == "nearest":
            return None
        return f"rounds the values it interpolates ({self.args.interpolation}) to integers"


@register
class UpSampling2D(RoundsInterpolatedIntegers, UpSampling):
    """Enlarges height and width by ``size``, repeating pixels (``nearest``) or interpolating
    them (``bilinear``, ``bicubic``, ``lanczos3/5``, as ``keras.ops.image.resize``)."""

    keras_name = "UpSampling2D"
    rank = 2

    class Args(DataFormatArgs):
        size = IntTuple(load_default=2)
        interpolation = Choice(RESIZE_INTERPOLATIONS, load_default="nearest")

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        if self.args.interpolation == "nearest":
            return super().apply(x, weights)
        for axis, factor in zip(self.axes, self.size, strict=True):
            if factor > 1:
                matrix = self.interpolation_matrix(x.shape[axis], factor)
                x = np.moveaxis(np.tensordot(x, matrix, axes=([axis], [0])), -1, axis)
        return x

    def interpolation_matrix(self, length: int, factor: int) -> Array:
        """The (length, length·factor) weights of the interpolation along one axis."""
        return resize_weights(length, factor, self.args.interpolation)

    def interpolation_text(self) -> str:
        if self.args.interpolation == "nearest":
            return super().interpolation_text()
        return f"{self.args.interpolation} interpolation"


class InterpolatesIntoFloats(RoundsInterpolatedIntegers):
    """tf.keras 2's image layers: what they interpolate of integer images comes out as
    floats, unrounded; nearest neighbours keep their dtype where the layer keeps integers."""

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        return super().output_dtype(dtypes) if self.args.interpolation == "nearest" else None

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        return outputs

    def integer_caveat(self, dtype: str) -> str | None:
        return None


@tf_keras_variant
class TfKerasUpSampling2D(InterpolatesIntoFloats, UpSampling2D):
    """UpSampling2D as tf.keras 2 computes its shape: when height or width is unknown, it
    resizes to a size computed at run time, so that both come out unknown ((None, None, 4, 3)
    → (None, None, None, 3)), whatever the interpolation."""

    def output_shape(self, shape: Shape) -> Shape:
        out = super().output_shape(shape)
        if not self.has_unknown_size(shape):
            return out
        return tuple(None if axis in self.axes else length for axis, length in enumerate(out))

    def has_unknown_size(self, shape: Shape) -> bool:
        return any(shape[axis] is None for axis in self.axes)

    def interpolation_matrix(self, length: int, factor: int) -> Array:
        """Bicubic is TensorFlow's ``resize_bicubic``, the other interpolations Keras 3's."""
        if self.args.interpolation != "bicubic":
            return super().interpolation_matrix(length, factor)
        return tf_bicubic_matrix(length, length * factor)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        if not self.has_unknown_size(inputs[0]):
            return super().explain_shape(inputs, outputs)
        return (f"each element repeated ({self.interpolation_text()}); height or width is "
                "unknown, so tf.keras 2 resizes to a size computed at run time and both are "
                f"unknown: {format_shape(inputs[0])} → {format_shape(outputs[0])}")


@register
class UpSampling3D(UpSampling):
    """Repeats each element ``size`` times along depth, height and width."""

    keras_name = "UpSampling3D"
    rank = 3

    class Args(DataFormatArgs):
        size = IntTuple(load_default=2)


def _keys_cubic(x: Array) -> Array:
    inner = ((1.5 * x - 2.5) * x) * x + 1.0
    outer = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, outer, inner))


def _lanczos(radius: int) -> Callable[[Array], Array]:
    def kernel(x: Array) -> Array:
        y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
        safe = np.where(x > 1e-3, np.pi**2 * x**2, 1.0)
        return np.where(x > radius, 0.0, np.where(x > 1e-3, y / safe, 1.0))
    return kernel


RESIZE_KERNELS: dict[str, Callable[[Array], Array]] = {
    "bilinear": lambda x: np.maximum(0.0, 1.0 - x),
    "bicubic": _keys_cubic,
    "lanczos3": _lanczos(3),
    "lanczos5": _lanczos(5),
}


def resize_weights(length: int, factor: int, method: str) -> Array:
    """The (length, length·factor) matrix of ``jax.image.resize`` along one axis (no
    antialiasing, as Keras calls it): output pixel centres mapped back to the input, a kernel
    of the distance to every input pixel, each column normalised to sum to 1 (edges are thus
    renormalised, not padded). ``area`` weighs each input pixel by its overlap."""
    out = np.arange(length * factor)
    pixels = np.arange(length)
    if method == "area":
        left = out / factor
        overlap = (np.minimum(left + 1 / factor, pixels[:, None] + 1)
                   - np.maximum(left, pixels[:, None]))
        weights = np.maximum(overlap, 0.0)
    else:
        centres = (out + 0.5) / factor - 0.5
        weights = RESIZE_KERNELS[method](np.abs(centres - pixels[:, None]))
    total = weights.sum(axis=0, keepdims=True)
    return (weights / total).astype(np.float32)


def tf_bicubic_matrix(length: int, size: int) -> Array:
    """The (length, size) matrix of TensorFlow's ``resize_bicubic`` (half-pixel centres), which
    ``tf.image.resize`` runs for bicubic without antialiasing: Keys' cubic kernel on the four
    pixels around each sample, its offset rounded to 1/1024 (the kernel is tabulated), pixels
    outside the image dropped and the weights renormalised."""
    samples = (np.arange(size, dtype=np.float32) + 0.5) * np.float32(length / size) - 0.5
    first = np.floor(samples)
    offset = np.rint((samples - first) * 1024) / 1024
    matrix = np.zeros((length, size))
    for tap in range(-1, 3):
        pixels = first.astype(np.int64) + tap
        inside = (pixels >= 0) & (pixels < length)
        np.add.at(matrix, (np.clip(pixels, 0, length - 1), np.arange(size)),
                  np.where(inside, RESIZE_KERNELS["bicubic"](np.abs(offset - tap)), 0.0))
    return (matrix / matrix.sum(axis=0)).astype(np.float32)
