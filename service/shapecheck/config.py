"""Limits and settings from the environment, with safe defaults (documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"environment variable {name}={raw!r} must be > 0")
    return value


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 8 * 1024 * 1024
    max_layers: int = 5000
    max_rank: int = 8
    max_json_depth: int = 64

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_body_bytes=int(_env_number("SHAPECHECK_MAX_BODY_BYTES", cls.max_body_bytes)),
            max_layers=int(_env_number("SHAPECHECK_MAX_LAYERS", cls.max_layers)),
            max_rank=int(_env_number("SHAPECHECK_MAX_RANK", cls.max_rank)),
            max_json_depth=int(_env_number("SHAPECHECK_MAX_JSON_DEPTH", cls.max_json_depth)),
        )
