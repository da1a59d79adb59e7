"""The HTTP layer: parses requests, calls the engine, serialises. No engine logic lives here."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..config import Limits
from ..errors import LimitExceeded, MalformedRequest, RequestInvalid
from . import guards, problems, telemetry
from .cache import ResponseCache
from .ratelimit import RateLimiter
from .routes import blueprint

log = logging.getLogger("shapecheck")


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON, plus numpy scalars and arrays (as numbers and lists), keys kept in order,
    and text as UTF-8: the summary's box-drawing characters are not escaped (``\u2500`` is six
    bytes, ``─`` three), which makes a seed-sized answer a quarter smaller."""

    sort_keys = False
    ensure_ascii = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, np.generic | np.ndarray):
            return o.tolist()
        return DefaultJSONProvider.default(o)


def create_app(limits: Limits | None = None,
               api_keys: tuple[bytes, ...] | None = None, access_log: bool = True) -> Flask:
    """The WSGI application (gunicorn: ``"shapecheck.api:create_app()"``).

    Limits and API keys come from the environment unless given. ``limits`` sets what this
    layer enforces (body size, JSON depth, rate and in-flight requests, the response cache);
    the engine reads its own (layers, ranks, forward budgets) from the environment on each
    check. ``access_log=False`` leaves out the JSON line per request (for the client's
    ``inprocess:`` calls, whose caller has no use for them).
    """
    limits = limits or Limits.from_env()
    app = Flask("shapecheck")
    app.json = JsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = limits.max_body_bytes
    app.config["LIMITS"] = limits
    app.config["RESPONSE_CACHE"] = (ResponseCache(limits.response_cache_bytes)
                                    if limits.response_cache_bytes else None)
    # Registration order is run order: time and id the request first, then guard it.
    telemetry.install(app, access_log)
    limiter = (RateLimiter.from_env(limits.rate_limit, limits.burst) if limits.rate_limit
               else None)
    guards.install(app, guards.api_keys_from_env() if api_keys is None else api_keys,
                   limits.max_in_flight, limiter)
    app.register_blueprint(blueprint)
    register_error_handlers(app)
    return app


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RequestInvalid)
    def _invalid(exc: RequestInvalid) -> Any:
        return problems.invalid(exc)

    @app.errorhandler(MalformedRequest)
    def _malformed(exc: MalformedRequest) -> Any:
        return problems.problem(400, str(exc))

    @app.errorhandler(LimitExceeded)
    def _limit(exc: LimitExceeded) -> Any:
        return problems.too_large(exc)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> Any:
        limit = app.config["MAX_CONTENT_LENGTH"]
        return problems.problem(413, f"The body is over the limit of {limit:,} bytes "
                                     "(SHAPECHECK_MAX_BODY_BYTES).")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        headers = dict(exc.get_headers())  # e.g. Allow on a 405
        headers.pop("Content-Type", None)
        return problems.problem(status, exc.description or problems.TITLES.get(status, "Error"),
                                headers=headers)

    @app.errorhandler(Exception)
    def _bug(exc: Exception) -> Any:
        log.exception("unhandled error", extra={"fields": {
            "method": request.method, "path": request.path,
            "request_id": g.get("request_id")}})
        return problems.problem(500, "shapecheck failed on this request; this is a bug. "
                                     "Please report it with the request.")
