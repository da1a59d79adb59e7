"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax.

Keras 3's ``keras/src/layers/activations/``; the numpy functions are those of
``shapecheck.activations``. Keras 3 has no ThresholdedReLU (``ReLU(threshold=...)`` replaces it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from marshmallow import fields

from .. import activations
from ..errors import ArgumentError, LayerInputIncompatible
from ..fields import Float, IntTuple
from ..shapes import Shape, format_shape
from .base import Array, Layer, LayerArgs, Mask, Shapes, Weight, register

LARGE_NEGATIVE = np.float32(-1e9)
"""What Keras' Softmax puts at masked positions before normalising."""


def masked_softmax(x: Array, axes: tuple[int, ...], mask: Array | None = None) -> Array:
    """Keras' ``Softmax`` layer over ``axes``: masked positions (``mask`` False, broadcast)
    excluded and zeroed."""
    if mask is not None:
        x = np.where(mask, x, LARGE_NEGATIVE)
    y = activations.softmax(x, axis=axes)
    return y if mask is None else np.where(mask, y, np.float32(0))


class ActivationLayer(Layer):
    """An activation with arguments, applied element by element."""

    family = "activations"
    elementwise = True
    supports_masking = True


@register
class ReLU(ActivationLayer):
    """Rectified linear unit: x above ``threshold`` (clipped at ``max_value``), and
    ``negative_slope · (x − threshold)`` below it."""

    keras_name = "ReLU"

    class Args(LayerArgs):
        max_value = Float(min_value=0.0, load_default=None, allow_none=True)
        negative_slope = Float(min_value=0.0, load_default=0.0)
        threshold = Float(min_value=0.0, load_default=0.0)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return activations.relu(x, self.args.negative_slope, self.args.max_value,
                                self.args.threshold)


@register
class LeakyReLU(ActivationLayer):
    """x for x ≥ 0, ``negative_slope · x`` below (Keras 1/2 called the slope ``alpha``)."""

    keras_name = "LeakyReLU"

    class Args(LayerArgs):
        negative_slope = Float(min_value=0.0, load_default=0.3)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return activations.leaky_relu(x, self.args.negative_slope)


@register
class ELU(ActivationLayer):
    """Exponential linear unit: x for x > 0, ``alpha · (exp(x) − 1)`` below."""

    keras_name = "ELU"

    class Args(LayerArgs):
        alpha = Float(load_default=1.0)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return activations.elu(x, self.args.alpha)


@register
class PReLU(ActivationLayer):
    """Leaky ReLU with a learnt slope per element (``alpha``, initialised to zeros); the axes in
    ``shared_axes`` (counted from 1) share one slope, e.g. [1, 2] for one slope per channel of
    an image."""

    keras_name = "PReLU"

    class Args(LayerArgs):
        shared_axes = IntTuple(min_value=1, load_default=None, allow_none=True)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        shared = args["shared_axes"]
        self.shared_axes: tuple[int, ...] = (
            () if shared is None else shared if isinstance(shared, tuple) else (shared,))
        if not all(isinstance(a, int) for a in self.shared_axes):
            raise ArgumentError("shared_axes", "must be an axis or a list of axes, got "
                                               f"{list(shared)}")

    def weights_for(self, shape: Shape) -> list[Weight]:
        return [Weight("alpha", self.alpha_shape(shape), initializer="zeros")]

    def alpha_shape(self, shape: Shape) -> tuple[int, ...]:
        """The input's per-sample shape with the shared axes set to 1."""
        beyond = [a for a in self.shared_axes if a >= len(shape)]
        if beyond:
            raise LayerInputIncompatible(
                f"PReLU shares axis {beyond[0]} among its slopes, but the input "
                f"{format_shape(shape)} has axes 1 to {len(shape) - 1} only.",
                "List in shared_axes only axes the input has (the batch axis 0 excluded).")
        return tuple(1 if axis in self.shared_axes else
                     self.require_known(shape[axis], f"the size of axis {axis} (not shared)")
                     for axis in range(1, len(shape)))

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        alpha = weights[0]
        return np.maximum(x, 0) - alpha * np.maximum(-x, 0)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        alpha = self.alpha_shape(inputs[0])
        shared = (f", shared along axes {', '.join(map(str, self.shared_axes))}"
                  if self.shared_axes else "")
        return (f"applied element by element, the shape {format_shape(outputs[0])} is kept; "
                f"one learnt slope per element of {format_shape(alpha)}{shared}")


@register
class Softmax(ActivationLayer):
    """Softmax along ``axis`` (an int, or a list of axes normalised together)."""

    keras_name = "Softmax"
    elementwise = False

    class Args(LayerArgs):
        axis = fields.Raw(load_default=-1, metadata={"type": "integer or list of integers"})

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        axis = args["axis"]
        self.axes: tuple[int, ...] = tuple(axis) if isinstance(axis, list) else (axis,)
        if not self.axes or not all(is_int(a) for a in self.axes):
            raise ArgumentError("axis", f"must be an integer or a non-empty list of integers, "
                                        f"got {axis!r}")

    def output_shape(self, shape: Shape) -> Shape:
        missing = [a for a in self.axes if not -len(shape) <= a < len(shape)]
        if missing:
            raise LayerInputIncompatible(
                f"Softmax normalises along axis {missing[0]}, which the input "
                f"{format_shape(shape)} does not have (Keras builds the model, but predict "
                "fails).", "Use axis=-1 to normalise over the last axis.")
        resolved = [a % len(shape) for a in self.axes]
        if len(set(resolved)) < len(resolved):
            repeated = next(a for a in resolved if resolved.count(a) > 1)
            raise LayerInputIncompatible(
                f"Softmax normalises along axes {list(self.axes)}, which name axis {repeated} "
                f"of the input {format_shape(shape)} more than once (Keras builds the model, "
                "but predict fails: duplicate value in 'axis').",
                "List each axis once.")
        return shape

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return activations.softmax(x, axis=self.axes)

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        """The masked positions get no weight; the mask broadcasts against the input from
        the last axis, as Keras requires."""
        x, mask = inputs[0], masks[0]
        if not broadcasts_to(mask.shape, x.shape):
            raise NotImplementedError(
                f"Softmax applies its input's mask {format_shape(mask.shape)} to the input "
                f"{format_shape(x.shape)} aligned on the last axes, where it does not fit; Keras "
                "refuses it too. Put the mask away before Softmax (e.g. after a layer that does "
                "not support masking).")
        return [masked_softmax(x, self.axes, mask)]

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        axes = ", ".join(str(a % len(inputs[0])) for a in self.axes)
        return (f"exponentials normalised to sum to 1 along axis {axes}; the shape "
                f"{format_shape(outputs[0])} is kept")


def broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
