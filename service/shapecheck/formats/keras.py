"""Keras ``model.to_json()`` documents (Keras 3 and tf.keras 2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import RequestInvalid
from ..graph import ModelGraph


def load_keras(doc: Mapping[str, Any], overrides: Mapping[str, Any]) -> ModelGraph:
    raise RequestInvalid({"model.class_name": ["Keras JSON import is not available yet"]})
