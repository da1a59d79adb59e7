"""Pooling layers: Max/AveragePooling1D/2D/3D, GlobalMax/GlobalAveragePooling1D/2D/3D and
AdaptiveMax/AdaptiveAveragePooling1D/2D/3D.

Shapes follow Keras 3's ``compute_pooling_output_shape``, with the window arithmetic of the
convolutions (``SlidingWindow``). The kernels reduce strided windows as ``lax.reduce_window``
does in Keras' JAX backend: max pooling pads with -inf, and average pooling with
``padding='same'`` divides each window by the number of unpadded elements it covers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from marshmallow import fields, validate

from ..fields import Choice, IntTuple
from ..shapes import (
    DATA_FORMATS,
    PADDINGS,
    Shape,
    broadcast_shapes,
    channel_axis,
    format_shape,
    same_padding_amounts,
    spatial_axes,
)
from .base import (
    Array,
    Layer,
    LayerArgs,
    Mask,
    Shapes,
    integer_values,
    register,
    wrapped_integers,
    wraps_around,
)
from .conv import SlidingWindow, pad_spatial, require_feature_maps, windows
from .tf_keras import tf_keras_variant


class PoolingArgs(LayerArgs):
    pool_size = IntTuple(required=True)
    strides = IntTuple(load_default=None, allow_none=True)
    # Keras' pooling compares the padding case-sensitively: 'SAME' is refused.
    padding = fields.String(load_default="valid", validate=validate.OneOf(PADDINGS),
                            metadata={"type": " | ".join(PADDINGS)})
    data_format = Choice(DATA_FORMATS, load_default="channels_last", allow_none=True)


class MaxPoolingArgs(PoolingArgs):
    pool_size = IntTuple(load_default=2)


class Pooling(SlidingWindow):
    """A window of ``pool_size`` slid over the spatial axes, each channel reduced on its own;
    ``strides`` default to ``pool_size``."""

    family = "pooling"
    window_arg = "pool_size"
    Args = PoolingArgs
    margins: tuple[tuple[int, int], ...] = ()
    """Zeros (before, after) around each spatial axis of the input, set on a 'valid' max
    pooling by the forward plan, which folds the ZeroPadding before it into it."""

    def scratch_bytes(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.padded_bytes(inputs[0])  # the windows of average pooling, padded

    def kernel_steps(self, inputs: Shapes, outputs: Shapes) -> int:
        """One strided pass per window element, one spatial axis after the other."""
        return sum(self.window)

    @property
    def window_axes(self) -> tuple[int, ...]:
        """The trailing axes of ``windows``' view, which a window spans."""
        return tuple(range(-self.rank, 0))

    def output_shape(self, shape: Shape) -> Shape:
        self.require_feature_maps(shape)
        return self.arrange(shape[0], self.output_lengths(shape), shape[self.channel_axis])

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return self.from_channels_last(self.pool(self.to_channels_last(x)))

    def pool(self, x: Array) -> Array:
        """The pooled channels_last batch."""
        raise NotImplementedError

    def padded_windows(self, x: Array, value: float) -> Array:
        padded = pad_spatial(x, self.window, self.strides, self.dilation, self.padding, value)
        return windows(padded, self.window, self.strides, self.dilation)

    def reduce_windows(self, ufunc: np.ufunc, x: Array, value: float) -> Array:
        """``ufunc`` over each window of ``x`` padded with ``value`` (``pads``), one spatial
        axis after the other: a box's maximum (or sum) is that over one axis of those over the
        others. Reducing an axis at a time takes k + k fewer (shorter) passes than one per
        window position, k·k (a 3×3/2 max pooling of 112×112×64: 0.56 ms instead of 1.0);
        the padding is applied where windows cross the borders, without a padded copy."""
        for axis, k, s, d, pads in zip(range(1, x.ndim - 1), self.window, self.strides,
                                       self.dilation, self.pads(x), strict=True):
            x = reduce_axis(ufunc, x, axis, (k, s, d), pads, value)
        return x

    def pads(self, x: Array) -> list[tuple[int, int]]:
        """(before, after) on each spatial axis of a channels_last ``x``: the ``margins``, or
        what ``padding`` asks for."""
        if self.margins:
            return list(self.margins)
        if self.padding == "valid":
            return [(0, 0)] * self.rank
        return [same_padding_amounts(x.shape[axis], k, s, d)
                for axis, k, s, d in zip(range(1, x.ndim - 1), self.window, self.strides,
                                         self.dilation, strict=True)]

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        channels = inputs[0][self.channel_axis]
        return (f"{self.explain_lengths(inputs, outputs)}; the {channels} channels are kept, "
                "each pooled on its own")


def reduce_axis(ufunc: np.ufunc, x: Array, axis: int, window: tuple[int, int, int],
                pads: tuple[int, int], value: float) -> Array:
    """``ufunc`` over the windows (size, stride, dilation) along ``axis`` of ``x`` padded with
    ``value`` by ``pads`` (before, after): each window element in turn, as a strided slice of
    ``x`` for the outputs whose element it is inside ``x``, and as ``value`` for the others."""
    (k, s, d), (before, after), length = window, pads, x.shape[axis]
    out_length = (length + before + after - d * (k - 1) - 1) // s + 1
    out = np.empty((*x.shape[:axis], out_length, *x.shape[axis + 1:]), x.dtype)

    def along(part: slice) -> tuple[slice, ...]:
        return (slice(None),) * axis + (part,)

    for j in range(k):
        first = j * d - before  # where output 0's element j falls in x
        inside = max(0, -(first // s))  # the outputs [inside, end) have it inside x
        end = max(inside, min(out_length, (length - 1 - first) // s + 1))
        start = first + inside * s
        source = x[along(slice(start, start + (end - inside) * s, s))]
        borders = (along(slice(0, inside)), along(slice(end, out_length)))
        if j == 0:
            out[along(slice(inside, end))] = source
            for border in borders:
                out[border] = value
        else:
            target = out[along(slice(inside, end))]
            ufunc(target, source, out=target)
            for border in borders:
                ufunc(out[border], value, out=out[border])
    return out


class MaxPooling(Pooling):
    Args = MaxPoolingArgs
    keeps_integers = True

    def pool(self, x: Array) -> Array:
        return self.reduce_windows(np.maximum, x, 0.0 if self.margins else -np.inf)


def wrapped_sums(dtype: str) -> str | None:
    """What Keras 3's average poolings do with integers of ``dtype`` (probed: uint8 windows),
    where their sums may leave its range."""
    past = wraps_around(dtype)
    if past is None:
        return None
    return f"sums each window's values in {dtype}, where sums {past} wrap around, and divides"


class AveragePooling(Pooling):
    def pool(self, x: Array) -> Array:
        return self.reduce_windows(np.add, x, 0.0) / self.window_counts(x)

    def window_counts(self, x: Array) -> Array:
        """How many elements of the channels_last ``x`` each window covers (fewer at the
        borders with 'same' padding, which Keras divides by)."""
        ones = np.ones((1, *x.shape[1:-1], 1), dtype=x.dtype)
        return self.padded_windows(ones, 0.0).sum(axis=self.window_axes)

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        """Keras 3 sums each window's integers in their dtype, where the sum may wrap around,
        and divides that by the window's count (probed: uint8 pixels of a 2×2 window)."""
        counts = self.window_counts(self.to_channels_last(inputs[0]))
        sums = np.round(self.to_channels_last(outputs[0]) * counts)
        return [self.from_channels_last(wrapped_integers(sums, dtype) / counts)]

    def integer_caveat(self, dtype: str) -> str | None:
        return wrapped_sums(dtype)


@register
class MaxPooling1D(MaxPooling):
    """Maximum over windows of ``pool_size`` steps of (batch, steps, channels)."""

    keras_name = "MaxPooling1D"
    rank = 1
    aliases = ("MaxPool1D",)


@register
class MaxPooling2D(MaxPooling):
    """Maximum over ``pool_size`` windows of (batch, height, width, channels) images."""

    keras_name = "MaxPooling2D"
    rank = 2
    aliases = ("MaxPool2D",)


@register
class MaxPooling3D(MaxPooling):
    """Maximum over ``pool_size`` windows of (batch, depth, height, width, channels) volumes."""

    keras_name = "MaxPooling3D"
    rank = 3
    aliases = ("MaxPool3D",)


@register
class AveragePooling1D(AveragePooling):
    """Mean over windows of ``pool_size`` steps of (batch, steps, channels)."""

    keras_name = "AveragePooling1D"
    rank = 1
    aliases = ("AvgPool1D",)


@register
class AveragePooling2D(AveragePooling):
    """Mean over ``pool_size`` windows of (batch, height, width, channels) images."""

    keras_name = "AveragePooling2D"
    rank = 2
    aliases = ("AvgPool2D",)


@register
class AveragePooling3D(AveragePooling):
    """Mean over ``pool_size`` windows of (batch, depth, height, width, channels) volumes."""

    keras_name = "AveragePooling3D"
    rank = 3
    aliases = ("AvgPool3D",)


class GlobalPooling(Layer):
    """Each channel reduced over all the spatial axes: (batch, channels), or with
    ``keepdims`` the spatial axes kept with length 1."""

    family = "pooling"
    keeps_integers = True
    rank: ClassVar[int]
    reduction: ClassVar[str]
    """``"max"`` or ``"mean"``: the numpy reduction, and the word the explanation uses."""

    class Args(LayerArgs):
        data_format = Choice(DATA_FORMATS, load_default="channels_last", allow_none=True)
        keepdims = fields.Boolean(load_default=False)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        args["data_format"] = args.get("data_format") or "channels_last"
        super().__init__(name, args)
        self.channel_axis = channel_axis(self.data_format)
        self.spatial_axes = spatial_axes(self.rank, self.data_format)

    @property
    def data_format(self) -> str:
        return self.args.data_format

    def output_shape(self, shape: Shape) -> Shape:
        require_feature_maps(self, shape, self.rank, self.data_format)
        channels = shape[self.channel_axis]
        if not self.args.keepdims:
            return (shape[0], channels)
        ones = (1,) * self.rank
        if self.data_format == "channels_last":
            return (shape[0], *ones, channels)
        return (shape[0], channels, *ones)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        reduce = getattr(np, self.reduction)
        return reduce(x, axis=self.spatial_axes, keepdims=self.args.keepdims)

    integer_mean: ClassVar[bool] = False
    """Whether the mean of integers is an integer (tf.keras 2's), not a float."""

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        """The maximum of integers is one of them; their mean is a float (Keras 3)."""
        keeps = self.reduction == "max" or self.integer_mean
        return super().output_dtype(dtypes) if keeps else None

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        shape = inputs[0]
        channels = shape[self.channel_axis]
        spatial = format_shape([shape[a] for a in self.spatial_axes])
        kept = " (kept with length 1, keepdims=True)" if self.args.keepdims else ""
        return (f"the {self.reduction} of each of the {channels} channels over the spatial "
                f"axes {spatial}{kept} → {format_shape(outputs[0])}")


@register
class GlobalMaxPooling1D(GlobalPooling):
    """Maximum of each channel over all steps: (batch, steps, channels) → (batch, channels)."""

    keras_name = "GlobalMaxPooling1D"
    rank = 1
    reduction = "max"
    aliases = ("GlobalMaxPool1D",)


@register
class GlobalMaxPooling2D(GlobalPooling):
    """Maximum of each channel over height and width: → (batch, channels)."""

    keras_name = "GlobalMaxPooling2D"
    rank = 2
    reduction = "max"
    aliases = ("GlobalMaxPool2D",)


@register
class GlobalMaxPooling3D(GlobalPooling):
    """Maximum of each channel over depth, height and width: → (batch, channels)."""

    keras_name = "GlobalMaxPooling3D"
    rank = 3
    reduction = "max"
    aliases = ("GlobalMaxPool3D",)


@register
class GlobalAveragePooling1D(GlobalPooling):
    """Mean of each channel over all steps: (batch, steps, channels) → (batch, channels)."""

    keras_name = "GlobalAveragePooling1D"
    rank = 1
    reduction = "mean"
    aliases = ("GlobalAvgPool1D",)
    supports_masking = True

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        """The mean over the unmasked steps (NaN where every step of a sample is masked: Keras
        divides 0 by 0). Keras multiplies the input by the mask with broadcasting, so a mask of
        one step applies to every step, and a mask of several steps to an input of one step."""
        x, mask = inputs[0], masks[0]
        steps = spatial_axes(1, self.data_format)[0]
        kept = np.expand_dims(mask, 3 - steps)
        both = broadcast_shapes(kept.shape, x.shape) if mask.ndim == 2 else None
        if both is None or both[0] != x.shape[0]:
            raise NotImplementedError(
                f"GlobalAveragePooling1D reads a mask (batch, steps), one value per step of its "
                f"input {format_shape(x.shape)}, but its input's mask is "
                f"{format_shape(mask.shape)}, which does not fit it: Keras cannot apply it "
                "either, or gives outputs of another batch size.")
        total = np.sum(np.where(kept, x, np.float32(0)), axis=steps, keepdims=self.args.keepdims)
        count = np.sum(kept, axis=steps, keepdims=self.args.keepdims, dtype=np.float32)
        return [total / count]

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        return []


@register
class GlobalAveragePooling2D(GlobalPooling):
    """Mean of each channel over height and width: → (batch, channels)."""

    keras_name = "GlobalAveragePooling2D"
    rank = 2
    reduction = "mean"
    aliases = ("GlobalAvgPool2D",)


@register
class GlobalAveragePooling3D(GlobalPooling):
    """Mean of each channel over depth, height and width: → (batch, channels)."""

    keras_name = "GlobalAveragePooling3D"
    rank = 3
    reduction = "mean"
    aliases = ("GlobalAvgPool3D",)


def adaptive_pool_axis(x: Array, axis: int, size: int, reduction: str) -> Array:
    """Pool ``axis`` of ``x`` down (or up) to ``size`` entries as Keras' JAX backend does.

    Output ``i`` covers ``[floor(i·L/size), ceil((i+1)·L/size))``. Keras pools every start with
    a small window ``ceil(L/size)`` and a big one (small + 1), then gathers, per output, the big
    pool where the span has the big length and the small pool otherwise.
    """
    length = x.shape[axis]
    small = -(-length // size)
    big = small + 1
    index = np.arange(size)
    starts = index * length // size
    ends = -(-(index + 1) * length // size)
    reduce = getattr(np, reduction)
    pools = [reduce(np.lib.stride_tricks.sliding_window_view(x, window, axis=axis), axis=-1)
             for window in (small, big) if window <= length]
    combined = np.concatenate(pools, axis=axis)
    gather = np.where(ends - starts == big, starts + length - small + 1, starts)
    return np.take(combined, gather, axis=axis)


class AdaptivePooling(Layer):
    """Each channel pooled to a fixed ``output_size`` whatever the input's spatial lengths."""

    family = "pooling"
    rank: ClassVar[int]
    reduction: ClassVar[str]
    """``"max"`` or ``"mean"``: the numpy reduction, and the word the explanation uses."""

    class Args(LayerArgs):
        output_size = IntTuple(required=True)
        # Unlike the other pooling layers, Keras does not lower-case it here.
        data_format = Choice(DATA_FORMATS, load_default="channels_last", allow_none=True,
                             case_sensitive=True)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        args["data_format"] = args.get("data_format") or "channels_last"
        super().__init__(name, args)
        self.output_size = self.expand_tuple(self.args.output_size, self.rank, "output_size")

    @property
    def data_format(self) -> str:
        return self.args.data_format

    def output_shape(self, shape: Shape) -> Shape:
        require_feature_maps(self, shape, self.rank, self.data_format)
        channels = shape[channel_axis(self.data_format)]
        if self.data_format == "channels_last":
            return (shape[0], *self.output_size, channels)
        return (shape[0], channels, *self.output_size)

    @property
    def keeps_integers(self) -> bool:  # type: ignore[override]
        """The maximum of integers is one of them, kept in their dtype."""
        return self.reduction == "max"

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        for axis, size in zip(spatial_axes(self.rank, self.data_format), self.output_size,
                              strict=True):
            x = adaptive_pool_axis(x, axis, size, self.reduction)
        return x

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        """Keras 3 pools one spatial axis after the other: the first sums each window in the
        integers' dtype (it may wrap around) and divides by the window's length into floats,
        which the others pool as floats."""
        if self.reduction == "max":
            return outputs
        (axis, size), *rest = zip(spatial_axes(self.rank, self.data_format), self.output_size,
                                  strict=True)
        x = inputs[0]
        index, length = np.arange(size), x.shape[axis]
        spans = (-(-(index + 1) * length // size) - index * length // size).astype(np.float32)
        spans = spans.reshape([size if a == axis else 1 for a in range(x.ndim)])
        sums = np.round(adaptive_pool_axis(x, axis, size, "mean") * spans)
        x = wrapped_integers(sums, dtype) / spans
        for axis, size in rest:
            x = adaptive_pool_axis(x, axis, size, "mean")
        return [x]

    def integer_caveat(self, dtype: str) -> str | None:
        return wrapped_sums(dtype) if self.reduction == "mean" else None

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        spatial = format_shape(tuple(inputs[0][a] for a in spatial_axes(self.rank,
                                                                         self.data_format)))
        return (f"the {self.reduction} of each channel over windows spanning the spatial axes "
                f"{spatial}, pooled to {format_shape(self.output_size)} → "
                f"{format_shape(outputs[0])}")


@register
class AdaptiveAveragePooling1D(AdaptivePooling):
    """Mean of each channel over adaptive windows: (batch, steps, c) → (batch, output_size, c)."""

    keras_name = "AdaptiveAveragePooling1D"
    rank = 1
    reduction = "mean"


@register
class AdaptiveAveragePooling2D(AdaptivePooling):
    """Mean of each channel over adaptive windows of height and width → ``output_size``."""

    keras_name = "AdaptiveAveragePooling2D"
    rank = 2
    reduction = "mean"


@register
class AdaptiveAveragePooling3D(AdaptivePooling):
    """Mean of each channel over adaptive windows of depth, height and width."""

    keras_name = "AdaptiveAveragePooling3D"
    rank = 3
    reduction = "mean"


@register
class AdaptiveMaxPooling1D(AdaptivePooling):
    """Maximum of each channel over adaptive windows: → (batch, output_size, c)."""

    keras_name = "AdaptiveMaxPooling1D"
    rank = 1
    reduction = "max"


@register
class AdaptiveMaxPooling2D(AdaptivePooling):
    """Maximum of each channel over adaptive windows of height and width."""

    keras_name = "AdaptiveMaxPooling2D"
    rank = 2
    reduction = "max"


@register
class AdaptiveMaxPooling3D(AdaptivePooling):
    """Maximum of each channel over adaptive windows of depth, height and width."""

    keras_name = "AdaptiveMaxPooling3D"
    rank = 3
    reduction = "max"


# -- tf.keras 2 -------------------------------------------------------------------------------
class TfKerasVolumePooling(Pooling):
    """tf.keras 2's 3-D pooling is TensorFlow's volume kernel: with 'same' padding where the
    strides step past the windows ((outputs - 1)·stride + pool < length), it pads by a
    negative amount, so that the windows start trunc(-total/2) in rather than at 0 (probed:
    a pool of 1 with strides of 3 on 6 steps reads steps 1 and 4; its 1-D and 2-D pooling,
    and Keras 3's, read 0 and 3)."""

    def pads(self, x: Array) -> list[tuple[int, int]]:
        if self.margins or self.padding != "same":
            return super().pads(x)
        pads = []
        for axis, k, s, d in zip(range(1, x.ndim - 1), self.window, self.strides,
                                 self.dilation, strict=True):
            length = x.shape[axis]
            total = (-(-length // s) - 1) * s + d * (k - 1) + 1 - length
            before = -(-total // 2) if total < 0 else total // 2  # toward zero, as in C
            pads.append((before, total - before))
        return pads


@tf_keras_variant
class TfKerasMaxPooling3D(TfKerasVolumePooling, MaxPooling3D):
    """MaxPooling3D as tf.keras 2 places its 'same' windows."""


@tf_keras_variant
class TfKerasAveragePooling3D(TfKerasVolumePooling, AveragePooling3D):
    """AveragePooling3D as tf.keras 2 places its 'same' windows."""


class TfKerasGlobalAveragePooling(GlobalPooling):
    """tf.keras 2's mean of integers is TensorFlow's: an integer, the mean toward zero (the
    sum does not wrap around; probed: int32 steps, uint8 images)."""

    integer_mean = True

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        """The exact sum (from the float mean) divided by the count, toward zero."""
        count = np.float32(np.prod([inputs[0].shape[a] for a in self.spatial_axes]))
        return [integer_values(np.round(y * count) / count, dtype) for y in outputs]


@tf_keras_variant
class TfKerasGlobalAveragePooling1D(TfKerasGlobalAveragePooling, GlobalAveragePooling1D):
    """GlobalAveragePooling1D as tf.keras 2 computes it on integers."""


@tf_keras_variant
class TfKerasGlobalAveragePooling2D(TfKerasGlobalAveragePooling, GlobalAveragePooling2D):
    """GlobalAveragePooling2D as tf.keras 2 computes it on integers."""


@tf_keras_variant
class TfKerasGlobalAveragePooling3D(TfKerasGlobalAveragePooling, GlobalAveragePooling3D):
    """GlobalAveragePooling3D as tf.keras 2 computes it on integers."""
