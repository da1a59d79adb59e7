"""Model formats: the native document and Keras ``model.to_json()`` (Keras 3, tf.keras 2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..graph import ModelGraph
from ..layers.base import Layer
from .native import load_native


def load_model(doc: Mapping[str, Any], overrides: Mapping[str, Any],
               built: dict[tuple, Layer] | None = None) -> ModelGraph:
    """Load a model document of any supported format into a ModelGraph.

    A Keras document is recognised by its ``class_name`` key. ``built``: the layers built so
    far by config key (``Layer.from_config``), shared by the documents of one request.
    """
    if "class_name" in doc:
        from .keras import load_keras

        return load_keras(doc, overrides, built)
    return load_native(doc, overrides, built)
