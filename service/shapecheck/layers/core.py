"""Core layers: InputLayer, Dense, Activation, Embedding, Identity, and Opaque stand-ins."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
from marshmallow import fields

from .. import activations
from ..errors import LayerInputIncompatible
from ..fields import Int, PositiveInt, ShapeField
from ..shapes import Shape, format_shape, num_elements
from .base import Array, Layer, LayerArgs, Mask, Shapes, Weight, activation_field, register


@register
class InputLayer(Layer):
    """A model input: the per-sample shape of the data, with the batch axis in front.

    The model loader turns it into a named model input; it has no weights and is never
    listed among the layers of a response.
    """

    keras_name = "InputLayer"
    family = "core"
    arity = 0

    class Args(LayerArgs):
        shape = ShapeField(load_default=None, allow_none=True)
        batch_shape = ShapeField(load_default=None, allow_none=True)
        batch_size = PositiveInt(load_default=None, allow_none=True)
        dtype = fields.Raw(load_default=None)

    def batched_shape(self) -> Shape:
        """The input's shape with its batch axis, from ``batch_shape`` or ``shape``."""
        if self.args.batch_shape is not None:
            return tuple(self.args.batch_shape)
        return (self.args.batch_size, *(self.args.shape or ()))


@register
class Dense(Layer):
    """Fully connected layer on the last axis: ``activation(x @ kernel + bias)``.

    On inputs of rank > 2 it acts on the last axis only, the same kernel at every position.
    """

    keras_name = "Dense"
    family = "core"
    supports_masking = True

    class Args(LayerArgs):
        units = PositiveInt(required=True)
        activation = activation_field()
        use_bias = fields.Boolean(load_default=True)

    def output_shape(self, shape: Shape) -> Shape:
        self.require_rank_at_least_2(shape)
        return (*shape[:-1], self.args.units)

    def require_rank_at_least_2(self, shape: Shape) -> None:
        if len(shape) < 2:
            raise LayerInputIncompatible(
                f"Dense needs inputs with at least a batch axis and a feature axis, but "
                f"received {format_shape(shape)}.",
                "Give the model input a feature axis, e.g. shape (1,) for one number per sample.",
            )

    def weights_for(self, shape: Shape) -> list[Weight]:
        self.require_rank_at_least_2(shape)
        fan_in = self.require_known(shape[-1], "the size of the last axis of its input")
        weights = [Weight("kernel", (fan_in, self.args.units), initializer="glorot_uniform")]
        if self.args.use_bias:
            weights.append(Weight("bias", (self.args.units,)))
        return weights

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        positions = num_elements(inputs[0][1:-1]) or 0
        return positions * (inputs[0][-1] or 0) * self.args.units

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        kernel = weights[0]
        # One 2-D product: matmul on a 3-D array runs one small product per leading index.
        y = (x.reshape(-1, x.shape[-1]) @ kernel).reshape(*x.shape[:-1], kernel.shape[-1])
        if self.args.use_bias:
            y += weights[1]
        return activations.apply_in_place(self.args.activation, y)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        shape, units = inputs[0], self.args.units
        if len(shape) <= 2:
            return f"{shape[-1]} input features → {units} units"
        kept = format_shape(shape[1:-1])
        return (f"acts on the last axis only, {shape[-1]} → {units}, axes {kept} kept "
                f"(the same {units} units at every position)")

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        fan_in = inputs[0][-1]
        bias = " + 1" if self.args.use_bias else ""
        total = sum(w.size for w in weights)
        return (f"{self.explain_shape(inputs, outputs)}; params ({fan_in}{bias})·{self.args.units}"
                f" = {total:,}")


@register
class Activation(Layer):
    """Applies an activation function element by element."""

    keras_name = "Activation"
    family = "core"
    elementwise = True
    supports_masking = True

    class Args(LayerArgs):
        activation = activation_field(required=True)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return activations.get(self.args.activation)(x)


@register
class Identity(Layer):
    """Returns its input unchanged."""

    keras_name = "Identity"
    family = "core"
    elementwise = True
    supports_masking = True


@register
class Embedding(Layer):
    """Turns integer indices into vectors of ``output_dim``: (batch, ...) → (batch, ..., d)."""

    keras_name = "Embedding"
    family = "core"
    legacy_args = MappingProxyType({"init": "embeddings_initializer"})

    class Args(LayerArgs):
        input_dim = PositiveInt(required=True)
        output_dim = PositiveInt(required=True)
        mask_zero = fields.Boolean(load_default=False)

    def output_shape(self, shape: Shape) -> Shape:
        return (*shape, self.args.output_dim)

    def weights_for(self, shape: Shape) -> list[Weight]:
        return [Weight("embeddings", (self.args.input_dim, self.args.output_dim),
                       initializer="uniform")]

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return weights[0][x.astype(np.int64)]

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        """With ``mask_zero`` the index 0 is padding: the mask is False there."""
        return [inputs[0] != 0] if self.args.mask_zero else []

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"each of the {format_shape(inputs[0][1:])} integer indices (0 to "
                f"{self.args.input_dim - 1}) becomes a vector of {self.args.output_dim}")


@register
class Opaque(Layer):
    """A layer the engine cannot run (a custom class), described by what it does.

    Its output shape and parameter count come from the request (``overrides`` or the native
    ``{"type": "Opaque", "output_shape": ..., "params": ...}``), so the rest of the model can
    still be checked.
    """

    keras_name = "Opaque"
    family = "core"
    arity = None

    class Args(LayerArgs):
        output_shape = ShapeField(required=True)
        params = Int(min_value=0, load_default=0)
        trainable_params = Int(min_value=0, load_default=None, allow_none=True)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.declared_shape: Shape = tuple(args["output_shape"])

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        return [self.declared_shape]

    def build(self, inputs: Shapes) -> list[Weight]:
        params = self.args.params
        declared = self.args.trainable_params
        trainable = params if declared is None else min(declared, params)
        weights = [Weight("declared", (trainable,))] if trainable else []
        if params - trainable > 0:
            weights.append(Weight("declared_non_trainable", (params - trainable,), trainable=False))
        return weights

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return f"declared by the request: output {format_shape(self.declared_shape)}"
