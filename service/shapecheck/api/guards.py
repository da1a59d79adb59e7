"""What stands before the ``/v1/*`` endpoints, in this order: API keys, the per-client rate
limit (``ratelimit``) and the per-worker in-flight limit.

Health, metrics and documentation endpoints are never guarded: probes and scrapers must reach
them without credentials, and an overloaded worker must still say it is alive.
"""

from __future__ import annotations

import hmac
import os
import threading

from flask import Flask, Response, g, request

from . import problems
from .ratelimit import RateLimiter, retry_after

GUARDED_PREFIX = "/v1/"
RETRY_AFTER_S = 1


def api_keys_from_env() -> tuple[bytes, ...]:
    """``SHAPECHECK_API_KEYS``: comma-separated keys; unset or empty means no authentication."""
    raw = os.environ.get("SHAPECHECK_API_KEYS", "")
    return tuple(key.strip().encode() for key in raw.split(",") if key.strip())


def key_matches(given: bytes, keys: tuple[bytes, ...]) -> bool:
    """Compare with every key, in constant time each, without stopping at a match: the time
    taken says nothing about which key (or how much of it) was right."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key)
    return matched


def bearer_token(header: str | None) -> bytes | None:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip().encode("utf-8", "surrogateescape")


def client_identity(keys: tuple[bytes, ...]) -> bytes:
    """Whom a request counts against: its API key (already checked) when keys are set, else
    the address it came from."""
    token = bearer_token(request.headers.get("Authorization")) if keys else None
    return b"key:" + token if token is not None else f"addr:{request.remote_addr}".encode()


def install(app: Flask, keys: tuple[bytes, ...], max_in_flight: int,
            limiter: RateLimiter | None = None) -> None:
    slots = threading.BoundedSemaphore(max_in_flight)

    @app.before_request
    def authenticate() -> Response | None:
        if not keys or not request.path.startswith(GUARDED_PREFIX):
            return None
        token = bearer_token(request.headers.get("Authorization"))
        if token is not None and key_matches(token, keys):
            return None
        challenge = 'Bearer realm="shapecheck"'
        if token is not None:
            challenge += ', error="invalid_token"'
        detail = ("Missing API key: send Authorization: Bearer <key>." if token is None
                  else "Invalid API key.")
        return problems.problem(401, detail, headers={"WWW-Authenticate": challenge})

    @app.before_request
    def pace() -> Response | None:
        if limiter is None or not request.path.startswith(GUARDED_PREFIX):
            return None
        wait = limiter.take(client_identity(keys))
        if not wait:
            return None
        return problems.problem(
            429, f"Over the rate limit of {limiter.rate:g} requests per second (bursts of "
                 f"{limiter.burst}) for this client (SHAPECHECK_RATE_LIMIT, "
                 f"SHAPECHECK_RATE_BURST); retry in {wait:.2f} s.",
            headers={"Retry-After": str(retry_after(wait))})

    @app.before_request
    def take_slot() -> Response | None:
        if not request.path.startswith(GUARDED_PREFIX):
            return None
        if not slots.acquire(blocking=False):
            return problems.problem(
                503, f"This worker is already handling {max_in_flight} requests "
                     f"(SHAPECHECK_MAX_IN_FLIGHT); retry in {RETRY_AFTER_S} s.",
                headers={"Retry-After": str(RETRY_AFTER_S)})
        g.holds_slot = True
        return None

    @app.teardown_request
    def release_slot(_exc: BaseException | None) -> None:
        if g.pop("holds_slot", False):
            slots.release()
