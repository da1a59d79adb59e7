"""Preprocessing layers: numeric (Normalization, Rescaling, Discretization, CategoryEncoding),
image (Resizing, CenterCrop, RandomCrop, AutoContrast, Equalization and the random
augmentations), and the
lookups of strings and integers (Hashing, StringLookup, IntegerLookup, TextVectorization).

Image layers take a batch of images (rank 4) or a single image (rank 3, Keras then reads the
first axis as the image height: the batch axis is not special to them). The random
augmentations act only in training; at inference (``predict``) they return their input.

The lookups and hashing need TensorFlow's string ops and hash functions in Keras; shapecheck
computes their output shapes (from the vocabulary in the config) but has no kernel for them.
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from marshmallow import ValidationError, fields

from ..errors import ArgumentError, LayerInputIncompatible
from ..fields import Choice, Float, Int, IntTuple, PositiveInt
from ..shapes import (
    DATA_FORMATS,
    Dim,
    Shape,
    broadcast_shapes,
    conv_output_length,
    format_shape,
)
from .base import (
    Array,
    Layer,
    LayerArgs,
    ShapeCaveat,
    Shapes,
    Weight,
    inner_layer,
    register,
)
from .conv import convolve, length_formula
from .normalization import Axes, resolve_axis
from .reshaping import (
    RESIZE_INTERPOLATIONS,
    RESIZE_KERNELS,
    InterpolatesIntoFloats,
    RoundsInterpolatedIntegers,
    tf_bicubic_matrix,
)
from .tf_keras import tf_keras_variant

KERAS_EPSILON = np.float32(1e-7)
"""``keras.backend.epsilon()``."""

Number = int | float
"""A JSON number as given: integers stay exact, however large."""


class Numbers(fields.Field):
    """A number, a (nested) list of numbers, or a serialised numpy array
    (``{"class_name": "__numpy__", "config": {"value": ...}}``), returned as float32 array."""

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.metadata.setdefault("type", "number or list of numbers")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> Array:
        if isinstance(value, dict) and value.get("class_name") == "__numpy__":
            value = (value.get("config") or {}).get("value")
        try:
            array = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValidationError(f"must be a number or a list of numbers, got {value!r}") from None
        except OverflowError:  # an integer beyond float64, which Keras cannot cast either
            raise ValidationError("must hold numbers within float32's range") from None
        if array.dtype == object or not np.all(np.isfinite(array)):
            raise ValidationError("must hold finite numbers only")
        return array


class Range(fields.Field):
    """A ``[low, high]`` pair of numbers (``value_range``), kept exact: Keras takes any, and
    only the kernels that use them need them as float32 (``float32_range``). ``ordered`` for
    the layers whose Keras class sorts the pair (``sorted(value_range)``)."""

    def __init__(self, *, ordered: bool = False, **kw: Any):
        super().__init__(**kw)
        self.ordered = ordered

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> tuple[Number, Number]:
        if not isinstance(value, list | tuple) or len(value) != 2 or not all(map(is_number, value)):
            raise ValidationError(f"must be a list of two numbers [low, high], got {value!r}")
        low, high = sorted(value) if self.ordered else value
        return low, high


class Factor(fields.Field):
    """An augmentation strength: a number, or a ``[lower, upper]`` pair, within Keras' bounds."""

    def __init__(self, lower: float, upper: float, *, each: bool = False, **kw: Any):
        super().__init__(**kw)
        self.lower, self.upper, self.each = lower, upper, each
        self.metadata.setdefault("type", f"number or [lower, upper] within [{lower}, {upper}]")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> Number | tuple:
        is_pair = isinstance(value, list | tuple)
        numbers = list(value) if is_pair else [value]
        if (is_pair and len(numbers) != 2) or not all(is_number(v) for v in numbers):
            raise ValidationError(f"must be a number or a list of two numbers, got {value!r}")
        if self.each or not is_pair:
            outside = any(not self.lower <= v <= self.upper for v in numbers)
        else:  # Keras only checks that a pair overlaps the bounds
            outside = numbers[0] > self.upper or numbers[1] < self.lower
        if outside:
            raise ValidationError(f"must lie within [{self.lower}, {self.upper}], got {value}")
        return (numbers[0], numbers[1]) if is_pair else value  # exact: Keras keeps them as given


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def float32_range(layer: str, value_range: tuple[Number, Number]) -> tuple[np.float32, np.float32]:
    """``value_range`` as float32, as Keras casts it to transform images; refused (no kernel)
    when it lies beyond float32, where Keras' cast fails or gives infinities."""
    largest = float(np.finfo(np.float32).max)
    if not all(abs(v) <= largest for v in value_range):  # (NaN included)
        raise NotImplementedError(
            f"{layer}'s value_range {list(value_range)} goes beyond float32 (±{largest:.4g}), "
            "the dtype Keras casts it to for the images: it cannot run on it.")
    low, high = value_range
    return np.float32(low), np.float32(high)


# -- numeric preprocessing -------------------------------------------------------------------

@register
class Normalization(Layer):
    """Standardises features: ``(x - mean) / sqrt(variance)``, with one mean and variance per
    position of ``axis`` (``invert=True`` undoes it).

    The statistics are either given (``mean``, ``variance``: no weights) or learnt by
    ``adapt()``, stored as three non-trainable weights ``mean``, ``variance`` and ``count``.
    """

    keras_name = "Normalization"
    family = "preprocessing"
    supports_masking = True
    built_shape: Shape | None = None
    """The input shape Keras built the layer for, where it runs on another (``built_as``):
    the statistics keep the shape they took at build, and broadcast against the input."""

    class Args(LayerArgs):
        axis = Axes(load_default=-1, allow_none=True, allow_empty=True)  # [] as None: none kept
        mean = Numbers(load_default=None, allow_none=True)
        variance = Numbers(load_default=None, allow_none=True)
        invert = fields.Boolean(load_default=False)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        axis = args["axis"]
        self.axes: tuple[int, ...] = () if axis is None else (
            (axis,) if isinstance(axis, int) else tuple(axis))
        mean, variance = args["mean"], args["variance"]
        if (mean is None) != (variance is None):
            raise ArgumentError("mean" if mean is None else "variance",
                                "give both mean and variance, or neither (then adapt() "
                                "learns them)")
        if mean is not None:
            self.check_given_statistics(mean, variance)

    def check_given_statistics(self, mean: Array, variance: Array) -> None:
        """Keras 3 takes a mean and variance of one shape, of at most one axis per kept axis."""
        if mean.shape != variance.shape:
            raise ArgumentError("variance", f"must have the shape of mean {list(mean.shape)}, "
                                            f"got {list(variance.shape)}")
        if mean.ndim > len(self.axes):
            raise ArgumentError("mean", f"has {mean.ndim} axes, more than the {len(self.axes)} "
                                        "axes it normalises")

    def kept_axes(self, shape: Shape) -> list[int]:
        """The normalised axes, counted from 0 and sorted; raise when one is not in the input,
        or names an input axis listed already (Keras' build then fails: its statistics would
        have that axis twice)."""
        kept: list[int] = []
        for axis in self.axes:
            index = resolve_axis(axis, len(shape))
            if index is None:
                raise LayerInputIncompatible(
                    f"Normalization keeps axis {axis}, but its input {format_shape(shape)} has "
                    f"{len(shape)} axes.",
                    "Set axis to an axis of the input (-1 for the features), or null for one "
                    "mean and variance over everything.")
            if index in kept:
                raise LayerInputIncompatible(
                    f"Normalization keeps axis {axis}, which is axis {index} of its input "
                    f"{format_shape(shape)}, listed already in axis {list(self.axes)}: Keras "
                    "cannot build it.", "List each axis of the input once.")
            kept.append(index)
        return sorted(kept)

    def statistics_shape(self, shape: Shape) -> tuple[int, ...]:
        """The shape of ``mean`` and ``variance``: the sizes of the kept axes of the input
        (of the one the layer was built for, if any)."""
        shape = self.built_shape or shape
        return tuple(self.require_known(shape[a], f"the size of axis {a}")
                     for a in self.kept_axes(shape))

    def built_as(self, declared: Shapes) -> Normalization:
        """Keras shapes the statistics at build for the declared input, and broadcasts them
        against the input it gets: (N, 6, 8, 3) images after a RandomCrop to 4×4 take
        statistics per channel as they are, but not per pixel (predict fails), and (2, 1)
        against statistics of (1, 2) makes (2, 2)."""
        twin = copy.copy(self)
        twin.built_shape = declared[0]
        return twin

    def broadcast_shape(self, shape: Shape) -> list[int]:
        kept = self.kept_axes(shape)
        return [shape[d] if d in kept else 1 for d in range(len(shape))]

    def output_shape(self, shape: Shape) -> Shape:
        stats = self.statistics_shape(shape)
        if self.args.mean is not None:
            self.given_statistics(shape, stats)
        if self.built_shape is None:
            return shape
        built = self.broadcast_shape(self.built_shape)
        out = broadcast_shapes(shape, tuple(built))
        if out is None:
            raise LayerInputIncompatible(
                f"Normalization broadcasts its statistics, shaped {format_shape(built)} at "
                f"build for the declared shape {format_shape(self.built_shape)}, against its "
                f"input {format_shape(shape)}, which they do not fit.",
                "Normalise the axes the earlier layers keep (e.g. the channels).")
        return out

    def given_statistics(self, shape: Shape, stats: tuple[int, ...]) -> tuple[Array, Array]:
        """``mean`` and ``variance`` from the config, broadcast as Keras' ``build`` does."""
        shape = self.built_shape or shape
        mean, variance = self.args.mean, self.args.variance
        target = self.broadcast_shape(shape)
        expanded = [1] * len(shape)
        kept = self.kept_axes(shape)
        for i in range(1, mean.ndim + 1):
            expanded[kept[-i]] = mean.shape[-i]
        try:
            return (np.broadcast_to(mean.reshape(expanded), target),
                    np.broadcast_to(variance.reshape(expanded), target))
        except ValueError:
            raise self.statistics_misfit(shape, stats) from None

    def statistics_misfit(self, shape: Shape, stats: tuple[int, ...]) -> LayerInputIncompatible:
        return LayerInputIncompatible(
            f"Normalization's mean of shape {list(self.args.mean.shape)} does not fit the "
            f"normalised axes of the input {format_shape(shape)}, of sizes {list(stats)}.",
            "Give one mean and variance per feature (or a single number).")

    def weights_for(self, shape: Shape) -> list[Weight]:
        stats = self.statistics_shape(shape)
        if self.args.mean is not None:
            return []
        return [Weight("mean", stats, trainable=False),
                Weight("variance", stats, trainable=False, initializer="ones"),
                Weight("count", (), trainable=False)]

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        if self.args.mean is not None:
            mean, variance = self.given_statistics(x.shape, self.statistics_shape(x.shape))
        else:
            target = self.broadcast_shape(self.built_shape or x.shape)
            mean, variance = weights[0].reshape(target), weights[1].reshape(target)
        std = np.maximum(np.sqrt(variance), KERAS_EPSILON)
        return mean + x * std if self.args.invert else (x - mean) / std

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        stats = self.statistics_shape(inputs[0])
        where = "given in the config" if self.args.mean is not None else "learnt by adapt()"
        what = "de-standardised" if self.args.invert else "standardised"
        return (f"each value is {what} with the mean and variance of its position on the kept "
                f"axes (statistics of shape {format_shape(stats)}, {where}); the shape is kept")


@register
class Rescaling(Layer):
    """Multiplies by ``scale`` and adds ``offset``: ``x * scale + offset`` (e.g. ``1/255`` to
    bring pixels into [0, 1])."""

    keras_name = "Rescaling"
    family = "preprocessing"
    supports_masking = True

    class Args(LayerArgs):
        scale = Numbers(required=True)
        offset = Numbers(load_default=np.float32(0.0))

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        scale, offset = self.args.scale, self.args.offset
        if not broadcasts_to(x.shape, scale.shape, offset.shape):
            raise NotImplementedError(
                f"Rescaling's scale of shape {list(scale.shape)} and offset of shape "
                f"{list(offset.shape)} do not broadcast to its input {format_shape(x.shape)} "
                "(aligned on the last axes): Keras builds the model (the shape is kept) but its "
                "predict fails. Give one scale and offset per channel, or a single number.")
        return x * scale + offset

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"x · {self.args.scale.tolist()} + {self.args.offset.tolist()} element by "
                "element, the shape is kept")


@tf_keras_variant
class TfKerasRescaling(Rescaling):
    """Rescaling in a tf.keras 2 document: like its other preprocessing layers, it does not
    support masking, so a mask stops there (recorded: ``masking:masking_rescaling_lstm``)."""

    supports_masking = False


def broadcasts_to(shape: tuple[int, ...], *others: tuple[int, ...]) -> bool:
    """Whether arrays of the ``others`` shapes broadcast against ``shape`` without changing it."""
    try:
        return np.broadcast_shapes(shape, *others) == shape
    except ValueError:
        return False


def one_hot(indices: Array, depth: int) -> Array:
    """``jax.nn.one_hot``: a new last axis of ``depth``; out-of-range indices give zeros."""
    return (indices[..., None] == np.arange(depth)).astype(np.float32)


def encode(indices: Array, output_mode: str, depth: int) -> Array:
    """Keras' ``encode_categorical_inputs`` (JAX backend) on integer-valued ``indices``."""
    if output_mode == "int":
        return indices.astype(np.float32)
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        return one_hot(indices, depth)
    # multi_hot and count reduce axis 1 (axis 0 for a rank-1 input), whatever the rank.
    axis = 1 if indices.ndim > 1 else 0
    encoded = one_hot(indices.astype(np.int64), depth)
    return encoded.max(axis=axis) if output_mode == "multi_hot" else encoded.sum(axis=axis)


ENCODINGS = ("one_hot", "multi_hot", "count")


def encoding_mode_field(choices: tuple[str, ...], default: str) -> Choice:
    """``output_mode``, as given (Keras refuses ``"INT"``); Keras reads ``binary`` as
    ``multi_hot`` and ``tf-idf`` as ``tf_idf``."""
    return Choice((*choices, "binary", "tf-idf"), load_default=default, case_sensitive=True)


def canonical_mode(mode: str) -> str:
    return {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(mode, mode)


class Encoding(Layer):
    """Layers whose ``output_mode`` turns integer indices into one-hot, multi-hot or count
    vectors of ``depth`` values."""

    family = "preprocessing"

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        args["output_mode"] = canonical_mode(args["output_mode"])
        if args.get("sparse") and args["output_mode"] == "int":
            raise ArgumentError("sparse", "sparse outputs need output_mode one_hot, multi_hot "
                                          "or count")
        super().__init__(name, args)

    @property
    def output_mode(self) -> str:
        return self.args.output_mode

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        shape, out = inputs[0], outputs[0]
        if self.output_mode == "int":
            return f"each value becomes an integer index, the shape {format_shape(shape)} is kept"
        what = {"one_hot": "a one-hot vector", "multi_hot": "a multi-hot vector of its sample",
                "count": "the token counts of its sample",
                "tf_idf": "the TF-IDF weights of its sample"}[self.output_mode]
        depth = (f"{out[-1]} values" if out[-1] is not None else
                 "an unknown number of values (the vocabulary is not in the config)")
        return (f"output_mode='{self.output_mode}': each index becomes {what} of {depth}, "
                f"{format_shape(shape)} → {format_shape(out)}")


@register
class CategoryEncoding(Encoding):
    """Encodes integer indices below ``num_tokens`` as one-hot, multi-hot or count vectors."""

    keras_name = "CategoryEncoding"
    outputs_variable_dtype = True  # Keras encodes in self.dtype (probed: float32 if mixed)

    class Args(LayerArgs):
        num_tokens = PositiveInt(required=True)
        output_mode = encoding_mode_field(ENCODINGS, "multi_hot")
        sparse = fields.Boolean(load_default=False)

    @property
    def depth(self) -> int:
        return self.args.num_tokens

    def output_shape(self, shape: Shape) -> Shape:
        if self.output_mode == "one_hot" and (shape[-1] != 1 or len(shape) == 1):
            return (*shape, self.depth)
        return (*shape[:-1], self.depth)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        if x.ndim > 2 and self.output_mode != "one_hot":
            raise NotImplementedError(
                f"CategoryEncoding declares {format_shape(self.output_shape(x.shape))} but "
                "Keras reduces axis 1 of a rank-3+ input in multi_hot and count modes: predict "
                "disagrees with the model's own shapes.")
        return encode(x, self.output_mode, self.depth)


@register
class Discretization(Encoding):
    """Buckets numbers by ``bin_boundaries`` (``[0, 1]`` gives the bins x < 0, 0 ≤ x < 1 and
    x ≥ 1), as bin indices or encoded vectors of ``len(bin_boundaries) + 1`` bins.

    With ``num_bins`` the boundaries come from ``adapt()``; an adapted layer's config holds
    both.
    """

    keras_name = "Discretization"

    class Args(LayerArgs):
        bin_boundaries = fields.List(Float(), load_default=None, allow_none=True)
        num_bins = Int(min_value=0, load_default=None, allow_none=True)
        epsilon = Float(load_default=0.01)
        output_mode = encoding_mode_field(("int", *ENCODINGS), "int")
        sparse = fields.Boolean(load_default=False)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        if args["bin_boundaries"] is None and args["num_bins"] is None:
            raise ArgumentError("bin_boundaries", "give bin_boundaries, or num_bins and adapt "
                                                  "the layer")
        super().__init__(name, args)

    @property
    def depth(self) -> int:
        boundaries = self.args.bin_boundaries
        return len(boundaries) + 1 if boundaries is not None else self.args.num_bins

    index_dtype = "int32"
    """The dtype of the bin indices (Keras 3, on either backend)."""

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        """Bin indices are integer tensors."""
        return self.index_dtype if self.output_mode == "int" else None

    def output_shape(self, shape: Shape) -> Shape:
        if self.output_mode == "int":
            return shape
        if self.output_mode == "one_hot":
            if len(shape) > 1 and shape[-1] == 1:
                return (*shape[:-1], self.depth)
            return (*shape, self.depth)
        # multi_hot and count: one vector per sample, the second axis reduced.
        if len(shape) >= 2:
            return (shape[0], *shape[2:], self.depth)
        return (self.depth,)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        if self.args.bin_boundaries is None:
            raise NotImplementedError(
                "This Discretization has num_bins but no bin_boundaries: it was never adapted, "
                "and Keras cannot run it either.")
        boundaries = np.asarray(self.args.bin_boundaries, dtype=np.float32)
        self.check_sorted(boundaries)
        return encode(digitize(x, boundaries), self.output_mode, self.depth)

    def check_sorted(self, boundaries: Array) -> None:
        """Keras 3 bins by a binary search (``jnp.digitize``), which needs the boundaries sorted,
        increasing or decreasing; on others it gives no meaningful bins (TensorFlow refuses
        them)."""
        steps = np.diff(boundaries)
        if not (np.all(steps >= 0) or np.all(steps <= 0)):
            raise NotImplementedError(
                "Discretization's bin_boundaries are not sorted: Keras bins values by a binary "
                "search of them (its TensorFlow backend refuses them), which gives no meaningful "
                "bins. Sort the boundaries in increasing order.")

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        bins = f"{self.depth} bins"
        if self.args.bin_boundaries is not None:
            count = len(self.args.bin_boundaries)
            bins += f" = {count} {'boundary' if count == 1 else 'boundaries'} + 1"
        return f"{bins}; {super().explain_shape(inputs, outputs)}"


def digitize(x: Array, boundaries: Array) -> Array:
    """``jnp.digitize`` (Keras 3's JAX backend) for sorted ``boundaries``: the number of
    boundaries at or below each value; decreasing boundaries count from the high end."""
    if np.all(np.diff(boundaries) >= 0):
        return np.searchsorted(boundaries, x, side="right")
    return len(boundaries) - np.searchsorted(boundaries[::-1], x, side="right")


# -- images ----------------------------------------------------------------------------------

class ImageArgs(LayerArgs):
    data_format = Choice(DATA_FORMATS, load_default="channels_last", allow_none=True)


class ImageLayer(Layer):
    """Layers on a batch of images (rank 4) or on one image (rank 3)."""

    family = "preprocessing"
    Args = ImageArgs

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        args["data_format"] = args.get("data_format") or "channels_last"
        super().__init__(name, args)

    @property
    def size_axes(self) -> tuple[int, int]:
        """The height and width axes, counted from the end as Keras does."""
        return (-3, -2) if self.args.data_format == "channels_last" else (-2, -1)

    def check_image(self, shape: Shape) -> None:
        if len(shape) in (3, 4):
            return
        raise LayerInputIncompatible(
            f"{self.keras_name} takes images: a batch (batch, height, width, channels) or a "
            f"single image (height, width, channels), but received {format_shape(shape)} of "
            f"rank {len(shape)}.",
            "Reshape the input to (height, width, channels) per sample, e.g. Reshape((28, 28, "
            "1)) for flat 784-pixel images.")

    def sized(self, shape: Shape, height: Dim, width: Dim) -> Shape:
        """``shape`` with its height and width replaced."""
        out = list(shape)
        out[self.size_axes[0]], out[self.size_axes[1]] = height, width
        return tuple(out)

    def size_of(self, shape: Sequence[Dim]) -> tuple[Dim, Dim]:
        return shape[self.size_axes[0]], shape[self.size_axes[1]]

    def channels_last_batch(self, x: Array) -> Array:
        """A rank-3 image as a batch of one, channels last (how the kernels see images)."""
        x = x[None] if x.ndim == 3 else x
        return np.moveaxis(x, 1, -1) if self.args.data_format == "channels_first" else x

    def restore(self, y: Array, like: Array) -> Array:
        """Undo ``channels_last_batch``."""
        y = np.moveaxis(y, -1, 1) if self.args.data_format == "channels_first" else y
        return y[0] if like.ndim == 3 else y


def resize_matrix(length: int, size: int, method: str, antialias: bool) -> Array:
    """The (length, size) matrix of ``jax.image.resize`` along one axis (``scale_and_translate``
    without translation): a kernel of the distance from each output sample to each input
    pixel (widened by the scale when antialiasing a downsampling), columns normalised to sum
    to 1, samples outside the input zeroed."""
    inverse = length / size
    samples = (np.arange(size) + 0.5) * inverse - 0.5
    pixels = np.arange(length)[:, None]
    if method == "area":
        left = np.arange(size) * inverse
        weights = np.maximum(0.0, np.minimum(left + inverse, pixels + 1.0)
                             - np.maximum(left, pixels))
    else:
        kernel_scale = max(inverse, 1.0) if antialias else 1.0
        weights = RESIZE_KERNELS[method](np.abs(samples - pixels) / kernel_scale)
    total = weights.sum(axis=0, keepdims=True)
    weights = np.where(np.abs(total) > 1000 * np.finfo(np.float32).eps,
                       weights / np.where(total != 0, total, 1), 0.0)
    inside = (samples >= -0.5) & (samples <= length - 0.5)
    return np.where(inside, weights, 0.0).astype(np.float32)


def resize_axis(x: Array, axis: int, size: int, method: str, antialias: bool = False) -> Array:
    """``jax.image.resize`` of one axis of ``x`` to ``size``."""
    length = x.shape[axis]
    if length == size:
        return x
    if method == "nearest":
        offsets = (np.arange(size, dtype=np.float32) + 0.5) * length / size
        return np.take(x, np.floor(offsets).astype(np.int64), axis=axis)
    return weigh_axis(x, axis, resize_matrix(length, size, method, antialias))


def weigh_axis(x: Array, axis: int, weights: Array) -> Array:
    """``x`` with axis ``axis`` replaced by its sums weighted by each column of ``weights``."""
    return np.moveaxis(np.tensordot(x, weights, axes=([axis], [0])), -1, axis)


def resize_images(x: Array, height: int, width: int, method: str = "bilinear",
                  antialias: bool = False) -> Array:
    """Resize a channels_last batch of images."""
    return resize_axis(resize_axis(x, 1, height, method, antialias), 2, width, method, antialias)


def aspect_crop(x: Array, height: int, width: int) -> Array:
    """Centre-crop a channels_last batch to the aspect ratio of (height, width), as Keras'
    ``crop_to_aspect_ratio`` and ``smart_resize`` do (at least one pixel each way)."""
    in_height, in_width = x.shape[1], x.shape[2]
    crop_height = max(min(in_height, int(float(in_width * height) / width)), 1)
    crop_width = max(min(in_width, int(float(in_height * width) / height)), 1)
    top = int(float(in_height - crop_height) / 2)
    left = int(float(in_width - crop_width) / 2)
    return x[:, top:top + crop_height, left:left + crop_width]


def aspect_pad(x: Array, height: int, width: int, fill_value: float) -> Array:
    """Pad a channels_last batch to the aspect ratio of (height, width), the same amount on
    both sides of one axis, as Keras' ``pad_to_aspect_ratio`` does."""
    in_height, in_width = x.shape[1], x.shape[2]
    padded_height = max(in_height, int(float(in_width * height) / width))
    padded_width = max(in_width, int(float(in_height * width) / height))
    top = int(float(padded_height - in_height) / 2)
    left = int(float(padded_width - in_width) / 2)
    if top > 0:
        pads = [(0, 0), (top, top), (0, 0), (0, 0)]
    elif left > 0:
        pads = [(0, 0), (0, 0), (left, left), (0, 0)]
    else:
        return x
    return np.pad(x, pads, constant_values=fill_value)


class SizeArgs(ImageArgs):
    height = PositiveInt(required=True)
    width = PositiveInt(required=True)


@register
class Resizing(RoundsInterpolatedIntegers, ImageLayer):
    """Resizes images to (``height``, ``width``) by ``interpolation``, optionally cropping or
    padding them to the target aspect ratio first."""

    keras_name = "Resizing"

    class Args(SizeArgs):
        interpolation = Choice(RESIZE_INTERPOLATIONS, load_default="bilinear")
        crop_to_aspect_ratio = fields.Boolean(load_default=False)
        pad_to_aspect_ratio = fields.Boolean(load_default=False)
        fill_mode = Choice(("constant",), load_default="constant")
        fill_value = Float(load_default=0.0)
        antialias = fields.Boolean(load_default=False)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        if args["crop_to_aspect_ratio"] and args["pad_to_aspect_ratio"]:
            raise ArgumentError("pad_to_aspect_ratio", "cannot be combined with "
                                                       "crop_to_aspect_ratio")
        super().__init__(name, args)

    def output_shape(self, shape: Shape) -> Shape:
        self.check_image(shape)
        return self.sized(shape, self.args.height, self.args.width)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        height, width = self.args.height, self.args.width
        images = self.channels_last_batch(x)
        if self.args.crop_to_aspect_ratio:
            images = aspect_crop(images, height, width)
        elif self.args.pad_to_aspect_ratio:
            images = aspect_pad(images, height, width, self.args.fill_value)
        return self.restore(self.resize(images), x)

    def resize(self, images: Array) -> Array:
        """A channels_last batch resized to (height, width) by ``interpolation``."""
        return resize_images(images, self.args.height, self.args.width,
                             self.args.interpolation, self.args.antialias)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        height, width = (d if d is not None else "?" for d in self.size_of(inputs[0]))
        how = (" after cropping to the target aspect ratio" if self.args.crop_to_aspect_ratio
               else " after padding to the target aspect ratio"
               if self.args.pad_to_aspect_ratio else "")
        return (f"images resized from {height}×{width} to {self.args.height}×{self.args.width} "
                f"({self.args.interpolation}{how}): {format_shape(inputs[0])} → "
                f"{format_shape(outputs[0])}")


@register
class CenterCrop(ImageLayer):
    """Crops the centre (``height``, ``width``) of each image; an image smaller than that is
    cropped to the target aspect ratio and resized up (bilinear) instead."""

    keras_name = "CenterCrop"
    Args = SizeArgs

    def output_shape(self, shape: Shape) -> Shape:
        self.check_image(shape)
        return self.sized(shape, self.args.height, self.args.width)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        height, width = self.args.height, self.args.width
        images = self.channels_last_batch(x)
        in_height, in_width = images.shape[1], images.shape[2]
        if in_height >= height and in_width >= width:
            top, left = (in_height - height) // 2, (in_width - width) // 2
            cropped = images[:, top:top + height, left:left + width]
        else:
            cropped = resize_images(aspect_crop(images, height, width), height, width)
        return self.restore(cropped, x)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        height, width = self.size_of(inputs[0])
        if height is None or width is None:
            how = (f"the centre {self.args.height}×{self.args.width} of each image (images "
                   "smaller than that are cropped to its aspect ratio and resized up)")
        elif height >= self.args.height and width >= self.args.width:
            how = (f"the centre {self.args.height}×{self.args.width} of each {height}×{width} "
                   f"image is kept ({height - self.args.height} rows and "
                   f"{width - self.args.width} columns cut)")
        else:
            how = (f"the {height}×{width} images are smaller than {self.args.height}×"
                   f"{self.args.width}: cropped to that aspect ratio and resized up")
        return f"{how}: {format_shape(inputs[0])} → {format_shape(outputs[0])}"


@register
class RandomCrop(ImageLayer):
    """Crops a random (``height``, ``width``) window of each image in training.

    Keras 3 declares the output (``height``, ``width``), but at inference ``predict`` returns
    the images unchanged, and runs the layers after it on them (``computed_output_shape``).
    """

    keras_name = "RandomCrop"
    keeps_integers = True  # integer images stay so at inference (probed)
    Args = SizeArgs

    def output_shape(self, shape: Shape) -> Shape:
        self.check_image(shape)
        return self.sized(shape, self.args.height, self.args.width)

    def computed_output_shape(self, inputs: Shapes) -> Shape | None:
        """The images as they come, where they do not have the crop's size."""
        shape = inputs[0]
        return None if self.size_of(shape) == (self.args.height, self.args.width) else shape

    def undeclared_shape(self, index: int, options: Mapping[str, Any],
                         inputs: Shapes) -> str | None:
        if self.computed_output_shape(inputs) is None:
            return None
        return "Keras 3's RandomCrop crops in training only: predict returns the images unchanged"

    def declared_shape_caveat(self, inputs: Shapes) -> ShapeCaveat | None:
        computed = self.computed_output_shape(inputs)
        if computed is None:
            return None
        height, width = self.args.height, self.args.width
        sizes = "×".join("?" if d is None else str(d) for d in self.size_of(computed))
        return ShapeCaveat(
            f"'{self.name}' declares {format_shape(self.output_shape(computed))}, as the summary "
            f"shows, but Keras 3 crops in training only: at inference (predict, evaluate) it "
            f"returns the {sizes} images unchanged, {format_shape(computed)}, and the layers "
            f"after it run on those. A layer built for {height}×{width} images there (a Dense "
            "after a Flatten) fails at predict; others compute over other sizes than in "
            "training.",
            f"Add CenterCrop({height}, {width}) after it: it keeps the {height}×{width} crops of "
            "training as they are and crops the images to that size at inference, as tf.keras "
            "2's RandomCrop did. Or crop the images to that size before predict.",
            follow_with=("CenterCrop", {"height": height, "width": width}))

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return x

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"a random {self.args.height}×{self.args.width} window in training: "
                f"{format_shape(inputs[0])} → {format_shape(outputs[0])} (Keras 3 returns the "
                "images unchanged at inference)")


@register
class AutoContrast(ImageLayer):
    """Stretches each channel of each image to the full ``value_range`` (its darkest value to
    the low end, its brightest to the high end), at inference too."""

    keras_name = "AutoContrast"

    class Args(ImageArgs):
        value_range = Range(load_default=(0.0, 255.0), ordered=True)

    def output_shape(self, shape: Shape) -> Shape:
        self.check_image(shape)
        return shape

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        low_value, high_value = float32_range(self.keras_name, self.args.value_range)
        images = x[None] if x.ndim == 3 else x
        scaled = (images - low_value) / (high_value - low_value) * 255.0
        low = scaled.min(axis=(1, 2), keepdims=True)
        high = scaled.max(axis=(1, 2), keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = 255.0 / (high - low)
            stretched = np.clip(scaled * scale - low * scale, 0.0, 255.0)
        result = stretched / 255.0 * (high_value - low_value) + low_value
        result = np.where(np.isnan(result), images, result)
        return result[0] if x.ndim == 3 else result

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"each channel of each image stretched to {list(self.args.value_range)}, the "
                f"shape {format_shape(inputs[0])} is kept")


def flat_sizes(value: int | tuple) -> None:
    """An integer or a list of integers, not of pairs."""
    if not isinstance(value, int) and not all(isinstance(size, int) for size in value):
        given = [list(size) if isinstance(size, tuple) else size for size in value]
        raise ValidationError(f"must be a list of integers, got {given!r}")


@register
class ContrastLimitedAdaptiveHistogramEqualization(ImageLayer):
    """CLAHE, at inference too: each channel of each tile of a ``tile_grid_size`` grid gets
    its histogram of the values 0–255 (after ``value_range`` is mapped onto them), clipped at
    ``clip_limit`` times the mean count with the excess spread over all bins; each pixel then
    takes its value through the four nearest tiles' normalised cumulative histograms,
    interpolated bilinearly. The kernel follows Keras' arithmetic in float32."""

    keras_name = "ContrastLimitedAdaptiveHistogramEqualization"

    class Args(ImageArgs):
        value_range = Range(load_default=(0.0, 255.0))
        clip_limit = Float(min_value=0.0, load_default=4.0)
        tile_grid_size = IntTuple(load_default=(8, 8), validate=flat_sizes)

    def output_shape(self, shape: Shape) -> Shape:
        self.check_image(shape)
        return shape

    def tile_sizes(self) -> tuple[int, ...]:
        """``tile_grid_size`` as the tuple of sizes given (one for an integer)."""
        size = self.args.tile_grid_size
        return (size,) if isinstance(size, int) else tuple(size)

    def grid(self) -> tuple[int, int]:
        grid = self.tile_sizes()
        if len(grid) != 2:  # (each is at least 1: the field says so)
            raise NotImplementedError(
                f"its tile_grid_size {list(grid)} is not two positive numbers of tiles, which "
                "Keras' predict divides the image by")
        return grid[0], grid[1]

    def padded_size(self, shape: Shape) -> tuple[int, int, int]:
        """Pixels of one channel of the image padded to whole tiles, and the tiles' cumulative
        histograms with their border (per channel)."""
        rows, cols = (*self.tile_sizes(), 1, 1)[:2]
        height, width = self.size_of(shape)
        tile_h, tile_w = -(-(height or 1) // rows), -(-(width or 1) // cols)
        return tile_h * rows * tile_w * cols, (rows + 2) * (cols + 2) * 256, tile_h * tile_w

    def scratch_bytes(self, inputs: Shapes, outputs: Shapes) -> int:
        shape = inputs[0]
        images = (shape[0] or 1) if len(shape) == 4 else 1
        channels = shape[-1 if self.args.data_format == "channels_last" else -3] or 1
        pixels, histograms, _ = self.padded_size(shape)
        return images * channels * (pixels * 4 * 16 + histograms * 4 * 4)

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.scratch_bytes(inputs, outputs) // 4

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        low, high = float32_range(self.keras_name, self.args.value_range)
        images = self.channels_last_batch(x).astype(np.float32)
        if (low, high) != (0.0, 255.0):
            images = (images - low) / (high - low) * np.float32(255.0)
        equalised = clahe(images, np.float32(self.args.clip_limit), self.grid())
        if (low, high) != (0.0, 255.0):
            equalised = equalised / np.float32(255.0) * (high - low) + low
        return self.restore(equalised, x)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"contrast equalised tile by tile, the shape {format_shape(inputs[0])} is "
                "kept")


def clahe(images: Array, clip_limit: np.float32, grid: tuple[int, int]) -> Array:
    """Keras' ``_clahe`` of a channels_last batch with values in [0, 255]."""
    n, height, width, channels = images.shape
    rows, cols = grid
    tile_h, tile_w = -(-height // rows), -(-width // cols)
    padded = np.pad(images, [(0, 0), (0, tile_h * rows - height), (0, tile_w * cols - width),
                             (0, 0)], mode="symmetric")
    tiles = padded.reshape(n, rows, tile_h, cols, tile_w, channels).transpose(0, 1, 3, 5, 2, 4)
    values = np.clip(tiles.reshape(-1, tile_h * tile_w).astype(np.int32), 0, 255)
    offsets = np.arange(values.shape[0])[:, None] * 256
    hists = np.bincount((values + offsets).ravel(), minlength=values.shape[0] * 256)
    hists = hists.reshape(n, rows, cols, channels, 256).astype(np.float32)
    if clip_limit > 0:
        limit = np.float32(clip_limit * (tile_h * tile_w) / 256.0)
        clipped = np.clip(hists, 0, limit)
        hists = clipped + (hists - clipped).sum(-1, keepdims=True) / np.float32(256.0)
    cdf = np.cumsum(hists, axis=-1, dtype=np.float32)
    cdf_min = cdf.min(axis=-1, keepdims=True)
    denominator = np.float32(tile_h * tile_w) - cdf_min
    denominator = np.where(denominator == 0, np.float32(1.0), denominator)
    cdf = np.clip((cdf - cdf_min) * np.float32(255.0) / denominator, 0, 255)
    cdf = np.pad(cdf, [(0, 0), (1, 1), (1, 1), (0, 0), (0, 0)], mode="edge")
    (y0, y1, wy), (x0, x1, wx) = (
        tile_neighbours(length, tile, count)
        for length, tile, count in ((tile_h * rows, tile_h, rows), (tile_w * cols, tile_w, cols)))
    pixels = np.clip(padded, 0, 255).astype(np.int32)
    batch = np.arange(n)[:, None, None, None]
    channel = np.arange(channels)[None, None, None, :]
    y0, y1, wy = y0[None, :, None, None], y1[None, :, None, None], wy[None, :, None, None]
    x0, x1, wx = x0[None, None, :, None], x1[None, None, :, None], wx[None, None, :, None]

    def at(y: Array, x: Array) -> Array:
        return cdf[batch, y, x, channel, pixels]

    top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
    return (top * (1 - wy) + bottom * wy)[:, :height, :width]


def tile_neighbours(length: int, tile: int, count: int) -> tuple[Array, Array, Array]:
    """For each pixel along an axis of ``length`` (whole tiles of ``tile``), the indices of
    the two tiles whose centres frame it in the bordered grid of ``count`` + 2 tiles, and the
    weight of the second."""
    grid = (np.arange(length, dtype=np.float32) - np.float32(tile / 2.0)) / np.float32(tile)
    grid = grid + np.float32(1.0)
    first = np.floor(grid)
    weight = grid - first
    return (np.clip(first, 0, count + 1).astype(np.int64),
            np.clip(first + 1, 0, count + 1).astype(np.int64), weight)


@register
class Equalization(ImageLayer):
    """Histogram equalisation of each channel, which Keras 3 never runs in a model: its
    symbolic call gives back the input tensor itself, so a model reads past the layer on a
    model input, and refuses it as a cycle anywhere else.

    ``graph.returned_inputs`` reports which; the kernel is the identity, as predict never
    equalises."""

    keras_name = "Equalization"
    returns_its_input = True

    class Args(ImageArgs):
        value_range = Range(load_default=(0, 255), ordered=True)
        bins = Int(load_default=256)

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return x

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"the input {format_shape(inputs[0])} itself: Keras 3 gives back its input "
                "tensor, so the layer never equalises in a model")

    def skipped(self) -> tuple[str, str]:
        """Message and hint where Keras builds the model without the layer."""
        return (f"Keras 3 builds this model without '{self.name}': Equalization gives back its "
                "input tensor itself, so the model reads its input straight past the layer and "
                "predict never equalises. A Sequential model with it is built too, but Keras "
                "cannot read its JSON back (model_from_json fails with 'part of a cycle').",
                EQUALIZE_OUTSIDE)

    def cycle(self) -> tuple[str, str]:
        """Message and hint where Keras refuses the model."""
        return (f"Keras 3 cannot build this model: Equalization gives back its input tensor "
                f"itself, so '{self.name}' would be the producer of its own input, which Keras "
                "refuses as a cycle ('... is part of a cycle'). Only on a model input, with "
                "other layers after it, does Keras build the model, and then without the "
                "layer.", EQUALIZE_OUTSIDE)


EQUALIZE_OUTSIDE = ("Equalise the images before the model: call keras.layers.Equalization() "
                    "on the arrays, or map it over a tf.data or grain pipeline.")


# -- random augmentations: active in training only -------------------------------------------

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
AFFINE_INTERPOLATIONS = ("nearest", "bilinear")


class RandomAugmentation(ImageLayer):
    """An augmentation Keras applies in training only; ``predict`` returns the images."""

    augments: ClassVar[str]
    """What it does in training, for the explanation."""

    def output_shape(self, shape: Shape) -> Shape:
        self.check_image(shape)
        return shape

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return x

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"{self.augments} in training only; at inference the images pass unchanged, "
                f"shape {format_shape(inputs[0])} kept")


class AffineArgs(ImageArgs):
    fill_mode = Choice(FILL_MODES, load_default="reflect", case_sensitive=True)
    interpolation = Choice(AFFINE_INTERPOLATIONS, load_default="bilinear", case_sensitive=True)
    fill_value = Float(load_default=0.0)


class ColorArgs(ImageArgs):
    value_range = Range(load_default=(0.0, 255.0))


def required_factor(lower: float, upper: float, **kw: Any) -> Factor:
    return Factor(lower, upper, required=True, **kw)


class UnitFactorArgs(ColorArgs):
    """A colour augmentation's strength: a required ``factor`` in [0, 1]."""

    factor = required_factor(0.0, 1.0)


class SignedFactorArgs(ColorArgs):
    """A colour augmentation's strength: a required ``factor`` in [-1, 1]."""

    factor = required_factor(-1.0, 1.0)


@register
class RandomFlip(RandomAugmentation):
    """Flips images left-right and/or up-down at random (``mode``)."""

    keras_name = "RandomFlip"
    augments = "random flips"

    class Args(ImageArgs):
        mode = Choice(("horizontal", "vertical", "horizontal_and_vertical"),
                      load_default="horizontal_and_vertical")


@register
class RandomRotation(RandomAugmentation):
    """Rotates images by a random fraction ``factor`` of a full turn."""

    keras_name = "RandomRotation"
    augments = "random rotations"

    class Args(AffineArgs):
        factor = required_factor(-1.0, 1.0)


@register
class RandomZoom(RandomAugmentation):
    """Zooms images in or out by a random fraction (``height_factor``, ``width_factor``)."""

    keras_name = "RandomZoom"
    augments = "random zooms"

    class Args(AffineArgs):
        height_factor = required_factor(-1.0, 1.0, each=True)
        width_factor = Factor(-1.0, 1.0, each=True, load_default=None, allow_none=True)


@register
class RandomTranslation(RandomAugmentation):
    """Shifts images by a random fraction of their height and width."""

    keras_name = "RandomTranslation"
    augments = "random shifts"

    class Args(AffineArgs):
        height_factor = required_factor(-1.0, 1.0, each=True)
        width_factor = required_factor(-1.0, 1.0, each=True)


@register
class RandomShear(RandomAugmentation):
    """Shears images by random angles (``x_factor``, ``y_factor``)."""

    keras_name = "RandomShear"
    augments = "random shears"

    class Args(AffineArgs):
        x_factor = Factor(0.0, 1.0, load_default=0.0)
        y_factor = Factor(0.0, 1.0, load_default=0.0)


@register
class RandomContrast(RandomAugmentation):
    """Scales each image's contrast by a random factor in [1 - factor, 1 + factor]."""

    keras_name = "RandomContrast"
    keeps_integers = True  # integer images stay so at inference (probed)
    augments = "random contrast changes"

    Args = UnitFactorArgs


@register
class RandomBrightness(RandomAugmentation):
    """Adds a random brightness offset, a fraction ``factor`` of ``value_range``."""

    keras_name = "RandomBrightness"
    keeps_integers = True  # integer images stay so at inference (probed)
    augments = "random brightness changes"

    Args = SignedFactorArgs


@register
class RandomColorDegeneration(RandomAugmentation):
    """Blends images with their grayscale version by a random ``factor``."""

    keras_name = "RandomColorDegeneration"
    keeps_integers = True  # integer images stay so at inference (probed)
    augments = "random colour fading"

    Args = SignedFactorArgs


@register
class RandomSaturation(RandomAugmentation):
    """Changes the colour saturation by a random ``factor``."""

    keras_name = "RandomSaturation"
    keeps_integers = True  # integer images stay so at inference (probed)
    augments = "random saturation changes"

    Args = SignedFactorArgs


@register
class RandomHue(RandomAugmentation):
    """Shifts the hue by a random ``factor``."""

    keras_name = "RandomHue"
    keeps_integers = True  # integer images stay so at inference (probed)
    augments = "random hue shifts"

    Args = UnitFactorArgs


@register
class RandomSharpness(RandomAugmentation):
    """Sharpens or blurs images by a random ``factor``."""

    keras_name = "RandomSharpness"
    augments = "random sharpness changes"

    Args = UnitFactorArgs


@register
class RandomPosterization(RandomAugmentation):
    """Keeps a random number (``factor``, 1 to 8) of bits per colour channel."""

    keras_name = "RandomPosterization"
    keeps_integers = True  # integer images stay so at inference (probed)
    augments = "random posterisation"

    class Args(ColorArgs):
        factor = required_factor(1.0, 8.0)


@register
class RandomColorJitter(RandomAugmentation):
    """Random brightness, contrast, saturation and hue changes in one layer."""

    keras_name = "RandomColorJitter"
    keeps_integers = True  # integer images stay so at inference (probed)
    augments = "random colour jitter"

    class Args(ColorArgs):
        brightness_factor = Factor(-1.0, 1.0, load_default=None, allow_none=True)
        contrast_factor = Factor(0.0, 1.0, load_default=None, allow_none=True)
        saturation_factor = Factor(-1.0, 1.0, load_default=None, allow_none=True)
        hue_factor = Factor(0.0, 1.0, load_default=None, allow_none=True)


class ProbabilityArgs(ColorArgs):
    factor = Factor(0.0, 1.0, load_default=1.0)


@register
class RandomGrayscale(RandomAugmentation):
    """Turns images to grayscale with probability ``factor`` (the channels are kept)."""

    keras_name = "RandomGrayscale"
    keeps_integers = True  # integer images stay so at inference (probed)
    augments = "random conversion to grayscale"

    class Args(ImageArgs):
        factor = Factor(0.0, 1.0, load_default=0.5)


@register
class RandomInvert(RandomAugmentation):
    """Inverts images (``value_range`` high - x) with probability ``factor``."""

    keras_name = "RandomInvert"
    keeps_integers = True  # integer images stay so at inference (probed)
    augments = "random inversion"
    Args = ProbabilityArgs


@register
class RandomErasing(RandomAugmentation):
    """Erases a random rectangle of each image with probability ``factor``."""

    keras_name = "RandomErasing"
    augments = "random erasing of rectangles"
    Args = ProbabilityArgs


@register
class RandomGaussianBlur(RandomAugmentation):
    """Blurs images with a Gaussian kernel with probability ``factor``."""

    keras_name = "RandomGaussianBlur"
    augments = "random Gaussian blur"

    class Args(ProbabilityArgs):
        kernel_size = IntTuple(load_default=3)
        sigma = Factor(0.0, float("inf"), load_default=1.0)


@register
class RandomElasticTransform(RandomAugmentation):
    """Distorts images by a random elastic displacement field."""

    keras_name = "RandomElasticTransform"
    augments = "random elastic distortion"

    class Args(ProbabilityArgs):
        fill_mode = Choice(FILL_MODES, load_default="reflect", case_sensitive=True)
        interpolation = Choice(AFFINE_INTERPOLATIONS, load_default="bilinear", case_sensitive=True)


@register
class RandomPerspective(RandomAugmentation):
    """Applies a random perspective warp with probability ``factor``."""

    keras_name = "RandomPerspective"
    augments = "random perspective warps"

    class Args(ImageArgs):
        factor = Factor(0.0, 1.0, load_default=1.0)
        interpolation = Choice(AFFINE_INTERPOLATIONS, load_default="bilinear", case_sensitive=True)


@register
class Solarization(RandomAugmentation):
    """Inverts the pixels above a random threshold (``threshold_factor``), after adding a
    random ``addition_factor``."""

    keras_name = "Solarization"
    augments = "random solarisation"

    class Args(ColorArgs):
        addition_factor = Factor(0.0, 1.0, load_default=0.0)
        threshold_factor = Factor(0.0, 1.0, load_default=0.0)


@register
class AugMix(RandomAugmentation):
    """Mixes several chains of random augmentations of each image (AugMix)."""

    keras_name = "AugMix"
    augments = "random AugMix chains"

    class Args(ColorArgs):
        num_chains = PositiveInt(load_default=3)
        chain_depth = Factor(1.0, float("inf"), load_default=3)
        factor = Factor(0.0, 1.0, load_default=0.3)


@register
class RandAugment(RandomAugmentation):
    """Applies ``num_ops`` random augmentations of strength ``factor`` (RandAugment)."""

    keras_name = "RandAugment"
    augments = "random RandAugment operations"

    class Args(ColorArgs):
        num_ops = PositiveInt(load_default=2)
        factor = Factor(0.0, 1.0, load_default=0.5)


@register
class CutMix(RandomAugmentation):
    """Pastes a random patch of another image of the batch (CutMix)."""

    keras_name = "CutMix"
    augments = "random CutMix patches"

    class Args(ImageArgs):
        factor = Factor(0.0, 1.0, load_default=1.0)


@register
class MixUp(RandomAugmentation):
    """Blends each image with another image of the batch (MixUp)."""

    keras_name = "MixUp"
    keeps_integers = True  # integer images stay so at inference (probed)
    augments = "random MixUp blending"

    class Args(ImageArgs):
        alpha = Float(min_value=0.0, load_default=0.2)


@register
class MaxNumBoundingBoxes(RandomAugmentation):
    """Pads or trims bounding boxes to ``max_number``; images pass unchanged."""

    keras_name = "MaxNumBoundingBoxes"
    keeps_integers = True  # integer images stay so at inference (probed)
    augments = "bounding boxes padded to a fixed number"

    class Args(ImageArgs):
        max_number = PositiveInt(required=True)


@register
class Pipeline(Layer):
    """A chain of preprocessing layers applied one after the other (``layers``), as one layer;
    at inference the augmentations in it pass their input through."""

    keras_name = "Pipeline"
    nested_layers = ("layers",)
    family = "preprocessing"

    class Args(LayerArgs):
        layers = fields.List(fields.Dict(), required=True)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        if not args["layers"]:
            raise ArgumentError("layers", "must hold at least one layer: Keras' Pipeline call "
                                          "fails without any")
        self.layers = [inner_layer(spec, f"layers.{i}") for i, spec in enumerate(args["layers"])]

    def chain(self, shape: Shape) -> list[tuple[Layer, Shape]]:
        """Each inner layer with the shape it receives."""
        steps = []
        for layer in self.layers:
            steps.append((layer, shape))
            shape = layer.output_shapes([shape])[0]
        return steps

    def output_shape(self, shape: Shape) -> Shape:
        for layer in self.layers:
            shape = layer.output_shapes([shape])[0]
        return shape

    def computed_output_shape(self, inputs: Shapes) -> Shape | None:
        """The output as the chain computes it, each layer on what the one before computes
        (an augmentation passes its input through at inference: a RandomCrop's uncropped)."""
        shape = declared = inputs[0]
        try:
            for layer in self.layers:
                declared = layer.output_shapes([declared])[0]
                shape = layer.computed_output_shape([shape]) or layer.output_shapes([shape])[0]
        except LayerInputIncompatible:  # a layer in it cannot take what the one before computes
            return None
        return None if shape == declared else shape

    def undeclared_shape(self, index: int, options: Mapping[str, Any],
                         inputs: Shapes) -> str | None:
        shape = inputs[0]
        for layer in self.layers:
            why = layer.undeclared_shape(0, {}, [shape])
            if why is not None:
                return f"in it, {layer.keras_name}: {why}"
            shape = layer.output_shapes([shape])[0]
        return None

    def weights_for(self, shape: Shape) -> list[Weight]:
        weights = []
        for layer, received in self.chain(shape):
            inner = layer.build([received])
            weights += inner if layer.trainable else [replace(w, trainable=False) for w in inner]
        return weights

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        start = 0
        for layer, received in self.chain(x.shape):
            count = len(layer.build([received]))
            x = layer.forward([x], weights[start:start + count])[0]
            start += count
        return x

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        return sum(layer.macs([received], layer.output_shapes([received]))
                   for layer, received in self.chain(inputs[0]))

    def scratch_bytes(self, inputs: Shapes, outputs: Shapes) -> int:
        """The largest of its layers' scratch with the output each makes (they run one
        after the other; the Pipeline's own output the budget counts already)."""
        return max((layer.scratch_bytes([received], made := layer.output_shapes([received]))
                    + 4 * math.prod(d or 1 for d in made[0])
                    for layer, received in self.chain(inputs[0])), default=0)

    def kernel_steps(self, inputs: Shapes, outputs: Shapes) -> int:
        return sum(layer.kernel_steps([received], layer.output_shapes([received]))
                   for layer, received in self.chain(inputs[0]))

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        names = " → ".join(layer.keras_name for layer in self.layers)
        return (f"{names}, one after the other: {format_shape(inputs[0])} → "
                f"{format_shape(outputs[0])}")


# -- hashing and lookups (TensorFlow ops in Keras) --------------------------------------------

class TokenLayer(Encoding):
    """Hashing and the lookups: shapes from the config. Keras runs them with TensorFlow's
    string and hash operations; only IntegerLookup has a numpy kernel."""


@register
class Hashing(TokenLayer):
    """Hashes values (strings or integers) into ``num_bins`` bins, as bin indices or encoded
    vectors."""

    keras_name = "Hashing"

    class Args(LayerArgs):
        num_bins = PositiveInt(required=True)
        mask_value = fields.Raw(load_default=None)
        salt = fields.Raw(load_default=None)
        output_mode = encoding_mode_field(("int", *ENCODINGS), "int")
        sparse = fields.Boolean(load_default=False)

    @property
    def depth(self) -> int:
        return self.args.num_bins

    def output_shape(self, shape: Shape) -> Shape:
        if self.output_mode == "int":
            return shape
        return (*shape[:-1], self.depth)


@register
class HashedCrossing(TokenLayer):
    """Hashes the pairs of values of two features (their cross) into ``num_bins`` bins."""

    keras_name = "HashedCrossing"
    arity = 2

    class Args(LayerArgs):
        num_bins = PositiveInt(required=True)
        output_mode = Choice(("int", "one_hot"), load_default="int")
        sparse = fields.Boolean(load_default=False)

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        if len(inputs) != 2:
            raise LayerInputIncompatible(
                f"HashedCrossing crosses two features, but received {len(inputs)} tensor(s).",
                'Give it "inputs": [feature_a, feature_b].')
        first, second = inputs
        if first[-1] != second[-1]:
            raise LayerInputIncompatible(
                f"HashedCrossing crosses the values of two features position by position, but "
                f"{format_shape(first)} and {format_shape(second)} end in different sizes.",
                "Give both features the same shape.")
        if self.output_mode == "int":
            return [first]
        if first[-1] != 1:
            return [(*first, self.args.num_bins)]
        return [(*first[:-1], self.args.num_bins)]

    def build(self, inputs: Shapes) -> list[Weight]:
        return []


LOOKUP_MODES = ("int", *ENCODINGS, "tf_idf")


class LookupArgs(LayerArgs):
    max_tokens = Int(min_value=2, load_default=None, allow_none=True)
    num_oov_indices = Int(min_value=0, max_value=2**63 - 1, load_default=1)
    """Keras lists that many OOV tokens when it makes the layer: beyond int64, it cannot."""
    mask_token = fields.Raw(load_default=None, allow_none=True)
    vocabulary = fields.Raw(load_default=None, allow_none=True)
    vocabulary_size = Int(min_value=0, load_default=None, allow_none=True)
    idf_weights = fields.Raw(load_default=None, allow_none=True)
    invert = fields.Boolean(load_default=False)
    output_mode = encoding_mode_field(LOOKUP_MODES, "int")
    pad_to_max_tokens = fields.Boolean(load_default=False)
    sparse = fields.Boolean(load_default=False)


class Lookup(TokenLayer):
    """StringLookup and IntegerLookup: tokens to indices of a vocabulary.

    Indices start with the mask (``mask_token``, in ``int`` mode only) and the
    ``num_oov_indices`` out-of-vocabulary buckets, then the vocabulary.
    """

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        check_lookup_args(args)
        self.depth: int | None = self.vocabulary_depth()

    @property
    def special_count(self) -> int:
        """The indices before the vocabulary's: the mask (int mode) and the OOV buckets."""
        return int(self.has_mask_index) + self.args.num_oov_indices

    def starts_with_special_tokens(self, vocabulary: list) -> bool:
        """Whether ``vocabulary`` starts with the mask (int mode) then the OOV tokens, as Keras
        saves it; the tokens are only listed when the vocabulary is long enough to hold them
        (``num_oov_indices`` may be any integer)."""
        if self.special_count > len(vocabulary):
            return False
        mask = [self.args.mask_token] if self.has_mask_index else []
        specials = mask + [self.args.oov_token] * self.args.num_oov_indices
        return vocabulary[:len(specials)] == specials

    @property
    def has_mask_index(self) -> bool:
        return self.args.mask_token is not None and self.output_mode == "int"

    def vocabulary_depth(self) -> int | None:
        """The size of the encoded vectors, or None when the vocabulary is not in the config."""
        vocabulary = self.args.vocabulary
        depth = (self.listed_depth(vocabulary) if isinstance(vocabulary, list)
                 else self.args.vocabulary_size)
        return self.args.max_tokens if self.args.pad_to_max_tokens else depth

    def listed_depth(self, vocabulary: list) -> int:
        """The indices of a vocabulary listed in the config, refused where Keras cannot set
        it (``set_vocabulary``)."""
        specials = self.special_count
        saved = self.starts_with_special_tokens(vocabulary)
        tokens = vocabulary[specials:] if saved else vocabulary
        if not tokens:
            held = " (it holds only the mask and OOV tokens)" if vocabulary else ""
            raise ArgumentError("vocabulary", f"cannot be empty{held}: Keras cannot set an "
                                              "empty vocabulary")
        if len(set(map(repr, tokens))) != len(tokens):
            raise ArgumentError("vocabulary", "has repeated tokens")
        depth = specials + len(tokens)
        if self.args.max_tokens is not None and depth > self.args.max_tokens:
            raise ArgumentError("vocabulary", f"gives a vocabulary of {depth} (with the mask and "
                                              f"OOV indices), over max_tokens="
                                              f"{self.args.max_tokens}")
        return depth

    def output_shape(self, shape: Shape) -> Shape:
        return lookup_output_shape(shape, self.output_mode, self.depth)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return super().explain_shape(inputs, outputs) + self.saved_size_note()

    def saved_size_note(self) -> str:
        """Where the depth comes from when it is the config's ``vocabulary_size``: the size
        Keras saved, the vocabulary itself (from ``adapt``) not being in the config."""
        size = self.args.vocabulary_size
        if (self.output_mode == "int" or self.args.pad_to_max_tokens or size is None
                or isinstance(self.args.vocabulary, list)):
            return ""
        oov = "the OOV index" if size == 1 else f"the {size} OOV indices"
        before_adapt = (f" ({oov} only: the layer was saved before adapt())"
                        if size == self.special_count else "")
        return f"; the depth is the config's vocabulary_size {size}{before_adapt}"


def check_lookup_args(args: dict[str, Any]) -> None:
    """The combinations Keras' IndexLookup refuses."""
    mode = args["output_mode"]
    if args["pad_to_max_tokens"] and args["max_tokens"] is None:
        raise ArgumentError("pad_to_max_tokens", "needs max_tokens")
    if args.get("invert") and mode != "int":
        raise ArgumentError("invert", "only works with output_mode='int'")
    if args["idf_weights"] is not None and mode != "tf_idf":
        raise ArgumentError("idf_weights", "only used with output_mode='tf_idf'")
    if mode == "tf_idf" and isinstance(args["vocabulary"], list) and args["idf_weights"] is None:
        raise ArgumentError("idf_weights", "output_mode='tf_idf' with a vocabulary needs "
                                           "idf_weights")
    if args["idf_weights"] is not None and not finite_numbers(args["idf_weights"]):
        raise ArgumentError("idf_weights", "must be a list of finite numbers")


def finite_numbers(value: Any) -> bool:
    """Whether ``value`` is a flat list of finite float32 numbers."""
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError, OverflowError):
        return False
    return array.ndim <= 1 and bool(np.all(np.isfinite(array)))


def lookup_output_shape(shape: Shape, output_mode: str, depth: int | None) -> Shape:
    """``IndexLookup.compute_output_shape``: one-hot adds an axis (or replaces a last axis
    of 1); multi-hot, count and TF-IDF replace the last (sample) axis."""
    if output_mode == "int":
        return shape
    if output_mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            return (*shape[:-1], depth)
        return (*shape, depth)
    return (*shape[:-1], depth)


@register
class StringLookup(Lookup):
    """Maps strings to indices of ``vocabulary`` (or back, ``invert``), as indices or encoded
    vectors."""

    keras_name = "StringLookup"

    class Args(LookupArgs):
        oov_token = fields.Raw(load_default="[UNK]")


def is_int64(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63


FLOAT32_INTEGERS = 2**24
"""float32 holds every integer of at most this magnitude, and not every one beyond."""


def exact_integers(values: Array, what: str) -> Array:
    """Integer ``values`` as int64, refused (NotImplementedError) where one is beyond 2²⁴ in
    magnitude: the forward pass holds tensors in float32, which rounds such integers (an ID of
    100,000,001 is 100,000,000 there), and a lookup of a rounded value is another value's."""
    if values.size and float(np.abs(values).max()) > FLOAT32_INTEGERS:
        raise NotImplementedError(
            f"{what} integers beyond 2^24 = 16,777,216 in magnitude, which the forward pass "
            "holds in float32, where such integers are rounded: its lookups could differ from "
            "Keras'. Check the shapes without a forward pass, or map the IDs to smaller "
            "integers first")
    return values.astype(np.int64)


@register
class IntegerLookup(Lookup):
    """Maps integers to indices of ``vocabulary`` (or back, ``invert``), as indices or encoded
    vectors."""

    keras_name = "IntegerLookup"

    class Args(LookupArgs):
        oov_token = fields.Raw(load_default=-1)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        vocabulary = args["vocabulary"]
        if isinstance(vocabulary, list) and not all(map(is_int64, vocabulary)):
            raise ArgumentError("vocabulary", "must hold integers (int64), as IntegerLookup "
                                              "looks up integers")
        for token in ("mask_token", "oov_token"):
            if args[token] is not None and not is_int64(args[token]):
                raise ArgumentError(token, "must be an integer (int64), as IntegerLookup looks "
                                           "up integers")
        super().__init__(name, args)

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        """Indices, the tokens an inverted lookup gives back, and their one-hot, multi-hot
        and count encodings are integers: int64 tensors, which Keras 3 on JAX gives as int32;
        TF-IDF weights are floats."""
        return None if self.output_mode == "tf_idf" else "int32"

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        tokens = self.tokens()
        values = exact_integers(x, "its inputs hold")
        if self.args.invert:
            found = self.inverted(values, tokens)
            exact_integers(found, "the tokens it gives back are")
            return found.astype(np.float32)
        indices = self.indices(values, tokens)
        if self.output_mode == "int":
            return indices.astype(np.float32)
        return self.encoded(indices, tokens)

    def tokens(self) -> Array:
        """The vocabulary without the mask and OOV tokens Keras saves ahead of it."""
        vocabulary = self.args.vocabulary
        if not isinstance(vocabulary, list):
            raise NotImplementedError(
                "its vocabulary is not in the config (adapt() learnt it, or it is a file), so "
                "the forward pass cannot look the values up")
        if self.starts_with_special_tokens(vocabulary):
            vocabulary = vocabulary[self.special_count:]
        return np.asarray(vocabulary, np.int64)

    def indices(self, values: Array, tokens: Array) -> Array:
        """Each value's index: its place in the vocabulary after the mask (int mode) and the
        OOV buckets; outside it, bucket ``value mod num_oov_indices``; the mask token 0 in int
        mode, -1 (encoded as nothing) in the others."""
        order = np.argsort(tokens, kind="stable")
        place = np.minimum(np.searchsorted(tokens[order], values), len(tokens) - 1)
        found = tokens[order][place] == values
        oov = self.args.num_oov_indices
        masked = (values == self.args.mask_token if self.args.mask_token is not None
                  else np.zeros(values.shape, bool))
        if oov == 0 and not np.all(found | masked):
            raise NotImplementedError(
                "with num_oov_indices=0 every value must be in the vocabulary, and some are "
                "not (Keras' predict fails too: 'all inputs should be in vocabulary')")
        mask_index = int(self.has_mask_index)
        buckets = np.mod(values, max(oov, 1)) + mask_index
        indices = np.where(found, order[place] + self.special_count, buckets)
        return np.where(masked, 0 if self.has_mask_index else -1, indices)

    def inverted(self, indices: Array, tokens: Array) -> Array:
        """Each index's token: the mask token at 0 (if any), then the OOV token for the OOV
        buckets and for any index outside the vocabulary."""
        oov_token = self.args.oov_token
        position = indices - (int(self.has_mask_index) + self.args.num_oov_indices)
        known = (position >= 0) & (position < len(tokens))
        found = np.where(known, tokens[np.clip(position, 0, len(tokens) - 1)], oov_token)
        if self.has_mask_index:  # without a table: num_oov_indices may be 10^9
            found = np.where(indices == 0, self.args.mask_token, found)
        return found

    def encoded(self, indices: Array, tokens: Array) -> Array:
        """One-hot vectors of the indices, or per sample (over the last axis) multi-hot,
        count or TF-IDF vectors of ``depth``; index -1 (the mask token) counts nowhere."""
        depth = self.depth or self.special_count + len(tokens)
        if self.output_mode == "one_hot":
            if indices.ndim > 1 and indices.shape[-1] == 1:
                indices = indices[..., 0]
            return one_hot(indices, depth)
        hot = one_hot(indices, depth)
        if self.output_mode == "multi_hot":
            return hot.max(axis=-2)
        counts = hot.sum(axis=-2)
        return counts if self.output_mode == "count" else counts * self.idf_vector(depth)

    def idf_vector(self, depth: int) -> Array:
        """The TF-IDF weight of every index: the mean of ``idf_weights`` for the OOV buckets,
        then the weights, zeros for the padding up to ``depth``."""
        weights = np.asarray(self.args.idf_weights, np.float32).reshape(-1)
        vector = np.zeros(depth, np.float32)
        oov = self.args.num_oov_indices
        vector[:oov] = weights.mean() if weights.size else 0.0
        vector[oov:oov + weights.size] = weights[:depth - oov]
        return vector


@register
class TextVectorization(TokenLayer):
    """Splits strings into tokens and maps them to indices of a vocabulary: sequences of
    ``output_sequence_length`` indices (``int``), or one vector per string."""

    keras_name = "TextVectorization"

    class Args(LookupArgs):
        output_mode = encoding_mode_field(LOOKUP_MODES, "int")
        output_sequence_length = PositiveInt(load_default=None, allow_none=True)
        split = fields.Raw(load_default="whitespace", allow_none=True)
        ragged = fields.Boolean(load_default=False)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        if self.output_mode != "int" and args["output_sequence_length"] is not None:
            raise ArgumentError("output_sequence_length", "only used with output_mode='int'")
        if args["ragged"] and self.output_mode != "int":
            raise ArgumentError("ragged", "only works with output_mode='int'")
        check_lookup_args(args)
        # The vocabulary is looked up by a StringLookup with mask "" and one "[UNK]" bucket.
        self.lookup = StringLookup.from_config(f"{name}_lookup", {
            **{k: args[k] for k in ("max_tokens", "vocabulary", "vocabulary_size",
                                    "idf_weights", "pad_to_max_tokens")},
            "output_mode": self.output_mode, "mask_token": "", "num_oov_indices": 1})

    def output_shape(self, shape: Shape) -> Shape:
        if self.output_mode == "int":
            return (shape[0], self.args.output_sequence_length)
        if self.args.split is not None:
            tokens = (*shape, None)
        else:
            tokens = (*shape, 1) if len(shape) <= 1 else shape
        return self.lookup.output_shape(tokens)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        if self.output_mode == "int":
            length = self.args.output_sequence_length
            padded = (f"padded or truncated to {length} tokens" if length else
                      "as many tokens as the longest string (unknown length)")
            return f"each string becomes a sequence of token indices, {padded}"
        return super().explain_shape(inputs, outputs) + self.lookup.saved_size_note()


# -- audio -----------------------------------------------------------------------------------

STFT_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


@register
class STFTSpectrogram(Layer):
    """Short-time Fourier transform of signals (batch, time, channels) as a strided 1-D
    convolution with a real and an imaginary kernel of ``frame_length`` taps and
    ``fft_length // 2 + 1`` frequencies; ``mode`` picks what is returned (log magnitude by
    default)."""

    keras_name = "STFTSpectrogram"
    family = "preprocessing"

    class Args(LayerArgs):
        mode = Choice(STFT_MODES, load_default="log", case_sensitive=True)
        frame_length = PositiveInt(load_default=256)
        frame_step = PositiveInt(load_default=None, allow_none=True)
        fft_length = PositiveInt(load_default=None, allow_none=True)
        padding = Choice(("valid", "same"), load_default="valid", case_sensitive=True)
        expand_dims = fields.Boolean(load_default=False)
        data_format = Choice(DATA_FORMATS, load_default="channels_last", allow_none=True)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        args["data_format"] = args.get("data_format") or "channels_last"
        super().__init__(name, args)
        length, step, fft = args["frame_length"], args["frame_step"], args["fft_length"]
        if step is not None and step > length:
            raise ArgumentError("frame_step", f"must not exceed frame_length ({length})")
        if fft is not None and fft < length:
            raise ArgumentError("fft_length", f"must be at least frame_length ({length})")
        self.step: int = step or length // 2
        if self.step == 0:
            raise ArgumentError("frame_step", "frame_length 1 makes the default frame_step "
                                              "(frame_length // 2) 0, on which Keras cannot "
                                              "build the layer: give frame_step=1")
        self.fft: int = fft or 1 << (length - 1).bit_length()  # 2 ** ceil(log2(length))
        self.frequencies = self.fft // 2 + 1

    @property
    def channels_last(self) -> bool:
        return self.args.data_format == "channels_last"

    def frames_and_channels(self, shape: Shape) -> tuple[Dim, int]:
        """The number of frames and the input channels; raise unless (batch, time, channels)."""
        self.require_rank(shape, 3, what="(batch, time, channels)")
        time, channels = (shape[1], shape[2]) if self.channels_last else (shape[2], shape[1])
        channels = self.require_known(channels, "the number of input channels")
        frames = conv_output_length(time, self.args.frame_length, self.args.padding, self.step)
        if frames is not None and frames <= 0:
            raise LayerInputIncompatible(
                f"STFTSpectrogram takes frames of {self.args.frame_length} samples, but the "
                f"signal {format_shape(shape)} has only {time}.",
                "Use a shorter frame_length, padding='same', or longer signals.")
        return frames, channels

    def output_shape(self, shape: Shape) -> Shape:
        frames, channels = self.frames_and_channels(shape)
        freq = self.frequencies * (2 if self.args.mode == "stft" else 1)
        if self.args.expand_dims:
            return ((shape[0], frames, freq, channels) if self.channels_last
                    else (shape[0], channels, frames, freq))
        return ((shape[0], frames, freq * channels) if self.channels_last
                else (shape[0], freq * channels, frames))

    def weights_for(self, shape: Shape) -> list[Weight]:
        self.frames_and_channels(shape)
        kernel = (self.args.frame_length, 1, self.frequencies)
        weights = []
        if self.args.mode != "imag":
            weights.append(Weight("real_kernel", kernel, initializer="stft"))
        if self.args.mode != "real":
            weights.append(Weight("imag_kernel", kernel, initializer="stft"))
        return weights

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        frames, channels = self.frames_and_channels(inputs[0])
        kernels = 1 if self.args.mode in ("real", "imag") else 2
        return (frames or 0) * channels * kernels * self.args.frame_length * self.frequencies

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        values = iter(weights)
        real = self.transform(x, next(values)) if self.args.mode != "imag" else None
        imag = self.transform(x, next(values)) if self.args.mode != "real" else None
        mode = self.args.mode
        if mode in ("real", "imag", "angle", "stft"):
            spectrum = {"real": real, "imag": imag}.get(mode)
            if mode == "angle":
                spectrum = np.arctan2(imag, real)
            elif mode == "stft":
                spectrum = np.concatenate([real, imag], axis=2)
            return self.arrange(spectrum)
        power = np.square(real) + np.square(imag)
        if mode == "psd":  # one-sided: every frequency but the first and last counts twice
            return self.arrange(power + np.pad(power[:, :, 1:-1], [(0, 0), (0, 0), (1, 1),
                                                                   (0, 0)]))
        magnitude = self.arrange(np.sqrt(np.maximum(power, KERAS_EPSILON)))
        return magnitude if mode == "magnitude" else np.log(np.maximum(magnitude, KERAS_EPSILON))

    def transform(self, x: Array, kernel: Array) -> Array:
        """Each channel convolved with ``kernel``: (batch, channels, frequencies, frames)."""
        signals = np.moveaxis(x, 2, 1) if self.channels_last else x
        batch, channels, time = signals.shape
        out = convolve(signals.reshape(batch * channels, time, 1), kernel, (self.step,), (1,),
                       self.args.padding)
        return np.moveaxis(out, 1, 2).reshape(batch, channels, out.shape[2], out.shape[1])

    def arrange(self, spectrum: Array) -> Array:
        """(batch, channels, frequencies, frames) in the layer's output layout."""
        batch, channels, freq, frames = spectrum.shape
        if self.args.expand_dims:
            return (spectrum.transpose(0, 3, 2, 1) if self.channels_last
                    else spectrum.transpose(0, 1, 3, 2))
        flat = spectrum.reshape(batch, channels * freq, frames)
        return np.moveaxis(flat, 1, 2) if self.channels_last else flat

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        frames, channels = self.frames_and_channels(inputs[0])
        time = inputs[0][1] if self.channels_last else inputs[0][2]
        formula = length_formula(time, frames, self.args.frame_length, self.args.padding,
                                 self.step, 1)
        return (f"{formula} frames of {self.args.frame_length} samples every {self.step}; "
                f"{self.frequencies} = {self.fft} // 2 + 1 frequencies per channel "
                f"(mode '{self.args.mode}'), {channels} channel(s)")


MEL_BREAK_FREQUENCY_HERTZ = 700.0
MEL_HIGH_FREQUENCY_Q = 1127.0


def hertz_to_mel(hertz: Array) -> Array:
    """Keras' (HTK) mel scale: 1127 · ln(1 + f / 700), in the dtype of ``hertz``."""
    dtype = np.asarray(hertz).dtype
    return (dtype.type(MEL_HIGH_FREQUENCY_Q)
            * np.log(dtype.type(1.0) + hertz / dtype.type(MEL_BREAK_FREQUENCY_HERTZ)))


STFT_WINDOWS = {
    "hann": lambda n: (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32),
    "hamming": lambda n: (0.54 - 0.46 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32),
}
"""scipy.signal.get_window's periodic windows, which Keras' stft takes by name."""


@register
class MelSpectrogram(Layer):
    """Mel-scaled power spectrogram of raw audio (batch, samples): (batch, num_mel_bins,
    frames). Keras frames the signal by ``ops.stft`` (padded by reflection, ``fft_length // 2``
    each side; one frame every ``sequence_stride`` samples, windowed), takes each frame's
    power, maps it onto the mel bins and, by default, to decibels clipped ``top_db`` under the
    largest value of the whole batch.

    Keras declares ``(samples + stride + 1) // stride`` frames, and its stft computes
    ``1 + (samples + 2·(fft_length // 2) − fft_length) // stride``, one less for some lengths
    (``declared_shape_caveat``)."""

    keras_name = "MelSpectrogram"
    family = "preprocessing"

    class Args(LayerArgs):
        fft_length = PositiveInt(load_default=2048)
        sequence_stride = PositiveInt(load_default=512)
        sequence_length = PositiveInt(load_default=None, allow_none=True)
        window = Choice(tuple(STFT_WINDOWS), load_default="hann", allow_none=True)
        sampling_rate = PositiveInt(load_default=16000)
        num_mel_bins = PositiveInt(load_default=128)
        min_freq = Float(min_value=0.0, load_default=20.0)
        max_freq = Float(min_value=0.0, load_default=None, allow_none=True)
        power_to_db = fields.Boolean(load_default=True)
        top_db = Float(load_default=80.0)
        mag_exp = Float(load_default=2.0)
        min_power = Float(load_default=1e-10)
        ref_power = Float(load_default=1.0)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        if (args["sequence_length"] or args["fft_length"]) > args["fft_length"]:
            raise ArgumentError("fft_length", "must be at least sequence_length")

    def output_shape(self, shape: Shape) -> Shape:
        """Keras' declared shape: ``(samples + stride + 1) // stride`` frames of the samples
        on axis 1 (axis 0 for a rank-1 input)."""
        samples = shape[0] if len(shape) == 1 else shape[1]
        stride = self.args.sequence_stride
        frames = None if samples is None else (samples + stride + 1) // stride
        if len(shape) == 1:
            return (self.args.num_mel_bins, frames)
        return (shape[0], self.args.num_mel_bins, frames)

    def computed_frames(self, samples: int) -> int:
        """The frames Keras' stft computes from ``samples``."""
        fft = self.args.fft_length
        return 1 + (samples + 2 * (fft // 2) - fft) // self.args.sequence_stride

    def computed_output_shape(self, inputs: Shapes) -> Shape | None:
        """What predict gives: the stft frames the last axis, whatever the rank."""
        shape = inputs[0]
        frames = None if shape[-1] is None else self.computed_frames(shape[-1])
        return (*shape[:-1], self.args.num_mel_bins, frames)

    def declared_shape_caveat(self, inputs: Shapes) -> ShapeCaveat | None:
        declared, computed = self.output_shape(inputs[0]), self.computed_output_shape(inputs)
        if declared == computed:
            return None
        samples, stride = inputs[0][-1], self.args.sequence_stride
        return ShapeCaveat(
            f"'{self.name}' declares {format_shape(declared)}, as the summary shows, but Keras' "
            f"stft frames the last axis ({samples} samples padded by "
            f"{self.args.fft_length // 2} on each side, a frame every {stride}): predict gives "
            f"{format_shape(computed)}. A layer after it built for the declared shape fails at "
            "predict, or computes over other sizes than the summary shows.",
            "Choose a sequence_stride or an input length for which the two agree (samples + 1 "
            "not a multiple of the stride, for an even fft_length).")

    def undeclared_shape(self, index: int, options: Mapping[str, Any],
                         inputs: Shapes) -> str | None:
        caveat = self.declared_shape_caveat(inputs)
        return None if caveat is None else "Keras' stft computes other frames than it declares"

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        """Per frame: the Fourier transform (counted as fft_length · log2 fft_length) and the
        mel weighting."""
        fft = self.args.fft_length
        frames = math.prod(d or 1 for d in outputs[0][:-2]) * (outputs[0][-1] or 1)
        per_frame = fft * max(1, fft.bit_length()) + (fft // 2 + 1) * self.args.num_mel_bins
        return frames * per_frame

    def scratch_bytes(self, inputs: Shapes, outputs: Shapes) -> int:
        """The windowed frames and their spectrum, in float32 and complex64."""
        frames = math.prod(d or 1 for d in outputs[0][:-2]) * (outputs[0][-1] or 1)
        return frames * self.args.fft_length * 4 * 3

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        fft, stride = self.args.fft_length, self.args.sequence_stride
        length = self.args.sequence_length or fft
        pads = [(0, 0)] * (x.ndim - 1) + [(fft // 2, fft // 2)]
        padded = np.pad(x.astype(np.float32), pads, mode="reflect")
        window = np.ones(fft, np.float32)  # without a window, all fft_length samples count
        if self.args.window:
            left = (fft - length) // 2
            window[:] = 0.0
            window[left:left + length] = STFT_WINDOWS[self.args.window](length)
        frames = np.lib.stride_tricks.sliding_window_view(padded, fft, axis=-1)[..., ::stride, :]
        power = np.abs(np.fft.rfft(frames * window, n=fft, axis=-1)) ** np.float32(
            self.args.mag_exp)
        mel = np.tensordot(power, self.mel_weights(fft // 2 + 1), axes=1)
        if self.args.power_to_db:
            mel = self.decibels(mel)
        return np.swapaxes(mel, -1, -2).astype(np.float32)

    def mel_weights(self, bins: int) -> Array:
        """Keras' ``linear_to_mel_weight_matrix`` (HTK mel scale, triangles peaking at 1),
        (bins, num_mel_bins), in float32 as Keras computes it."""
        f32 = np.float32
        if self.args.sampling_rate > sys.float_info.max:
            raise NotImplementedError(
                f"its sampling_rate, of {len(str(self.args.sampling_rate))} digits, is beyond "
                "any float, the type the mel filters are computed in")
        nyquist = f32(self.args.sampling_rate) / f32(2.0)
        high = self.args.max_freq or int(self.args.sampling_rate / 2)
        linear = np.linspace(f32(0.0), nyquist, bins, dtype=f32)[1:]
        bins_mel = hertz_to_mel(linear)[:, None]
        edges = np.linspace(hertz_to_mel(f32(self.args.min_freq)), hertz_to_mel(f32(high)),
                            self.args.num_mel_bins + 2, dtype=f32)
        lower, center, upper = (edges[i:i + self.args.num_mel_bins][None] for i in range(3))
        with np.errstate(divide="ignore", invalid="ignore"):
            slopes = np.minimum((bins_mel - lower) / (center - lower),
                                (upper - bins_mel) / (upper - center))
        weights = np.maximum(f32(0.0), slopes)
        return np.pad(weights, [(1, 0), (0, 0)]).astype(f32)

    def decibels(self, power: Array) -> Array:
        """10·log10 of the power over ``ref_power``, floored at ``min_power``, then clipped
        ``top_db`` under the largest value of the batch."""
        floor = np.float32(self.args.min_power)
        db = np.float32(10.0) * np.log10(np.maximum(power, floor))
        db -= np.float32(10.0) * np.log10(np.maximum(np.float32(abs(self.args.ref_power)),
                                                     floor))
        return np.maximum(db, db.max() - np.float32(self.args.top_db))

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        samples = inputs[0][0] if len(inputs[0]) == 1 else inputs[0][1]
        stride = self.args.sequence_stride
        frames = (f"{outputs[0][-1]} = ({samples} + {stride} + 1) // {stride} frames"
                  if samples is not None else "an unknown number of frames")
        return f"{self.args.num_mel_bins} mel bins × {frames}"




# -- tf.keras 2 ------------------------------------------------------------------------------
# tf.keras 2 computes a model's shapes by running each layer on symbolic tensors, and its
# preprocessing layers are TensorFlow code of their own: where that gives other shapes (or
# values) than Keras 3, the variants below stand for the Keras 3 classes in tf.keras 2
# documents (``tf_keras.TF_KERAS_VARIANTS``).

def tf_keras_encoded_shape(layer: str, shape: Shape, output_mode: str, depth: Dim) -> Shape:
    """tf.keras 2's ``encode_categorical_inputs`` (modes other than ``int``): the values of
    each sample, along the last axis, are counted into one vector of ``depth``; one_hot first
    gives each value an axis of its own, unless the last axis already has one value. So
    (batch, values) → (batch, depth), and a rank-1 (batch,) input counts as one sample:
    (depth,), but for one_hot (batch, depth): its only axis is the batch, which tf.keras 2's
    predict never knows (even when the model fixes it to 1). Outputs above rank 2 are
    refused."""
    expand = output_mode == "one_hot" and (len(shape) == 1 or shape[-1] != 1)
    values = (*shape, 1) if expand else shape
    if len(values) > 2:
        one_value = output_mode == "one_hot"
        give = ("one value per sample, (batch,) or (batch, 1)" if one_value else
                "(batch, values): flatten or reshape the input first")
        raise LayerInputIncompatible(
            f"In tf.keras 2, {layer} with output_mode='{output_mode}' encodes "
            f"{'one value' if one_value else 'the values of each sample'} into one vector of "
            f"{depth} and gives at most (batch, {depth}); its input {format_shape(shape)} "
            f"would give a rank-{len(values)} output, which tf.keras 2 refuses.",
            f"Give it {give}; or use output_mode='int' and an Embedding (Keras 3 encodes "
            "every position).")
    return (depth,) if len(values) == 1 else (values[0], depth)


class TfKerasEncoding(Encoding):
    """tf.keras 2's shapes for ``output_mode`` int (the input's) and for the encodings."""

    depth: Dim

    def output_shape(self, shape: Shape) -> Shape:
        if self.output_mode == "int":
            return shape
        return tf_keras_encoded_shape(self.keras_name, shape, self.output_mode, self.depth)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        text = super().explain_shape(inputs, outputs)
        return text if self.output_mode == "int" else f"{text} (tf.keras 2: one vector per sample)"


@tf_keras_variant
class TfKerasCategoryEncoding(TfKerasEncoding, CategoryEncoding):
    """CategoryEncoding as tf.keras 2 computes it (at most rank-2 outputs)."""


@tf_keras_variant
class TfKerasDiscretization(TfKerasEncoding, Discretization):
    """Discretization as tf.keras 2 computes it (at most rank-2 outputs, int64 indices)."""

    index_dtype = "int64"

    def check_sorted(self, boundaries: Array) -> None:
        """TensorFlow's ``Bucketize`` takes increasing boundaries only."""
        if np.any(np.diff(boundaries) < 0):
            raise NotImplementedError(
                "tf.keras 2's Discretization takes increasing bin_boundaries only (TensorFlow "
                "refuses others: 'Expected sorted boundaries'). Sort the boundaries in "
                "increasing order.")


@tf_keras_variant
class TfKerasHashing(TfKerasEncoding, Hashing):
    """Hashing as tf.keras 2 computes it: one_hot of (batch,) is (batch, num_bins)."""


@tf_keras_variant
class TfKerasStringLookup(TfKerasEncoding, StringLookup):
    """StringLookup as tf.keras 2 computes it (at most rank-2 outputs)."""


@tf_keras_variant
class TfKerasIntegerLookup(TfKerasEncoding, IntegerLookup):
    """IntegerLookup as tf.keras 2 computes it (at most rank-2 outputs)."""

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        """Indices (or tokens) are int64 tensors; tf.keras 2 encodes them as floats."""
        return "int64" if self.output_mode == "int" else None

    def idf_vector(self, depth: int) -> Array:
        raise NotImplementedError(
            "tf.keras 2 keeps the TF-IDF weights in a variable its get_weights() lists, "
            "which the forward pass does not read")


@tf_keras_variant
class TfKerasHashedCrossing(HashedCrossing):
    """HashedCrossing as tf.keras 2 computes it: on one value per sample only."""

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        for shape in inputs:
            if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
                raise LayerInputIncompatible(
                    f"tf.keras 2's HashedCrossing crosses one value of each feature per sample: "
                    f"it takes (batch,) or (batch, 1), but received {format_shape(shape)}.",
                    "Give each feature the shape (batch, 1) (Keras 3 crosses them position by "
                    "position).")
        return super().output_shapes(inputs)


@tf_keras_variant
class TfKerasTextVectorization(TfKerasEncoding, TextVectorization):
    """TextVectorization as tf.keras 2 computes it.

    Split strings (``split`` set) must come one per sample, (batch,) or (batch, 1); the axes
    before the strings are kept: int sequences are (…, ``output_sequence_length``) and the
    tokens of each string are encoded into one vector, (batch, depth). With ``split=None`` the
    strings are the tokens: int keeps the input's shape (each axis unknown once padded to
    ``output_sequence_length``), the encodings count the values of each sample. There is no
    one_hot mode.
    """

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        if self.output_mode == "one_hot":
            raise ArgumentError("output_mode", "tf.keras 2's TextVectorization has no 'one_hot' "
                                               "mode: use 'int', 'multi_hot', 'count' or "
                                               "'tf_idf'")

    def output_shape(self, shape: Shape) -> Shape:
        tokens = self.tokens_shape(shape)
        if self.output_mode != "int":
            return tf_keras_encoded_shape(self.keras_name, tokens, self.output_mode,
                                          self.lookup.depth)
        length = self.args.output_sequence_length
        if self.args.split is not None:
            return (*tokens[:-1], length)
        return shape if length is None else (None,) * len(shape)

    def tokens_shape(self, shape: Shape) -> Shape:
        """What tf.keras 2 looks up: each string's tokens on a new (ragged) axis, after the
        strings' last axis of 1 is squeezed; the strings themselves with ``split=None``."""
        if self.args.split is None:
            return shape
        if len(shape) > 1:
            if shape[-1] != 1:
                raise LayerInputIncompatible(
                    f"tf.keras 2's TextVectorization splits one string per sample into tokens: "
                    f"it takes (batch,) or (…, 1) strings, but received {format_shape(shape)}.",
                    "Give it one string per sample, (batch, 1); or set split=None if the "
                    "strings are tokens already.")
            shape = shape[:-1]
        return (*shape, None)


@tf_keras_variant
class TfKerasNormalization(Normalization):
    """Normalization as tf.keras 2 computes it: a given mean and variance are each broadcast
    against the sizes of the kept axes (numpy rules), then reshaped to the input's rank; any
    that fit are taken (e.g. ``[[1, 2, 3, 4]]`` for axis -1 of 4 features). It does not support
    masking: a mask stops there (recorded: ``masking:masking_normalization_lstm``)."""

    supports_masking = False

    def check_given_statistics(self, mean: Array, variance: Array) -> None:
        """tf.keras 2 checks them against the input only (``given_statistics``)."""

    def given_statistics(self, shape: Shape, stats: tuple[int, ...]) -> tuple[Array, Array]:
        """Views, not copies: the kept axes may be as large as any input axis."""
        target = self.broadcast_shape(shape)
        try:
            return (spread_view(self.args.mean, stats, target),
                    spread_view(self.args.variance, stats, target))
        except ValueError:
            raise self.statistics_misfit(shape, stats) from None


def spread_view(values: Array, stats: tuple[int, ...], target: Sequence[int]) -> Array:
    """``np.reshape(values * np.ones(stats), target)`` as a read-only view, without the
    product: ValueError where that would fail (a reshape to other sizes only adds or drops
    axes of 1, which a view can)."""
    spread = np.broadcast_shapes(values.shape, stats)
    if math.prod(spread) != math.prod(target):
        raise ValueError(f"cannot reshape {spread} into {tuple(target)}")
    return np.broadcast_to(values, spread).reshape(target)


@tf_keras_variant
class TfKerasResizing(InterpolatesIntoFloats, Resizing):
    """Resizing as tf.keras 2 runs it: bicubic is TensorFlow's ``resize_bicubic``, and
    integer images come out as floats (nearest neighbours too), unrounded."""

    keeps_integers = False

    def resize(self, images: Array) -> Array:
        if self.args.interpolation != "bicubic":
            return super().resize(images)
        rows = weigh_axis(images, 1, tf_bicubic_matrix(images.shape[1], self.args.height))
        return weigh_axis(rows, 2, tf_bicubic_matrix(images.shape[2], self.args.width))


@tf_keras_variant
class TfKerasRandomCrop(RandomCrop):
    """RandomCrop as tf.keras 2 runs it: at inference, images of another size are cropped at
    the centre to the target aspect ratio and resized (bilinear) to (height, width); integer
    images come out as floats."""

    keeps_integers = False

    def computed_output_shape(self, inputs: Shapes) -> Shape | None:
        return None  # the declared size, at inference too

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        height, width = self.args.height, self.args.width
        if self.size_of(x.shape) == (height, width):
            return x
        images = self.channels_last_batch(x)
        resized = resize_images(aspect_crop(images, height, width), height, width)
        return self.restore(resized, x)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"a random {self.args.height}×{self.args.width} window in training, the centre "
                "resized to it at inference (tf.keras 2): "
                f"{format_shape(inputs[0])} → {format_shape(outputs[0])}")


@tf_keras_variant
class TfKerasRandomContrast(RandomContrast):
    """RandomContrast as tf.keras 2 runs it: integer images come out as floats."""

    keeps_integers = False


@tf_keras_variant
class TfKerasRandomBrightness(RandomBrightness):
    """RandomBrightness as tf.keras 2 runs it: integer images come out as floats."""

    keeps_integers = False


@tf_keras_variant
class TfKerasRandomRotation(RandomRotation):
    """RandomRotation as tf.keras 2 reads it: ``factor`` is not bounded."""

    class Args(AffineArgs):
        factor = required_factor(-float("inf"), float("inf"))
