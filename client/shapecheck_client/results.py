"""Typed views of a ``POST /v1/check`` answer.

Parsing is tolerant: fields the client does not know are ignored (they stay in
``CheckResult.raw``), and optional fields the server left out get a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from .arrays import decode_values
from .errors import ModelShapeError

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class Fix:
    """A verified fix: an RFC 6902 ``patch`` against the submitted model and its ``result``."""

    title: str
    patch: list[dict[str, Any]]
    result: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fix:
        return cls(
            title=str(data.get("title") or ""),
            patch=list(data.get("patch") or []),
            result=data.get("result"),
        )


@dataclass(frozen=True)
class Diagnostic:
    """One finding; ``layer`` is None when it is about the data rather than a layer."""

    severity: str
    code: str
    layer: str | None
    message: str
    hint: str | None = None
    fixes: list[Fix] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Diagnostic:
        return cls(
            severity=str(data.get("severity") or "error"),
            code=str(data.get("code") or ""),
            layer=data.get("layer"),
            message=str(data.get("message") or ""),
            hint=data.get("hint") or None,
            fixes=[Fix.from_dict(fix) for fix in data.get("fixes") or []],
        )

    def __str__(self) -> str:
        where = f" at {self.layer}" if self.layer else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.severity}: {self.code}{where}: {self.message}{hint}"


@dataclass(frozen=True)
class LayerResult:
    """A layer as the engine computed it; ``output_shapes`` is None when it could not."""

    name: str
    type: str
    inputs: list[str]
    output_shapes: list[Shape] | None
    params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    macs: int | None = None
    explain: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LayerResult:
        shapes = data.get("output_shapes")
        return cls(
            name=str(data.get("name") or ""),
            type=str(data.get("type") or ""),
            inputs=list(data.get("inputs") or []),
            output_shapes=None if shapes is None else [tuple(shape) for shape in shapes],
            params=int(data.get("params") or 0),
            trainable_params=int(data.get("trainable_params") or 0),
            non_trainable_params=int(data.get("non_trainable_params") or 0),
            macs=data.get("macs"),
            explain=str(data.get("explain") or ""),
        )


@dataclass(frozen=True)
class ForwardOutput:
    """One model output of the forward pass: its shape, the dtype ``predict`` gives it, its
    statistics (min, max, mean, std, nonfinite) and, when asked for (``"return": "values"``),
    its ``values`` as the service sent them."""

    name: str
    shape: Shape
    dtype: str = "float32"
    stats: dict[str, Any] = field(default_factory=dict)
    values: Any = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ForwardOutput:
        return cls(
            name=str(data.get("name") or ""),
            shape=tuple(data.get("shape") or ()),
            dtype=str(data.get("dtype") or "float32"),
            stats=dict(data.get("stats") or {}),
            values=data.get("values"),
        )

    def to_numpy(self) -> Any:
        """The values as a NumPy array of ``dtype``, as ``predict`` returns them (needs NumPy;
        NaN where the service sent null). ValueError when the values were not asked for."""
        if self.values is None:
            raise ValueError(f"the forward pass sent no values for '{self.name}': ask for them "
                             'with forward={..., "return": "values"}')
        return decode_values(self.values, self.dtype)


@dataclass(frozen=True)
class CheckResult:
    """The whole answer. ``ok`` is false exactly when some diagnostic is an error."""

    ok: bool
    model: dict[str, Any]
    layers: list[LayerResult]
    totals: dict[str, Any]
    diagnostics: list[Diagnostic]
    summary: str
    forward: dict[str, Any] | None
    raw: dict[str, Any]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        diagnostics = [Diagnostic.from_dict(item) for item in data.get("diagnostics") or []]
        has_errors = any(item.severity == "error" for item in diagnostics)
        return cls(
            ok=bool(data.get("ok", not has_errors)),
            model=dict(data.get("model") or {}),
            layers=[LayerResult.from_dict(item) for item in data.get("layers") or []],
            totals=dict(data.get("totals") or {}),
            diagnostics=diagnostics,
            summary=str(data.get("summary") or ""),
            forward=data.get("forward"),
            raw=dict(data),
        )

    @property
    def outputs(self) -> list[ForwardOutput]:
        """The forward pass's outputs, in the model's order (none without a forward pass)."""
        return [ForwardOutput.from_dict(item) for item in (self.forward or {}).get("outputs") or []]

    @property
    def errors(self) -> list[Diagnostic]:
        return self._with_severity("error")

    @property
    def warnings(self) -> list[Diagnostic]:
        return self._with_severity("warning")

    def _with_severity(self, severity: str) -> list[Diagnostic]:
        return [item for item in self.diagnostics if item.severity == severity]

    def raise_for_errors(self) -> CheckResult:
        """Raise ``ModelShapeError`` when the model has errors; return ``self`` otherwise."""
        if not self.ok:
            raise ModelShapeError(self.errors)
        return self

    def __str__(self) -> str:
        lines = [self.summary.rstrip("\n")] if self.summary else []
        lines += [str(item) for item in self.diagnostics]
        return "\n".join(lines)

    def __repr__(self) -> str:
        """One line, not the whole answer (``raw``): the verdict and the first diagnostic."""
        counts = ", ".join(f"{len(self._with_severity(s))} {s}(s)" for s in ("error", "warning"))
        first = self.diagnostics[0] if self.diagnostics else None
        where = f" at {first.layer}" if first and first.layer else ""
        detail = f"; first: {first.code}{where}" if first else ""
        name = self.model.get("name", "?")
        return f"<CheckResult {name!r} ok={self.ok}: {counts}{detail}>"

    def _repr_html_(self) -> str:
        """The summary table and the diagnostics, as a notebook shows the result."""
        rows = "".join(
            f"<li><b>{escape(d.severity)}</b> <code>{escape(d.code)}</code>"
            + (f" at <code>{escape(d.layer)}</code>" if d.layer else "")
            + f": {escape(d.message)}"
            + (f"<br><i>hint:</i> {escape(d.hint)}" if d.hint else "")
            + "".join(f"<br><i>fix:</i> {escape(fix.title)}" for fix in d.fixes) + "</li>"
            for d in self.diagnostics)
        verdict = "OK" if self.ok else "FAILED"
        return (f"<pre>{escape(self.summary)}</pre>"
                + (f"<ul>{rows}</ul>" if rows else "")
                + f"<p><b>{verdict}</b>: {repr(self)[1:-1]}</p>")
