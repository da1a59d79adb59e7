"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

They take a list of tensors. Shapes follow Keras 3's ``keras/src/layers/merging/``: the
elementwise merges broadcast as ``Merge._compute_elemwise_op_output_shape`` (per-sample shapes
aligned on their last axes, a 1 stretches, an unknown axis stays unknown), Concatenate needs
every axis but the concatenation axis to agree, and Dot contracts one axis of each of two
inputs per sample.

In tf.keras 2 documents the output shape is that of TensorFlow's op (``tf_keras_variant``):
an unknown axis takes the known length another input has there, above 1 where it broadcasts
(``TfKerasBroadcasting``), any on Concatenate's other axes (``TfKerasConcatenate``).

Masks: the elementwise merges mask their output with the OR of their inputs' masks when every
input has one; Maximum, Minimum and Multiply also leave the masked elements of an input out of
the result. Concatenate joins the masks along its axis; Dot drops them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import reduce
from typing import Any, ClassVar

import numpy as np
from marshmallow import fields

from ..errors import ArgumentError, LayerInputIncompatible
from ..fields import Int
from ..shapes import Dim, Shape, broadcast_shapes, format_shape, shapes_text
from .base import (
    INTEGER_DTYPES,
    Array,
    Layer,
    LayerArgs,
    Mask,
    Shapes,
    Weight,
    expand_mask,
    promoted_dtype,
    register,
    wrapped_integers,
    wraps_around,
)
from .tf_keras import tf_keras_variant


class Merge(Layer):
    """A layer that combines a list of tensors into one."""

    family = "merge"
    arity = None
    supports_masking = True
    exact_inputs: ClassVar[int | None] = None
    """How many tensors the layer takes, when it is not "any number"."""

    def build(self, inputs: Shapes) -> list[Weight]:
        return []

    def check_count(self, inputs: Shapes) -> None:
        wanted = self.exact_inputs
        if wanted is not None and len(inputs) != wanted:
            raise LayerInputIncompatible(
                f"{self.keras_name} takes exactly {wanted} input tensors, but received "
                f"{len(inputs)}: {shapes_text(inputs)}.",
                f"Give it a list of {wanted} inputs.")

    def check_batch_sizes(self, inputs: Shapes) -> Dim:
        """The batch size the inputs agree on (None when unknown); Keras refuses two known
        batch sizes that differ."""
        sizes = {s[0] for s in inputs if s} - {None}
        if len(sizes) > 1:
            raise LayerInputIncompatible(
                f"{self.keras_name} cannot merge tensors with different batch sizes: "
                f"{shapes_text(inputs)}.",
                "Every input of a merge must have the same batch size; leave the batch "
                "axis unknown (None) in the model inputs.")
        return next(iter(sizes), None)


class ElementwiseMerge(Merge):
    """Shared by Add, Subtract, Multiply, Average, Maximum, Minimum: one value per element,
    inputs broadcast against each other. Integer tensors stay integers, computed in their
    dtype."""

    keeps_integers = True

    operation: ClassVar[str]
    """What is done to the inputs, for explanations: "added"."""
    known_wins: ClassVar[bool] = False
    """Whether an unknown axis takes another input's known length (``broadcast_shapes``)."""
    broadcasting: ClassVar[str] = "axes of 1 stretch, unknown axes stay unknown"
    """How the shapes broadcast, for explanations."""

    overflows: ClassVar[bool] = True
    """Whether the result of integers may leave their dtype's range (not a maximum)."""

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        """Sums, differences and products of integers overflow as integer arithmetic does
        (uint8 pixels summed past 255 wrap around); maxima and minima cannot."""
        return [wrapped_integers(y, dtype) for y in outputs]

    def integer_caveat(self, dtype: str) -> str | None:
        past = wraps_around(dtype)
        if past is None or not self.overflows:
            return None
        return f"computes in {dtype}, where results {past} wrap around"

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        self.check_count(inputs)
        first = inputs[0]
        if first and inputs.count(first) == len(inputs):  # equal shapes: the usual residual
            return [tuple(first)]
        batch = self.check_batch_sizes(inputs)
        combined = first[1:]
        for shape in inputs[1:]:
            out = broadcast_shapes(combined, shape[1:], known_wins=self.known_wins)
            if out is None:
                raise self.mismatch((batch, *combined), shape)
            combined = out
        return [(batch, *combined)]

    def mismatch(self, a: Shape, b: Shape) -> LayerInputIncompatible:
        """Two (batched) shapes that do not broadcast, aligned on their last axes."""
        rank = max(len(a), len(b))
        a_aligned = (None,) * (rank - len(a)) + tuple(a)
        b_aligned = (None,) * (rank - len(b)) + tuple(b)
        differ = ", ".join(f"axis {i} ({x} vs {y})"
                           for i, (x, y) in enumerate(zip(a_aligned, b_aligned, strict=True))
                           if i and None not in (x, y) and 1 not in (x, y) and x != y)
        return LayerInputIncompatible(
            f"{self.keras_name} combines its inputs element by element, so their shapes must "
            f"be equal (an axis of 1 is stretched), but {format_shape(a)} and "
            f"{format_shape(b)} differ on {differ}.",
            "In a residual or skip connection, bring the shortcut to the branch's shape: a "
            "1×1 Conv2D (or Dense) with as many channels and the same strides, and "
            "padding='same' in the branch's convolutions so that the spatial sizes are kept.")

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        return [self.combine(expand_to_rank(inputs))]

    def combine(self, xs: list[Array]) -> Array:
        raise NotImplementedError

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        """Keras' ``Merge.compute_mask``: the OR of the masks when every input has one."""
        if any(mask is None for mask in masks):
            return []
        try:
            np.broadcast_shapes(*(mask.shape for mask in masks))
        except ValueError:
            raise NotImplementedError(
                f"{self.keras_name} combines the masks of its inputs element by element, but "
                f"{shapes_text(mask.shape for mask in masks)} do not broadcast; Keras cannot "
                "combine them either.") from None
        return [reduce(np.logical_or, masks)]

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        out = tuple(outputs[0])
        out_text = format_shape(out)
        if all([tuple(s) == out for s in inputs]):
            how, listed = "", ", ".join([out_text] * len(inputs))
        else:
            how = f" (broadcast: {self.broadcasting})"
            listed = shapes_text(inputs)
        return (f"{len(inputs)} inputs {self.operation} element by element{how}: "
                f"{listed} → {out_text}")


def expand_to_rank(xs: Sequence[Array]) -> list[Array]:
    """Keras' merge reshaping: inputs of lower rank get axes of 1 after the batch axis."""
    rank = max(x.ndim for x in xs)
    return [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]


def element_masks(xs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
    """Each input's mask over its elements (an axis of 1 appended, broadcast), as Maximum,
    Minimum and Multiply read them. An input that Keras reshapes to the others' rank is a new
    tensor without a mask."""
    rank = max(x.ndim for x in xs)
    return [None if mask is None or x.ndim < rank else expand_mask(mask, x.shape)
            for x, mask in zip(xs, masks, strict=True)]


@register
class Add(ElementwiseMerge):
    """Adds a list of tensors of the same shape (or broadcastable) element by element."""

    keras_name = "Add"
    operation = "added"

    def combine(self, xs: list[Array]) -> Array:
        return reduce(np.add, xs)


@register
class Subtract(ElementwiseMerge):
    """Subtracts the second of exactly two tensors from the first."""

    keras_name = "Subtract"
    operation = "subtracted"
    exact_inputs = 2

    def combine(self, xs: list[Array]) -> Array:
        return xs[0] - xs[1]


@register
class Multiply(ElementwiseMerge):
    """Multiplies a list of tensors element by element."""

    keras_name = "Multiply"
    operation = "multiplied"

    def combine(self, xs: list[Array]) -> Array:
        return reduce(np.multiply, xs)

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        """Masked elements count as 1; where every input has a mask, the elements masked in
        all of them are 0."""
        xs = expand_to_rank(inputs)
        kept = element_masks(inputs, masks)
        product = self.combine([x if mask is None else np.where(mask, x, np.float32(1))
                                for x, mask in zip(xs, kept, strict=True)])
        if any(mask is None for mask in kept):
            return [product]
        return [np.where(reduce(np.logical_or, kept), product, np.float32(0))]


@register
class Average(ElementwiseMerge):
    """Averages a list of tensors element by element."""

    keras_name = "Average"
    operation = "averaged"
    keeps_integers = False  # divided into floats

    def combine(self, xs: list[Array]) -> Array:
        return reduce(np.add, xs) / np.float32(len(xs))

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        """Keras sums integers in their dtype, where the sum may wrap around, and divides."""
        count = np.float32(len(inputs))
        return [wrapped_integers(np.round(y * count), dtype) / count for y in outputs]

    def integer_caveat(self, dtype: str) -> str | None:
        past = wraps_around(dtype)
        return None if past is None else f"sums them in {dtype}, where sums {past} wrap around"


@register
class Maximum(ElementwiseMerge):
    """The element-wise maximum of a list of tensors."""

    keras_name = "Maximum"
    overflows = False
    operation = "compared (maximum)"

    def combine(self, xs: list[Array]) -> Array:
        return reduce(np.maximum, xs)

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        return [extremum(np.maximum, inputs, masks)]


@register
class Minimum(ElementwiseMerge):
    """The element-wise minimum of a list of tensors."""

    keras_name = "Minimum"
    overflows = False
    operation = "compared (minimum)"

    def combine(self, xs: list[Array]) -> Array:
        return reduce(np.minimum, xs)

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        return [extremum(np.minimum, inputs, masks)]


def extremum(op: Callable[[Array, Array], Array], inputs: Sequence[Array],
             masks: Sequence[Mask]) -> Array:
    """Keras' ``_apply_merge_op_and_or_mask``: a masked element of an input takes the running
    result's value, and a masked element of the running result the input's, before ``op``."""
    xs = expand_to_rank(inputs)
    kept = element_masks(inputs, masks)
    output, output_mask = xs[0], kept[0]
    for x, mask in zip(xs[1:], kept[1:], strict=True):
        if mask is not None:
            x = np.where(mask, x, output)
        if output_mask is not None:
            output = np.where(output_mask, output, x)
        output_mask = None if mask is None or output_mask is None else output_mask | mask
        output = op(output, x)
    return output


@register
class Concatenate(Merge):
    """Joins a list of tensors along ``axis``; every other axis must agree (an unknown axis
    agrees with anything)."""

    keras_name = "Concatenate"
    keeps_integers = True

    class Args(LayerArgs):
        axis = Int(load_default=-1)

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        axis = self.concat_axis(inputs)
        first = inputs[0]
        before, after = first[:axis], first[axis + 1:]
        equal, length = True, 0
        for shape in inputs:  # one loop: cheaper than comprehensions over a few inputs
            equal = equal and shape[:axis] == before and shape[axis + 1:] == after
            if length is not None:
                length = None if shape[axis] is None else length + shape[axis]
        if not equal:
            self.check_other_axes(inputs, axis)
        return [(*before, length, *after)]

    def concat_axis(self, inputs: Shapes) -> int:
        """``axis`` as a non-negative index; the inputs must share a rank that has it."""
        rank = len(inputs[0])
        for shape in inputs:
            if len(shape) != rank:
                raise LayerInputIncompatible(
                    f"Concatenate needs inputs of the same rank, but received "
                    f"{shapes_text(inputs)} (ranks {', '.join(str(len(s)) for s in inputs)}).",
                    "Reshape or Flatten the inputs first so that they have the same number of "
                    "axes.")
        if not -rank <= self.args.axis < rank:
            raise LayerInputIncompatible(
                f"Concatenate joins along axis {self.args.axis}, which rank-{rank} inputs "
                f"{shapes_text(inputs)} do not have (axes 0 to {rank - 1}, or -{rank} to -1).",
                "Use axis=-1 to join the last axis (the channels of channels_last images).")
        return self.args.axis % rank

    def check_other_axes(self, inputs: Shapes, axis: int) -> None:
        """Raise unless the inputs agree on every axis but ``axis``; an unknown (None) length
        agrees with anything."""
        differ = [a for a in range(len(inputs[0]))
                  if a != axis and len({s[a] for s in inputs} - {None}) > 1]
        if differ:
            raise self.mismatch(inputs, axis, differ)

    def mismatch(self, inputs: Shapes, axis: int, differ: list[int]) -> LayerInputIncompatible:
        given = f" (axis {axis} here)" if self.args.axis != axis else ""
        details = " and ".join(
            f"axis {a} ({' vs '.join(str(s[a]) for s in inputs)})" for a in differ)
        rank = len(inputs[0])
        if 3 <= rank <= 5:
            hint = ("Make the sizes equal before joining: use padding='same' in the "
                    "convolutions and pooling layers upstream, or crop or pad one branch "
                    f"(Cropping{rank - 2}D, ZeroPadding{rank - 2}D) to the other's size.")
        else:
            hint = ("Bring the inputs to the same size on those axes (Dense, Reshape), or "
                    "concatenate along the axis where they differ.")
        return LayerInputIncompatible(
            f"Concatenate joins its inputs along axis {self.args.axis}{given}, so all other "
            f"axes must match, but {shapes_text(inputs)} differ on {details}.",
            hint)

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        return [np.concatenate(inputs, axis=self.args.axis)]

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        """Keras' ``Concatenate.compute_mask``: each input's mask over its elements (all True
        for an unmasked input) joined along ``axis``, then true where any of the last axis is.
        """
        if all(mask is None for mask in masks):
            return []
        elements = [np.ones(x.shape, bool) if mask is None else expand_mask(mask, x.shape)
                    for x, mask in zip(inputs, masks, strict=True)]
        return [np.any(np.concatenate(elements, axis=self.args.axis), axis=-1)]

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        axis = self.concat_axis(inputs)
        terms = " + ".join([str(shape[axis]) for shape in inputs])
        total = outputs[0][axis]
        summed = f"{terms} is unknown (None)" if total is None else f"{terms} = {total}"
        return (f"{len(inputs)} inputs joined along axis {axis}: {summed}; "
                f"{shapes_text(inputs)} → {format_shape(outputs[0])}")


@register
class Dot(Merge):
    """Dot product of two tensors per sample, along axis ``axes[0]`` of the first and
    ``axes[1]`` of the second (an int means the same axis in both); ``normalize`` takes the
    cosine similarity instead."""

    keras_name = "Dot"
    exact_inputs = 2
    keeps_integers = True

    class Args(LayerArgs):
        axes = fields.Raw(required=True, metadata={"type": "integer or list of 2 integers"})
        normalize = fields.Boolean(load_default=False)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        axes = args["axes"]
        pair_given = isinstance(axes, list | tuple) and len(axes) == 2
        if not all(isinstance(a, int) and not isinstance(a, bool)
                   for a in (axes if pair_given else [axes])):
            raise ArgumentError("axes", f"must be an integer or a list of 2 integers, got "
                                        f"{axes!r}")
        self.axes: tuple[int, int] = tuple(axes) if pair_given else (axes, axes)

    def contracted_axes(self, inputs: Shapes) -> tuple[int, int]:
        """``axes`` as non-negative indices of the two inputs."""
        resolved = []
        for axis, shape in zip(self.axes, inputs, strict=True):
            if not -len(shape) <= axis < len(shape):
                raise LayerInputIncompatible(
                    f"Dot contracts axis {axis}, which the input {format_shape(shape)} does not "
                    f"have.", "Choose axes that exist in both inputs, e.g. axes=-1.")
            resolved.append(axis % len(shape))
        if 0 in resolved:
            raise LayerInputIncompatible(
                f"Dot cannot contract the batch axis (axis 0) of {shapes_text(inputs)}: it "
                "multiplies the samples of a batch pairwise.",
                "Count axes from 1 (axis 0 is the batch axis), or use -1 for the last one.")
        return resolved[0], resolved[1]

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        self.check_count(inputs)
        self.check_batch_sizes(inputs)
        a, b = self.contracted_axes(inputs)
        x, y = inputs
        if x[a] != y[b]:
            raise LayerInputIncompatible(
                f"Dot multiplies axis {a} of {format_shape(x)} with axis {b} of "
                f"{format_shape(y)} element by element and sums, so their lengths must be "
                f"equal (and known in both, as Keras checks), but they are {x[a]} and {y[b]}.",
                "Choose the axes of equal length with `axes`, or project one input (Dense) "
                "to the other's size.")
        out = (*x[:a], *x[a + 1:], *y[1:b], *y[b + 1:])
        return [out if len(out) > 1 else (*out, 1)]

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        x, y = inputs
        a, b = self.contracted_axes([x.shape, y.shape])
        if self.args.normalize:
            x, y = l2_normalize(x, a), l2_normalize(y, b)
        x = np.moveaxis(x, a, -1)
        y = np.moveaxis(y, b, 1)
        batch, n = x.shape[0], x.shape[-1]
        product = x.reshape(batch, -1, n) @ y.reshape(batch, n, -1)
        out = product.reshape(batch, *x.shape[1:-1], *y.shape[2:])
        return [out.reshape(batch, 1) if out.ndim == 1 else out]

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        return []

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        return None if self.args.normalize else super().output_dtype(dtypes)

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        """Products of integers summed in their dtype, which may wrap around."""
        super().on_integer_inputs(inputs, weights, outputs, dtype)  # refused where normalised
        return [wrapped_integers(y, dtype) for y in outputs]

    def integer_caveat(self, dtype: str) -> str | None:
        past = wraps_around(dtype)
        if past is None or self.args.normalize:
            return super().integer_caveat(dtype)
        return f"sums the products in {dtype}, where results {past} wrap around"

    def integer_failure(self) -> str | None:
        """Normalising integers fails (probed in both Keras)."""
        if not self.args.normalize:
            return None
        return "normalises them (normalize=True) as integers (\"rsqrt does not accept\" them)"

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        a, b = self.contracted_axes(inputs)
        x, y = inputs
        what = "cosine similarity" if self.args.normalize else "dot product"
        return (f"{what} over axis {a} of {format_shape(x)} and axis {b} of {format_shape(y)} "
                f"({x[a]} terms summed); the other axes are kept: {format_shape(outputs[0])}")


def l2_normalize(x: Array, axis: int, epsilon: float = 1e-7) -> Array:
    """Keras' ``ops.normalize`` (order 2): ``x * min(1 / ‖x‖, 1 / epsilon)``."""
    with np.errstate(divide="ignore"):
        inverse_norm = 1.0 / np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
    return x * np.minimum(inverse_norm, np.float32(1.0 / epsilon))


# -- tf.keras 2 -------------------------------------------------------------------------------
class TfKerasBroadcasting(ElementwiseMerge):
    """tf.keras 2's elementwise merges. Their shapes are those of TensorFlow's ops, whose
    static broadcasting gives an unknown axis the known length above 1 of another input there
    ((None, 2, 2, None) and (None, 1, None, 4) → (None, 2, 2, 4)). Their values ignore the
    masks (Keras 3's Maximum, Minimum and Multiply leave masked elements out), and their
    output's mask is the AND of the masks their inputs carry, those without one left out
    (Keras 3: the OR, where every input has one)."""

    known_wins = True
    broadcasting = ("axes of 1 stretch, an unknown axis takes another input's known length "
                    "above 1, as in tf.keras 2")

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        return self.forward(inputs, weights)

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        present = [mask for mask in masks if mask is not None]
        if not present:
            return []
        if any(mask.shape != present[0].shape for mask in present):
            raise NotImplementedError(
                f"{self.keras_name} stacks the masks of its inputs, but "
                f"{shapes_text(mask.shape for mask in present)} differ; tf.keras 2 cannot "
                "stack them either.")
        return [reduce(np.logical_and, present)]


@tf_keras_variant
class TfKerasAdd(TfKerasBroadcasting, Add):
    """Add as tf.keras 2 computes its shape."""


@tf_keras_variant
class TfKerasSubtract(TfKerasBroadcasting, Subtract):
    """Subtract as tf.keras 2 computes its shape."""


@tf_keras_variant
class TfKerasMultiply(TfKerasBroadcasting, Multiply):
    """Multiply as tf.keras 2 computes its shape."""


@tf_keras_variant
class TfKerasAverage(TfKerasBroadcasting, Average):
    """Average as tf.keras 2 computes its shape; integers are averaged as TensorFlow divides
    them: into float64 from 32 or 64 bits, into float32 from fewer (probed: int32, uint8)."""

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        if not dtypes or not all(d in INTEGER_DTYPES for d in dtypes):
            return None
        return "float64" if np.dtype(promoted_dtype(dtypes)).itemsize >= 4 else None


@tf_keras_variant
class TfKerasMaximum(TfKerasBroadcasting, Maximum):
    """Maximum as tf.keras 2 computes its shape."""


@tf_keras_variant
class TfKerasMinimum(TfKerasBroadcasting, Minimum):
    """Minimum as tf.keras 2 computes its shape."""


@tf_keras_variant
class TfKerasConcatenate(Concatenate):
    """Concatenate as tf.keras 2 computes its shape, that of TensorFlow's concat: an axis
    other than the joined one takes its known length from whichever input has it
    ((None, None, 4) and (None, 3, 2) → (None, 3, 6)); and its mask."""

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        (joined,) = super().output_shapes(inputs)
        axis = self.concat_axis(inputs)
        return [tuple(length if i == axis else known_length(s[i] for s in inputs)
                      for i, length in enumerate(joined))]

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        """tf.keras 2's ``Concatenate.compute_mask``: a mask of fewer axes than its input gets
        one axis of 1 (not broadcast), an unmasked input gives ones of its own shape, they are
        joined along ``axis``, and a position is kept where *every* value of the last axis is
        (Keras 3 keeps it where *any* is): two masked inputs joined on their features AND
        their masks (tf.keras 2.15, 2.17 and 2.21, recorded in tests/fixtures/versions)."""
        if all(mask is None for mask in masks):
            return []
        elements = [np.ones(x.shape, bool) if mask is None
                    else mask[..., None] if mask.ndim < x.ndim else mask
                    for x, mask in zip(inputs, masks, strict=True)]
        try:
            joined = np.concatenate(elements, axis=self.args.axis)
        except ValueError:
            raise NotImplementedError(
                f"Concatenate joins the masks of its inputs along axis {self.args.axis}, but "
                f"{shapes_text(e.shape for e in elements)} do not join; tf.keras 2 cannot "
                "join them either.") from None
        return [np.all(joined, axis=-1)]


def known_length(lengths: Iterable[Dim]) -> Dim:
    """The first known length of an axis, or None (the inputs agree on every known one)."""
    return next((length for length in lengths if length is not None), None)
