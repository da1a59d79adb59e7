"""Regularization layers: Dropout, SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout,
AlphaDropout, ActivityRegularization, and Masking.

At inference (``predict``) the noise layers pass their input through unchanged, which is what
the forward pass computes; the spatial dropouts still check their input's rank, as Keras does.
Masking replaces the time steps it masks with zeros (it is listed here because it has no
weights and keeps the shape).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
from marshmallow import fields

from ..errors import ArgumentError
from ..fields import Choice, Float, Int, ShapeField
from ..shapes import DATA_FORMATS, Shape, format_shape
from .base import Array, Layer, LayerArgs, Mask, Shapes, register
from .conv import layout_description
from .tf_keras import tf_keras_variant


class RegularizationLayer(Layer):
    """A layer that is the identity at inference."""

    family = "regularization"
    elementwise = True
    supports_masking = True
    keeps_integers = True

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"active only in training; at inference the input passes unchanged, the shape "
                f"{format_shape(outputs[0])} is kept")


class RateArgs(LayerArgs):
    rate = Float(min_value=0.0, max_value=1.0, required=True)
    seed = Int(load_default=None, allow_none=True)


@register
class Dropout(RegularizationLayer):
    """In training, zeroes a fraction ``rate`` of the elements (the others scaled by
    1 / (1 − rate)); ``noise_shape`` drops whole slices together."""

    keras_name = "Dropout"

    class Args(RateArgs):
        noise_shape = ShapeField(load_default=None, allow_none=True)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        if 0 in (args["noise_shape"] or ()):
            raise ArgumentError("noise_shape", "each axis must be a positive integer or null, "
                                               f"got {list(args['noise_shape'])}")


@register
class AlphaDropout(RegularizationLayer):
    """In training, drops elements to SELU's negative saturation value and rescales so that
    the mean and variance are kept (for self-normalising networks)."""

    keras_name = "AlphaDropout"

    class Args(RateArgs):
        noise_shape = fields.Raw(load_default=None, allow_none=True)


@register
class GaussianDropout(RegularizationLayer):
    """In training, multiplies by noise of mean 1 and variance rate / (1 − rate)."""

    keras_name = "GaussianDropout"
    Args = RateArgs


@register
class GaussianNoise(RegularizationLayer):
    """In training, adds zero-mean Gaussian noise of standard deviation ``stddev`` (Keras
    accepts 0 to 1)."""

    keras_name = "GaussianNoise"
    legacy_args = MappingProxyType({"sigma": "stddev"})

    class Args(LayerArgs):
        stddev = Float(min_value=0.0, max_value=1.0, required=True)
        seed = Int(load_default=None, allow_none=True)


@tf_keras_variant
class TfKerasGaussianNoise(GaussianNoise):
    """tf.keras 2 takes any standard deviation (a negative one is refused here all the same)."""

    class Args(GaussianNoise.Args):
        stddev = Float(min_value=0.0, required=True)


class SpatialDropout(RegularizationLayer):
    """Shared by SpatialDropout1D/2D/3D: drops whole feature maps (channels) in training."""

    rank: ClassVar[int]

    class Args(RateArgs):
        data_format = Choice(DATA_FORMATS, load_default=None, allow_none=True)

    def output_shape(self, shape: Shape) -> Shape:
        data_format = getattr(self.args, "data_format", None) or "channels_last"
        self.require_rank(shape, self.rank + 2, what=layout_description(self.rank, data_format))
        return shape

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return ("drops whole channels in training; at inference the input passes unchanged, "
                f"the shape {format_shape(outputs[0])} is kept")


@register
class SpatialDropout1D(SpatialDropout):
    """Dropout of whole channels of (batch, steps, channels); Keras' SpatialDropout1D has no
    data_format."""

    keras_name = "SpatialDropout1D"
    rank = 1
    Args = RateArgs


@register
class SpatialDropout2D(SpatialDropout):
    """Dropout of whole feature maps of (batch, height, width, channels)."""

    keras_name = "SpatialDropout2D"
    rank = 2


@register
class SpatialDropout3D(SpatialDropout):
    """Dropout of whole feature volumes of (batch, depth, height, width, channels)."""

    keras_name = "SpatialDropout3D"
    rank = 3


@register
class ActivityRegularization(RegularizationLayer):
    """Adds ``l1·Σ|x| + l2·Σx²`` of its input to the training loss; passes the input
    unchanged."""

    keras_name = "ActivityRegularization"

    class Args(LayerArgs):
        l1 = Float(min_value=0.0, load_default=0.0)
        l2 = Float(min_value=0.0, load_default=0.0)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"adds l1·Σ|x| + l2·Σx² (l1={self.args.l1:g}, l2={self.args.l2:g}) to the "
                f"training loss; the input passes unchanged, the shape "
                f"{format_shape(outputs[0])} is kept")


@register
class Masking(Layer):
    """Masks the time steps whose features all equal ``mask_value``: downstream layers that
    support masks (RNNs, attention) skip them, and their values become zeros."""

    keras_name = "Masking"
    family = "regularization"
    supports_masking = True
    keeps_integers = True

    class Args(LayerArgs):
        mask_value = Float(load_default=0.0)

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return np.where(self.kept(x)[..., None], x, np.float32(0))

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        return [self.kept(inputs[0])]

    def kept(self, x: Array) -> Array:
        """The mask: False at the positions whose last axis is all ``mask_value``."""
        return np.any(x != np.float32(self.args.mask_value), axis=-1)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"positions whose last axis ({inputs[0][-1]} features) is all "
                f"{self.args.mask_value:g} are masked and zeroed; the shape "
                f"{format_shape(outputs[0])} is kept")
