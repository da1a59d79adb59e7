"""Convolution layers: Conv1D/2D/3D, SeparableConv1D/2D, DepthwiseConv1D/2D and
Conv1D/2D/3DTranspose, and the sliding-window arithmetic that pooling shares.

Shapes follow Keras 3's ``compute_conv_output_shape`` and ``compute_conv_transpose_output_shape``.
The forward kernels compute what ``jax.lax.conv_general_dilated`` computes, by BLAS products:
a 1×1 kernel multiplies the (strided) pixels; with stride 1 and 32 to 127 input channels, one
product per kernel position reads the input shifted (``shifted_convolve``); otherwise strided
windows (``sliding_window_view``) make patch matrices contracted with the kernel, by blocks
of output rows (``patch_convolve``), or for all groups in one call.
The forward plan runs most 3×3 convolutions with stride 1 by Winograd's algorithm
(``winograd.WinogradConv2D``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from marshmallow import fields

from .. import activations
from ..arrays import float32_bytes
from ..errors import ArgumentError, LayerInputIncompatible
from ..fields import Choice, IntTuple, PositiveInt
from ..shapes import (
    CONV_PADDINGS,
    DATA_FORMATS,
    PADDINGS,
    Dim,
    Shape,
    channel_axis,
    conv_output_length,
    deconv_output_length,
    deconv_padding_amounts,
    fold_batch_axes,
    format_shape,
    num_elements,
    same_padding_amounts,
    spatial_axes,
)
from .adapters import HeldWeights, KernelLoraArgs
from .base import Array, Layer, LayerArgs, Shapes, Weight, activation_field, register
from .tf_keras import tf_keras_variant

SPATIAL_NAMES = {1: "steps", 2: "height, width", 3: "depth, height, width"}


def layout_description(rank: int, data_format: str) -> str:
    """``(batch, height, width, channels)`` for the given rank and data format."""
    spatial = SPATIAL_NAMES[rank]
    if data_format == "channels_last":
        return f"(batch, {spatial}, channels)"
    return f"(batch, channels, {spatial})"


def require_feature_maps(layer: Layer, shape: Shape, rank: int, data_format: str) -> None:
    """Raise unless ``shape`` is a batch of ``rank``-D feature maps. The message names their
    layout, described only then: every spatial layer checks every input."""
    if len(shape) != rank + 2:
        layer.require_rank(shape, rank + 2, what=layout_description(rank, data_format))


class SlidingWindow(Layer):
    """A window slid over the ``rank`` spatial axes of a batch of feature maps.

    The shape arithmetic that convolutions and pooling share. Subclasses name the argument that
    sizes the window (``window_arg``: ``kernel_size`` or ``pool_size``); strides left unset
    (None) default to the window, as pooling's do.
    """

    rank: ClassVar[int]
    window_arg: ClassVar[str] = "kernel_size"

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        args["data_format"] = args.get("data_format") or "channels_last"
        super().__init__(name, args)
        window = args[self.window_arg]
        strides = window if args.get("strides") is None else args["strides"]
        self.window = self.expand_tuple(window, self.rank, self.window_arg)
        self.strides = self.expand_tuple(strides, self.rank, "strides")
        self.dilation = self.expand_tuple(args.get("dilation_rate", 1), self.rank,
                                          "dilation_rate")
        self.channel_axis = channel_axis(self.data_format)
        self.spatial_axes = spatial_axes(self.rank, self.data_format)
        self.axis_windows = tuple(zip(self.spatial_axes, self.window, self.strides,
                                      self.dilation, strict=True))
        """(axis, window, stride, dilation) of each spatial axis."""
        self.same_window_on_each_axis = len({w[1:] for w in self.axis_windows}) == 1
        """Every spatial axis has the same window, stride and dilation: axes of equal length
        then have the same length formula."""

    @property
    def data_format(self) -> str:
        return self.args.data_format

    @property
    def padding(self) -> str:
        return self.args.padding

    def require_feature_maps(self, shape: Shape) -> None:
        require_feature_maps(self, shape, self.rank, self.data_format)

    def output_lengths(self, shape: Shape) -> list[Dim]:
        """The spatial output lengths; raises when a window does not fit (``valid``). Padded,
        an axis of length 0 gives 0 positions, as Keras builds it."""
        lengths = []
        padding = self.padding
        for axis, k, s, d in self.axis_windows:
            out = conv_output_length(shape[axis], k, padding, s, d)
            if out is not None and out <= 0 and padding == "valid":
                raise self.window_too_large(shape, axis, k, d)
            lengths.append(out)
        return lengths

    def arrange(self, batch: Dim, spatial: Sequence[Dim], channels: Dim) -> Shape:
        """A batched shape in this layer's data format."""
        if self.data_format == "channels_last":
            return (batch, *spatial, channels)
        return (batch, channels, *spatial)

    def positions(self, shape: Shape) -> int:
        """How many spatial positions ``shape`` has (0 when one is unknown)."""
        return num_elements([shape[a] for a in self.spatial_axes]) or 0

    def padded_bytes(self, shape: Shape) -> int:
        """The float32 copy of an input of ``shape`` padded as ``pad_spatial`` pads it: 0 when
        it pads nothing (no copy)."""
        lengths = self.padded_lengths([shape[axis] or 0 for axis in self.spatial_axes])
        if lengths is None:
            return 0
        return float32_bytes((shape[0] or 1, *lengths, shape[self.channel_axis] or 0))

    def padded_lengths(self, lengths: Sequence[int]) -> list[int] | None:
        """The spatial ``lengths`` of an input once padded, or None when nothing is padded."""
        if self.padding == "valid":
            return None
        padded = []
        for length, k, s, d in zip(lengths, self.window, self.strides, self.dilation,
                                   strict=True):
            pads = (d * (k - 1), 0) if self.padding == "causal" else same_padding_amounts(
                length, k, s, d)
            padded.append(length + sum(pads))
        return padded

    def window_too_large(self, shape: Shape, axis: int, window: int,
                         dilation: int) -> LayerInputIncompatible:
        effective = dilation * (window - 1) + 1
        span = f"{window} (dilated to {effective})" if dilation > 1 else str(window)
        smaller = f"{self.window_arg} or dilation_rate" if dilation > 1 else self.window_arg
        return LayerInputIncompatible(
            f"{self.keras_name} slides a window of {span} over an axis of length "
            f"{shape[axis]} (input {format_shape(shape)}) with padding='valid': the window does "
            "not fit, so there is no output position.",
            f"Use padding='same', a smaller {smaller}, or remove a downsampling layer "
            "(pooling, strides) before this one.",
        )

    # -- forward helpers ----------------------------------------------------------------------
    def to_channels_last(self, x: Array) -> Array:
        return np.moveaxis(x, 1, -1) if self.data_format == "channels_first" else x

    def from_channels_last(self, y: Array) -> Array:
        return np.moveaxis(y, -1, 1) if self.data_format == "channels_first" else y

    # -- explanation --------------------------------------------------------------------------
    def explain_lengths(self, inputs: Shapes, outputs: Shapes) -> str:
        """``98 = floor((100 − 3) / 1) + 1 on each spatial axis``."""
        shape, out = inputs[0], outputs[0]
        lengths = [(shape[axis], out[axis]) for axis in self.spatial_axes]
        if self.same_window_on_each_axis and lengths.count(lengths[0]) == len(lengths):
            return f"{self.length_formula(0, *lengths[0])} on each spatial axis"
        parts = [self.length_formula(i, *pair) for i, pair in enumerate(lengths)]
        if len(set(parts)) == 1:
            return f"{parts[0]} on each spatial axis"
        return f"{'; '.join(parts)} on the spatial axes"

    def length_formula(self, i: int, length: Dim, out: Dim) -> str:
        return length_formula(length, out, self.window[i], self.padding, self.strides[i],
                              self.dilation[i])


def length_formula(length: int | None, out: int | None, kernel: int, padding: str, stride: int,
                   dilation: int) -> str:
    """``98 = floor((100 − 3) / 1) + 1``: how one output length came about."""
    if length is None:
        return "unknown length stays unknown"
    if padding == "valid":
        span = dilation * (kernel - 1)
        return f"{out} = floor(({length} − {span + 1}) / {stride}) + 1"
    return f"{out} = ceil({length} / {stride}) with padding='{padding}'"


def transposed_length_formula(length: int | None, out: int | None, kernel: int, padding: str,
                              stride: int, dilation: int, output_padding: int | None) -> str:
    """``9 = (4 − 1)·2 + 3``: how one output length of a transposed convolution came about."""
    if length is None:
        return "unknown length stays unknown"
    effective = dilation * (kernel - 1) + 1
    if output_padding is None and padding == "same":
        return f"{out} = {length}·{stride} with padding='same'"
    if output_padding is None:
        return f"{out} = ({length} − 1)·{stride} + max({effective}, {stride})"
    if padding == "same":
        return (f"{out} = ({length} − 1)·{stride} + {effective} mod 2 + {output_padding} "
                "with padding='same'")
    return f"{out} = ({length} − 1)·{stride} + {effective} + {output_padding}"


# -- forward kernels -------------------------------------------------------------------------

def pad_spatial(x: Array, kernel: Sequence[int], strides: Sequence[int],
                dilation: Sequence[int], padding: str, value: float = 0.0) -> Array:
    """Pad the spatial axes of a channels_last batch with ``value`` as ``padding`` asks."""
    if padding == "valid":
        return x
    pads = [(0, 0)]
    for length, k, s, d in zip(x.shape[1:-1], kernel, strides, dilation, strict=True):
        if padding == "causal":
            pads.append((d * (k - 1), 0))
        else:
            pads.append(same_padding_amounts(length, k, s, d))
    pads.append((0, 0))
    if not any(before or after for before, after in pads):
        return x  # np.pad would copy
    return np.pad(x, pads, constant_values=value)


def windows(x: Array, kernel: Sequence[int], strides: Sequence[int],
            dilation: Sequence[int]) -> Array:
    """Strided, dilated windows of a channels_last batch: (N, *out, C, *kernel) as a view."""
    rank = len(kernel)
    effective = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    view = np.lib.stride_tricks.sliding_window_view(x, effective, axis=tuple(range(1, rank + 1)))
    out_slices = tuple(slice(None, None, s) for s in strides)
    kernel_slices = tuple(slice(None, None, d) for d in dilation)
    return view[(slice(None), *out_slices, slice(None), *kernel_slices)]


def convolve(x: Array, kernel: Array, strides: Sequence[int], dilation: Sequence[int],
             padding: str, groups: int = 1) -> Array:
    """N-D convolution of a channels_last batch with a Keras kernel (*k, C/groups, F).

    Group g reads input channels [g·C/groups, (g+1)·C/groups) and writes filters
    [g·F/groups, (g+1)·F/groups), as ``feature_group_count`` does in JAX.
    """
    rank = kernel.ndim - 2
    size, (cin_g, filters) = kernel.shape[:rank], kernel.shape[rank:]
    if groups > 1 and cin_g == 1:  # one input channel per group: a depthwise convolution
        grouped = kernel.reshape(*size, groups, filters // groups)
        return depthwise_convolve(x, grouped, strides, dilation, padding)
    x = pad_spatial(x, size, strides, dilation, padding)
    if groups == 1 and math.prod(size) == 1:  # 1×1: the (strided) pixels are the patches
        pixels = x[(slice(None), *(slice(None, None, s) for s in strides))]
        y = pixels.reshape(-1, cin_g) @ kernel.reshape(cin_g, filters)
        return y.reshape(*pixels.shape[:-1], filters)
    if groups == 1 and max(strides) == 1 and SHIFTED_CHANNELS[0] <= cin_g < SHIFTED_CHANNELS[1]:
        return shifted_convolve(x, kernel, dilation)
    if groups == 1:
        return patch_convolve(x, kernel, strides, dilation)
    # (N, *out, C, *k) -> (groups, N·out, k·C/groups): a patch flattens in the kernel's order.
    patches = np.moveaxis(windows(x, size, strides, dilation), rank + 1, -1)
    out_shape = patches.shape[: rank + 1]
    patches = patches.reshape(*patches.shape[:-1], groups, cin_g)
    cols = np.moveaxis(patches, -2, 0).reshape(groups, -1, int(np.prod(size)) * cin_g)
    w = kernel.reshape(*size, cin_g, groups, filters // groups)
    w = np.moveaxis(w, -2, 0).reshape(groups, -1, filters // groups)
    y = np.moveaxis(cols @ w, 0, 1)  # (N·out, groups, F/groups)
    return y.reshape(*out_shape, filters)


PATCH_BYTES = 1 << 19
"""About the size of the patch matrix ``patch_convolve`` builds at once: small enough to stay
in the core's cache for its product (a whole image's goes through memory)..."""
PATCH_ROWS = 256
"""...but at least this many rows: each product reads the whole kernel, which fewer rows
would not repay."""


def patch_convolve(x: Array, kernel: Array, strides: Sequence[int],
                   dilation: Sequence[int]) -> Array:
    """A convolution of a padded channels_last batch by patch matrices (im2col) and one
    product each, a block of output rows at a time, written into its rows of the output."""
    rank = kernel.ndim - 2
    patches = np.moveaxis(windows(x, kernel.shape[:rank], strides, dilation), rank + 1, -1)
    if patches.strides[-2] == patches.shape[-1] * patches.strides[-1]:
        # The last kernel axis and the channels are one run of memory: copied as one.
        patches = patches.reshape(*patches.shape[:-2], -1)
    out, filters = patches.shape[:rank + 1], kernel.shape[-1]
    w = kernel.reshape(-1, filters)
    y = np.empty((*out, filters), np.result_type(x, kernel))
    positions = math.prod(out[2:])  # per output row
    step = max(PATCH_BYTES // (x.itemsize * len(w) * positions), -(-PATCH_ROWS // positions))
    for sample in range(out[0]):
        for row in range(0, out[1], step):
            block = patches[sample, row:row + step].reshape(-1, len(w))  # a copy
            np.matmul(block, w, out=y[sample, row:row + step].reshape(-1, filters))
    return y


SHIFTED_CHANNELS = (32, 128)
"""The input channels for which ``shifted_convolve`` beats a patch matrix: fewer make its
products too thin for BLAS, more make the patch matrix's single product the faster."""


def shifted_convolve(x: Array, kernel: Array, dilation: Sequence[int]) -> Array:
    """A convolution with stride 1 of a padded channels_last batch, without a patch matrix
    (kernel-volume times the input): one product per kernel position, summed.

    The batch is flattened over its grid of positions; a kernel position reads it shifted by
    that position's offset on the grid. Every grid position gets an output (those past the
    valid ones read across rows or samples) and the valid ones are cropped out.
    """
    rank = kernel.ndim - 2
    size, (channels, filters) = kernel.shape[:rank], kernel.shape[rank:]
    grid = x.shape[1:-1]
    strides = [math.prod(grid[axis + 1:]) for axis in range(rank)]  # of the flattened grid
    offsets = [sum(k * d * s for k, d, s in zip(position, dilation, strides, strict=True))
               for position in np.ndindex(*size)]
    flat = x.reshape(-1, channels)
    rows = len(flat) - offsets[-1]  # outputs whose last read is inside the batch
    y = np.empty((len(flat), filters), flat.dtype)
    kernels = kernel.reshape(-1, channels, filters)
    np.matmul(flat[:rows], kernels[0], out=y[:rows])
    term = np.empty((rows, filters), flat.dtype)
    for offset, w in zip(offsets[1:], kernels[1:], strict=True):
        y[:rows] += np.matmul(flat[offset:offset + rows], w, out=term)
    valid = (slice(0, n - d * (k - 1)) for n, k, d in zip(grid, size, dilation, strict=True))
    return y.reshape(x.shape[0], *grid, filters)[(slice(None), *valid)]


def depthwise_convolve(x: Array, kernel: Array, strides: Sequence[int],
                       dilation: Sequence[int], padding: str) -> Array:
    """Depthwise convolution with a Keras kernel (*k, C, multiplier): each input channel c
    has its own filters, written to channels c·multiplier ... (c+1)·multiplier − 1.

    One multiply-add over whole arrays per kernel position, on a strided view of the input:
    a patch matrix would be kernel-volume times the input, for one multiply per element.
    """
    *size, channels, multiplier = kernel.shape
    x = pad_spatial(x, size, strides, dilation, padding)
    if multiplier > 1:
        x = np.repeat(x, multiplier, axis=-1)
    kernel = kernel.reshape(*size, channels * multiplier)
    view = windows(x, size, strides, dilation)  # (N, *out, C·multiplier, *k)
    offsets = np.ndindex(*size)
    first = next(offsets)
    out = view[(..., *first)] * kernel[first]
    term = np.empty_like(out)
    for offset in offsets:
        out += np.multiply(view[(..., *offset)], kernel[offset], out=term)
    return out


def spread(x: Array, strides: Sequence[int]) -> Array:
    """A channels_last batch with strides − 1 zeros between its elements on each spatial axis."""
    lengths = [(n - 1) * s + 1 for n, s in zip(x.shape[1:-1], strides, strict=True)]
    out = np.zeros((x.shape[0], *lengths, x.shape[-1]), dtype=x.dtype)
    out[(slice(None), *(slice(None, None, s) for s in strides))] = x
    return out


def convolve_transpose(x: Array, kernel: Array, strides: Sequence[int],
                       dilation: Sequence[int], padding: str,
                       output_padding: Sequence[int | None]) -> Array:
    """Transposed convolution with a Keras kernel (*k, F, C), as ``lax.conv_transpose``
    (``transpose_kernel=True``) computes it: the input spread by the strides, padded, and
    convolved with the spatially flipped kernel."""
    rank = kernel.ndim - 2
    size = kernel.shape[:rank]
    pads = [deconv_padding_amounts(k, padding, s, d, op)
            for k, s, d, op in zip(size, strides, dilation, output_padding, strict=True)]
    padded = np.pad(spread(x, strides), [(0, 0), *pads, (0, 0)])
    flipped = np.flip(kernel, axis=tuple(range(rank))).swapaxes(-1, -2)
    return convolve(padded, flipped, (1,) * rank, dilation, "valid")


# -- argument schemas ------------------------------------------------------------------------

class BaseConvArgs(LayerArgs):
    kernel_size = IntTuple(required=True)
    strides = IntTuple(load_default=1)
    padding = Choice(PADDINGS, load_default="valid")
    data_format = Choice(DATA_FORMATS, load_default="channels_last", allow_none=True)
    dilation_rate = IntTuple(load_default=1)
    activation = activation_field()
    use_bias = fields.Boolean(load_default=True)


class ConvArgs(BaseConvArgs, KernelLoraArgs):
    filters = PositiveInt(required=True)
    padding = Choice(CONV_PADDINGS, load_default="valid")
    groups = PositiveInt(load_default=1)


class DepthwiseConvArgs(BaseConvArgs):
    depth_multiplier = PositiveInt(load_default=1)


class SeparableConvArgs(DepthwiseConvArgs):
    filters = PositiveInt(required=True)


class ConvTransposeArgs(BaseConvArgs):
    filters = PositiveInt(required=True)
    output_padding = IntTuple(min_value=0, load_default=None, allow_none=True)


def conv_patch_bytes(layer: BaseConv, shape: Shape, out: Shape) -> int:
    """The whole patch matrix of ``convolve`` for ``layer``: an upper bound (it builds most of
    them by blocks of rows)."""
    positions = math.prod(d or 0 for d in out) // (out[layer.channel_axis] or 1)
    return float32_bytes((positions, layer.kernel_volume(), shape[layer.channel_axis] or 0))


# -- layers ----------------------------------------------------------------------------------

class BaseConv(SlidingWindow):
    """What every convolution shares: a kernel slid over the input, then bias and activation.

    Subclasses say how many channels come out, which weights they create and how the kernel
    is applied (``transform``); the bias is always the last weight.
    """

    family = "conv"
    Args = BaseConvArgs

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.kernel_size = self.window
        self.kernel_text = "·".join(map(str, self.kernel_size))
        """``3·3``: the kernel size as explanations write it."""

    def forbid_strides_with_dilation(self) -> None:
        """Keras refuses strides > 1 together with dilation_rate > 1 (Conv, ConvTranspose)."""
        if max(self.strides) > 1 and max(self.dilation) > 1:
            raise ArgumentError("dilation_rate", "strides > 1 cannot be combined with "
                                                 "dilation_rate > 1")

    def input_channels(self, shape: Shape) -> int:
        """Raise unless ``shape`` is a batch of ``rank``-D feature maps; return its channels."""
        self.require_feature_maps(shape)
        return self.require_known(shape[self.channel_axis], "the number of input channels")

    def output_channels(self, channels: int) -> int:
        return self.args.filters

    def output_shape(self, shape: Shape) -> Shape:
        channels = self.input_channels(shape)
        return self.arrange(shape[0], self.output_lengths(shape), self.output_channels(channels))

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        y = self.transform(self.to_channels_last(x), weights)
        if self.args.use_bias:
            activations.channelwise(np.add, y, weights[-1])
        # The activation sees the data format's layout (softmax acts on the last axis).
        return activations.apply_in_place(self.args.activation, self.from_channels_last(y))

    def transform(self, x: Array, weights: Sequence[Array]) -> Array:
        """The kernel applied to a channels_last batch, before bias and activation: a new
        array, which ``apply`` updates in place."""
        raise NotImplementedError

    def bias_weights(self, channels: int) -> list[Weight]:
        return [Weight("bias", (channels,))] if self.args.use_bias else []

    def kernel_volume(self) -> int:
        return math.prod(self.kernel_size)

    def scratch_bytes(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.padded_bytes(inputs[0]) + self.patch_bytes(inputs[0], outputs[0])

    def patch_bytes(self, shape: Shape, out: Shape) -> int:
        """The patch matrix (im2col) of the kernels that make one (``convolve``): a row per
        output position, a column per kernel element and input channel."""
        return 0

    def kernel_steps(self, inputs: Shapes, outputs: Shapes) -> int:
        """Per sample and block of output rows (patch matrices, Winograd tiles), and per
        kernel position (products of shifted inputs, depthwise kernels)."""
        out = outputs[0]
        return (out[0] or 1) * (out[self.spatial_axes[0]] or 1) + self.kernel_volume()

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        channels = inputs[0][self.channel_axis]
        return f"{self.explain_shape(inputs, outputs)}; {self.explain_weights(channels)}"

    def explain_weights(self, channels: int) -> str:
        """``params (3·3·3 + 1)·32 = 896`` for ``channels`` input channels."""
        raise NotImplementedError

    def kernel_params_text(self, channels: int, groups: int = 1) -> str:
        """``params (3·3·3 + 1)·32 = 896``: a kernel per filter over ``channels / groups``."""
        filters, use_bias = self.args.filters, self.args.use_bias
        per_filter = f"{self.kernel_text}·{channels}"
        if groups > 1:
            per_filter += f"/{groups}"
        bias = " + 1" if use_bias else ""
        total = (self.kernel_volume() * channels // groups + use_bias) * filters
        return f"params ({per_filter}{bias})·{filters} = {total:,}"


class Conv(HeldWeights, BaseConv):
    """Shared by Conv1D/2D/3D: ``filters`` kernels slid over ``rank`` spatial axes, optionally
    in ``groups`` that each see a slice of the input channels. With ``lora_rank`` the kernel
    is frozen and adapted (``adapters``)."""

    Args = ConvArgs

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        if self.padding == "causal" and self.rank != 1:
            raise ArgumentError("padding", "'causal' padding is only for 1-D convolutions")
        if args["filters"] % args["groups"]:
            raise ArgumentError("groups", f"filters ({args['filters']}) must be divisible by "
                                          f"groups ({args['groups']})")
        self.forbid_strides_with_dilation()

    def input_channels(self, shape: Shape) -> int:
        channels = super().input_channels(shape)
        if channels % self.args.groups:
            raise LayerInputIncompatible(
                f"{self.keras_name} with groups={self.args.groups} needs the input channels to "
                f"be divisible by {self.args.groups}, but the input has {channels}.",
                "Change groups to a divisor of the input channels.",
            )
        return channels

    def weights_for(self, shape: Shape) -> list[Weight]:
        channels = self.input_channels(shape)
        kernel = (*self.kernel_size, channels // self.args.groups, self.args.filters)
        return self.held([Weight("kernel", kernel, initializer="glorot_uniform"),
                          *self.bias_weights(self.args.filters)], shape)

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        out_elements = num_elements(outputs[0][1:]) or 0
        channels = inputs[0][self.channel_axis] or 0
        return out_elements * self.kernel_volume() * channels // self.args.groups

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        return (self.held_explanation(inputs, outputs, weights)
                or super().explain(inputs, outputs, weights))

    def patch_bytes(self, shape: Shape, out: Shape) -> int:
        return conv_patch_bytes(self, shape, out)

    def transform(self, x: Array, weights: Sequence[Array]) -> Array:
        return convolve(x, weights[0], self.strides, self.dilation, self.padding,
                        self.args.groups)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        filters = self.args.filters
        return f"{self.explain_lengths(inputs, outputs)}; {filters} filters give {filters} channels"

    def explain_weights(self, channels: int) -> str:
        return self.kernel_params_text(channels, self.args.groups)


@register
class Conv1D(Conv):
    """1-D convolution over (batch, steps, channels); ``padding='causal'`` looks only back."""

    keras_name = "Conv1D"
    rank = 1
    legacy_aliases = ("Convolution1D", "AtrousConvolution1D")


@register
class Conv2D(Conv):
    """2-D convolution over (batch, height, width, channels) images."""

    keras_name = "Conv2D"
    rank = 2
    legacy_aliases = ("Convolution2D", "AtrousConvolution2D")


@register
class Conv3D(Conv):
    """3-D convolution over (batch, depth, height, width, channels) volumes."""

    keras_name = "Conv3D"
    rank = 3
    legacy_aliases = ("Convolution3D",)


class TfKerasConv(Conv):
    """Conv1D/2D/3D as tf.keras 2 computes them: an input with more axes than a batch of
    ``rank``-D feature maps has several batch axes, which TensorFlow's convolution folds into
    one ((None, 7, 10, 3) → (None, 7, 8, 4) for Conv1D(4, 3)); Keras 3 refuses such inputs.
    The channel axis is the last, or with channels_first the one before the spatial axes.

    Every rule of ``Conv`` runs on the folded shape (``fold_batch_axes``), and the kernel on
    the folded batch.
    """

    def batch_axes(self, shape: Sequence[Dim]) -> tuple[Dim, ...]:
        """The axes before the feature maps: one, or several in tf.keras 2."""
        return tuple(shape[:-self.rank - 1])

    def folded(self, shape: Shape) -> Shape:
        return fold_batch_axes(shape, self.rank + 1)

    def output_shape(self, shape: Shape) -> Shape:
        batch_axes = self.batch_axes(shape)
        if len(batch_axes) < 2:
            return super().output_shape(shape)
        self.forbid_misapplied_strides(shape)
        return (*batch_axes, *super().output_shape(self.folded(shape))[1:])

    def forbid_misapplied_strides(self, shape: Shape) -> None:
        """tf.keras 2 cannot build a strided channels_first convolution over several batch
        axes: TensorFlow then applies the strides to the wrong axes, and the lengths it gets
        are not the ones it declares (but where the two happen to agree, which is refused
        here all the same)."""
        if self.data_format == "channels_first" and max(self.strides) > 1:
            raise LayerInputIncompatible(
                f"tf.keras 2's {self.keras_name} takes the axes before the last {self.rank + 1} "
                f"of {format_shape(shape)} as batch axes, but with channels_first and "
                f"strides={list(self.strides)} TensorFlow strides the wrong axes of such an "
                "input, and tf.keras 2 refuses the shape it gets.",
                "Use data_format='channels_last' or strides 1, or Reshape the batch axes into "
                "one first.")

    def weights_for(self, shape: Shape) -> list[Weight]:
        return super().weights_for(self.folded(shape))

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        """Per sample: the folded convolution's, once per entry of the batch axes after the
        first."""
        per_entry = super().macs([self.folded(inputs[0])], [self.folded(outputs[0])])
        return per_entry * (num_elements(self.batch_axes(inputs[0])[1:]) or 0)

    def scratch_bytes(self, inputs: Shapes, outputs: Shapes) -> int:
        return super().scratch_bytes([self.folded(inputs[0])], [self.folded(outputs[0])])

    def kernel_steps(self, inputs: Shapes, outputs: Shapes) -> int:
        return super().kernel_steps([self.folded(inputs[0])], [self.folded(outputs[0])])

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        batch_axes = self.batch_axes(x.shape)
        if len(batch_axes) < 2:
            return super().apply(x, weights)
        y = super().apply(x.reshape(math.prod(batch_axes), *x.shape[-self.rank - 1:]), weights)
        return y.reshape(*batch_axes, *y.shape[1:])

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        text = super().explain([self.folded(inputs[0])], [self.folded(outputs[0])], weights)
        batch_axes = self.batch_axes(inputs[0])
        if len(batch_axes) < 2:
            return text
        return (f"the {len(batch_axes)} axes {format_shape(batch_axes)} are batch axes "
                f"(tf.keras 2); {text}")


@tf_keras_variant
class TfKerasConv1D(TfKerasConv, Conv1D):
    """Conv1D as tf.keras 2 computes it: the axes before (steps, channels) are batch axes."""


@tf_keras_variant
class TfKerasConv2D(TfKerasConv, Conv2D):
    """Conv2D as tf.keras 2 computes it: the axes before (height, width, channels) are batch
    axes."""


@tf_keras_variant
class TfKerasConv3D(TfKerasConv, Conv3D):
    """Conv3D as tf.keras 2 computes it: the axes before the volumes are batch axes."""


class ConvolvesIntegersAsTheyAre(Layer):
    """A convolution that Keras 3 runs by ``lax.conv_general_dilated`` on its inputs as they
    are, where integer inputs against its float kernel fail (probed: the depthwise, separable
    and transposed convolutions; Conv casts its inputs to floats first)."""

    def integer_failure(self) -> str | None:
        return ("convolves them, as integers, with its float kernel (\"lax.conv_general_dilated "
                "requires arguments to have the same dtypes\")")


class DepthwiseConv(ConvolvesIntegersAsTheyAre, BaseConv):
    """Shared by DepthwiseConv1D/2D: each input channel convolved with its own
    ``depth_multiplier`` kernels, never mixed with the other channels."""

    Args = DepthwiseConvArgs

    def output_channels(self, channels: int) -> int:
        return channels * self.args.depth_multiplier

    def weights_for(self, shape: Shape) -> list[Weight]:
        channels = self.input_channels(shape)
        kernel = (*self.kernel_size, channels, self.args.depth_multiplier)
        return [Weight("kernel", kernel, initializer="glorot_uniform"),
                *self.bias_weights(self.output_channels(channels))]

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        return (num_elements(outputs[0][1:]) or 0) * self.kernel_volume()

    def transform(self, x: Array, weights: Sequence[Array]) -> Array:
        return depthwise_convolve(x, weights[0], self.strides, self.dilation, self.padding)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        channels = inputs[0][self.channel_axis]
        m = self.args.depth_multiplier
        return (f"{self.explain_lengths(inputs, outputs)}; each of the {channels} channels gets "
                f"its own {m} kernel(s) (depth_multiplier), {channels}·{m} = "
                f"{channels * m} channels")

    def explain_weights(self, channels: int) -> str:
        m = self.args.depth_multiplier
        bias = " + 1" if self.args.use_bias else ""
        total = (self.kernel_volume() + self.args.use_bias) * channels * m
        return f"params ({self.kernel_text}{bias})·{channels}·{m} = {total:,}"


@register
class DepthwiseConv1D(DepthwiseConv):
    """1-D depthwise convolution over (batch, steps, channels): one filter set per channel."""

    keras_name = "DepthwiseConv1D"
    rank = 1


@register
class DepthwiseConv2D(DepthwiseConv):
    """2-D depthwise convolution over (batch, height, width, channels): one filter set per
    channel, as in MobileNet."""

    keras_name = "DepthwiseConv2D"
    rank = 2


class SeparableConv(ConvolvesIntegersAsTheyAre, BaseConv):
    """Shared by SeparableConv1D/2D: a depthwise convolution (``depth_multiplier`` kernels per
    channel) followed by a 1×1 pointwise convolution to ``filters`` channels."""

    Args = SeparableConvArgs

    def weights_for(self, shape: Shape) -> list[Weight]:
        channels = self.input_channels(shape)
        m, filters = self.args.depth_multiplier, self.args.filters
        return [Weight("depthwise_kernel", (*self.kernel_size, channels, m),
                       initializer="glorot_uniform"),
                Weight("pointwise_kernel", (*(1,) * self.rank, channels * m, filters),
                       initializer="glorot_uniform"),
                *self.bias_weights(filters)]

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        positions = self.positions(outputs[0])
        depthwise = (inputs[0][self.channel_axis] or 0) * self.args.depth_multiplier
        return positions * depthwise * (self.kernel_volume() + self.args.filters)

    def transform(self, x: Array, weights: Sequence[Array]) -> Array:
        depthwise = depthwise_convolve(x, weights[0], self.strides, self.dilation, self.padding)
        pointwise = weights[1].reshape(weights[1].shape[-2:])
        # One 2-D product: matmul on a 4-D array runs one small product per row of pixels.
        columns = depthwise.reshape(-1, pointwise.shape[0]) @ pointwise
        return columns.reshape(*depthwise.shape[:-1], pointwise.shape[1])

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        channels = inputs[0][self.channel_axis]
        m, filters = self.args.depth_multiplier, self.args.filters
        return (f"{self.explain_lengths(inputs, outputs)}; depthwise {channels} channels · "
                f"{m} (depth_multiplier) = {channels * m}, then pointwise 1×1 to {filters} "
                "filters")

    def explain_weights(self, channels: int) -> str:
        m, filters = self.args.depth_multiplier, self.args.filters
        depthwise = self.kernel_volume() * channels * m
        pointwise = channels * m * filters
        bias = f" + bias {filters}" if self.args.use_bias else ""
        total = depthwise + pointwise + (filters if self.args.use_bias else 0)
        return (f"params depthwise {self.kernel_text}·{channels}·{m} + pointwise "
                f"{channels * m}·{filters}{bias} = {total:,}")


@register
class SeparableConv1D(SeparableConv):
    """1-D depthwise separable convolution: depthwise over steps, then pointwise."""

    keras_name = "SeparableConv1D"
    rank = 1
    aliases = ("SeparableConvolution1D",)


@register
class SeparableConv2D(SeparableConv):
    """2-D depthwise separable convolution: depthwise over height and width, then pointwise."""

    keras_name = "SeparableConv2D"
    rank = 2
    aliases = ("SeparableConvolution2D",)


class TfKerasDilatedDepthwise(BaseConv):
    """A depthwise (or separable) convolution as tf.keras 2 declares it: TensorFlow runs a
    dilated one through space_to_batch, whose shape inference loses every spatial size when one
    is unknown ((None, None, 6, 2) → (None, None, None, 2) with dilation 2)."""

    def output_lengths(self, shape: Shape) -> list[Dim]:
        lengths = super().output_lengths(shape)
        if self.loses_sizes(shape):
            return [None] * len(lengths)
        return lengths

    def loses_sizes(self, shape: Shape) -> bool:
        return max(self.dilation) > 1 and any(shape[axis] is None for axis in self.spatial_axes)

    def explain_lengths(self, inputs: Shapes, outputs: Shapes) -> str:
        if not self.loses_sizes(inputs[0]):
            return super().explain_lengths(inputs, outputs)
        return ("every spatial length unknown: tf.keras 2 runs a dilated depthwise convolution "
                "through space_to_batch, which loses the sizes when one is unknown")


@tf_keras_variant
class TfKerasDepthwiseConv2D(TfKerasDilatedDepthwise, DepthwiseConv2D):
    """DepthwiseConv2D as tf.keras 2 declares it (``TfKerasDilatedDepthwise``)."""


@tf_keras_variant
class TfKerasSeparableConv2D(TfKerasDilatedDepthwise, SeparableConv2D):
    """SeparableConv2D as tf.keras 2 declares it (``TfKerasDilatedDepthwise``)."""


@tf_keras_variant
class TfKerasSeparableConv1D(SeparableConv1D):
    """tf.keras 2's SeparableConv1D also takes ``padding='causal'`` (Keras 3 refuses it):
    the steps padded on the left only, as Conv1D does."""

    class Args(SeparableConvArgs):
        padding = Choice(CONV_PADDINGS, load_default="valid")


class ConvTranspose(ConvolvesIntegersAsTheyAre, BaseConv):
    """Shared by Conv1D/2D/3DTranspose: the gradient of a convolution, which upsamples by
    ``strides`` (``output_padding`` adds up to strides − 1 positions at the end)."""

    Args = ConvTransposeArgs

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        padding = args["output_padding"]
        self.output_padding: tuple[int | None, ...] = (
            (None,) * self.rank if padding is None
            else self.expand_tuple(padding, self.rank, "output_padding"))
        for op, s in zip(self.output_padding, self.strides, strict=True):
            if op is not None and op >= s:
                raise ArgumentError("output_padding", "each output_padding must be less than "
                                    f"its strides, got output_padding={list(self.output_padding)}"
                                    f" with strides={list(self.strides)}")
        self.forbid_strides_with_dilation()
        self.same_window_on_each_axis &= len(set(self.output_padding)) == 1

    def output_lengths(self, shape: Shape) -> list[Dim]:
        return [deconv_output_length(shape[axis], k, self.padding, s, d, op)
                for axis, k, s, d, op in zip(self.spatial_axes, self.kernel_size, self.strides,
                                             self.dilation, self.output_padding, strict=True)]

    def weights_for(self, shape: Shape) -> list[Weight]:
        channels = self.input_channels(shape)
        kernel = (*self.kernel_size, self.args.filters, channels)
        return [Weight("kernel", kernel, initializer="glorot_uniform"),
                *self.bias_weights(self.args.filters)]

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        in_elements = num_elements(inputs[0][1:]) or 0
        return in_elements * self.kernel_volume() * self.args.filters

    def transform(self, x: Array, weights: Sequence[Array]) -> Array:
        return convolve_transpose(x, weights[0], self.strides, self.dilation, self.padding,
                                  self.output_padding)

    def padded_lengths(self, lengths: Sequence[int]) -> list[int]:
        """The input spread by the strides, then padded (``convolve_transpose``)."""
        return [(length - 1) * s + 1 + sum(deconv_padding_amounts(k, self.padding, s, d, op))
                for length, k, s, d, op in zip(lengths, self.kernel_size, self.strides,
                                               self.dilation, self.output_padding, strict=True)]

    def patch_bytes(self, shape: Shape, out: Shape) -> int:
        return conv_patch_bytes(self, shape, out)

    def length_formula(self, i: int, length: Dim, out: Dim) -> str:
        return transposed_length_formula(length, out, self.kernel_size[i], self.padding,
                                         self.strides[i], self.dilation[i],
                                         self.output_padding[i])

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        filters = self.args.filters
        return f"{self.explain_lengths(inputs, outputs)}; {filters} filters give {filters} channels"

    def explain_weights(self, channels: int) -> str:
        return self.kernel_params_text(channels)


@register
class Conv1DTranspose(ConvTranspose):
    """1-D transposed convolution over (batch, steps, channels): upsamples the steps."""

    keras_name = "Conv1DTranspose"
    rank = 1
    aliases = ("Convolution1DTranspose",)


@register
class Conv2DTranspose(ConvTranspose):
    """2-D transposed convolution over (batch, height, width, channels): upsamples images."""

    keras_name = "Conv2DTranspose"
    rank = 2
    aliases = ("Convolution2DTranspose",)
    legacy_aliases = ("Deconvolution2D",)


@register
class Conv3DTranspose(ConvTranspose):
    """3-D transposed convolution over (batch, depth, height, width, channels)."""

    keras_name = "Conv3DTranspose"
    rank = 3
    aliases = ("Convolution3DTranspose",)
    legacy_aliases = ("Deconvolution3D",)
