"""Normalization layers: BatchNormalization, LayerNormalization, RMSNormalization,
GroupNormalization, UnitNormalization and the SpectralNormalization wrapper.

They all keep their input's shape; what matters is which axes they normalise (those decide the
weight shapes) and the inference arithmetic, which follows ``keras/src/ops/nn.py`` and the JAX
backend term by term (``x * inv + (beta - mean * inv)`` with ``inv = gamma / sqrt(var + eps)``).

tf.keras 2 documents get tf.keras 2's SpectralNormalization (``TfKerasSpectralNormalization``):
its wrapped layer is tf.keras 2's, and it lists vector_u after the trainable weights.

Multiply-accumulates follow fvcore: batch normalization at inference costs one (two with a
scale) per element, the normalisations that compute statistics four (five with a scale).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from marshmallow import ValidationError, fields

from ..errors import ArgumentError, LayerInputIncompatible
from ..fields import Float, Int
from ..shapes import Shape, broadcast_shapes, format_shape, nearest_divisors, num_elements
from .base import (
    Array,
    Layer,
    LayerArgs,
    Mask,
    ShapeCaveat,
    Shapes,
    Weight,
    explain_params,
    inner_layer,
    integer_values,
    register,
)
from .conv import DepthwiseConv
from .tf_keras import TF_KERAS_VARIANTS, WrappedLayersPolicy, tf_keras_variant

TRUNCATES_NORMALISED = ("casts the values it normalises back to their integer dtype, truncating "
                        "them toward zero (most become 0, 1 or -1)")


def truncated(outputs: list[Array], dtype: str) -> list[Array]:
    """Keras 3's cast of float outputs to an integer input's ``dtype``."""
    return [integer_values(y, dtype) for y in outputs]


class Axes(fields.Field):
    """An axis or a list of axes (non-empty unless ``allow_empty``); negative axes count from
    the end."""

    def __init__(self, *, allow_empty: bool = False, **kw: Any):
        super().__init__(**kw)
        self.allow_empty = allow_empty
        self.metadata.setdefault("type", "integer or list of integers")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> int | tuple[int, ...]:
        if isinstance(value, list | tuple):
            if not value and not self.allow_empty:
                raise ValidationError("must name at least one axis")
            return tuple(Int().deserialize(v) for v in value)
        return Int().deserialize(value)


def resolve_axis(axis: int, rank: int) -> int | None:
    """``axis`` counted from 0 in a tensor of ``rank`` axes, or None when there is no such axis."""
    return axis % rank if -rank <= axis < rank else None


def axes_text(axes: int | Sequence[int]) -> str:
    """``axis -1`` or ``axes [1, 2]``, as the user wrote them."""
    if isinstance(axes, int):
        return f"axis {axes}"
    return f"axes {list(axes)}"


class Normalizing(Layer):
    """Shape-keeping layers that normalise over some axes of their input."""

    family = "normalization"
    builds_on_repeated_axes: ClassVar[bool] = True
    """Whether Keras builds the layer when two of its axes name the same axis of the input
    (Keras 3 does, and only its predict fails; tf.keras 2 refuses to build it)."""

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        axis = self.args.axis
        self.axes: tuple[int, ...] = (axis,) if isinstance(axis, int) else tuple(axis)
        """The axes as given, as a tuple."""

    def output_shape(self, shape: Shape) -> Shape:
        if self.repeats_axes(shape):
            # Keras 3 builds the layer (weights shaped by the axes as listed); predict fails.
            builds = self.builds_on_repeated_axes
            raise LayerInputIncompatible(
                f"{self.keras_name}'s axes {list(self.axes)} name the same axis of the input "
                f"{format_shape(shape)} twice" + (
                    ": Keras builds the layer, but its predict fails." if builds else "."),
                "List each axis once.", declared=[shape] if builds else None)
        return shape

    def repeats_axes(self, shape: Shape) -> bool:
        """Whether two of the axes name the same axis of ``shape`` (``output_shape``
        refuses it)."""
        axes = self.resolve_axes(shape, self.axes)
        return len(set(axes)) != len(axes)

    def resolve_axes(self, shape: Shape, axes: Sequence[int]) -> list[int]:
        """The ``axes`` counted from 0; raise when the input has no such axis."""
        rank = len(shape)
        resolved = []
        for axis in axes:
            index = resolve_axis(axis, rank)
            if index is None:
                raise LayerInputIncompatible(
                    f"{self.keras_name} normalises axis {axis}, but its input "
                    f"{format_shape(shape)} has {rank} axes (0 to {rank - 1}, or "
                    f"{-rank} to -1, the batch axis included).",
                    "Set axis to an axis of the input, e.g. -1 for the last (features) axis.",
                )
            resolved.append(index)
        return resolved

    def sizes(self, shape: Shape, axes: Sequence[int]) -> tuple[int, ...]:
        """The known sizes of ``axes``, in that order: the shape of a per-feature weight."""
        self.resolve_axes(shape, axes)
        sizes = tuple([shape[axis] for axis in axes])
        if None in sizes:  # raise for the first unknown one
            for axis in axes:
                self.require_known(shape[axis], f"the size of axis {axis}")
        return sizes

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        return (f"{self.explain_shape(inputs, outputs)}; the shape {format_shape(inputs[0])} is "
                f"kept; {explain_params(weights)}")

    def elements(self, inputs: Shapes) -> int:
        """Elements of one sample of the input."""
        return num_elements(inputs[0][1:]) or 0


@register
class BatchNormalization(Normalizing):
    """Normalises each channel of one axis with its moving mean and variance (at inference),
    then scales by ``gamma`` and shifts by ``beta``.

    The moving statistics are non-trainable weights; ``renorm`` adds three more.
    """

    keras_name = "BatchNormalization"
    supports_masking = True

    class Args(LayerArgs):
        axis = Axes(load_default=-1)
        momentum = Float(load_default=0.99)
        epsilon = Float(load_default=1e-3)
        center = fields.Boolean(load_default=True)
        scale = fields.Boolean(load_default=True)
        renorm = fields.Boolean(load_default=False)

    @classmethod
    def weights_dtype(cls, variable_dtype: str | None, flavour: str) -> str | None:
        """tf.keras 2 keeps a float16 or bfloat16 batch norm's weights in float32 (its
        ``_param_dtype``); Keras 3 makes them in the policy's dtype."""
        if flavour == "keras2" and variable_dtype in ("float16", "bfloat16"):
            return None
        return variable_dtype

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        axis = args["axis"]
        if isinstance(axis, tuple):
            # Keras 2 files store axis=[3]; Keras 3's legacy loader reads the single axis.
            if len(axis) != 1:
                raise ArgumentError("axis", f"BatchNormalization normalises a single axis, "
                                            f"got {list(axis)}")
            args["axis"] = axis[0]
        super().__init__(name, args)

    def weights_for(self, shape: Shape) -> list[Weight]:
        channels = self.sizes(shape, self.axes)
        weights = []
        if self.args.scale:
            weights.append(Weight("gamma", channels, initializer="ones"))
        if self.args.center:
            weights.append(Weight("beta", channels))
        weights += [Weight("moving_mean", channels, trainable=False),
                    Weight("moving_variance", channels, trainable=False, initializer="ones")]
        if self.args.renorm:
            weights += [Weight("moving_stddev", channels, trainable=False, initializer="ones"),
                        Weight("renorm_mean", channels, trainable=False),
                        Weight("renorm_stddev", channels, trainable=False, initializer="ones")]
        return weights

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        inv, shift = self.affine(weights)
        shape = [1] * x.ndim
        shape[self.args.axis] = inv.shape[0]
        y = x * inv.reshape(shape)
        y += shift.reshape(shape)
        return y

    def affine(self, weights: Sequence[Array]) -> tuple[Array, Array]:
        """Inference as ``x * inv + shift`` along ``axis``: the per-channel ``inv``, ``shift``."""
        values = iter(weights)
        gamma = next(values) if self.args.scale else None
        beta = next(values) if self.args.center else None
        mean, variance = next(values), next(values)
        return affine_terms(mean, variance, self.args.epsilon, gamma, beta)

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        affine = self.args.scale or self.args.center
        return self.elements(inputs) * (2 if affine else 1)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        channels = inputs[0][self.args.axis]
        return (f"each of the {channels} channels of axis {self.args.axis} is normalised with "
                "its moving mean and variance (inference), then scaled by gamma and shifted by "
                "beta")


@register
class LayerNormalization(Normalizing):
    """Normalises each sample over ``axis`` (the last by default) with its own mean and
    variance, then scales by ``gamma`` and shifts by ``beta`` (one value per position of the
    normalised axes).

    ``rms_scaling=True`` (deprecated in Keras 3) divides by the standard deviation without
    centring and has no ``beta``.
    """

    keras_name = "LayerNormalization"
    supports_masking = True

    class Args(LayerArgs):
        axis = Axes(load_default=-1)
        epsilon = Float(load_default=1e-3)
        center = fields.Boolean(load_default=True)
        scale = fields.Boolean(load_default=True)
        rms_scaling = fields.Boolean(load_default=False)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.sorted_axes = sorted(self.axes)
        """Keras sorts a list of axes as given (negative ones first) and shapes gamma so."""

    def weights_for(self, shape: Shape) -> list[Weight]:
        per_feature = self.sizes(shape, self.sorted_axes)
        weights = []
        if self.args.scale or self.args.rms_scaling:
            weights.append(Weight("gamma", per_feature, initializer="ones"))
        if self.args.center and not self.args.rms_scaling:
            weights.append(Weight("beta", per_feature))
        return weights

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        values = iter(weights)
        gamma = next(values, None) if self.args.scale or self.args.rms_scaling else None
        beta = next(values, None) if self.args.center and not self.args.rms_scaling else None
        axes = tuple(self.resolve_axes(x.shape, self.sorted_axes))
        shape = feature_shape(x.shape, self.sorted_axes)
        gamma, beta = reshaped(gamma, shape), reshaped(beta, shape)
        variance = x.var(axis=axes, keepdims=True)
        if self.args.rms_scaling:
            y = x / np.sqrt(variance + self.args.epsilon)
            return y if gamma is None else y * gamma
        mean = x.mean(axis=axes, keepdims=True)
        return scale_and_shift(x, mean, variance, self.args.epsilon, gamma, beta)

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        """Keras 3 casts the normalised values to the input's dtype, then to floats."""
        return truncated(outputs, dtype)

    def integer_caveat(self, dtype: str) -> str | None:
        return TRUNCATES_NORMALISED

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.elements(inputs) * (5 if self.args.scale else 4)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        shape = inputs[0]
        axes = self.resolve_axes(shape, self.sorted_axes)
        count = num_elements(shape[a] for a in axes)
        how = "the root of its variance" if self.args.rms_scaling else "its mean and variance"
        return (f"each sample is normalised over {axes_text(self.args.axis)} ({count} values) "
                f"with {how}")


@tf_keras_variant
class TfKerasLayerNormalization(LayerNormalization):
    """LayerNormalization in a tf.keras 2 document: two axes naming the same one refuse it
    at build, and integers are normalised as floats."""

    builds_on_repeated_axes = False

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        return outputs

    def integer_caveat(self, dtype: str) -> str | None:
        return None


def feature_shape(shape: Sequence[int], axes: Sequence[int]) -> list[int]:
    """The shape a per-feature weight is reshaped to: 1 except on ``axes``."""
    out = [1] * len(shape)
    for axis in axes:
        out[axis] = shape[axis]
    return out


def reshaped(weight: Array | None, shape: Sequence[int]) -> Array | None:
    return None if weight is None else weight.reshape(shape)


def scale_and_shift(x: Array, mean: Array, variance: Array, epsilon: float,
                    gamma: Array | None, beta: Array | None) -> Array:
    """``(x - mean) / sqrt(variance + epsilon) * gamma + beta`` in Keras' order of operations."""
    inv, shift = affine_terms(mean, variance, epsilon, gamma, beta)
    y = x * inv
    y += shift
    return y


def affine_terms(mean: Array, variance: Array, epsilon: float, gamma: Array | None,
                 beta: Array | None) -> tuple[Array, Array]:
    """``inv`` and ``shift`` such that the normalisation is ``x * inv + shift``."""
    inv = 1.0 / np.sqrt(variance + np.float32(epsilon))
    if gamma is not None:
        inv = inv * gamma
    shift = -mean * inv
    if beta is not None:
        shift = shift + beta
    return inv, shift


@register
class RMSNormalization(Normalizing):
    """Divides each sample by the root mean square of its values over ``axis``, then
    multiplies by ``scale`` (no centring, no offset)."""

    keras_name = "RMSNormalization"

    class Args(LayerArgs):
        axis = Axes(load_default=-1)
        epsilon = Float(load_default=1e-6)

    def weights_for(self, shape: Shape) -> list[Weight]:
        scale = self.sizes(shape, sorted(self.axes))
        if broadcast_shapes(shape, scale) is None and not self.repeats_axes(shape):
            # Keras builds this model, but its predict fails.
            raise LayerInputIncompatible(
                f"RMSNormalization multiplies its input {format_shape(shape)} by a scale of "
                f"shape {format_shape(scale)} (the sizes of axes {list(self.axes)}), and Keras "
                "lines the scale up with the last axes, where it does not fit.",
                "Normalise the last axis (axis=-1), or the last axes (e.g. axis=[-2, -1]).",
                declared=[shape])
        return [Weight("scale", scale, initializer="ones")]

    def computed_output_shape(self, inputs: Shapes) -> Shape | None:
        """The input's shape broadcast against the scale, which Keras lines up with the last
        axes: (None, 7, 1) times a scale (7,) of axis 1 gives (None, 7, 7)."""
        shape = inputs[0]
        if self.repeats_axes(shape):
            return None
        computed = broadcast_shapes(shape, self.sizes(shape, sorted(self.axes)))
        return None if computed == tuple(shape) else computed

    def undeclared_shape(self, index: int, options: Mapping[str, Any],
                         inputs: Shapes) -> str | None:
        if self.computed_output_shape(inputs) is None:
            return None
        return ("Keras multiplies by a scale of the normalised axes' sizes lined up with the "
                "last axes, which broadcasts to a larger shape")

    def declared_shape_caveat(self, inputs: Shapes) -> ShapeCaveat | None:
        computed = self.computed_output_shape(inputs)
        if computed is None:
            return None
        return ShapeCaveat(
            f"'{self.name}' multiplies its input {format_shape(inputs[0])} by a scale of the "
            f"sizes of axes {list(self.axes)}, which Keras lines up with the last axes: predict "
            f"gives {format_shape(computed)}, while Keras declares {format_shape(inputs[0])}, as "
            "the summary shows.",
            "Normalise the last axis (axis=-1), or the last axes (e.g. axis=[-2, -1]).")

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        axes = tuple(self.resolve_axes(x.shape, self.axes))
        mean_square = np.mean(np.square(x), axis=axes, keepdims=True)
        # Keras broadcasts the scale as it is, without reshaping it to the normalised axes.
        return x / np.sqrt(mean_square + np.float32(self.args.epsilon)) * weights[0]

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        """Keras casts the normalised values to the input's dtype."""
        return dtypes[0] if dtypes and all(dtypes) else None

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        return truncated(outputs, dtype)

    def integer_caveat(self, dtype: str) -> str | None:
        return TRUNCATES_NORMALISED

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.elements(inputs) * 5

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"each sample is divided by the root mean square of its values over "
                f"{axes_text(self.args.axis)}, then multiplied by scale")


@register
class GroupNormalization(Normalizing):
    """Splits the channels of ``axis`` into ``groups`` and normalises each group of each sample
    with its own mean and variance, then scales by ``gamma`` and shifts by ``beta``.

    ``groups=-1`` puts every channel in its own group (instance normalization); ``groups=1``
    normalises all channels together.
    """

    keras_name = "GroupNormalization"
    supports_masking = True

    class Args(LayerArgs):
        groups = Int(min_value=-1, load_default=32)
        axis = Int(load_default=-1)
        epsilon = Float(load_default=1e-3)
        center = fields.Boolean(load_default=True)
        scale = fields.Boolean(load_default=True)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        if args["groups"] == 0:
            raise ArgumentError("groups", "must be a positive integer, or -1 for instance "
                                          "normalization; got 0")
        super().__init__(name, args)

    def channels_and_groups(self, shape: Shape) -> tuple[int, int]:
        """The channels of the normalised axis and the number of groups; raise unless the
        groups divide the channels."""
        (channels,) = self.sizes(shape, self.axes)
        groups = channels if self.args.groups == -1 else self.args.groups
        if channels == 0:
            raise LayerInputIncompatible(
                f"GroupNormalization splits the channels of axis {self.args.axis} (input "
                f"{format_shape(shape)}) into groups, but that axis has size 0.",
                "Give the normalised axis at least one channel.")
        if channels < groups or channels % groups:
            why = ("more groups than channels" if channels < groups else
                   f"{channels} is not a multiple of {groups}")
            divisors = nearest_divisors(channels, groups)
            raise LayerInputIncompatible(
                f"GroupNormalization splits the {channels} channels of axis {self.args.axis} "
                f"(input {format_shape(shape)}) into groups={groups} equal groups, but there "
                f"are {why}.",
                f"Set groups to a divisor of {channels}"
                f"{': ' + ', '.join(map(str, divisors)) if divisors else ''}"
                " (or -1 for one group per channel).",
            )
        return channels, groups

    def weights_for(self, shape: Shape) -> list[Weight]:
        channels, _ = self.channels_and_groups(shape)
        weights = []
        if self.args.scale:
            weights.append(Weight("gamma", (channels,), initializer="ones"))
        if self.args.center:
            weights.append(Weight("beta", (channels,)))
        return weights

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        channels, groups = self.channels_and_groups(x.shape)
        (axis,) = self.resolve_axes(x.shape, self.axes)
        # (..., channels, ...) -> (..., groups, channels // groups, ...)
        grouped_shape = [*x.shape[:axis], groups, channels // groups, *x.shape[axis + 1:]]
        grouped = x.reshape(grouped_shape)
        reduce = tuple(a for a in range(1, grouped.ndim) if a != axis)
        mean = grouped.mean(axis=reduce, keepdims=True)
        variance = grouped.var(axis=reduce, keepdims=True)
        per_channel = [1] * axis + [groups, channels // groups] + [1] * (x.ndim - axis - 1)
        values = iter(weights)
        gamma = reshaped(next(values), per_channel) if self.args.scale else None
        beta = reshaped(next(values), per_channel) if self.args.center else None
        y = scale_and_shift(grouped, mean, variance, self.args.epsilon, gamma, beta)
        return y.reshape(x.shape)

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        """Keras 3 casts the normalised values to the input's dtype, then to floats."""
        return truncated(outputs, dtype)

    def integer_caveat(self, dtype: str) -> str | None:
        return TRUNCATES_NORMALISED

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.elements(inputs) * (5 if self.args.scale else 4)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        channels, groups = self.channels_and_groups(inputs[0])
        return (f"the {channels} channels of axis {self.args.axis} form {groups} groups of "
                f"{channels // groups} = {channels} / {groups}; each group of each sample is "
                "normalised with its own mean and variance")


@tf_keras_variant
class TfKerasGroupNormalization(GroupNormalization):
    """GroupNormalization in a tf.keras 2 document: it cannot be built on integers."""

    def integer_caveat(self, dtype: str) -> str | None:
        return None

    def integer_refusal(self) -> str | None:
        return ("tf.keras 2 cannot build a GroupNormalization on them: building the model runs "
                "its call, whose variance of integers fails (\"Input 'y' of 'SquaredDifference' "
                "Op has type float64 that does not match type int32\")")


@register
class UnitNormalization(Normalizing):
    """Scales each sample to unit L2 norm over ``axis``: ``x / ||x||``."""

    keras_name = "UnitNormalization"
    supports_masking = True

    class Args(LayerArgs):
        axis = Axes(load_default=-1)

    MAX_INVERSE_NORM = 1e12
    """Keras caps ``1 / ||x||`` (its ``epsilon=1e-12``), so an all-zero vector stays zero."""

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        axes = tuple(self.resolve_axes(x.shape, self.axes))
        square_sum = np.sum(np.square(x), axis=axes, keepdims=True)
        with np.errstate(divide="ignore"):
            inverse_norm = np.minimum(1.0 / np.sqrt(square_sum), self.MAX_INVERSE_NORM)
        return x * inverse_norm.astype(np.float32)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return f"each sample is divided by its L2 norm over {axes_text(self.args.axis)}"

    def integer_failure(self) -> str | None:
        return "takes their inverse square root as integers (\"rsqrt does not accept\" them)"


@tf_keras_variant
class TfKerasUnitNormalization(UnitNormalization):
    """UnitNormalization in a tf.keras 2 document: two axes naming the same one refuse it
    at build, and integers are normalised as floats."""

    builds_on_repeated_axes = False

    def integer_failure(self) -> str | None:
        return None


@register
class SpectralNormalization(Layer):
    """Wraps a layer with a kernel (Dense, Conv*, Embedding) and divides the kernel by its
    largest singular value during training.

    At inference the wrapped layer runs as it is, on the stored kernel; the wrapper adds one
    non-trainable weight, ``vector_u``, the power-iteration estimate of (1, kernel.shape[-1]).
    """

    keras_name = "SpectralNormalization"
    nested_layers = ("layer",)
    family = "normalization"
    arity = None
    inner_variants: ClassVar[Mapping[str, type[Layer]] | None] = None
    """Classes that build the wrapped layer in place of the Keras 3 ones, by Keras name."""

    KERNEL_NAMES = ("kernel", "embeddings")
    """The weights Keras normalises, looked up in this order on the wrapped layer."""

    class Args(LayerArgs):
        layer = fields.Dict(required=True)
        power_iterations = Int(min_value=1, load_default=1)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.layer = inner_layer(args["layer"], "layer", self.inner_variants)
        quantized = getattr(self.layer, "quantization", None)
        lora = getattr(self.layer.args, "lora_rank", None)  # the kernel is then a float sum
        if quantized is not None and quantized.mode != "float8" and not lora:
            raise ArgumentError("layer.dtype", f"Keras 3 cannot normalise a kernel quantized in "
                                               f"{quantized.mode} ({quantized.text}): it builds "
                                               "its vector_u in the kernel's dtype, or finds none")

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        return self.layer.output_shapes(inputs)

    WRAPPABLE = "Dense, Conv1D/2D/3D, Conv2DTranspose, DepthwiseConv2D, EinsumDense or Embedding"
    """The layers with a kernel, for the hint of a refusal."""

    def kernel_index(self, weights: Sequence[Weight]) -> int:
        """Where the wrapped layer's kernel is among its weights."""
        if self.has_kernel():
            for name in self.KERNEL_NAMES:
                for i, weight in enumerate(weights):
                    if weight.name == name:
                        return i
        raise LayerInputIncompatible(
            f"SpectralNormalization normalises the kernel of the layer it wraps, but "
            f"{self.layer.keras_name} has no 'kernel' nor 'embeddings' weight.",
            f"Wrap a layer with a kernel: {self.WRAPPABLE}.",
        )

    def has_kernel(self) -> bool:
        """Whether the wrapped layer may have a weight of ``KERNEL_NAMES``."""
        return True

    def inner_weights(self, inputs: Shapes) -> list[Weight]:
        """The wrapped layer's weights in its own order, non-trainable if it is frozen."""
        weights = self.layer.build(inputs)
        if not self.layer.trainable:
            weights = [replace(w, trainable=False) for w in weights]
        return weights

    def layout(self, inner: Sequence[Weight]) -> list[int | None]:
        """Where each of the wrapper's weights comes from: its index in ``inner``, None for
        ``vector_u``. Keras tracks the kernel on the wrapper first, then vector_u, then the
        rest; but a LoRA layer's ``kernel`` is its kernel with the update added, no variable,
        so vector_u comes first, then the layer's weights in its order."""
        index = self.kernel_index(inner)
        if getattr(self.layer.args, "lora_rank", None):
            return [None, *range(len(inner))]
        return [index, None, *(i for i in range(len(inner)) if i != index)]

    def build(self, inputs: Shapes) -> list[Weight]:
        inner = self.inner_weights(inputs)
        kernel = inner[self.kernel_index(inner)]
        vector_u = Weight("vector_u", (1, kernel.shape[-1]), trainable=False,
                          initializer="truncated_normal")
        return [vector_u if i is None else inner[i] for i in self.layout(inner)]

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        """The wrapped layer's call (at inference Keras normalises nothing), with its own
        weights: a LoRA layer's merged, as its ``kernel`` gives them."""
        inner = self.inner_weights([x.shape for x in inputs])
        by_index = dict(zip(self.layout(inner), weights, strict=True))
        arrays = self.layer.merged_adapters([by_index[i] for i in range(len(inner))])
        return self.layer.forward(inputs, arrays)

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        """The wrapped layer's: the wrapper does not support masking, but it calls the layer
        on its own inputs, and the mask that call sets on its outputs stays on them (a Dense
        passes a Masking's mask on through it, a Conv2D does not; probed in both Keras)."""
        return self.layer.compute_mask(inputs, masks)

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        """Keras 3 casts the wrapped layer's output to the input's dtype."""
        return dtypes[0] if dtypes and all(dtypes) else None

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        return truncated(outputs, dtype)

    def integer_caveat(self, dtype: str) -> str | None:
        return ("casts the outputs of the layer it wraps to their integer dtype, truncating "
                "them toward zero")

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.layer.macs(inputs, outputs)

    def scratch_bytes(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.layer.scratch_bytes(inputs, outputs)  # a Conv's padded input, say

    def kernel_steps(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.layer.kernel_steps(inputs, outputs)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        inner = self.layer.explain_shape(inputs, outputs)
        return (f"{inner} (the wrapped {self.layer.keras_name}, which runs unchanged at "
                "inference; the spectral normalisation of its kernel acts during training)")


@tf_keras_variant
class TfKerasSpectralNormalization(WrappedLayersPolicy, SpectralNormalization):
    """SpectralNormalization in a tf.keras 2 document: the wrapped layer is tf.keras 2's, and
    its weights are listed as tf.keras 2's ``get_weights()`` lists them: the trainable ones
    first (the kernel, which the wrapper tracks, then the wrapped layer's), then vector_u, then
    the non-trainable ones (a frozen wrapper: kernel, vector_u, the rest, as Keras 3)."""

    inner_variants = TF_KERAS_VARIANTS
    WRAPPABLE = "Dense, Conv1D/2D/3D, Conv2DTranspose, EinsumDense or Embedding"

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        """tf.keras 2 gives the wrapped layer's (float) output as it is."""
        return None

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        return outputs

    def integer_caveat(self, dtype: str) -> str | None:
        return None

    def has_kernel(self) -> bool:
        """tf.keras 2's depthwise convolutions call their kernel ``depthwise_kernel``."""
        return not isinstance(self.layer, DepthwiseConv)

    def inner_weights(self, inputs: Shapes) -> list[Weight]:
        """The wrapped layer's weights, its kernel trainable in a trainable wrapper: tf.keras 2
        trains the kernel the wrapper tracks even when the wrapped layer is frozen."""
        weights = super().inner_weights(inputs)
        if not self.trainable:
            return weights
        index = self.kernel_index(weights)
        return [replace(w, trainable=True) if i == index else w for i, w in enumerate(weights)]

    def layout(self, inner: Sequence[Weight]) -> list[int | None]:
        if not self.trainable:
            return super().layout(inner)
        index = self.kernel_index(inner)
        rest = [i for i in range(len(inner)) if i != index]
        return [index, *(i for i in rest if inner[i].trainable), None,
                *(i for i in rest if not inner[i].trainable)]


# -- keras.applications helper layers ---------------------------------------------------------
# model.to_json() of ConvNeXt and InceptionResNetV2 names these classes of
# keras/src/applications/; they are not in keras.layers.


@register
class LayerScale(Layer):
    """ConvNeXt's per-channel scale: ``x * gamma``, ``gamma`` of ``projection_dim`` values
    (initialised to ``init_values``)."""

    keras_name = "LayerScale"
    family = "applications"

    class Args(LayerArgs):
        init_values = Float(required=True)
        projection_dim = Int(min_value=1, required=True)

    def output_shape(self, shape: Shape) -> Shape:
        channels, dim = shape[-1] if shape else None, self.args.projection_dim
        if channels not in (None, 1, dim):
            raise LayerInputIncompatible(
                f"LayerScale multiplies the last axis by {dim} scales (projection_dim), but its "
                f"input {format_shape(shape)} has {channels} channels.",
                f"Set projection_dim={channels}, the channels of the layer before.")
        return (*shape[:-1], dim) if channels == 1 else shape

    def weights_for(self, shape: Shape) -> list[Weight]:
        return [Weight("gamma", (self.args.projection_dim,), initializer="constant")]

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return x * weights[0]

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"each of the {self.args.projection_dim} channels multiplied by its own scale, "
                f"shape {format_shape(outputs[0])}")


@register
class CustomScaleLayer(Layer):
    """InceptionResNetV2's residual sum: ``inputs[0] + inputs[1] * scale``."""

    keras_name = "CustomScaleLayer"
    family = "applications"
    arity = 2

    class Args(LayerArgs):
        scale = Float(required=True)

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        if len(inputs) != 2:
            raise LayerInputIncompatible(
                f"CustomScaleLayer adds a scaled residual to a shortcut: it takes a list of two "
                f"tensors, but received {len(inputs)}.",
                'Give it "inputs": [shortcut, residual].')
        shape = broadcast_shapes(inputs[0], inputs[1])
        if shape is None:
            raise LayerInputIncompatible(
                f"CustomScaleLayer adds {format_shape(inputs[0])} and "
                f"{format_shape(inputs[1])}, which do not broadcast.",
                "Give the residual branch the shortcut's shape (e.g. a 1×1 Conv2D with as many "
                "filters as the shortcut has channels).")
        return [shape]

    def build(self, inputs: Shapes) -> list[Weight]:
        return []

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        return [inputs[0] + inputs[1] * np.float32(self.args.scale)]

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"shortcut + {self.args.scale} × residual, element by element: "
                f"{format_shape(outputs[0])}")


@register
class StochasticDepth(Layer):
    """ConvNeXt's drop-path: drops whole residual branches at random in training; at
    inference it returns its input."""

    keras_name = "StochasticDepth"
    family = "applications"
    elementwise = True

    class Args(LayerArgs):
        drop_path_rate = Float(min_value=0.0, max_value=1.0, required=True)
