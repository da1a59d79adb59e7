"""LoRA, Keras 3's low-rank adaptation (``lora_rank``), shared by the layers that have it:
Dense, EinsumDense, Embedding (and ReversibleEmbedding), Conv1D/2D/3D.

With ``lora_rank`` r a layer freezes its kernel (or embeddings) W and adds two trainable
factors after its own weights: ``lora_<W>_a``, W's shape with r as its last axis, and
``lora_<W>_b``, r × W's last axis. The layer computes with W + (lora_alpha / r)·(a @ b), so
its output shapes do not change; its parameter counts do. Keras 3 initialises b to zeros, and
``model.save()`` writes the kernel with the update merged in and no factors (loading zeroes
them).

Keras 3's Dense and Embedding build their adapters with ``lora_alpha`` equal to the rank,
whatever the config says (their ``build`` calls ``enable_lora(rank)``); EinsumDense and the
convolutions pass the config's ``lora_alpha`` on (``honours_lora_alpha``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from marshmallow import Schema, fields

from ..errors import ArgumentError
from ..fields import Float, Int
from .base import Array, Weight


class LoraArgs(Schema):
    """The arguments of a layer that Keras 3 can adapt with LoRA."""

    lora_rank = Int(min_value=0, load_default=None, allow_none=True)
    lora_alpha = Float(min_value=0, load_default=None, allow_none=True)


class KernelLoraArgs(LoraArgs):
    """A layer's whose kernel LoRA adapts; Keras refuses LoRA with a ``kernel_constraint``."""

    kernel_constraint = fields.Raw(load_default=None)


class EmbeddingLoraArgs(LoraArgs):
    """An Embedding's; Keras refuses LoRA with an ``embeddings_constraint``."""

    embeddings_constraint = fields.Raw(load_default=None)


class LowRankAdaptable:
    """Mixin of a layer class whose weight ``adapted`` (its first) LoRA can adapt.

    ``with_adapters`` completes the weights a layer's ``weights_for`` makes; the forward pass
    reads the arrays ``merged_adapters`` gives, the adapted weight updated and the factors
    dropped.
    """

    adapted: ClassVar[str] = "kernel"
    """The name of the weight LoRA adapts, always the layer's first."""
    honours_lora_alpha: ClassVar[bool] = True
    args: Any

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)  # type: ignore[call-arg]
        constraint = f"{self.adapted}_constraint"
        if args.get("lora_rank") and args.get(constraint) is not None:
            raise ArgumentError("lora_rank", f"Keras refuses LoRA on a layer with a "
                                             f"{constraint}: remove one of the two")

    @property
    def lora_rank(self) -> int:
        """The rank of the adapters, 0 where there are none."""
        return self.args.lora_rank or 0

    @property
    def lora_scale(self) -> float:
        alpha = self.args.lora_alpha if self.honours_lora_alpha else None
        return (self.lora_rank if alpha is None else alpha) / self.lora_rank

    def with_adapters(self, weights: list[Weight]) -> list[Weight]:
        """``weights`` as Keras 3 holds them under ``lora_rank``: the adapted one frozen and
        the two factors after the others."""
        rank = self.lora_rank
        if not rank:
            return weights
        adapted, *rest = weights
        frozen = Weight(adapted.name, adapted.shape, trainable=False,
                        initializer=adapted.initializer)
        return [frozen, *rest,
                Weight(f"lora_{adapted.name}_a", (*adapted.shape[:-1], rank),
                       initializer="he_uniform"),
                Weight(f"lora_{adapted.name}_b", (rank, adapted.shape[-1]))]

    def merged_adapters(self, arrays: Sequence[Array]) -> Sequence[Array]:
        """The arrays the forward kernel reads: W + scale·(a @ b) for W, without the factors."""
        if not self.lora_rank:
            return arrays
        *held, a, b = arrays
        return [(held[0] + np.float32(self.lora_scale) * (a @ b)).astype(np.float32), *held[1:]]


def is_adapter(weight: Weight) -> bool:
    """Whether ``weight`` is a LoRA factor (``with_adapters``)."""
    return weight.name.startswith("lora_")
