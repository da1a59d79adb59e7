"""Convolution layers: Conv1D/2D/3D.

Shapes follow Keras 3's ``BaseConv`` (``compute_conv_output_shape``); the forward kernel pads,
takes strided windows with ``sliding_window_view`` and contracts them with the kernel in one
BLAS call per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from marshmallow import fields

from .. import activations
from ..errors import ArgumentError, LayerInputIncompatible
from ..fields import Choice, IntTuple, PositiveInt
from ..shapes import (
    CONV_PADDINGS,
    DATA_FORMATS,
    Shape,
    channel_axis,
    conv_output_length,
    format_shape,
    num_elements,
    same_padding_amounts,
    spatial_axes,
)
from .base import Array, Layer, LayerArgs, Shapes, Weight, activation_field, register

SPATIAL_NAMES = {1: "steps", 2: "height, width", 3: "depth, height, width"}


class ConvArgs(LayerArgs):
    filters = PositiveInt(required=True)
    kernel_size = IntTuple(required=True)
    strides = IntTuple(load_default=1)
    padding = Choice(CONV_PADDINGS, load_default="valid")
    data_format = Choice(DATA_FORMATS, load_default="channels_last", allow_none=True)
    dilation_rate = IntTuple(load_default=1)
    groups = PositiveInt(load_default=1)
    activation = activation_field()
    use_bias = fields.Boolean(load_default=True)


def layout_description(rank: int, data_format: str) -> str:
    """``(batch, height, width, channels)`` for the given rank and data format."""
    spatial = SPATIAL_NAMES[rank]
    if data_format == "channels_last":
        return f"(batch, {spatial}, channels)"
    return f"(batch, channels, {spatial})"


class Conv(Layer):
    """Shared by Conv1D/2D/3D: ``rank`` spatial axes, a kernel slid over them."""

    rank: ClassVar[int]
    family = "conv"
    Args = ConvArgs

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        args["data_format"] = args.get("data_format") or "channels_last"
        super().__init__(name, args)
        self.kernel_size = self.expand_tuple(args["kernel_size"], self.rank, "kernel_size")
        self.strides = self.expand_tuple(args["strides"], self.rank, "strides")
        self.dilation = self.expand_tuple(args["dilation_rate"], self.rank, "dilation_rate")
        if args["padding"] == "causal" and self.rank != 1:
            raise ArgumentError("padding", "'causal' padding is only for 1-D convolutions")
        if args["filters"] % args["groups"]:
            raise ArgumentError("groups", f"filters ({args['filters']}) must be divisible by "
                                          f"groups ({args['groups']})")
        if max(self.strides) > 1 and max(self.dilation) > 1:
            raise ArgumentError("dilation_rate", "strides > 1 cannot be combined with "
                                                 "dilation_rate > 1")

    @property
    def data_format(self) -> str:
        return self.args.data_format

    def check_input(self, shape: Shape) -> int:
        """Raise unless ``shape`` is a batch of ``rank``-D feature maps; return its channels."""
        self.require_rank(shape, self.rank + 2,
                          what=layout_description(self.rank, self.data_format))
        channels = self.require_known(shape[channel_axis(self.data_format)],
                                      "the number of input channels")
        if channels % self.args.groups:
            raise LayerInputIncompatible(
                f"{self.keras_name} with groups={self.args.groups} needs the input channels to "
                f"be divisible by {self.args.groups}, but the input has {channels}.",
                "Change groups to a divisor of the input channels.",
            )
        return channels

    def output_shape(self, shape: Shape) -> Shape:
        self.check_input(shape)
        axes = spatial_axes(self.rank, self.data_format)
        lengths = []
        for axis, k, s, d in zip(axes, self.kernel_size, self.strides, self.dilation, strict=True):
            out = conv_output_length(shape[axis], k, self.args.padding, s, d)
            if out is not None and out <= 0:
                raise self.window_too_large(shape, axis, k, d)
            lengths.append(out)
        return self.arrange(shape[0], lengths, self.args.filters)

    def arrange(self, batch: int | None, spatial: Sequence[int | None], channels: int) -> Shape:
        """A batched shape in this layer's data format."""
        if self.data_format == "channels_last":
            return (batch, *spatial, channels)
        return (batch, channels, *spatial)

    def window_too_large(self, shape: Shape, axis: int, kernel: int, dilation: int) -> Exception:
        effective = dilation * (kernel - 1) + 1
        span = f"{kernel} (dilated to {effective})" if dilation > 1 else str(kernel)
        return LayerInputIncompatible(
            f"{self.keras_name} slides a window of {span} over an axis of length "
            f"{shape[axis]} (input {format_shape(shape)}) with padding='valid': the window does "
            "not fit, so there is no output position.",
            "Use padding='same', a smaller kernel_size, or remove a downsampling layer (pooling, "
            "strides) before this one.",
        )

    def weights_for(self, shape: Shape) -> list[Weight]:
        channels = self.check_input(shape)
        kernel = (*self.kernel_size, channels // self.args.groups, self.args.filters)
        weights = [Weight("kernel", kernel, initializer="glorot_uniform")]
        if self.args.use_bias:
            weights.append(Weight("bias", (self.args.filters,)))
        return weights

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        out_positions = num_elements(outputs[0][1:]) or 0
        channels = inputs[0][channel_axis(self.data_format)] or 0
        return out_positions * int(np.prod(self.kernel_size)) * channels // self.args.groups

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        channels_first = self.data_format == "channels_first"
        if channels_first:
            x = np.moveaxis(x, 1, -1)
        y = convolve(x, weights[0], self.strides, self.dilation, self.args.padding,
                     self.args.groups)
        if self.args.use_bias:
            y = y + weights[1]
        y = activations.get(self.args.activation)(y)
        return np.moveaxis(y, -1, 1) if channels_first else y

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        shape, out = inputs[0], outputs[0]
        axes = spatial_axes(self.rank, self.data_format)
        parts = []
        for i, axis in enumerate(axes):
            parts.append(length_formula(shape[axis], out[axis], self.kernel_size[i],
                                        self.args.padding, self.strides[i], self.dilation[i]))
        where = "on each spatial axis" if len(set(parts)) == 1 else "on the spatial axes"
        formulas = parts[0] if len(set(parts)) == 1 else "; ".join(parts)
        return f"{formulas} {where}; {self.args.filters} filters give {self.args.filters} channels"

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        channels = inputs[0][channel_axis(self.data_format)]
        per_filter = "·".join(str(k) for k in self.kernel_size) + f"·{channels}"
        if self.args.groups > 1:
            per_filter += f"/{self.args.groups}"
        bias = " + 1" if self.args.use_bias else ""
        total = sum(w.size for w in weights)
        return (f"{self.explain_shape(inputs, outputs)}; params ({per_filter}{bias})·"
                f"{self.args.filters} = {total:,}")


def length_formula(length: int | None, out: int | None, kernel: int, padding: str, stride: int,
                   dilation: int) -> str:
    """``98 = floor((100 − 3) / 1) + 1``: how one output length came about."""
    if length is None:
        return "unknown length stays unknown"
    if padding == "valid":
        span = dilation * (kernel - 1)
        return f"{out} = floor(({length} − {span + 1}) / {stride}) + 1"
    return f"{out} = ceil({length} / {stride}) with padding='{padding}'"


def pad_spatial(x: Array, kernel: Sequence[int], strides: Sequence[int],
                dilation: Sequence[int], padding: str) -> Array:
    """Zero-pad the spatial axes of a channels_last batch as ``padding`` asks."""
    if padding == "valid":
        return x
    pads = [(0, 0)]
    for length, k, s, d in zip(x.shape[1:-1], kernel, strides, dilation, strict=True):
        if padding == "causal":
            pads.append((d * (k - 1), 0))
        else:
            pads.append(same_padding_amounts(length, k, s, d))
    pads.append((0, 0))
    return np.pad(x, pads)


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
    """N-D convolution of a channels_last batch with a Keras kernel (*k, C/groups, F)."""
    rank = kernel.ndim - 2
    x = pad_spatial(x, kernel.shape[:rank], strides, dilation, padding)
    view = windows(x, kernel.shape[:rank], strides, dilation)
    # (N, *out, C, *k) -> (N, *out, *k, C) so that a patch flattens in the kernel's order.
    patches = np.moveaxis(view, rank + 1, -1)
    out_shape = patches.shape[: rank + 1]
    cin_g, filters = kernel.shape[-2], kernel.shape[-1]
    outputs = []
    for g in range(groups):
        part = patches[..., g * cin_g:(g + 1) * cin_g]
        w = kernel[..., (g * filters // groups):((g + 1) * filters // groups)]
        cols = part.reshape(*out_shape, -1)
        outputs.append(cols @ w.reshape(-1, w.shape[-1]))
    return outputs[0] if groups == 1 else np.concatenate(outputs, axis=-1)


@register
class Conv1D(Conv):
    """1-D convolution over (batch, steps, channels); ``padding='causal'`` looks only back."""

    keras_name = "Conv1D"
    rank = 1
    legacy_aliases = ("Convolution1D",)


@register
class Conv2D(Conv):
    """2-D convolution over (batch, height, width, channels) images."""

    keras_name = "Conv2D"
    rank = 2
    legacy_aliases = ("Convolution2D",)


@register
class Conv3D(Conv):
    """3-D convolution over (batch, depth, height, width, channels) volumes."""

    keras_name = "Conv3D"
    rank = 3
    legacy_aliases = ("Convolution3D",)
