"""Reshaping layers: Flatten.

Shapes follow Keras 3's ``keras/src/layers/reshaping/`` ``compute_output_shape``; the forward
kernels are numpy reshapes, transposes, pads and slices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..fields import Choice
from ..shapes import DATA_FORMATS, Shape, format_shape, num_elements
from .base import Array, Layer, LayerArgs, Shapes, register


class DataFormatArgs(LayerArgs):
    data_format = Choice(DATA_FORMATS, load_default=None, allow_none=True)


class ReshapingLayer(Layer):
    """A reshaping layer: no weights; ``data_format`` None means channels_last."""

    family = "reshaping"

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
        product = " · ".join(str(d) for d in rest)
        return f"the axes {format_shape(rest)} are flattened into one: {product} = {size:,}"

