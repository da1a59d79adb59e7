"""Keras 3's quantized layers: ``model.quantize(mode)``, or a layer whose dtype policy is
quantized (``int8_from_float32``, ``int4/128_from_float32``, ``gptq/4/128_from_float32``...).

Dense, EinsumDense, Embedding and ReversibleEmbedding then hold other weights than their float
kernel: int8 or packed int4 kernels (two values a byte, ``packed``) with their scales, zero
points and group indices, all non-trainable, or float8's trainable scales and histories.
Their output shapes do not change, their parameter counts do; each layer's
``quantized_weights`` says which it holds, with the arithmetic here. Other layers build as
they would in float (Keras ignores the policy's mode there).

The forward pass computes int8 (``abs_max_quantize``, ``integer_product``, ``ScaleLayout``),
int4 (``unpack_int4``, ``int4_matrix``, ``int4_table``) and float8 (``float8_round_trip``)
layers as Keras does, and refuses GPTQ and AWQ, naming the layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ArgumentError
from ..shapes import Shape
from .base import Array, Weight

POLICY_CLASSES = frozenset({"QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy",
                            "Int4DTypePolicy", "GPTQDTypePolicy", "AWQDTypePolicy"})
MODES = ("int8", "int4", "float8", "gptq", "awq")
MODE_FORMS = {"int8": "'int8'", "float8": "'float8'",
              "int4": "'int4' or 'int4/<block size>', the size -1 or positive",
              "gptq": "'gptq/<bits>/<group size>', of 2, 3, 4 or 8 bits, the size -1 or positive",
              "awq": "'awq/4/<group size>', the size -1 or positive"}
GPTQ_BITS = (2, 3, 4, 8)
AWQ_BITS = (4,)
DEFAULT_AMAX_HISTORY = 1024
"""float8's history of absolute maxima, when the policy does not say its length."""


@dataclass(frozen=True)
class Quantization:
    """A quantized dtype policy: its ``mode`` and the numbers its mode string carries
    (``int4/128``: int4 in blocks of 128; ``gptq/4/128``: 4-bit GPTQ in groups of 128)."""

    mode: str
    block_size: int | None = None
    """int4's block along the reduced axis; None for one scale per channel."""
    bits: int = 4
    group_size: int = -1
    """GPTQ's and AWQ's group of inputs; -1 for one group."""
    amax_history: int = DEFAULT_AMAX_HISTORY
    source: str = "float32"
    """The policy the layer computes in (``int8_from_mixed_bfloat16``: mixed_bfloat16)."""

    @property
    def text(self) -> str:
        """The policy's name, as Keras spells it."""
        mode = {"int4": f"int4/{self.block_size}" if self.block_size else "int4",
                "gptq": f"gptq/{self.bits}/{self.group_size}",
                "awq": f"awq/{self.bits}/{self.group_size}"}.get(self.mode, self.mode)
        return f"{mode}_from_{self.source}"


def quantization(policy: Any) -> Quantization | None:
    """The quantization of a layer's ``dtype``: a Keras 3 policy's JSON, or its name
    (``int8_from_float32``); None for a float policy, or a name of no quantization mode.
    ArgumentError (at ``dtype``) for a mode of numbers Keras refuses (``int4/0``)."""
    if isinstance(policy, dict):  # parsed JSON (not the slower test of Mapping's)
        config, class_name = policy.get("config"), policy.get("class_name")
        if not isinstance(class_name, str) or class_name not in POLICY_CLASSES or not isinstance(
                config, dict):
            return None
        mode, source = config.get("mode"), config.get("source_name", "float32")
        history = config.get("amax_history_length", DEFAULT_AMAX_HISTORY)
    elif isinstance(policy, str) and "_from_" in policy:
        mode, _, source = policy.partition("_from_")
        history = DEFAULT_AMAX_HISTORY
    else:
        return None
    if not isinstance(mode, str) or not isinstance(source, str) or mode.split("/")[0] not in MODES:
        return None
    if type(history) is not int or history < 0:
        raise ArgumentError("dtype", f"amax_history_length must be an integer >= 0, got "
                                     f"{history!r:.40}")
    return parsed_mode(mode, source, history)


def parsed_mode(mode: str, source: str, history: int) -> Quantization:
    """A quantization mode's name and numbers, checked as Keras 3's policies check them."""
    name, *parts = mode.split("/")
    numbers = [int(p) for p in parts if p.lstrip("-").isdigit()]
    if name == "int4" and len(parts) <= 1 and len(numbers) == len(parts):
        block = numbers[0] if numbers else -1
        if block == -1 or block > 0:
            return Quantization("int4", None if block == -1 else block, source=source)
    elif name in ("gptq", "awq") and len(parts) == len(numbers) == 2:
        bits, group = numbers
        if bits in (AWQ_BITS if name == "awq" else GPTQ_BITS) and (group == -1 or group > 0):
            return Quantization(name, bits=bits, group_size=group, source=source)
    elif name in ("int8", "float8") and not parts:
        return Quantization(name, amax_history=history, source=source)
    raise ArgumentError("dtype", f"{mode!r:.40} is not a quantization mode Keras 3 reads: "
                                 f"{MODE_FORMS[name]}")


def packed(size: int) -> int:
    """Two int4 values a byte: ``size`` values take this many."""
    return (size + 1) // 2


def groups(size: int, group: int | None) -> int:
    """How many groups of ``group`` cover ``size`` (one where ``group`` is None or -1)."""
    return 1 if group is None or group == -1 else math.ceil(size / group)


def float8_weights(amax_history: int) -> list[Weight]:
    """float8's scales and histories of absolute maxima: of the inputs, the kernel and the
    outputs' gradients, all trainable (Keras overwrites them with their gradients)."""
    return [weight for of in ("inputs", "kernel", "outputs_grad")
            for weight in (Weight(f"{of}_scale", (), initializer="ones", dtype="float32"),
                           Weight(f"{of}_amax_history", (amax_history,), dtype="float32"))]


def frozen(name: str, shape: Shape, initializer: str = "zeros", dtype: str | None = None,
           ) -> Weight:
    """A weight Keras makes non-trainable, of ``dtype`` (None: the layer's variable dtype)."""
    return Weight(name, tuple(shape), trainable=False, initializer=initializer, dtype=dtype)


def matrix_weights(q: Quantization, rows: int, columns: int, zero: str = "kernel_zero",
                   ) -> list[Weight]:
    """What a quantized 2-D kernel of ``rows`` (the axis summed over) × ``columns`` holds,
    as Dense and EinsumDense (its kernel seen as a matrix) build it, but int8's, whose
    scale each layer shapes."""
    if q.mode == "int4":
        scale: tuple[int, ...] = ((columns,) if q.block_size is None else
                                  (groups(rows, q.block_size), columns))
        weights = [frozen("kernel", (rows, packed(columns)), dtype="int8"),
                   frozen("kernel_scale", scale, "ones")]
        if q.block_size is not None:
            weights += [frozen(zero, scale, dtype="int8"),
                        frozen("g_idx", (rows,), dtype="float32")]
        return weights
    kernel = (packed(columns) if q.mode == "awq" or q.bits == 4 else columns, rows)
    per_group = (columns, groups(rows, q.group_size))
    weights = [frozen("kernel", kernel, dtype="uint8"), frozen("kernel_scale", per_group, "ones"),
               frozen(zero, per_group, dtype="uint8")]
    if q.mode == "awq":
        weights.append(frozen("awq_scales", (rows,), "ones"))
    return [*weights, frozen("g_idx", (rows,), dtype="float32")]


@dataclass(frozen=True)
class ScaleLayout:
    """How Keras 3 lays out an int8 EinsumDense's scales in the output's axes, for its input
    or its kernel (``_analyze_quantization_info``): the axes the einsum sums (each quantized
    per slice along them), then a transpose to the output's order, axes added of size 1 where
    the tensor lacks an output axis, and axes dropped where there are none to add."""

    reduced: tuple[int, ...]
    transpose: tuple[int, ...]
    expand: tuple[int, ...]
    squeeze: tuple[int, ...]

    def shape(self, shape: Shape) -> tuple[int, ...]:
        """The scale's shape for a tensor of ``shape``."""
        laid = [1 if axis in self.reduced else shape[axis] for axis in self.transpose]
        for axis in sorted(self.expand):
            laid.insert(axis, 1)
        for axis in sorted(self.squeeze, reverse=True):
            laid.pop(axis)
        return tuple(laid)

    def arrange(self, scale: Array) -> Array:
        """A scale computed along ``reduced`` (its axes kept) in the output's layout."""
        if self.transpose:
            scale = np.transpose(scale, self.transpose)
        if self.expand:
            scale = np.expand_dims(scale, self.expand)
        return np.squeeze(scale, self.squeeze) if self.squeeze else scale


def einsum_scale_layouts(equation: str) -> tuple[ScaleLayout, ScaleLayout]:
    """The input's and the kernel's ``ScaleLayout`` of an EinsumDense's equation (without
    '...': Keras cannot quantize those). Ported with its quirks: Keras' loops reuse one
    ``index`` variable, whose value carries from one loop to the next."""
    inputs, _, rest = equation.partition(",")
    weights, _, outputs = rest.partition("->")
    index = outputs.find(weights[-1])  # the value Keras' first loops leave in ``index``
    layouts = []
    for spec in (inputs, weights):
        reduced = [i for i, label in enumerate(spec) if label not in outputs]
        expand = [i for i, label in enumerate(outputs) if label not in spec]
        transpose = [spec.index(label) for label in outputs if label in spec]
        squeeze = []
        for axis in reduced:
            if expand:
                index = expand.pop(0)
            else:
                squeeze.append(axis)
            transpose.insert(index, axis)
        layouts.append(ScaleLayout(tuple(reduced), tuple(transpose), tuple(expand),
                                   tuple(squeeze)))
    return layouts[0], layouts[1]


EPSILON = np.float32(1e-7)
"""Keras' ``backend.epsilon()``, which its AbsMaxQuantizer adds to each maximum."""


def abs_max_quantize(x: Array, axes: int | tuple[int, ...] = -1) -> tuple[Array, Array]:
    """Keras' AbsMaxQuantizer: ``x`` scaled so that its largest magnitude along ``axes`` is
    127, rounded (half to even) and clipped to int8's values (held in float32), and the
    scale (those axes kept)."""
    scale = np.float32(127) / (np.max(np.abs(x), axis=axes, keepdims=True) + EPSILON)
    return np.clip(np.round(x * scale), -127, 127), scale


def integer_product(subscripts: str, x: Array, kernel: Array) -> Array:
    """The einsum of int8 values (in float32) as Keras' int32 arithmetic gives it, exact (in
    float64, whose 53 bits hold any such sum), in float32."""
    return np.einsum(subscripts, x.astype(np.float64), kernel.astype(np.float64),
                     optimize=True).astype(np.float32)


FLOAT8_MAX = np.float32(448)
"""The largest float8_e4m3fn value."""


def float8_round_trip(x: Array, scale: Array) -> Array:
    """Keras' ``quantize_and_dequantize`` in float8_e4m3fn: ``x / scale`` clipped to ±448,
    rounded to the nearest float8_e4m3fn value (3 bits of mantissa, ties to even; below 2⁻⁶,
    steps of 2⁻⁹), times ``scale``."""
    scaled = np.clip(x / scale, -FLOAT8_MAX, FLOAT8_MAX)
    _, exponent = np.frexp(np.maximum(np.abs(scaled), np.float32(2.0 ** -6)))
    step = np.ldexp(np.float32(1), exponent - 4).astype(np.float32)
    return (np.round(scaled / step) * step).astype(np.float32) * scale


def unpack_int4(packed: Array, length: int, axis: int) -> Array:
    """Keras' ``unpack_int4``: int4 values in [-8, 7] from bytes (held in float32) that each
    hold two, the first in the low nibble, along ``axis``, cut to ``length``."""
    data = np.moveaxis(np.asarray(packed).astype(np.int64) & 0xFF, axis, -1)
    low, high = (data & 0x0F ^ 8) - 8, (data >> 4 ^ 8) - 8
    both = np.stack([low, high], axis=-1).reshape(*data.shape[:-1], 2 * data.shape[-1])
    return np.moveaxis(both[..., :length], -1, axis).astype(np.float32)


def int4_matrix(quantization: Quantization, frozen: list[Array], columns: int) -> Array:
    """An int4 kernel seen as a matrix (the axis summed over first), unpacked and
    dequantized in float32: each column divided by its scale, or, in blocks, each value less
    its block's zero point, times its block's scale (Keras' ``dequantize_with_sz_map``)."""
    packed, scale, *zero_and_groups = frozen
    values = unpack_int4(packed, columns, axis=-1)
    if quantization.block_size is None:
        return values / scale
    zero, group_of_row = zero_and_groups
    rows = group_of_row.astype(np.int32)
    return (values - zero[rows]) * scale[rows]


def int4_table(quantization: Quantization, frozen: list[Array], dims: int) -> Array:
    """An int4 Embedding's table, unpacked and dequantized in float32: each row divided by
    its index's scale, or, in blocks of a row, less its zero point, times its scale."""
    packed, scale, *zero_and_groups = frozen
    values = unpack_int4(packed, dims, axis=-1)
    if quantization.block_size is None:
        return values / scale[:, None]
    zero, group_of_column = zero_and_groups
    columns = group_of_column.astype(np.int32)
    return (values - zero[:, columns]) * scale[:, columns]


def gptq_matrix(kernel: Shape) -> tuple[int, int]:
    """The (rows, columns) GPTQ and AWQ see an EinsumDense's kernel as: a 2-D kernel as it
    is; of a 3-D one, (inputs, heads·head size) where its largest axis is the first (a query,
    key or value projection), else (heads·head size, outputs)."""
    if len(kernel) == 2:
        return kernel[0], kernel[1]
    if len(kernel) != 3:
        raise NotImplementedError("Keras 3 quantizes only 2-D and 3-D EinsumDense kernels "
                                  f"with GPTQ and AWQ, not {len(kernel)}-D")
    if kernel.index(max(kernel)) == 0:
        return kernel[0], kernel[1] * kernel[2]
    return kernel[0] * kernel[1], kernel[2]
