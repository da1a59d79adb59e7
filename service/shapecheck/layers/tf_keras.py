"""Layer classes for tf.keras 2 documents, where tf.keras 2 computes other shapes (or values)
than Keras 3 from the same config.

The Keras loader builds the layers of a ``keras2`` document with ``TF_KERAS_VARIANTS[name]``
where there is one, else with the Keras 3 class. A variant subclasses its Keras 3 class and
overrides only the rule that differs; the family module that holds the Keras 3 class holds it.
A wrapper's variant builds the layers it holds with these classes too (its ``inner_variants``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Layer

TF_KERAS_VARIANTS: dict[str, type[Layer]] = {}
"""Keras class name -> the class that computes it as tf.keras 2 does."""


def tf_keras_variant(cls: type[Layer]) -> type[Layer]:
    """Class decorator: ``cls`` stands for its Keras 3 class (same ``keras_name``) in tf.keras 2
    documents."""
    TF_KERAS_VARIANTS[cls.keras_name] = cls
    return cls


class WrappedLayersPolicy(Layer):
    """A tf.keras 2 wrapper (TimeDistributed, Bidirectional, SpectralNormalization): its
    outputs are those of the layer it wraps, in that layer's dtype policy, whatever its own
    (probed under mixed_float16: Keras 3 follows the wrapper's)."""

    @classmethod
    def dtype_policy(cls, config: Mapping[str, Any]) -> Any:
        inner = config.get("layer")
        if isinstance(inner, Mapping) and "class_name" in inner:  # Keras JSON
            inner = inner.get("config")
        return inner.get("dtype") if isinstance(inner, Mapping) else None
