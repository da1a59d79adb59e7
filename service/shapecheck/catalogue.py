"""The ``GET /v1/layers`` catalogue, read off the layer classes' argument schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from marshmallow import fields
from marshmallow.utils import missing

from .fields import TfKerasOnly
from .layers import REGISTRY
from .layers.base import Layer


@cache
def layer_catalogue() -> list[dict[str, Any]]:
    return [describe(cls) for name, cls in sorted(REGISTRY.items())]


def describe(cls: type[Layer]) -> dict[str, Any]:
    return {
        "type": cls.keras_name,
        "family": cls.family,
        "aliases": list(cls.aliases),
        "legacy_aliases": list(cls.legacy_aliases),
        "description": cls.describe(),
        "arguments": [argument(name, field) for name, field in cls.Args().fields.items()
                      if not isinstance(field, TfKerasOnly)],
    }


def argument(name: str, field: fields.Field) -> dict[str, Any]:
    default = field.load_default
    return {
        "name": name,
        "type": field.metadata.get("type") or type(field).__name__.lower(),
        "required": field.required,
        "default": None if default is missing or callable(default) else jsonable(default),
    }


def jsonable(value: Any) -> Any:
    """A default as JSON: tuples as lists, numpy scalars (``np.float32(0.0)``) as numbers."""
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value
