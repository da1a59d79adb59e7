"""Core layers: InputLayer, Dense, EinsumDense, Activation, Embedding, ReversibleEmbedding,
Identity, and Opaque stand-ins."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from marshmallow import fields

from .. import activations
from ..errors import ArgumentError, LayerInputIncompatible
from ..fields import Int, PositiveInt, ShapeField
from ..shapes import Dim, Shape, format_shape, num_elements
from .adapters import EmbeddingLoraArgs, HeldWeights, KernelLoraArgs
from .base import (
    Array,
    Layer,
    LayerArgs,
    Mask,
    NegatesUnsignedIntegers,
    ShapeCaveat,
    Shapes,
    Weight,
    activation_field,
    integer_values,
    register,
)
from .quantized import (
    Quantization,
    abs_max_quantize,
    einsum_scale_layouts,
    float8_weights,
    frozen,
    gptq_matrix,
    groups,
    int4_matrix,
    int4_table,
    integer_product,
    matrix_weights,
    packed,
)
from .tf_keras import tf_keras_variant


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
class Dense(HeldWeights, Layer):
    """Fully connected layer on the last axis: ``activation(x @ kernel + bias)``.

    On inputs of rank > 2 it acts on the last axis only, the same kernel at every position.
    With ``lora_rank`` its kernel is frozen and adapted, and a quantized dtype policy gives it
    other weights (``adapters``).
    """

    keras_name = "Dense"
    family = "core"
    supports_masking = True
    honours_lora_alpha = False
    quantization_modes = ("int8", "int4", "float8", "gptq", "awq")

    class Args(LayerArgs, KernelLoraArgs):
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
        return self.held(weights, shape)

    def quantized_weights(self, weights: list[Weight], quantization: Quantization,
                          shape: Shape) -> list[Weight]:
        kernel, *bias = weights
        if quantization.mode == "float8":
            return [*float8_weights(quantization.amax_history), *weights]
        if quantization.mode == "int8":
            return [frozen("kernel", kernel.shape, dtype="int8"),
                    frozen("kernel_scale", (self.args.units,), "ones"), *bias]
        return [*matrix_weights(quantization, *kernel.shape), *bias]

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        positions = num_elements(inputs[0][1:-1]) or 0
        return positions * (inputs[0][-1] or 0) * self.args.units

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        if self.quantization is not None:
            return self.apply_quantized(x, weights)
        kernel = weights[0]
        # One 2-D product: matmul on a 3-D array runs one small product per leading index.
        y = (x.reshape(math.prod(x.shape[:-1]), x.shape[-1]) @ kernel).reshape(
            *x.shape[:-1], kernel.shape[-1])
        if self.args.use_bias:
            y += weights[1]
        return activations.apply_in_place(self.args.activation, y)

    def apply_quantized(self, x: Array, weights: Sequence[Array]) -> Array:
        """Keras 3's quantized call. int8: x quantized per position (``abs_max_quantize``),
        multiplied by the int8 kernel in integers, divided by both scales; int4: x times the
        kernel dequantized (``int4_matrix``; a layer read from its config has no input
        quantizer in int4); float8: ``float8_product``. LoRA's update is added in float."""
        if self.quantization is not None and self.quantization.mode == "float8":
            y = self.float8_product("...i,io->...o", x, weights, self.args.use_bias)
            return activations.apply_in_place(self.args.activation, y)
        bias, factors, frozen = self.quantized_parts(weights, self.args.use_bias)
        if self.quantization is not None and self.quantization.mode == "int4":
            y = x @ int4_matrix(self.quantization, frozen, self.args.units)
        else:
            kernel, kernel_scale = frozen
            quantized, scale = abs_max_quantize(x)
            y = integer_product("...i,io->...o", quantized, kernel) / (kernel_scale * scale)
        if factors:
            y += np.float32(self.lora_scale) * ((x @ factors[0]) @ factors[1])
        if bias is not None:
            y += bias
        return activations.apply_in_place(self.args.activation, y)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        shape, units = inputs[0], self.args.units
        if len(shape) <= 2:
            return f"{shape[-1]} input features → {units} units"
        kept = format_shape(shape[1:-1])
        return (f"acts on the last axis only, {shape[-1]} → {units}, axes {kept} kept "
                f"(the same {units} units at every position)")

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        if held := self.held_explanation(inputs, outputs, weights):
            return held
        fan_in = inputs[0][-1]
        bias = " + 1" if self.args.use_bias else ""
        total = sum(w.size for w in weights)
        return (f"{self.explain_shape(inputs, outputs)}; params ({fan_in}{bias})·{self.args.units}"
                f" = {total:,}")


EINSUM_FORMS = (
    # (pattern after '...' becomes '0', where the ellipsis is)
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
    (re.compile(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0"), "right"),
)


@dataclass(frozen=True)
class EinsumSpec:
    """An EinsumDense equation split as Keras' ``_analyze_einsum_string`` reads it."""

    input: str
    weight: str
    output: str
    ellipsis: str | None
    """``"left"`` (``...ab``), ``"right"`` (``ab...``) or None."""


@dataclass(frozen=True)
class EinsumShapes:
    kernel: Shape
    bias: Shape | None
    output: Shape
    sizes: dict[str, Dim]
    """The size of every letter of the equation."""


@register
class EinsumDense(HeldWeights, Layer):
    """A dense layer written as an einsum of the input with a kernel, e.g. ``abc,cd->abd``.

    Shapes follow Keras' ``_analyze_einsum_string`` to the letter, including its quirks: an
    output axis the request leaves None stays None, and with ``...`` on the left the elided
    axes are listed in reverse order in the output shape Keras 3 declares (its einsum computes
    them in order: ``declared_shape_caveat`` warns where the two differ). With ``lora_rank``
    its kernel is frozen and adapted, and a quantized dtype policy gives it other weights
    (``adapters``).
    """

    keras_name = "EinsumDense"
    family = "core"
    quantization_modes = ("int8", "int4", "float8", "gptq", "awq")
    reverses_elided_axes = True
    """Keras 3's ``_analyze_split_string`` inserts each axis a left ``...`` elides at position 1
    of the declared output shape, which lists them in reverse order; tf.keras 2 keeps them in
    order."""

    class Args(LayerArgs, KernelLoraArgs):
        equation = fields.String(required=True)
        output_shape = ShapeField(required=True)
        bias_axes = fields.String(load_default=None, allow_none=True)
        activation = activation_field()

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.spec = self.parse(self.args.equation)
        self.check_letters()

    @staticmethod
    def parse(equation: str) -> EinsumSpec:
        replaced = equation.replace("...", "0")
        for pattern, ellipsis in EINSUM_FORMS:
            match = pattern.fullmatch(replaced)
            if match:
                return EinsumSpec(*match.groups(), ellipsis)
        raise ArgumentError("equation", f"{equation!r} is not one of the forms Keras accepts: "
                                        "ab,bc->ac, ...b,bc->...c or ab...,bc->ac...")

    def check_letters(self) -> None:
        spec = self.spec
        for letter in spec.output:
            if letter not in spec.input and letter not in spec.weight:
                raise ArgumentError("equation", f"output axis {letter!r} is neither in the "
                                                f"input {spec.input!r} nor in the kernel "
                                                f"{spec.weight!r}")
        for letter in spec.weight:
            if letter not in spec.input and letter not in spec.output:
                raise ArgumentError("equation", f"kernel axis {letter!r} is neither in the "
                                                f"input {spec.input!r} nor in the output "
                                                f"{spec.output!r}, so its size is unknown")
        if self.args.bias_axes == "":
            raise ArgumentError("bias_axes", "names no output axis: give the output axes that "
                                             "have a bias, or null for no bias")
        for letter in self.args.bias_axes or "":
            if letter not in spec.output:
                raise ArgumentError("bias_axes", f"bias axis {letter!r} is not in the output "
                                                 f"{spec.output!r}")
        expected = len(spec.output) - (spec.ellipsis != "left")
        if len(self.args.output_shape) != expected:
            raise ArgumentError("output_shape", f"needs {expected} sizes, one per output axis "
                                                f"{spec.output!r} after the batch, got "
                                                f"{list(self.args.output_shape)}")

    def analyse(self, shape: Shape) -> EinsumShapes:
        """Kernel, bias and output shapes for an input ``shape``, as Keras computes them."""
        spec = self.spec
        elided = len(shape) - len(spec.input)
        if elided < 0 or (elided > 0 and spec.ellipsis is None):
            raise LayerInputIncompatible(
                f"EinsumDense's equation {self.args.equation!r} names {len(spec.input)} input "
                f"axes ({spec.input!r}, batch first), but its input {format_shape(shape)} has "
                f"{len(shape)}.",
                "Write one letter per input axis in the equation, or use '...' for the axes "
                "the layer does not touch (e.g. '...c,cd->...d').",
            )
        output = [shape[0], *self.args.output_shape]
        if spec.ellipsis == "left":
            kept = shape[1:elided]
            output[1:1] = kept[::-1] if self.reverses_elided_axes else kept
            offset = elided
            input_axes = {d: i + elided for i, d in enumerate(spec.input)}
        else:
            output.extend(shape[len(shape) - elided:] if elided else ())
            offset = 0
            input_axes = {d: i for i, d in enumerate(spec.input)}
        output_axes = {d: i + offset for i, d in enumerate(spec.output)}
        for letter, axis in input_axes.items():
            declared = output[output_axes[letter]] if letter in output_axes else None
            if declared is not None and declared != shape[axis]:
                raise LayerInputIncompatible(
                    f"EinsumDense's axis {letter!r} is {shape[axis]} in its input "
                    f"{format_shape(shape)} but {declared} in its output_shape.",
                    f"Set output_shape to {shape[axis]} on axis {letter!r}, or give the axis "
                    "its own letter in the kernel to change its size.",
                )
        kernel = tuple(output[output_axes[d]] if d in output_axes else shape[input_axes[d]]
                       for d in spec.weight)
        sizes = {d: shape[a] for d, a in input_axes.items()}
        sizes.update({d: output[a] for d, a in output_axes.items() if output[a] is not None})
        return EinsumShapes(kernel, self.bias_shape(output, offset, elided), tuple(output),
                            sizes)

    def bias_shape(self, output: list[Dim], offset: int, elided: int) -> Shape | None:
        """From the first bias axis on, the axis size on bias axes and 1 elsewhere."""
        bias_axes, spec = self.args.bias_axes, self.spec
        if bias_axes is None:
            return None
        first = min(spec.output.find(d) for d in bias_axes)
        bias = [output[i + offset] if d in bias_axes else 1
                for i, d in enumerate(spec.output) if i >= first]
        if spec.ellipsis != "left":
            bias.extend([1] * elided)
        return tuple(bias)

    def output_shape(self, shape: Shape) -> Shape:
        return self.analyse(shape).output

    def undeclared_shape(self, index: int, options: Mapping[str, Any],
                         inputs: Shapes) -> str | None:
        if self.spec.ellipsis == "left" and self.reverses_elided_axes:
            return ("with '...' on the left of its equation, Keras 3 declares the axes it "
                    "elides in reverse order, and computes them in order")
        return super().undeclared_shape(index, options, inputs)

    def computed_output_shape(self, inputs: Shapes) -> Shape | None:
        return self.elided_in_order(inputs[0]) or super().computed_output_shape(inputs)

    def elided_in_order(self, shape: Shape) -> Shape | None:
        """Where Keras 3 declares the axes a left ``...`` elides in reverse order: the output
        with them in order, as its einsum computes it; None elsewhere."""
        elided = len(shape) - len(self.spec.input)
        kept = shape[1:elided]
        if self.spec.ellipsis != "left" or not self.reverses_elided_axes or kept == kept[::-1]:
            return None
        return (shape[0], *kept, *self.analyse(shape).output[elided:])

    def declared_shape_caveat(self, inputs: Shapes) -> ShapeCaveat | None:
        """Where Keras 3 declares the axes a left ``...`` elides in another order than its
        einsum computes them: the warning, and the arguments that name every axis instead,
        which Keras declares as it computes."""
        shape = inputs[0]
        computed = self.elided_in_order(shape)
        if computed is None:
            return None
        declared = self.analyse(shape).output
        elided = len(shape) - len(self.spec.input)
        spec, used = self.spec, set(self.args.equation)
        fresh = "".join(c for c in string.ascii_letters if c not in used)[:elided]
        equation = f"{fresh}{spec.input},{spec.weight}->{fresh}{spec.output}"
        message = (f"'{self.name}' computes {format_shape(computed)}, but Keras 3 declares "
                   f"{format_shape(declared)}, as the summary shows: with '...' on the left of "
                   f"its equation {self.args.equation!r}, Keras 3 lists the axes it elides in "
                   "reverse order in the shape it declares. A layer after it is built for the "
                   "declared shape: one that reads only the last axis still runs, others fail "
                   "at predict or compute over other axes than the summary shows.")
        hint = (f"Name every axis instead of '...': equation={equation!r} with "
                f"output_shape={list(computed[1:])}, which Keras declares as it computes.")
        return ShapeCaveat(message, hint,
                           {"equation": equation, "output_shape": list(computed[1:])})

    def weights_for(self, shape: Shape) -> list[Weight]:
        shapes = self.analyse(shape)
        for size in (*shapes.kernel, *(shapes.bias or ())):
            self.require_known(size, f"every axis of its kernel {format_shape(shapes.kernel)}")
        weights = [Weight("kernel", shapes.kernel, initializer="glorot_uniform")]
        if shapes.bias is not None:
            weights.append(Weight("bias", shapes.bias))
        return self.held(weights, shape)

    def quantization_refused(self, mode: str) -> str | None:
        if self.spec.ellipsis is not None and mode != "float8":
            return (f"Keras 3 cannot quantize an EinsumDense whose equation has '...' in "
                    f"{mode} (its quantizer fails on it)")
        return None

    def quantized_weights(self, weights: list[Weight], quantization: Quantization,
                          shape: Shape) -> list[Weight]:
        """As Dense's, the kernel seen as a matrix: int4 sums over the axes the output lacks,
        GPTQ and AWQ split it by ``gptq_matrix``."""
        kernel, *bias = weights
        mode = quantization.mode
        if mode == "float8":
            return [*float8_weights(quantization.amax_history), *weights]
        if mode == "int8":
            scale = einsum_scale_layouts(self.args.equation)[1].shape(kernel.shape)
            return [frozen("kernel", kernel.shape, dtype="int8"),
                    frozen("kernel_scale", scale, "ones"), *bias]
        if mode == "int4":
            summed = [i for i, d in enumerate(self.spec.weight) if d not in self.spec.output]
            rows = math.prod(kernel.shape[i] for i in summed)
            return [*matrix_weights(quantization, rows, math.prod(kernel.shape) // rows), *bias]
        return [*matrix_weights(quantization, *gptq_matrix(kernel.shape), zero="zero_point"),
                *bias]

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        """The product of every letter's size, batch excluded, at each elided position."""
        shape = inputs[0]
        shapes = self.analyse(shape)
        letters = set(self.spec.input + self.spec.weight + self.spec.output)
        if self.spec.ellipsis is None:
            letters.discard(self.spec.input[0])  # the batch axis
        elided = len(shape) - len(self.spec.input)
        positions = (shape[1:elided] if self.spec.ellipsis == "left"
                     else shape[len(shape) - elided:] if elided else ())
        sizes = [shapes.sizes.get(d) for d in letters] + list(positions)
        return 0 if None in sizes else math.prod(sizes)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        if self.quantization is not None:
            return self.apply_quantized(x, weights)
        y = np.einsum(self.args.equation, x, weights[0], optimize=True)
        if self.args.bias_axes is not None:
            y += weights[1]
        return activations.apply_in_place(self.args.activation, y)

    def apply_quantized(self, x: Array, weights: Sequence[Array]) -> Array:
        """Keras 3's quantized call. int8: x quantized along the axes the einsum sums, the
        einsum in integers, divided by both scales laid out in the output's axes
        (``ScaleLayout``); int4: the einsum with the kernel dequantized (``int4_matrix``), as
        a matrix of its summed axes by the others, reshaped to the kernel's shape."""
        equation, biased = self.args.equation, self.args.bias_axes is not None
        if self.quantization is not None and self.quantization.mode == "float8":
            y = self.float8_product(equation, x, weights, biased)
            return activations.apply_in_place(self.args.activation, y)
        bias, factors, frozen = self.quantized_parts(weights, biased)
        if self.quantization is not None and self.quantization.mode == "int4":
            kernel = int4_matrix(self.quantization, frozen, frozen[1].shape[-1])
            y = np.einsum(equation, x, kernel.reshape(self.analyse(x.shape).kernel),
                          optimize=True)
        else:
            kernel, kernel_scale = frozen
            layout = einsum_scale_layouts(equation)[0]
            quantized, scale = abs_max_quantize(x, layout.reduced)
            y = integer_product(equation, quantized, kernel) / (
                layout.arrange(scale) * kernel_scale)
        if factors:
            y += np.float32(self.lora_scale) * (
                np.einsum(equation, x, factors[0], optimize=True) @ factors[1])
        if bias is not None:
            y += bias
        return activations.apply_in_place(self.args.activation, y)

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        shapes = self.analyse(inputs[0])
        sizes = ", ".join(f"{d}={shapes.sizes.get(d)}" for d in dict.fromkeys(
            self.spec.input + self.spec.weight + self.spec.output))
        return (f"einsum {self.args.equation} with {sizes}: kernel "
                f"{format_shape(shapes.kernel)}, output {format_shape(outputs[0])}")


@tf_keras_variant
class TfKerasEinsumDense(EinsumDense):
    """tf.keras 2's EinsumDense declares the axes a left ``...`` elides in order."""

    reverses_elided_axes = False


INTEGER_ACTIVATIONS = frozenset({"relu", "linear", "hard_tanh"})
"""The activations Keras 3 computes on integers as integers (probed on int32 and uint8)."""
FLOAT_ONLY_ACTIVATIONS = frozenset({"sigmoid", "swish", "silu", "glu"})
"""The activations whose JAX function refuses integers ("logistic does not accept dtype")."""
UNSIGNED_NEGATING_ACTIVATIONS = frozenset({"softmax", "log_softmax", "softsign", "log_sigmoid",
                                           "squareplus", "hard_tanh"})
"""The activations whose JAX function negates its input (or subtracts its maximum) in the
input's dtype: garbage from unsigned integers (probed on uint8)."""


@register
class Activation(NegatesUnsignedIntegers, Layer):
    """Applies an activation function element by element."""

    keras_name = "Activation"
    family = "core"
    elementwise = True
    supports_masking = True
    keeps_integers = True

    class Args(LayerArgs):
        activation = activation_field(required=True)

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return activations.get(self.args.activation)(x)

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        """relu, linear and hard_tanh keep integers; the other activations compute floats."""
        keeps = self.args.activation in INTEGER_ACTIVATIONS
        return super().output_dtype(dtypes) if keeps else None

    def integer_failure(self) -> str | None:
        if self.args.activation not in FLOAT_ONLY_ACTIVATIONS:
            return None
        return (f"takes the {self.args.activation} of them as integers (\"logistic does not "
                "accept dtype int32\")")

    def negates_unsigned(self) -> bool:
        return self.args.activation in UNSIGNED_NEGATING_ACTIVATIONS


@register
class Identity(Layer):
    """Returns its input unchanged."""

    keras_name = "Identity"
    family = "core"
    elementwise = True
    supports_masking = True
    keeps_integers = True


@tf_keras_variant
class TfKerasIdentity(Identity):
    """Identity in a tf.keras 2 document: it does not support masking, so a mask stops there
    (recorded: ``masking:masking_identity_lstm``)."""

    supports_masking = False


@register
class Embedding(HeldWeights, Layer):
    """Turns integer indices into vectors of ``output_dim``: (batch, ...) → (batch, ..., d).
    With ``lora_rank`` its embeddings are frozen and adapted, and an int8 or int4 dtype
    policy quantizes them (``adapters``)."""

    keras_name = "Embedding"
    family = "core"
    legacy_args = MappingProxyType({"init": "embeddings_initializer"})
    adapted = "embeddings"
    honours_lora_alpha = False
    quantization_modes = ("int8", "int4")

    class Args(LayerArgs, EmbeddingLoraArgs):
        input_dim = PositiveInt(required=True)
        output_dim = PositiveInt(required=True)
        mask_zero = fields.Boolean(load_default=False)

    def output_shape(self, shape: Shape) -> Shape:
        return (*shape, self.args.output_dim)

    def weights_for(self, shape: Shape) -> list[Weight]:
        return self.held([Weight("embeddings", (self.args.input_dim, self.args.output_dim),
                                 initializer="uniform")], shape)

    def quantized_weights(self, weights: list[Weight], quantization: Quantization,
                          shape: Shape) -> list[Weight]:
        """int8: the table in int8, a scale per index; int4: each row packed, its scale (and
        zero point) per index, or per block of a row."""
        return self.quantized_table("embeddings", quantization, transposed=False)

    def quantized_table(self, name: str, quantization: Quantization,
                        transposed: bool) -> list[Weight]:
        """``name``, the (input_dim, output_dim) table (``transposed``: output_dim first, as
        ReversibleEmbedding's ``reverse_embeddings``), quantized."""
        vocabulary, dims = self.args.input_dim, self.args.output_dim
        if quantization.mode == "int8":
            table = (dims, vocabulary) if transposed else (vocabulary, dims)
            return [frozen(name, table, dtype="int8"),
                    frozen(f"{name}_scale", (vocabulary,), "ones")]
        block = quantization.block_size
        scale = ((vocabulary,) if block is None else
                 (groups(dims, block), vocabulary) if transposed else
                 (vocabulary, groups(dims, block)))
        weights = [frozen(name, (packed(dims), vocabulary) if transposed else
                          (vocabulary, packed(dims)), dtype="int8"),
                   frozen(f"{name}_scale", scale, "ones")]
        if block is not None:  # a reverse table's zero points are floats
            weights.append(frozen(f"{name}_zero", scale, dtype=None if transposed else "int8"))
            if not transposed:
                weights.append(frozen("g_idx", (dims,), dtype="float32"))
        return weights

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        """Keras 3 casts float indices to int32 (XLA's conversion) and looks them up with
        ``jnp.take``: indices from -input_dim wrap around, those outside give NaN."""
        if self.quantization is not None:
            return self.look_up_quantized(x, weights)
        return self.look_up(weights[0], x)

    def look_up(self, table: Array, x: Array) -> Array:
        """The rows of ``table`` at the indices ``x``, NaN where Keras' ``take`` fills."""
        indices = integer_values(x, "int32").astype(np.int64)
        inside = self.valid_indices(indices, len(table))
        found = table[np.where(inside, indices, 0)]
        if inside.all():
            return found
        return np.where(inside.reshape(*inside.shape, *[1] * (found.ndim - inside.ndim)), found,
                        np.float32(np.nan))

    def look_up_quantized(self, x: Array, weights: Sequence[Array]) -> Array:
        """Keras 3's quantized lookup: each int8 row divided by its index's scale, or each
        int4 row dequantized (``int4_table``); LoRA's update (a's rows times b) added."""
        _, factors, frozen = self.quantized_parts(weights, biased=False)
        y = self.look_up(self.float_table(frozen), x)
        if factors:
            y += np.float32(self.lora_scale) * (self.look_up(factors[0], x) @ factors[1])
        return y

    def float_table(self, frozen: Sequence[Array]) -> Array:
        """A quantized layer's table (the first of its ``frozen`` weights) in float32."""
        quantization = self.quantization
        if quantization is not None and quantization.mode == "int4":
            parts = 2 if quantization.block_size is None else 4
            return int4_table(quantization, list(frozen[:parts]), self.args.output_dim)
        table, scale = frozen[:2]
        return table / scale[:, None]

    @staticmethod
    def valid_indices(indices: Array, size: int) -> Array:
        return (indices >= -size) & (indices < size)

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        """With ``mask_zero`` the index 0 is padding: the mask is False there."""
        return [inputs[0] != 0] if self.args.mask_zero else []

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"each of the {format_shape(inputs[0][1:])} integer indices (0 to "
                f"{self.args.input_dim - 1}) becomes a vector of {self.args.output_dim}")


@tf_keras_variant
class TfKerasEmbedding(Embedding):
    """Embedding in a tf.keras 2 document: TensorFlow's gather refuses an index outside
    [0, input_dim), negative ones included."""

    @staticmethod
    def valid_indices(indices: Array, size: int) -> Array:
        inside = (indices >= 0) & (indices < size)
        if not inside.all():
            raise NotImplementedError(
                f"its indices must lie in [0, {size}) (input_dim), and some do not: "
                "tf.keras 2's predict fails there too")
        return inside


@register
class ReversibleEmbedding(Embedding):
    """An Embedding whose weights also project vectors back to ``input_dim`` logits
    (``reverse=True``, e.g. a language model's output layer).

    The default call is Embedding's lookup. Called with ``reverse=True`` (a Keras document's
    call keyword, or a native entry's ``"call": {"reverse": true}``), (batch, ..., output_dim)
    becomes (batch, ..., input_dim): ``x @ embeddings.T``, or ``x @ reverse_embeddings``
    (output_dim, input_dim) with ``tie_weights=False``; with ``logit_soft_cap`` c the logits
    become ``c·tanh(logits / c)``. A lookup and a reverse call of one layer share its weights.
    With ``mask_zero`` the lookup attaches the padding mask to its output, so the next layers
    read it as Embedding's.
    """

    keras_name = "ReversibleEmbedding"
    family = "core"

    class Args(Embedding.Args):
        tie_weights = fields.Boolean(load_default=True)
        logit_soft_cap = fields.Float(load_default=None, allow_none=True)

    def weights_for(self, shape: Shape) -> list[Weight]:
        weights = super().weights_for(shape)
        if not self.args.tie_weights and self.quantization is None:
            weights.append(Weight("reverse_embeddings",
                                  (self.args.output_dim, self.args.input_dim),
                                  initializer="uniform"))
        return weights

    def quantized_weights(self, weights: list[Weight], quantization: Quantization,
                          shape: Shape) -> list[Weight]:
        table = super().quantized_weights(weights, quantization, shape)
        if self.args.tie_weights:
            return table
        return [*table, *self.quantized_table("reverse_embeddings", quantization,
                                              transposed=True)]

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        if args.get("lora_rank") and not args["tie_weights"]:
            raise ArgumentError("lora_rank", "Keras 3 cannot build a ReversibleEmbedding with "
                                             "LoRA and tie_weights=False (it adds "
                                             "reverse_embeddings after LoRA locks the layer)")

    def output_shapes_for_call(self, inputs: Shapes, options: Mapping[str, Any]) -> list[Shape]:
        if not options.get("reverse"):
            return self.output_shapes(inputs)
        return [self.reverse_shape(self.one(inputs))]

    def reverse_shape(self, shape: Shape) -> Shape:
        """(batch, ..., output_dim) -> (batch, ..., input_dim). Keras declares this shape for
        any input, but its matmul fails on a last axis other than ``output_dim`` (and on a
        rank-1 input it drops the batch axis): both are refused here."""
        dims = self.args.output_dim
        if len(shape) < 2:
            raise LayerInputIncompatible(
                f"ReversibleEmbedding with reverse=True projects the last axis of "
                f"(batch, ..., {dims}) vectors, but received {format_shape(shape)}, which has "
                "only the batch axis.",
                f"Call it in reverse on the hidden states, vectors of {dims} values.")
        if shape[-1] is not None and shape[-1] != dims:
            raise LayerInputIncompatible(
                f"ReversibleEmbedding with reverse=True multiplies vectors of {dims} values "
                f"(its output_dim) by the {dims}×{self.args.input_dim} projection, but "
                f"received {format_shape(shape)}, vectors of {shape[-1]}.",
                f"Bring the hidden states to {dims} features first (e.g. Dense({dims})).")
        return (*shape[:-1], self.args.input_dim)

    def forward_for_call(self, inputs: Sequence[Array], weights: Sequence[Array],
                         options: Mapping[str, Any]) -> list[Array]:
        if not options.get("reverse"):
            return self.forward(inputs, weights)
        return [self.project(inputs[0], weights)]

    def compute_mask_for_call(self, inputs: Sequence[Array], masks: Sequence[Mask],
                              options: Mapping[str, Any]) -> list[Mask]:
        """Keras: the reverse call's logits carry no mask; the lookup's, the padding mask."""
        return [] if options.get("reverse") else self.compute_mask(inputs, masks)

    def project(self, x: Array, weights: Sequence[Array]) -> Array:
        """The reverse call's logits, soft-capped when ``logit_soft_cap`` is set. In int8,
        as Keras 3's: x quantized per vector, the product in integers, divided by both
        scales (LoRA is left out)."""
        if self.quantization is not None:
            if self.quantization.mode != "int8":
                raise NotImplementedError("the forward pass computes the reverse call of a "
                                          "quantized ReversibleEmbedding in int8 only")
            table, scale = self.quantized_parts(weights, biased=False)[2][:2]
            kernel, scale = ((table.T, scale) if self.args.tie_weights else weights[-2:])
            quantized, x_scale = abs_max_quantize(x)
            logits = integer_product("...i,io->...o", quantized, kernel) / (x_scale * scale)
        else:
            kernel = weights[0].T if self.args.tie_weights else weights[1]
            logits = (x.reshape(-1, x.shape[-1]) @ kernel).reshape(*x.shape[:-1],
                                                                  kernel.shape[1])
        cap = self.args.logit_soft_cap
        return logits if cap is None else np.tanh(logits / np.float32(cap)) * np.float32(cap)

    @staticmethod
    def is_reverse(inputs: Shapes, outputs: Shapes) -> bool:
        """A reverse call keeps its input's rank; a lookup appends the embedding axis."""
        return len(outputs[0]) == len(inputs[0])

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        if not self.is_reverse(inputs, outputs):
            return 0
        positions = num_elements(inputs[0][1:-1]) or 0
        return positions * self.args.output_dim * self.args.input_dim

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        if not self.is_reverse(inputs, outputs):
            return super().explain_shape(inputs, outputs)
        dims, vocabulary, cap = self.args.output_dim, self.args.input_dim, self.args.logit_soft_cap
        kernel = "the transposed embeddings" if self.args.tie_weights else "reverse_embeddings"
        text = (f"reverse=True: each vector of {dims} is multiplied by {kernel} "
                f"({dims}×{vocabulary}), giving {vocabulary} logits, one per index, "
                f"{format_shape(inputs[0])} → {format_shape(outputs[0])}")
        return text if cap is None else f"{text}, soft-capped to {cap}·tanh(logits / {cap})"


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
