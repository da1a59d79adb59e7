"""The engine's exceptions.

Raised deep inside the engine, they are turned into diagnostics (shape problems of the
submitted model) or into problem responses (requests that cannot be analysed) in one place
each: ``engine.py`` and ``api/problems.py``.
"""

from __future__ import annotations


class ShapecheckError(Exception):
    """Base class of every exception the engine raises on purpose."""


class LayerInputIncompatible(ShapecheckError):
    """A layer cannot take the shape(s) it receives; becomes a ``layer_input_incompatible``.

    ``declared``: the output shapes Keras declares where it builds the layer all the same and
    only its ``predict`` fails; propagation goes on with them, so that the layers after it are
    checked as Keras builds them (Keras may refuse one of those first).
    """

    def __init__(self, message: str, hint: str | None = None,
                 declared: list[tuple[int | None, ...]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.declared = declared


class RequestInvalid(ShapecheckError):
    """The request does not match the schema: a 422 with field errors keyed by JSON path."""

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None) -> None:
        self.errors = errors
        self.detail = detail or _first_error(errors)
        super().__init__(self.detail)


class MalformedRequest(ShapecheckError):
    """The body is not JSON at all: a 400."""


class ArgumentError(ShapecheckError):
    """One layer argument is invalid; the loader prefixes its path and raises RequestInvalid."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class LimitExceeded(ShapecheckError):
    """The request is over a configured limit: a 413 that names the estimate and the limit."""

    def __init__(self, what: str, value: float, limit: float, detail: str | None = None) -> None:
        self.what = what
        self.value = value
        self.limit = limit
        self.detail = detail or f"{what} is {value:,.0f}, over the limit of {limit:,.0f}"
        super().__init__(self.detail)


def _first_error(errors: dict[str, list[str]]) -> str:
    for path, messages in errors.items():
        return f"{path}: {'; '.join(map(str, messages))}"
    return "the request does not match the schema"


def prefixed(errors: dict[str, list[str]], prefix: str) -> dict[str, list[str]]:
    """Field errors with their paths under ``prefix`` (``units`` -> ``model.layers.0.units``)."""
    return {f"{prefix}.{path}" if path else prefix: msgs for path, msgs in errors.items()}
