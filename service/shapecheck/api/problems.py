"""RFC 9457 problem responses: every non-2xx answer of the service, built in one place."""

from __future__ import annotations

from typing import Any

from flask import Response, json

from ..errors import LimitExceeded, RequestInvalid

PROBLEM_TYPE = "https://shapecheck.dev/problems/"
TITLES = {
    400: "Malformed request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    422: "Request does not match the schema",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}
SLUGS = {400: "malformed-json", 401: "unauthorized", 404: "not-found", 405: "method-not-allowed",
         413: "too-large", 422: "validation", 429: "rate-limited", 500: "internal",
         503: "unavailable"}


def problem(status: int, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    body = {"type": PROBLEM_TYPE + SLUGS.get(status, "error"), "title": TITLES.get(status, "Error"),
            "status": status, "detail": detail, **extra}
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def invalid(exc: RequestInvalid) -> Response:
    return problem(422, exc.detail, errors=exc.errors)


def too_large(exc: LimitExceeded) -> Response:
    return problem(413, exc.detail, limit={"name": exc.what, "value": exc.value,
                                           "limit": exc.limit})
