"""Limits and settings from the environment, with safe defaults (documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env_number(name: str, default: float, zero_allowed: bool = False) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not a number") from None
    if value < 0 or (value == 0 and not zero_allowed):
        bound = ">= 0" if zero_allowed else "> 0"
        raise ValueError(f"environment variable {name}={raw!r} must be {bound}")
    return value


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 8 * 1024 * 1024
    max_layers: int = 5000
    max_rank: int = 8
    max_json_depth: int = 64
    forward_max_bytes: int = 512 * 1024 * 1024
    """Peak activation memory plus weights of one forward pass."""
    forward_max_macs: int = 20_000_000_000
    """Multiply-accumulates of one forward pass, batch included."""
    forward_timeout_s: float = 20.0
    """Wall-clock budget of one forward pass; keep it under gunicorn's timeout."""
    max_in_flight: int = 8
    """``/v1/*`` requests one worker handles at once (matters with GUNICORN_THREADS > 1)."""
    response_cache_bytes: int = 32 * 1024 * 1024
    """Answers of repeated check requests kept per worker; 0 turns the cache off."""

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_body_bytes=int(_env_number("SHAPECHECK_MAX_BODY_BYTES", cls.max_body_bytes)),
            max_layers=int(_env_number("SHAPECHECK_MAX_LAYERS", cls.max_layers)),
            max_rank=int(_env_number("SHAPECHECK_MAX_RANK", cls.max_rank)),
            max_json_depth=int(_env_number("SHAPECHECK_MAX_JSON_DEPTH", cls.max_json_depth)),
            forward_max_bytes=int(_env_number("SHAPECHECK_FORWARD_MAX_BYTES",
                                              cls.forward_max_bytes)),
            forward_max_macs=int(_env_number("SHAPECHECK_FORWARD_MAX_MACS", cls.forward_max_macs)),
            forward_timeout_s=_env_number("SHAPECHECK_FORWARD_TIMEOUT_S", cls.forward_timeout_s),
            max_in_flight=int(_env_number("SHAPECHECK_MAX_IN_FLIGHT", cls.max_in_flight)),
            response_cache_bytes=int(_env_number("SHAPECHECK_RESPONSE_CACHE_BYTES",
                                                 cls.response_cache_bytes, zero_allowed=True)),
        )
