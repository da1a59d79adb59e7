"""What Keras 3 holds instead of a layer's float weights: quantized weights (``quantized``),
and LoRA's low-rank adapters (``lora_rank``), for the layers that have them.

With ``lora_rank`` r a layer freezes its kernel (or embeddings) W and adds two trainable
factors after its trainable weights: ``lora_<W>_a``, W's shape with r as its last axis, and
``lora_<W>_b``, r × W's last axis. The layer computes with W + (lora_alpha / r)·(a @ b), so
its output shapes do not change; its parameter counts do. Keras 3 initialises b to zeros, and
``model.save()`` writes the kernel with the update merged in and no factors (loading zeroes
them). Keras 3's Dense and Embedding build their adapters with ``lora_alpha`` equal to the
rank, whatever the config says (their ``build`` calls ``enable_lora(rank)``); EinsumDense and
the convolutions pass the config's ``lora_alpha`` on (``honours_lora_alpha``).

Keras lists a layer's weights made trainable first, then those made frozen, each in the order
made: a quantized kernel (made frozen) comes after the bias, a LoRA-frozen kernel (made
trainable, then frozen) before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from marshmallow import Schema, fields

from ..errors import ArgumentError
from ..fields import Float, Int
from ..shapes import Shape
from .base import WRITTEN_WHEN_SET, Array, Shapes, Weight, explain_params, low_precision_values
from .quantized import Quantization, float8_round_trip

COMPUTED_MODES = ("int8", "int4", "float8")
"""The quantization modes the forward pass computes."""


class LoraArgs(Schema):
    """The arguments of a layer that Keras 3 can adapt with LoRA."""

    lora_rank = Int(min_value=0, load_default=None, allow_none=True,
                    metadata={WRITTEN_WHEN_SET: True})
    lora_alpha = Float(min_value=0, load_default=None, allow_none=True,
                       metadata={WRITTEN_WHEN_SET: True})


class KernelLoraArgs(LoraArgs):
    """A layer's whose kernel LoRA adapts; Keras refuses LoRA with a ``kernel_constraint``."""

    kernel_constraint = fields.Raw(load_default=None)


class EmbeddingLoraArgs(LoraArgs):
    """An Embedding's; Keras refuses LoRA with an ``embeddings_constraint``."""

    embeddings_constraint = fields.Raw(load_default=None)


class HeldWeights:
    """Mixin of a layer class whose weight ``adapted`` (the first of its float weights) LoRA
    can adapt, and which Keras 3 may quantize in ``quantization_modes``.

    ``held`` turns the float weights a layer's ``weights_for`` makes into those Keras holds;
    the forward pass reads the arrays ``merged_adapters`` gives: of a float layer, the adapted
    weight updated and the factors dropped; of an int8, int4 or float8 layer, its own (its
    kernel computes with them as Keras does); of GPTQ and AWQ, none (it refuses them).
    """

    adapted: ClassVar[str] = "kernel"
    """The name of the weight LoRA adapts."""
    honours_lora_alpha: ClassVar[bool] = True
    quantization_modes: ClassVar[tuple[str, ...]] = ()
    """The modes Keras 3 quantizes the layer in (``quantized_weights``), refusing the others;
    none: Keras builds the layer in float under any policy."""
    quantization: Quantization | None = None
    """The layer's quantized dtype policy (``quantize``), or None."""
    args: Any
    compute_dtype: str | None
    explain_shape: Callable[[Shapes, Shapes], str]

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)  # type: ignore[call-arg]
        constraint = f"{self.adapted}_constraint"
        if args.get("lora_rank") and args.get(constraint) is not None:
            raise ArgumentError("lora_rank", f"Keras refuses LoRA on a layer with a "
                                             f"{constraint}: remove one of the two")

    def quantize(self, quantization: Quantization | None) -> None:
        """Hold the weights of ``quantization`` (None: the float ones) where Keras 3 quantizes
        the layer in its mode; ArgumentError (at ``dtype`` or ``lora_rank``) where Keras
        refuses to."""
        self.quantization = None
        if quantization is None or not self.quantization_modes:
            return
        if quantization.mode not in self.quantization_modes:
            modes = " and ".join(self.quantization_modes)
            raise ArgumentError("dtype", f"Keras 3 quantizes a {type(self).__name__} in "
                                         f"{modes} only, not {quantization.mode}")
        if refused := self.quantization_refused(quantization.mode):
            raise ArgumentError("dtype", refused)
        if self.lora_rank and quantization.mode in ("gptq", "awq"):
            raise ArgumentError("lora_rank", f"Keras 3 has no LoRA on a layer quantized with "
                                             f"{quantization.mode.upper()}")
        if quantization.mode == "int8" and quantization.source in ("float16", "mixed_float16"):
            raise ArgumentError("dtype", "Keras 3 refuses int8 quantization of a layer that "
                                         "computes in float16")
        self.quantization = quantization

    def quantization_refused(self, mode: str) -> str | None:
        """Why Keras 3 fails to quantize this layer in ``mode``, or None."""
        return None

    def quantized_weights(self, weights: list[Weight], quantization: Quantization,
                          shape: Shape) -> list[Weight]:
        """The weights the layer holds quantized, in the order Keras makes them, from its
        float ``weights`` for an input of ``shape``."""
        raise NotImplementedError

    @property
    def lora_rank(self) -> int:
        """The rank of the adapters, 0 where there are none."""
        return self.args.lora_rank or 0

    @property
    def lora_scale(self) -> float:
        alpha = self.args.lora_alpha if self.honours_lora_alpha else None
        return (self.lora_rank if alpha is None else alpha) / self.lora_rank

    def held(self, weights: list[Weight], shape: Shape) -> list[Weight]:
        """The layer's float ``weights`` (the adapted one first), for an input of ``shape``, as
        Keras 3 holds them: quantized, in Keras' order, then with LoRA's adapters."""
        if self.quantization is None and not self.args.lora_rank:
            return weights  # the usual layer
        adapted = weights[0].shape
        if self.quantization is not None:
            made = self.quantized_weights(weights, self.quantization, shape)
            weights = [w for w in made if w.trainable] + [w for w in made if not w.trainable]
        return self.with_adapters(weights, adapted)

    def with_adapters(self, weights: list[Weight], adapted: Shape) -> list[Weight]:
        """``weights`` under ``lora_rank``: the adapted one (of float shape ``adapted``) frozen,
        and the two factors after the trainable ones."""
        rank = self.lora_rank
        if not rank:
            return weights
        last = max((i for i, w in enumerate(weights) if w.trainable), default=-1)
        held = [replace(w, trainable=False) if w.name == self.adapted else w for w in weights]
        factors = [Weight(f"lora_{self.adapted}_a", (*adapted[:-1], rank),
                          initializer="he_uniform", dtype="float32"),
                   Weight(f"lora_{self.adapted}_b", (rank, adapted[-1]), dtype="float32")]
        return [*held[:last + 1], *factors, *held[last + 1:]]

    def float8_product(self, subscripts: str, x: Array, weights: Sequence[Array],
                       biased: bool) -> Array:
        """Keras 3's float8 call, before its activation: x and the kernel each rounded to
        float8 at their scales (``float8_round_trip``), their product, and the bias, which
        Keras rounds to bfloat16 where the layer computes in float32."""
        if self.lora_rank:
            raise NotImplementedError("Keras 3's predict fails on a float8 layer with LoRA "
                                      "(its float8 call does not support it)")
        inputs_scale, _, kernel_scale, _, _, _, kernel, *bias = weights
        y = np.einsum(subscripts, float8_round_trip(x, inputs_scale),
                      float8_round_trip(kernel, kernel_scale), optimize=True)
        if biased:
            y += bias[0] if self.compute_dtype else low_precision_values(bias[0], "bfloat16")
        return y

    def quantized_parts(self, weights: Sequence[Array], biased: bool,
                        ) -> tuple[Array | None, list[Array], list[Array]]:
        """A quantized layer's bias (None without), LoRA factors (none without) and frozen
        weights (its kernel and scales), from its weights in Keras' order."""
        factors = list(weights[biased:biased + 2]) if self.lora_rank else []
        return (weights[0] if biased else None), factors, list(weights[biased + len(factors):])

    def held_explanation(self, inputs: Shapes, outputs: Shapes,
                         weights: Sequence[Weight]) -> str | None:
        """Where the layer holds other weights than its float ones, its explanation with them
        listed (``explain_params``); None where its own formula counts them."""
        if self.quantization is None and not self.args.lora_rank:
            return None
        return f"{self.explain_shape(inputs, outputs)}; {explain_params(weights)}"

    def merged_adapters(self, arrays: Sequence[Array]) -> Sequence[Array]:
        """The arrays the forward kernel reads: of a float layer, W + scale·(a @ b) for W,
        without the factors (its last weights); of a quantized layer in ``COMPUTED_MODES``,
        its weights as they are. NotImplementedError for GPTQ and AWQ."""
        if self.quantization is not None:
            if self.quantization.mode in COMPUTED_MODES:
                return arrays  # its kernel reads them as they are
            raise NotImplementedError(
                f"it is quantized ({self.quantization.text}), and Keras 3 computes it from its "
                f"{self.quantization.mode} weights and scales, which the forward pass follows "
                "in int8, int4 and float8 only")
        if not self.lora_rank:
            return arrays
        *held, a, b = arrays
        return [(held[0] + np.float32(self.lora_scale) * (a @ b)).astype(np.float32), *held[1:]]


def is_adapter(weight: Weight) -> bool:
    """Whether ``weight`` is a LoRA factor (``with_adapters``)."""
    return weight.name.startswith("lora_")
