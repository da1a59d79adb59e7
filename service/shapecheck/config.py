"""Limits and settings from the environment, with safe defaults (documented in the README)."""

from __future__ import annotations

import math
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
    if not math.isfinite(value):
        raise ValueError(f"environment variable {name}={raw!r} must be a finite number")
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
    forward_max_values: int = 1_000_000_000
    """Values the layers of one forward pass write (the elements of their outputs), batch
    included: element-wise work, which the multiply-accumulates leave out."""
    forward_timeout_s: float = 20.0
    """Wall-clock budget of one forward pass; keep it under gunicorn's timeout."""
    max_in_flight: int = 8
    """``/v1/*`` requests one worker handles at once (matters with GUNICORN_THREADS > 1)."""
    response_cache_bytes: int = 32 * 1024 * 1024
    """Answers of repeated check requests kept per worker; 0 turns the cache off."""
    rate_limit: float = 0.0
    """``/v1/*`` requests per second per API key (or client address), all workers together;
    0: no limit."""
    rate_burst: int = 0
    """Requests a client may make at once before ``rate_limit`` paces it; 0: one second's
    worth (``burst``)."""

    @property
    def burst(self) -> int:
        return self.rate_burst or max(1, math.ceil(self.rate_limit))

    @classmethod
    def from_env(cls) -> Limits:
        """The limits the environment sets. Read for every request that does not bring its
        own, so the parsed result is kept for as long as the variables keep their values."""
        raw = tuple(map(os.environ.get, ENV_VARIABLES))
        limits = _FROM_ENV.get(raw)
        if limits is None:
            limits = cls(**{field: kind(_env_number(variable, getattr(cls, field), zero_ok))
                            for (field, variable, kind, zero_ok) in ENV_FIELDS})
            _FROM_ENV.clear()
            _FROM_ENV[raw] = limits
        return limits


ENV_FIELDS = (
    ("max_body_bytes", "SHAPECHECK_MAX_BODY_BYTES", int, False),
    ("max_layers", "SHAPECHECK_MAX_LAYERS", int, False),
    ("max_rank", "SHAPECHECK_MAX_RANK", int, False),
    ("max_json_depth", "SHAPECHECK_MAX_JSON_DEPTH", int, False),
    ("forward_max_bytes", "SHAPECHECK_FORWARD_MAX_BYTES", int, False),
    ("forward_max_macs", "SHAPECHECK_FORWARD_MAX_MACS", int, False),
    ("forward_max_values", "SHAPECHECK_FORWARD_MAX_VALUES", int, False),
    ("forward_timeout_s", "SHAPECHECK_FORWARD_TIMEOUT_S", float, False),
    ("max_in_flight", "SHAPECHECK_MAX_IN_FLIGHT", int, False),
    ("response_cache_bytes", "SHAPECHECK_RESPONSE_CACHE_BYTES", int, True),
    ("rate_limit", "SHAPECHECK_RATE_LIMIT", float, True),
    ("rate_burst", "SHAPECHECK_RATE_BURST", int, True),
)
"""(Limits field, environment variable, type, whether 0 is allowed) for each setting."""
ENV_VARIABLES = tuple(variable for _, variable, _, _ in ENV_FIELDS)
_FROM_ENV: dict[tuple[str | None, ...], Limits] = {}
