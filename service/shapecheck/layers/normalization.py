"""Normalization layers: BatchNormalization, LayerNormalization, RMSNormalization,
GroupNormalization, UnitNormalization and the SpectralNormalization wrapper.

They all keep their input's shape; what matters is which axes they normalise (those decide the
weight shapes) and the inference arithmetic, which follows ``keras/src/ops/nn.py`` and the JAX
backend term by term (``x * inv + (beta - mean * inv)`` with ``inv = gamma / sqrt(var + eps)``).

Multiply-accumulates follow fvcore: batch normalization at inference costs one (two with a
scale) per element, the normalisations that compute statistics four (five with a scale).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from marshmallow import ValidationError, fields

from ..errors import ArgumentError, LayerInputIncompatible
from ..fields import Float, Int
from ..shapes import Shape, format_shape, num_elements
from .base import Array, Layer, LayerArgs, Shapes, Weight, explain_params, register


class Axes(fields.Field):
    """An axis or a non-empty list of axes; negative axes count from the end."""

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.metadata.setdefault("type", "integer or list of integers")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> int | tuple[int, ...]:
        if isinstance(value, list | tuple):
            if not value:
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

    def output_shape(self, shape: Shape) -> Shape:
        self.resolve_axes(shape, self.axes)
        return shape

    @property
    def axes(self) -> tuple[int, ...]:
        """The axes as given, as a tuple."""
        axis = self.args.axis
        return (axis,) if isinstance(axis, int) else tuple(axis)

    def resolve_axes(self, shape: Shape, axes: Sequence[int]) -> list[int]:
        """The ``axes`` counted from 0; raise when the input has no such axis."""
        resolved = [resolve_axis(axis, len(shape)) for axis in axes]
        for axis, index in zip(axes, resolved, strict=True):
            if index is None:
                raise LayerInputIncompatible(
                    f"{self.keras_name} normalises axis {axis}, but its input "
                    f"{format_shape(shape)} has {len(shape)} axes (0 to {len(shape) - 1}, or "
                    f"{-len(shape)} to -1, the batch axis included).",
                    "Set axis to an axis of the input, e.g. -1 for the last (features) axis.",
                )
        return resolved  # type: ignore[return-value]

    def sizes(self, shape: Shape, axes: Sequence[int]) -> tuple[int, ...]:
        """The known sizes of ``axes``, in that order: the shape of a per-feature weight."""
        self.resolve_axes(shape, axes)
        return tuple(self.require_known(shape[axis], f"the size of axis {axis}") for axis in axes)

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

    class Args(LayerArgs):
        axis = Axes(load_default=-1)
        momentum = Float(load_default=0.99)
        epsilon = Float(load_default=1e-3)
        center = fields.Boolean(load_default=True)
        scale = fields.Boolean(load_default=True)
        renorm = fields.Boolean(load_default=False)

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
        values = iter(weights)
        gamma = next(values) if self.args.scale else None
        beta = next(values) if self.args.center else None
        mean, variance = next(values), next(values)
        shape = [1] * x.ndim
        shape[self.args.axis] = mean.shape[0]
        return scale_and_shift(x, mean.reshape(shape), variance.reshape(shape),
                               self.args.epsilon, reshaped(gamma, shape), reshaped(beta, shape))

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

    class Args(LayerArgs):
        axis = Axes(load_default=-1)
        epsilon = Float(load_default=1e-3)
        center = fields.Boolean(load_default=True)
        scale = fields.Boolean(load_default=True)
        rms_scaling = fields.Boolean(load_default=False)

    @property
    def sorted_axes(self) -> list[int]:
        """Keras sorts a list of axes as given (negative ones first) and shapes gamma so."""
        return sorted(self.axes)

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

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.elements(inputs) * (5 if self.args.scale else 4)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        shape = inputs[0]
        axes = self.resolve_axes(shape, self.sorted_axes)
        count = num_elements(shape[a] for a in axes)
        how = "the root of its variance" if self.args.rms_scaling else "its mean and variance"
        return (f"each sample is normalised over {axes_text(self.args.axis)} ({count} values) "
                f"with {how}")


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
    inv = 1.0 / np.sqrt(variance + np.float32(epsilon))
    if gamma is not None:
        inv = inv * gamma
    shift = -mean * inv
    if beta is not None:
        shift = shift + beta
    return x * inv + shift
