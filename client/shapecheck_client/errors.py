"""Exceptions raised by the client, one per kind of failure a caller may want to handle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .results import Diagnostic


class ShapecheckError(Exception):
    """Base class: the service answered with an error, or could not be reached.

    ``status`` is the HTTP status (None when there was no answer) and ``problem`` the parsed
    ``application/problem+json`` body (empty when the body was not one).
    """

    def __init__(
        self, message: str, *, status: int | None = None, problem: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.problem: dict[str, Any] = dict(problem or {})


class ValidationError(ShapecheckError):
    """422: the request does not match the schema; ``errors`` is keyed by JSON path."""

    @property
    def errors(self) -> dict[str, Any]:
        errors = self.problem.get("errors")
        return errors if isinstance(errors, dict) else {}


class PayloadTooLarge(ShapecheckError):
    """413: the body, the model or the forward pass is over the service's limits."""


class AuthenticationError(ShapecheckError):
    """401: the service wants an API key and got none, or a wrong one."""


class RetryableError(ShapecheckError):
    """A failure worth retrying later; ``retry_after`` is the wait the server asked for."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        problem: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, problem=problem)
        self.retry_after = retry_after


class RateLimited(RetryableError):
    """429: over the rate limit. ``retry_after`` is in seconds (None if the server gave none)."""


class ServiceUnavailable(RetryableError):
    """503, a connection error or a timeout: the service is overloaded or unreachable."""


class ModelShapeError(ShapecheckError):
    """Raised by ``CheckResult.raise_for_errors()``: the model has error diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        lines = [f"the model has {len(diagnostics)} shape error(s):"]
        lines += [f"  {diagnostic}" for diagnostic in diagnostics]
        super().__init__("\n".join(lines))
        self.diagnostics = diagnostics


class PatchError(ValueError):
    """A JSON Patch could not be applied: bad pointer, missing target, or a failed ``test``."""


_BY_STATUS: dict[int, type[ShapecheckError]] = {
    401: AuthenticationError,
    413: PayloadTooLarge,
    422: ValidationError,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_for_status(
    status: int, problem: Mapping[str, Any], text: str, retry_after: float | None
) -> ShapecheckError:
    """The exception for an HTTP error answer; ``problem`` is its problem+json body, if any."""
    cls = _BY_STATUS.get(status, ShapecheckError)
    message = _message(status, problem, text)
    if issubclass(cls, RetryableError):
        return cls(message, status=status, problem=problem, retry_after=retry_after)
    return cls(message, status=status, problem=problem)


def _message(status: int, problem: Mapping[str, Any], text: str) -> str:
    title, detail = problem.get("title"), problem.get("detail")
    parts = [str(part) for part in (title, detail) if part]
    message = ": ".join(parts) if parts else (text.strip()[:200] or "no detail given")
    errors = problem.get("errors")
    if isinstance(errors, dict):
        # Each error by JSON path, unless the detail already names that path.
        message += "".join(
            f"\n  {path}: {_flatten(why)}" for path, why in errors.items() if path not in message
        )
    return f"HTTP {status}: {message}"


def _flatten(why: Any) -> str:
    if isinstance(why, list):
        return "; ".join(str(item) for item in why)
    return str(why)
