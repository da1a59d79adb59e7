"""Attention layers: MultiHeadAttention, GroupedQueryAttention, Attention (Luong) and
AdditiveAttention (Bahdanau).

``Attention`` and ``AdditiveAttention`` are called with a list ``[query, value]`` or
``[query, value, key]``; the others with ``query, value[, key]``. Either way the call's input
tensors arrive in that order, and a missing key is the value.

MultiHeadAttention and GroupedQueryAttention build four (five with ``use_gate``) ``EinsumDense``
projections whose kernels are listed in the order Keras creates them: query, key, gate, value,
attention_output. The einsum equations are Keras' own (``_build_attention_equation``), so the
numpy kernel follows the same contractions on inputs of any rank.

MACs count the multiplications against weights (the projections); the query-key products and
the weighted sums of values multiply two activations and are not counted.

Call options: ``return_attention_scores`` adds the attention weights as a second output and
``use_causal_mask`` keeps each query step from attending to later key steps. Keras masks: a
query step without its mask attends nowhere (Attention zeroes its output) and a key step
without its mask is attended by none; the output carries the query's mask. A call may give the
masks as arguments: Attention's ``mask=[query_mask, value_mask]``; the ``query_mask``,
``value_mask``, ``key_mask`` (MultiHeadAttention ignores its ``query_mask``) and
``attention_mask`` (batch, T, S), ANDed with the others, of the projected ones. MultiHeadAttention
and GroupedQueryAttention take Keras' fused path (``ops.dot_product_attention``) when they have
no dropout and return no scores: there a query step that may attend nowhere averages every value
(a uniform softmax), where the einsum path gives it zero weights; tf.keras 2, always on einsums,
shifts its scores by -1e9 and normalises them (about uniform).
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, ClassVar

import numpy as np
from marshmallow import fields

from .. import activations
from ..errors import ArgumentError, LayerInputIncompatible
from ..fields import Choice, Float, IntTuple, PositiveInt, TfKerasOnly
from ..shapes import Dim, Shape, broadcast_shapes, format_shape, num_elements, shapes_text
from .activations import LARGE_NEGATIVE, masked_softmax, robust_softmax, shifted_softmax
from .base import Array, Layer, LayerArgs, Mask, ShapeCaveat, Shapes, Weight, expand_mask, register
from .normalization import Axes
from .tf_keras import tf_keras_variant

SCORE_PADDING = np.float32(1e9)
"""What Attention subtracts from the scores of masked key steps."""


def einsum_letters(start: int, count: int) -> str:
    return string.ascii_lowercase[start:start + count]


def attention_equations(rank: int, attention_axes: tuple[int, ...]) -> tuple[str, str]:
    """Keras' ``_build_attention_equation`` for projected tensors of ``rank`` axes
    ``(batch, <other axes>, <attention axes>, heads, channels)``: the query-key product and
    the combination of the scores with the values."""
    target = einsum_letters(0, rank)
    batch_dims = tuple(np.delete(range(rank), (*attention_axes, rank - 1)))
    source = ""
    offset = rank
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += string.ascii_lowercase[offset]
            offset += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attention_axes]
                      + [source[i] for i in attention_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}"


def head_scores(q: Array, k: Array) -> Array:
    """``einsum("bthd,bshd->bhts", q, k)`` as one batched BLAS product (einsum multiplies in
    its own loops): the scores (batch, heads, T, S) of (batch, steps, heads, channels) inputs.
    """
    return q.transpose(0, 2, 1, 3) @ k.transpose(0, 2, 3, 1)


def heads_combined(weights: Array, v: Array) -> Array:
    """``einsum("bhts,bshd->bthd", weights, v)`` as one batched BLAS product."""
    return (weights @ v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)


def steps(shape: Shape) -> str:
    """``5 in all`` for (batch, 5, features); ``unknown number`` when axis -2 is None."""
    count = shape[-2] if len(shape) > 2 else 1
    return "unknown number" if count is None else f"{count} in all"


def differ(a: int | None, b: int | None) -> bool:
    """Two sizes known to be different."""
    return a is not None and b is not None and a != b


def band_mask(rows: int, cols: int, window: int) -> Array:
    """Keras' sliding-window mask (1, rows, cols): True where ``|i - j| < window``."""
    return np.abs(np.arange(rows)[:, None] - np.arange(cols)[None, :])[None] < window


def causal_mask(rows: int, cols: int) -> Array:
    """Keras' causal mask (1, rows, cols): True where ``j <= i``."""
    return np.tril(np.ones((rows, cols), bool))[None]


def sequence_mask(mask: Mask, tensor: Array, what: str, layer: str) -> Mask:
    """The Keras mask of a (batch, steps, features) input, checked to be (batch, steps)."""
    if mask is not None and mask.shape != tensor.shape[:-1]:
        raise NotImplementedError(
            f"{layer} reads the mask of its {what} as one value per step "
            f"{format_shape(tensor.shape[:-1])}, but that mask is {format_shape(mask.shape)}; "
            "Keras cannot apply it either.")
    return mask


STEP_MASKS = ("query_mask", "value_mask", "key_mask")


def tensor_argument(options: Mapping[str, Any], name: str, layer: str) -> Array | None:
    """The call's mask argument ``name``: one tensor (or None), as Keras takes it."""
    value = options.get(name)
    if value is not None and not isinstance(value, np.ndarray):
        raise NotImplementedError(
            f"{layer} takes its {name} argument as one tensor, but it is a "
            f"{type(value).__name__}.")
    return value


def fits_scores(mask: tuple[int, ...], scores: tuple[int, ...]) -> bool:
    """Whether a mask broadcasts to the attention scores' shape."""
    try:
        return np.broadcast_shapes(mask, scores) == scores
    except ValueError:
        return False


@dataclass(frozen=True)
class Projection:
    """One of MultiHeadAttention's EinsumDense projections, named as Keras names it."""

    name: str
    kernel: tuple[int, ...]
    bias: tuple[int, ...] | None

    def weights(self) -> list[Weight]:
        out = [Weight(f"{self.name}/kernel", self.kernel, initializer="glorot_uniform")]
        if self.bias is not None:
            out.append(Weight(f"{self.name}/bias", self.bias))
        return out


def split_query_value_key(kind: str, inputs: Shapes) -> tuple[Shape, Shape, Shape]:
    """Every attention layer reads [query, value] or [query, value, key]; the key defaults to
    the value."""
    if len(inputs) not in (2, 3):
        raise LayerInputIncompatible(
            f"{kind} takes a query and a value tensor (and optionally a key), but received "
            f"{len(inputs)} tensor(s).",
            'Give it "inputs": [query, value] or [query, value, key]; for self-attention list '
            "the same tensor twice.",
        )
    return inputs[0], inputs[1], inputs[2] if len(inputs) == 3 else inputs[1]


class AttentionLayer(Layer):
    """Shared by every attention layer: it reads [query, value] or [query, value, key], and its
    kernel is its masked kernel, run without masks when its inputs carry none."""

    family = "attention"
    arity = None
    supports_masking = True
    returns_tuple = True  # (outputs, attention scores)

    def query_value_key(self, inputs: Shapes) -> tuple[Shape, Shape, Shape]:
        return split_query_value_key(self.keras_name, inputs)

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        return self.forward_masked(inputs, weights, [None] * len(inputs), {})

    def forward_for_call(self, inputs: Sequence[Array], weights: Sequence[Array],
                         options: Mapping[str, Any]) -> list[Array]:
        return self.forward_masked(inputs, weights, [None] * len(inputs), options)


class ProjectedAttention(AttentionLayer):
    """Shared by MultiHeadAttention and GroupedQueryAttention: query, value and optional key,
    projected per head by EinsumDense layers listed in the order Keras creates them."""

    def query_value_key(self, inputs: Shapes) -> tuple[Shape, Shape, Shape]:
        query, value, key = super().query_value_key(inputs)
        if tuple(value[1:-1]) != tuple(key[1:-1]):
            raise LayerInputIncompatible(
                f"{self.keras_name} needs the value {format_shape(value)} and the key "
                f"{format_shape(key)} to agree on every axis but the last.",
                "Give the key the value's batch and sequence axes; only the feature axis may "
                "differ.",
            )
        return query, value, key

    def features(self, shape: Shape, what: str) -> int:
        return self.require_known(shape[-1], f"the feature size (last axis) of the {what}")

    def projection(self, name: str, kernel: tuple[int, ...], units: tuple[int, ...]) -> Projection:
        """An EinsumDense from ``kernel`` axes to ``units``, its bias per unit."""
        return Projection(name, (*kernel, *units), units if self.args.use_bias else None)

    def projections(self, inputs: Shapes) -> list[Projection]:
        raise NotImplementedError

    def build(self, inputs: Shapes) -> list[Weight]:
        return [w for p in self.projections(inputs) for w in p.weights()]

    def grouped(self, weights: Sequence[Array]) -> list[tuple[Array, Array | None]]:
        """(kernel, bias) of each projection; bias None without ``use_bias``."""
        if self.args.use_bias:
            return [(weights[i], weights[i + 1]) for i in range(0, len(weights), 2)]
        return [(w, None) for w in weights]

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        query, value, key = self.query_value_key(inputs)
        read = {"query": query, "key": key, "gate": query, "value": value,
                "attention_output": query}
        return sum((num_elements(read[p.name][1:-1]) or 0) * math.prod(p.kernel)
                   for p in self.projections(inputs))

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        names = [p.name for p in self.projections([x.shape for x in inputs])]
        projected = dict(zip(names, self.grouped(weights), strict=True))
        with_scores = bool(options.get("return_attention_scores"))
        attended, scores = self.attend(self.project(query, *projected["query"]),
                                       self.project(key, *projected["key"]),
                                       self.project(value, *projected["value"]),
                                       self.attention_mask(inputs, masks, options), with_scores)
        if self.args.use_gate:
            gate = self.project(query, *projected["gate"])
            attended = attended * activations.get("sigmoid")(gate)
        output = self.output_projection(attended, *projected["attention_output"])
        return [output, scores] if with_scores else [output]

    def attention_mask(self, inputs: Sequence[Array], masks: Sequence[Mask],
                       options: Mapping[str, Any]) -> Array | None:
        """Keras' ``_compute_attention_mask``: (batch or 1, T, S), True where query step t may
        attend to key step s; from the query, value and key masks, the causal mask, the
        sliding window and the call's ``attention_mask``. None when nothing is masked."""
        query, value = inputs[0], inputs[1]
        masks = self.step_masks(masks, options)
        if any(mask is not None for mask in masks) and any(x.ndim != 3 for x in inputs):
            raise NotImplementedError(
                f"{self.keras_name} follows the masks of sequences (batch, steps, features) "
                f"only, but it takes {shapes_text(x.shape for x in inputs)}.")
        tensors = (query, value, inputs[2] if len(inputs) == 3 else value)
        steps = [sequence_mask(mask, x, role, self.keras_name)
                 for mask, x, role in zip(masks, tensors, ("query", "value", "key"), strict=True)]
        parts = [] if steps[0] is None else [steps[0][:, :, None]]
        parts += [mask[:, None, :] for mask in steps[1:] if mask is not None]
        if options.get("use_causal_mask"):
            parts.append(causal_mask(query.shape[1], value.shape[1]))
        if self.args.sliding_window is not None:
            parts.append(band_mask(query.shape[1], value.shape[1], self.args.sliding_window))
        given = tensor_argument(options, "attention_mask", self.keras_name)
        if given is not None:
            parts.append(given)
        return reduce(np.logical_and, parts) if parts else None

    def step_masks(self, masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Mask]:
        """The query, value and key masks of the call: its ``query_mask``, ``value_mask`` and
        ``key_mask`` arguments, or where it gives none, the masks its inputs carry (Keras
        fills those in)."""
        carried = [*masks, None, None][:3]
        return [tensor_argument(options, name, self.keras_name) if name in options else mask
                for name, mask in zip(STEP_MASKS, carried, strict=True)]

    def attend(self, q: Array, k: Array, v: Array, mask: Array | None,
               with_scores: bool) -> tuple[Array, Array]:
        """Attention of the projected query over the projected key and value, where ``mask``
        allows it: the attended values and the attention weights."""
        raise NotImplementedError

    def fuses(self, projected_rank: int, with_scores: bool) -> bool:
        """Whether Keras takes the fused ``ops.dot_product_attention`` path, for a projected
        query of this rank."""
        return projected_rank == 4 and not self.args.dropout and not with_scores

    def attention_weights(self, scores: Array, axes: tuple[int, ...], mask: Array | None,
                          fused: bool) -> Array:
        """The softmax of the scores over ``axes``, where ``mask`` fits them."""
        if mask is not None and not fits_scores(mask.shape, scores.shape):
            raise NotImplementedError(
                f"its attention mask {format_shape(mask.shape)} does not broadcast to the "
                f"attention scores {format_shape(scores.shape)}; Keras cannot apply it either.")
        return self.normalised(scores, axes, mask, fused)

    @staticmethod
    def normalised(scores: Array, axes: tuple[int, ...], mask: Array | None,
                   fused: bool) -> Array:
        """The masked softmax: Keras 3's Softmax layer zeroes a row with nothing to attend to;
        its fused path leaves it uniform."""
        if fused and mask is not None:
            return masked_softmax(np.where(mask, scores, LARGE_NEGATIVE), axes)
        return masked_softmax(scores, axes, mask)

    @staticmethod
    def project(x: Array, kernel: Array, bias: Array | None) -> Array:
        y = np.tensordot(x, kernel, axes=([-1], [0]))
        return y if bias is None else y + bias

    @staticmethod
    def output_projection(attended: Array, kernel: Array, bias: Array | None) -> Array:
        """The attention_output EinsumDense, contracting the heads and their channels."""
        out = np.tensordot(attended, kernel, axes=([-2, -1], [0, 1]))
        return out if bias is None else out + bias


@register
class MultiHeadAttention(ProjectedAttention):
    """Multi-head scaled dot-product attention of ``query`` over ``value`` (and ``key``).

    Each of the ``num_heads`` heads projects the query and key to ``key_dim`` channels and the
    value to ``value_dim``; the output takes the query's shape, its last axis replaced by
    ``output_shape`` when given.
    """

    keras_name = "MultiHeadAttention"
    builds_failing_calls: ClassVar[bool] = True
    """Keras 3 builds a layer whose call fails, and only its predict fails; tf.keras 2
    computes the call as it builds, and refuses the model."""

    class Args(LayerArgs):
        num_heads = PositiveInt(required=True)
        key_dim = PositiveInt(required=True)
        value_dim = PositiveInt(load_default=None, allow_none=True)
        dropout = Float(min_value=0.0, max_value=1.0, load_default=0.0)
        use_bias = fields.Boolean(load_default=True)
        output_shape = IntTuple(load_default=None, allow_none=True)
        # Keras writes the axes it resolved: none ([]) for a query without steps.
        attention_axes = Axes(load_default=None, allow_none=True, allow_empty=True)
        sliding_window = PositiveInt(load_default=None, allow_none=True)
        flash_attention = fields.Boolean(load_default=None, allow_none=True)
        use_gate = fields.Boolean(load_default=False)
        softmax_robust_masking = TfKerasOnly("MultiHeadAttention")

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        if args["flash_attention"] and args["dropout"] > 0:
            raise ArgumentError("dropout", "dropout is not supported with flash_attention")
        shape = args["output_shape"]
        if isinstance(shape, tuple) and not all(isinstance(d, int) for d in shape):
            raise ArgumentError("output_shape", "must be an integer or a list of integers")
        self.output_units: tuple[int, ...] | None = (shape,) if isinstance(shape, int) else shape
        self.value_dim: int = args["value_dim"] or args["key_dim"]

    # -- shapes -------------------------------------------------------------------------------
    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        return self.checked_output(inputs, with_scores=False)

    def output_shapes_for_call(self, inputs: Shapes, options: dict[str, Any]) -> list[Shape]:
        """``return_attention_scores=True`` adds the scores; Keras declares them
        ``(batch, num_heads, T, T)`` with T the query's axis 1, whatever the value's length."""
        with_scores = bool(options.get("return_attention_scores"))
        outputs = self.checked_output(inputs, with_scores)
        if with_scores:
            query = inputs[0]
            outputs.append((query[0], self.args.num_heads, query[1], query[1]))
        return outputs

    def checked_output(self, inputs: Shapes, with_scores: bool) -> list[Shape]:
        """The output Keras declares: the query's shape, its last axis ``output_shape`` when
        given. Keras builds the layer for the query's rank whatever the value's; raise where
        its einsums do not fit (``call_fails``)."""
        query, value, _ = self.query_value_key(inputs)
        declared = (*query[:-1], *self.output_units) if self.output_units else tuple(query)
        if len(query) != len(value):
            raise self.call_fails(
                f"MultiHeadAttention needs the query {format_shape(query)} and the value "
                f"{format_shape(value)} to have the same number of axes",
                "Reshape one of them so that both have the same rank, e.g. (batch, steps, "
                "features).", declared)
        axes = self.attention_axes(len(query))
        if not axes:
            raise self.call_fails(
                f"MultiHeadAttention attends over the steps of sequences (batch, steps, "
                f"features), but the query {format_shape(query)} has no steps axis, and no "
                "attention_axes are given",
                "Give it sequences; for one vector per sample add a steps axis of 1 with "
                "Reshape((1, features)).", declared)
        if len(query) in axes and not self.fuses(len(query) + 1, with_scores):
            raise self.call_fails(
                f"MultiHeadAttention attends over the last axis of its projected query (batch, "
                f"..., heads, key_dim), whose key_dim channels its scores contract "
                f"(attention_axes {self.args.attention_axes!r} on a query of rank "
                f"{len(query)})",
                "Name only axes before the last one in attention_axes, or leave it unset to "
                "attend over the steps.", declared)
        repeated = repeated_axis(axes, len(query) + 1)
        if repeated is not None and not self.fuses(len(query) + 1, with_scores):
            raise self.call_fails(
                f"MultiHeadAttention's attention_axes {self.args.attention_axes!r} name axis "
                f"{repeated} of the query {format_shape(query)} twice, and its einsums cannot "
                "name an axis twice", "Name each axis once in attention_axes.", declared)
        return [declared]

    def call_fails(self, problem: str, hint: str, declared: Shape) -> LayerInputIncompatible:
        """The error of a call that fails: propagation goes on with the ``declared`` shape
        where Keras builds the layer all the same."""
        if self.builds_failing_calls:
            return LayerInputIncompatible(
                f"{problem}: Keras builds the layer, but its predict fails.", hint,
                declared=[declared])
        return LayerInputIncompatible(f"{problem}.", hint)

    def undeclared_shape(self, index: int, options: Mapping[str, Any],
                         inputs: Shapes) -> str | None:
        if index == 1 and options.get("return_attention_scores"):
            return ("Keras declares the attention scores (batch, num_heads, T, T) with T the "
                    "query's length, and computes them over the query's and the value's "
                    "attention axes")
        if index == 0 and self.computed_output(inputs) != self.output_shapes(inputs)[0]:
            return ("Keras declares the query's sizes on the axes it does not attend over, and "
                    "computes them broadcast against the value's")
        return None

    def computed_output_shape(self, inputs: Shapes) -> Shape | None:
        return self.computed_output(inputs)

    def computed_output(self, inputs: Shapes) -> Shape:
        """The output Keras' einsums compute: on each axis it does not attend over (batch and
        features aside), a query size of 1 broadcast against the value's and the key's, where
        Keras declares the query's."""
        query, value, key = self.query_value_key(inputs)
        computed = list(self.output_shapes(inputs)[0])
        attended = set(self.attention_axes(len(query)))
        for axis in range(1, len(query) - 1):
            if axis not in attended:
                for other in (value[axis], key[axis]):
                    if computed[axis] == 1:
                        computed[axis] = other
        return tuple(computed)

    def declared_shape_caveat(self, inputs: Shapes) -> ShapeCaveat | None:
        declared, computed = self.output_shapes(inputs)[0], self.computed_output(inputs)
        if computed == declared:
            return None
        axis = next(a for a, (d, c) in enumerate(zip(declared, computed, strict=True)) if d != c)
        return ShapeCaveat(
            f"'{self.name}' computes {format_shape(computed)}, but Keras 3 declares "
            f"{format_shape(declared)}, as the summary shows: on axis {axis}, which it does not "
            f"attend over, the query has 1 where the value has {computed[axis]}, and Keras' "
            "einsums broadcast them. A layer after it is built for the declared shape: one that "
            "reads only the last axis still runs, others fail at predict or compute over other "
            "axes than the summary shows.",
            "Give the query the value's sizes on the axes attention does not run over, or "
            "attend over those axes too (attention_axes).")

    def attention_axes(self, query_rank: int) -> tuple[int, ...]:
        """The attention axes of the projected tensors (query rank + 1), as Keras resolves them;
        raise where Keras' einsum equations cannot be built."""
        rank = query_rank + 1
        given = self.args.attention_axes
        if given is None:
            return tuple(range(1, rank - 2))
        axes = (given,) if isinstance(given, int) else tuple(given)
        resolved = tuple(a if a >= 0 else self.negative_axis_base(rank) + a for a in axes)
        for axis, index in zip(axes, resolved, strict=True):
            if not -rank <= index < rank:
                raise LayerInputIncompatible(
                    f"MultiHeadAttention cannot attend over axis {axis} of a query of rank "
                    f"{query_rank}: the attention axes must be axes of the input.",
                    f"Use attention axes between 1 and {query_rank - 2} (the axes between the "
                    "batch axis and the feature axis), or leave attention_axes unset.",
                )
        return resolved

    @staticmethod
    def negative_axis_base(rank: int) -> int:
        """What Keras 3 adds to a negative attention axis: the projected rank less one (its
        last axis, the channels, is no axis of the query)."""
        return rank - 1

    # -- weights ------------------------------------------------------------------------------
    def projections(self, inputs: Shapes) -> list[Projection]:
        query, value, key = self.query_value_key(inputs)
        heads, key_dim, value_dim = self.args.num_heads, self.args.key_dim, self.value_dim
        query_dim = self.features(query, "query")
        projections = [self.projection("query", (query_dim,), (heads, key_dim)),
                       self.projection("key", (self.features(key, "key"),), (heads, key_dim))]
        if self.args.use_gate:
            projections.append(self.projection("gate", (query_dim,), (heads, value_dim)))
        value_dims = (self.features(value, "value"),)
        projections += [self.projection("value", value_dims, (heads, value_dim)),
                        self.projection("attention_output", (heads, value_dim),
                                        self.output_units or (query_dim,))]
        return projections

    # -- forward ------------------------------------------------------------------------------
    def step_masks(self, masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Mask]:
        """Keras' MultiHeadAttention reads the mask its query carries and ignores the call's
        ``query_mask`` argument."""
        return [masks[0], *super().step_masks(masks, options)[1:]]

    def attend(self, q: Array, k: Array, v: Array, mask: Array | None,
               with_scores: bool) -> tuple[Array, Array]:
        """Scaled dot-product attention of projected (batch, ..., heads, channels) tensors."""
        axes = self.attention_axes(q.ndim - 1)
        fused = self.fuses(q.ndim, with_scores)
        if fused:
            # Keras' fused path (ops.dot_product_attention) on rank-3 inputs attends over the
            # sequence axis whatever attention_axes say.
            axes = (1,)
        dot_product, combine = attention_equations(q.ndim, axes)
        q = q * np.float32(1.0 / math.sqrt(float(self.args.key_dim)))
        sequences = q.ndim == 4 and axes == (1,)  # (batch, steps, heads, channels)
        scores = head_scores(q, k) if sequences else np.einsum(dot_product, k, q)
        norm_axes = tuple(range(scores.ndim - len(axes), scores.ndim))
        if mask is not None:
            # (batch, T, S) expanded to the scores' rank as ``_masked_softmax`` does.
            while mask.ndim < scores.ndim:
                mask = np.expand_dims(mask, axis=-len(axes) * 2 - 1)
        weights = self.attention_weights(scores, norm_axes, mask, fused)
        attended = heads_combined(weights, v) if sequences else np.einsum(combine, weights, v)
        return attended, weights

    # -- explanation --------------------------------------------------------------------------
    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        query, value, _ = self.query_value_key(inputs)
        heads = self.args.num_heads
        last = (f"output_shape {list(self.output_units)}" if self.output_units else
                f"the query's {query[-1]} features")
        return (f"{heads} heads attend from the query {format_shape(query)} over the value "
                f"{format_shape(value)}: query and key projected to {heads}×{self.args.key_dim}, "
                f"value to {heads}×{self.value_dim}; the output keeps the query's axes and ends "
                f"with {last}")


def repeated_axis(axes: Sequence[int], rank: int) -> int | None:
    """The first of ``axes`` of a tensor of ``rank`` that another one names too, or None."""
    seen: set[int] = set()
    for axis in axes:
        if axis % rank in seen:
            return axis % rank
        seen.add(axis % rank)
    return None


@tf_keras_variant
class TfKerasMultiHeadAttention(MultiHeadAttention):
    """MultiHeadAttention in a tf.keras 2 document. tf.keras 2 always computes it by einsums
    (Keras 3 fuses rank-3 inputs, whatever the attention axes), counts a negative attention
    axis from the end of the projected rank, and computes the call as it builds: a call whose
    einsums do not fit refuses the model, and it declares the scores it computes. Its softmax
    zeroes no masked score (``normalised``). It reads its ``attention_mask`` as booleans only
    to AND it with the masks of its own making (its inputs', the causal one); alone, the
    mask's numbers reach the softmax, which shifts each score by (1 - mask) * -1e9, so that 0.3
    is as good as masked (recorded: ``masking:mha_mask_of_fractions``)."""

    builds_failing_calls = False
    numeric_mask_arguments = frozenset({"attention_mask"})

    class Args(MultiHeadAttention.Args):
        softmax_robust_masking = fields.Boolean(load_default=False)

    def fuses(self, projected_rank: int, with_scores: bool) -> bool:
        return False

    def normalised(self, scores: Array, axes: tuple[int, ...], mask: Array | None,
                   fused: bool) -> Array:
        """tf.keras 2's Softmax layer: a query step with nothing to attend to (its mask off)
        spreads its weights over every key, where Keras 3's einsum path gives it none; about
        evenly (-1e9 added to its scores), or exactly so with ``softmax_robust_masking``
        (its scores set to -1e9; recorded: ``masking:mha_robust_masking``)."""
        if self.args.softmax_robust_masking:
            return robust_softmax(scores, axes, mask)
        return shifted_softmax(scores, axes, mask)

    @staticmethod
    def negative_axis_base(rank: int) -> int:
        return rank

    def checked_output(self, inputs: Shapes, with_scores: bool) -> list[Shape]:
        """Its einsums pair the query with the key and the value on every axis they do not
        attend over: sizes that differ there refuse the model."""
        outputs = super().checked_output(inputs, with_scores)
        query, value, _ = self.query_value_key(inputs)
        attended = self.attention_axes(len(query))
        for axis in range(1, len(query) - 1):
            sizes = query[axis], value[axis]
            if axis not in attended and None not in sizes and sizes[0] != sizes[1]:
                raise LayerInputIncompatible(
                    f"MultiHeadAttention pairs the query {format_shape(query)} and the value "
                    f"{format_shape(value)} on axis {axis}, which it does not attend over, but "
                    f"their sizes differ ({sizes[0]} and {sizes[1]}).",
                    "Attend over that axis too (attention_axes), or give both the same size "
                    "there.")
        return outputs

    def output_shapes_for_call(self, inputs: Shapes, options: dict[str, Any]) -> list[Shape]:
        """``return_attention_scores=True`` adds the scores tf.keras 2 computes: the projected
        query's axes it does not attend over (the heads among them), then the query's and the
        key's attended axes."""
        with_scores = bool(options.get("return_attention_scores"))
        outputs = self.checked_output(inputs, with_scores)
        if with_scores:
            query, _, key = self.query_value_key(inputs)
            projected = (*query[:-1], self.args.num_heads)
            keys = (*key[:-1], self.args.num_heads)
            attended = self.attention_axes(len(query))
            outputs.append((*(size for axis, size in enumerate(projected)
                              if axis not in attended),
                            *(projected[axis] for axis in attended),
                            *(keys[axis] for axis in attended)))
        return outputs

    def undeclared_shape(self, index: int, options: Mapping[str, Any],
                         inputs: Shapes) -> str | None:
        return None


@register
class GroupedQueryAttention(ProjectedAttention):
    """Grouped-query attention: ``num_query_heads`` query heads share
    ``num_key_value_heads`` key and value heads (each serves num_query_heads /
    num_key_value_heads query heads), all of ``head_dim`` channels.

    Inputs are sequences (batch, steps, features); query and value have the same features,
    which the output keeps.
    """

    keras_name = "GroupedQueryAttention"
    aliases = ("GroupQueryAttention",)

    class Args(LayerArgs):
        head_dim = PositiveInt(required=True)
        num_query_heads = PositiveInt(required=True)
        num_key_value_heads = PositiveInt(required=True)
        dropout = Float(min_value=0.0, max_value=1.0, load_default=0.0)
        use_bias = fields.Boolean(load_default=True)
        sliding_window = PositiveInt(load_default=None, allow_none=True)
        flash_attention = fields.Boolean(load_default=None, allow_none=True)
        use_gate = fields.Boolean(load_default=False)

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        if args["num_query_heads"] % args["num_key_value_heads"]:
            raise ArgumentError("num_key_value_heads", f"must divide num_query_heads "
                                                       f"({args['num_query_heads']})")
        if args["flash_attention"] and args["dropout"] > 0:
            raise ArgumentError("dropout", "dropout is not supported with flash_attention")

    def query_value_key(self, inputs: Shapes) -> tuple[Shape, Shape, Shape]:
        query, value, key = super().query_value_key(inputs)
        for shape, what in ((query, "query"), (value, "value"), (key, "key")):
            if len(shape) != 3:
                raise LayerInputIncompatible(
                    f"GroupedQueryAttention takes sequences (batch, steps, features), but the "
                    f"{what} is {format_shape(shape)}.",
                    "Reshape the inputs to (steps, features) per sample.")
        if query[-1] != value[-1]:
            raise LayerInputIncompatible(
                f"GroupedQueryAttention needs the query {format_shape(query)} and the value "
                f"{format_shape(value)} to have the same number of features.",
                "Project one of them with a Dense layer to the other's size.")
        return query, value, key

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        return [tuple(self.query_value_key(inputs)[0])]

    def output_shapes_for_call(self, inputs: Shapes, options: dict[str, Any]) -> list[Shape]:
        """``return_attention_scores=True`` adds the scores (batch, query heads, Tq, Tk)."""
        outputs = self.output_shapes(inputs)
        if options.get("return_attention_scores"):
            query, _, key = self.query_value_key(inputs)
            outputs.append((query[0], self.args.num_query_heads, query[1], key[1]))
        return outputs

    def projections(self, inputs: Shapes) -> list[Projection]:
        query, value, key = self.query_value_key(inputs)
        heads, groups, dim = (self.args.num_query_heads, self.args.num_key_value_heads,
                              self.args.head_dim)
        query_dim = self.features(query, "query")
        projections = [self.projection("query", (query_dim,), (heads, dim)),
                       self.projection("key", (self.features(key, "key"),), (groups, dim))]
        if self.args.use_gate:
            projections.append(self.projection("gate", (query_dim,), (heads, dim)))
        projections += [self.projection("value", (self.features(value, "value"),), (groups, dim)),
                        self.projection("attention_output", (heads, dim), (query_dim,))]
        return projections

    def attend(self, q: Array, k: Array, v: Array, mask: Array | None,
               with_scores: bool) -> tuple[Array, Array]:
        """Each group of query heads attends over its key/value head, repeated for it."""
        repeats = self.args.num_query_heads // self.args.num_key_value_heads
        k, v = np.repeat(k, repeats, axis=2), np.repeat(v, repeats, axis=2)
        q = q * np.float32(1.0 / math.sqrt(float(self.args.head_dim)))
        scores = head_scores(q, k)
        mask = None if mask is None else mask[:, None]
        weights = self.attention_weights(scores, (-1,), mask, self.fuses(q.ndim, with_scores))
        return heads_combined(weights, v), weights

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        heads, groups = self.args.num_query_heads, self.args.num_key_value_heads
        return (f"{heads} query heads share {groups} key/value heads ({heads // groups} query "
                f"heads each), {self.args.head_dim} channels per head; the output keeps the "
                f"query's shape {format_shape(outputs[0])}")


class ShapesDoNotCombine(Exception):
    """Two shapes that one of Keras' attention operations (a matmul, a broadcast) cannot
    combine."""


def combined(a: Shape, b: Shape, tf_static: bool) -> Shape:
    """``a`` and ``b`` broadcast together: with TensorFlow's static shapes (``tf_static``, an
    unknown axis takes the other's length above 1), or Keras 3's (it stays unknown)."""
    shape = broadcast_shapes(a, b, known_wins=tf_static)
    if shape is None:
        raise ShapesDoNotCombine
    return shape


def matmul_shape(a: Shape, b: Shape, tf_static: bool) -> Shape:
    """The shape of ``a @ b`` as numpy, JAX and TensorFlow compute it: the axes before the
    last two broadcast, then a's rows by b's columns."""
    if differ(a[-1], b[-2]):
        raise ShapesDoNotCombine
    return (*combined(a[:-2], b[:-2], tf_static), a[-2], b[-1])


def pairs_shape(query: Shape, key: Shape, tf_static: bool) -> Shape:
    """The shape of ``expand_dims(query, -2) + expand_dims(key, -3)``, every query vector
    added to every key vector: (..., Tq, Tv, dim)."""
    return combined((*query[:-1], 1, query[-1]), (*key[:-2], 1, *key[-2:]), tf_static)


def transposed(shape: Shape) -> Shape:
    return (*shape[:-2], shape[-1], shape[-2])


class DotAttentionBase(AttentionLayer):
    """Shared by Attention and AdditiveAttention: a list of [query, value] or
    [query, value, key] tensors of shape (batch, Tq, dim) and (batch, Tv, dim).

    Keras' call is a few matmuls and broadcasts, which run on tensors of any rank: where the
    query, value and key differ in rank, or have no steps axis (batch, dim), the batch axis of
    one meets the steps of another, and each sample attends over the whole batch
    (``mixes_batch``). Keras 3 declares ``(*query[:-1], value[-1])`` all the same, and its
    predict computes another shape where the ranks differ (``computed_shapes``); tf.keras 2
    takes its shapes from the operations themselves (``tf_static``)."""

    tf_static: ClassVar[bool] = False
    """Whether the shapes are TensorFlow's static shapes of the call's operations (tf.keras 2)
    rather than those Keras 3 declares."""

    def query_value_key(self, inputs: Shapes) -> tuple[Shape, Shape, Shape]:
        """Each tensor has an axis before its features, or Keras' call fails."""
        query, value, key = super().query_value_key(inputs)
        for shape, what in ((query, "query"), (value, "value"), (key, "key")):
            if len(shape) < 2:
                raise LayerInputIncompatible(
                    f"{self.keras_name} takes tensors (batch, steps, features), but the {what} "
                    f"{format_shape(shape)} has only its batch axis.",
                    "Give it sequences, e.g. Reshape((steps, features)) per sample.")
        return query, value, key

    # -- shapes -------------------------------------------------------------------------------
    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        return self.output_shapes_for_call(inputs, {})

    def output_shapes_for_call(self, inputs: Shapes, options: Mapping[str, Any]) -> list[Shape]:
        """The output, and with ``return_attention_scores=True`` the scores: as computed
        (tf.keras 2), or as Keras 3 declares them, (*query[:-1], value[-1]) and
        (*query[:-1], Tv), once the call is known to compute (Keras' predict fails
        otherwise)."""
        output, scores = self.computed_shapes(inputs, options)
        if not self.tf_static:
            query, value, key = self.query_value_key(inputs)
            output, scores = (*query[:-1], value[-1]), (*query[:-1], key[-2])
        return [output, scores] if options.get("return_attention_scores") else [output]

    def computed_output_shape(self, inputs: Shapes) -> Shape | None:
        return self.computed_shapes(inputs, {})[0]

    def computed_shapes(self, inputs: Shapes, options: Mapping[str, Any]) -> tuple[Shape, Shape]:
        """The output and the attention scores as the call's operations compute them. Raises
        LayerInputIncompatible where they cannot combine the tensors: Keras 3's predict fails
        there, and tf.keras 2 refuses the model."""
        query, value, key = self.query_value_key(inputs)
        given_key = len(inputs) == 3
        try:
            scores = self.scores_shape(query, value, key)
        except ShapesDoNotCombine:
            raise self.scores_do_not_combine(query, key, given_key) from None
        if options.get("use_causal_mask"):
            scores = self.causally_masked(scores)
        try:
            return matmul_shape(scores, value, self.tf_static), scores
        except ShapesDoNotCombine:
            raise self.values_do_not_combine(scores, value, key, given_key) from None

    def scores_shape(self, query: Shape, value: Shape, key: Shape) -> Shape:
        raise NotImplementedError

    def causally_masked(self, scores: Shape) -> Shape:
        """Keras 3 masks the scores with a causal mask (1, Tq, Tv), which gives scores of rank 2
        a leading axis of 1; tf.keras 2's mask has the scores' rank."""
        return combined((1, *scores[-2:]), scores, self.tf_static)

    def scores_do_not_combine(self, query: Shape, key: Shape,
                              given_key: bool) -> LayerInputIncompatible:
        served = "" if given_key else " (the value serves as key)"
        if self.compares_features(query[-1], key[-1]):
            return LayerInputIncompatible(
                f"{self.keras_name} compares each query vector with each key vector, so they "
                f"need the same size, but the query {format_shape(query)} has {query[-1]} "
                f"features and the key {format_shape(key)} {key[-1]}{served}.",
                "Project them to one size first, e.g. a Dense layer on the query, or pass a "
                "key of the query's size as the third input.")
        return LayerInputIncompatible(
            f"{self.keras_name} scores every query vector of {format_shape(query)} against every "
            f"key vector of {format_shape(key)}{served}, but the axes before their steps do not "
            "broadcast together.", SAME_RANK_HINT)

    def compares_features(self, query_features: Dim, key_features: Dim) -> bool:
        """Whether these feature sizes are what keeps Keras from scoring the query and key:
        known and different (a dot product; the sums broadcast a size of 1)."""
        return differ(query_features, key_features)

    def values_do_not_combine(self, scores: Shape, value: Shape, key: Shape,
                              given_key: bool) -> LayerInputIncompatible:
        if given_key and len(key) == len(value) > 2 and differ(key[-2], value[-2]):
            return LayerInputIncompatible(
                f"{self.keras_name} averages one value per key step, but the key "
                f"{format_shape(key)} has {key[-2]} steps and the value {format_shape(value)} "
                f"{value[-2]}.",
                "Give key and value the same number of steps.")
        return LayerInputIncompatible(
            f"{self.keras_name} averages the value vectors of {format_shape(value)} by the "
            f"attention scores {format_shape(scores)}, one score per value, but they do not "
            "fit: Keras' matmul of the two fails.", SAME_RANK_HINT)

    def undeclared_shape(self, index: int, options: Mapping[str, Any],
                         inputs: Shapes) -> str | None:
        if self.tf_static:
            return None
        return ("Keras 3 declares (*query[:-1], value[-1]) and scores (*query[:-1], Tv), but "
                "its matmuls compute other shapes where the query, value and key differ in rank, "
                "or where a causal mask meets vectors")

    def mixes_batch(self, inputs: Shapes) -> bool:
        """Whether Keras' matmuls meet the batch axis of one tensor with another axis of an
        other: ranks that differ, or no steps axis (the batch axis serves as the steps)."""
        query, value, key = self.query_value_key(inputs)
        return len({len(query), len(value), len(key)}) > 1 or len(query) < 3

    def batch_note(self, inputs: Shapes, options: Mapping[str, Any],
                   declared: Shape) -> tuple[str, str]:
        """The ``attention_across_batch`` warning of a call that ``mixes_batch``: what Keras
        does with the batch axis, and the hint."""
        query, value, key = self.query_value_key(inputs)
        tensors = {"query": query, "value": value, "key": key}
        if len(inputs) == 2:
            del tensors["key"]
        named = [f"the {role} {format_shape(shape)}" for role, shape in tensors.items()]
        listed = f"{', '.join(named[:-1])} and {named[-1]}"
        if len({len(shape) for shape in tensors.values()}) == 1:
            why = (f"{listed} have no steps axis, so Keras' matmuls take the batch axis as the "
                   "steps: each sample's query vector attends over the key vectors of every "
                   "sample of the batch")
        else:
            why = (f"{listed} differ in rank, so Keras' matmuls line the batch axis of one up "
                   "with another axis of the others: each sample's query attends over the key "
                   "vectors of other samples of the batch")
        computed = self.computed_shapes(inputs, options)[0]
        declared_text = (f" Keras declares {format_shape(declared)}, but its predict gives "
                         f"{format_shape(computed)}." if computed != tuple(declared) else "")
        message = (f"{why}. A sample's result depends on the other samples in its batch, and on "
                   f"the batch size.{declared_text}")
        if len(query) == 2 and len(key) > 2 and len(key) == len(value):
            hint = (f"Give the query a steps axis with Reshape((1, {query[-1]})) before "
                    f"'{self.name}', so that each sample's query attends over its own "
                    f"{key[-2]} key steps.")
        else:
            hint = ("Give the query, value and key a steps axis, (batch, steps, features) each, "
                    "so that each sample attends over its own steps (Reshape((1, features)) "
                    "makes one vector per sample a sequence of one step).")
        return message, hint

    # -- forward ------------------------------------------------------------------------------
    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        """Keras' ``Attention.call``: the value's mask (and the causal mask) pushes the scores
        of the key steps it excludes down by 1e9; the query's mask zeroes the outputs."""
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        scores = self.scores(query, key, weights)
        allowed = sequence_mask(masks[1], value, "value", self.keras_name)
        if allowed is not None:
            allowed = np.expand_dims(allowed, -2)
        if options.get("use_causal_mask"):
            causal = self.causal_mask(scores.shape)
            allowed = causal if allowed is None else allowed & causal
        if allowed is not None:
            scores = np.where(allowed, scores, scores - SCORE_PADDING)
        distribution = activations.softmax(scores, axis=-1)
        output = distribution @ value
        if masks[0] is not None:
            output = np.where(expand_mask(masks[0], output.shape), output, np.float32(0))
        return [output, distribution] if options.get("return_attention_scores") else [output]

    def causal_mask(self, scores: tuple[int, ...]) -> Array:
        """The causal mask of ``causally_masked``: (1, Tq, Tv), or of the scores' rank."""
        mask = causal_mask(*scores[-2:])
        return mask.reshape((1,) * (len(scores) - 2) + mask.shape[1:]) if self.tf_static \
            else mask

    def scores(self, query: Array, key: Array, weights: Sequence[Array]) -> Array:
        raise NotImplementedError

    @staticmethod
    def pairwise_sums(query: Array, key: Array) -> Array:
        """``query[..., i, :] + key[..., j, :]`` for every pair: (..., Tq, Tv, dim)."""
        return np.expand_dims(query, -2) + np.expand_dims(key, -3)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        query, value, key = self.query_value_key(inputs)
        if self.mixes_batch(inputs):
            return (f"the query {format_shape(query)}, value {format_shape(value)} and key "
                    f"{format_shape(key)} are not all sequences of one rank, so each query "
                    "vector scores the key vectors of the whole batch (the batch axis serves as "
                    f"steps) and averages the values by those scores: → {format_shape(outputs[0])}")
        return (f"each query step ({steps(query)}) scores every key step ({steps(key)}) and "
                f"averages the value vectors of {value[-1]} features by those scores: "
                f"{format_shape(query)} → {format_shape(outputs[0])}")


SAME_RANK_HINT = ("Give the query, value and key one rank, (batch, steps, features) each: "
                  "Reshape((1, features)) makes one vector per sample a sequence of one step.")


@register
class Attention(DotAttentionBase):
    """Dot-product (Luong) attention: ``softmax(query · keyᵀ) · value``; ``score_mode='concat'``
    scores ``sum(tanh(query + key))`` instead.

    ``use_scale`` adds a learned scalar multiplying the scores; ``concat`` mode a second
    scalar, ``concat_score_weight``.
    """

    keras_name = "Attention"

    class Args(LayerArgs):
        use_scale = fields.Boolean(load_default=False)
        score_mode = Choice(("dot", "concat"), load_default="dot", case_sensitive=True)
        dropout = Float(min_value=0.0, max_value=1.0, load_default=0.0)

    def build(self, inputs: Shapes) -> list[Weight]:
        self.query_value_key(inputs)
        weights = []
        if self.args.use_scale:
            weights.append(Weight("scale", (), initializer="ones"))
        if self.args.score_mode == "concat":
            weights.append(Weight("concat_score_weight", (), initializer="ones"))
        return weights

    def scores_shape(self, query: Shape, value: Shape, key: Shape) -> Shape:
        """``query @ keyᵀ``; in concat mode the sums of every query and key vector, summed over
        the features (the scalar weights change no shape)."""
        if self.args.score_mode == "dot":
            return matmul_shape(query, transposed(key), self.tf_static)
        return pairs_shape(query, key, self.tf_static)[:-1]

    def compares_features(self, query_features: Dim, key_features: Dim) -> bool:
        if self.args.score_mode == "dot":
            return super().compares_features(query_features, key_features)
        return differ(query_features, key_features) and 1 not in (query_features, key_features)

    def scores(self, query: Array, key: Array, weights: Sequence[Array]) -> Array:
        values = iter(weights)
        scale = next(values) if self.args.use_scale else None
        if self.args.score_mode == "dot":
            scores = query @ np.swapaxes(key, -2, -1)
            return scores if scale is None else scores * scale
        summed = self.pairwise_sums(query, key)
        if scale is not None:
            summed = scale * summed
        return next(values) * np.sum(np.tanh(summed), axis=-1)


@register
class AdditiveAttention(DotAttentionBase):
    """Additive (Bahdanau) attention: scores ``sum(scale · tanh(query + key))`` over the
    features, ``scale`` a learned vector of the query's feature size (``use_scale``)."""

    keras_name = "AdditiveAttention"

    class Args(LayerArgs):
        use_scale = fields.Boolean(load_default=True)
        dropout = Float(min_value=0.0, max_value=1.0, load_default=0.0)

    def build(self, inputs: Shapes) -> list[Weight]:
        query, value, _ = self.query_value_key(inputs)
        if not self.args.use_scale:
            return []
        dim = self.require_known(self.scale_size(query, value),
                                 f"the feature size (last axis) of the {self.scale_of}")
        return [Weight("scale", (dim,), initializer="glorot_uniform")]

    scale_of: ClassVar[str] = "query"
    """The input whose feature size ``scale`` has."""

    def scale_size(self, query: Shape, value: Shape) -> Dim:
        return query[-1] if self.scale_of == "query" else value[-1]

    def scores_shape(self, query: Shape, value: Shape, key: Shape) -> Shape:
        """The sums of every query and key vector, times ``scale``, summed over the features."""
        summed = pairs_shape(query, key, self.tf_static)
        if self.args.use_scale:
            scale = self.scale_size(query, value)
            if differ(scale, summed[-1]) and 1 not in (scale, summed[-1]):
                raise LayerInputIncompatible(
                    f"AdditiveAttention weighs the sums of query and key vectors of "
                    f"{summed[-1]} features by its scale of {scale} values (the "
                    f"{self.scale_of}'s features), so Keras cannot multiply them.",
                    "Give the query, the value and the key the same number of features.")
        return summed[:-1]

    def compares_features(self, query_features: Dim, key_features: Dim) -> bool:
        return differ(query_features, key_features) and 1 not in (query_features, key_features)

    def scores(self, query: Array, key: Array, weights: Sequence[Array]) -> Array:
        scale = weights[0] if self.args.use_scale else np.float32(1.0)
        return np.sum(scale * np.tanh(self.pairwise_sums(query, key)), axis=-1)


@tf_keras_variant
class TfKerasAttention(Attention):
    """Attention as tf.keras 2 computes it: its shapes are those of its operations, as
    TensorFlow infers them."""

    tf_static = True


@tf_keras_variant
class TfKerasAdditiveAttention(AdditiveAttention):
    """AdditiveAttention as tf.keras 2 computes it: its shapes are those of its operations, and
    its scale has the value's feature size."""

    tf_static = True
    scale_of = "value"
