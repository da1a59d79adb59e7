"""Model formats: the native document and Keras ``model.to_json()`` (Keras 3, tf.keras 2), or
the ``model.get_config()`` that ``to_json()`` holds under ``config``."""

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



CONFIG_PATH, CONFIG_POINTER = "model.config", "/config"
"""Where a ``get_config()`` sits in the ``to_json()`` document that ``keras_document`` makes."""


def keras_document(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """A Keras model's ``get_config()`` (what experiment trackers store and what people print)
    as the ``model.to_json()`` document that holds it under ``config``: a Functional where it
    lists ``input_layers``, else a Sequential. None for any other document: one with a
    ``class_name``, or a native one, whose layers have a ``type``."""
    layers = config.get("layers")
    if "class_name" in config or type(layers) is not list or not layers:
        return None
    if not all(type(e) is dict and "class_name" in e and "type" not in e for e in layers):
        return None
    return {"class_name": "Functional" if "input_layers" in config else "Sequential",
            "config": config}


def config_path(path: str) -> str:
    """A 422 path into ``keras_document``'s answer, as a path into the ``get_config()``."""
    return "model" + path[len(CONFIG_PATH):] if path.startswith(CONFIG_PATH) else path


def config_pointer(pointer: str) -> str:
    """A JSON Pointer into ``keras_document``'s answer, as one into the ``get_config()``."""
    return pointer[len(CONFIG_POINTER):] if pointer.startswith(CONFIG_POINTER + "/") else pointer
