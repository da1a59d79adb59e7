"""Diagnostics: what the engine found, where, why, and what fixes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"

# Stable codes of the HTTP contract (API.md); more may be added.
LAYER_INPUT_INCOMPATIBLE = "layer_input_incompatible"
INPUT_SHAPE_MISMATCH = "input_shape_mismatch"
TARGET_SHAPE_MISMATCH = "target_shape_mismatch"
UNKNOWN_LAYER = "unknown_layer"
UNSUPPORTED_LAYER = "unsupported_layer"
INVALID_GRAPH = "invalid_graph"
DENSE_ON_HIGH_RANK = "dense_on_high_rank"
SUSPICIOUS_DATA_FORMAT = "suspicious_data_format"
LEGACY_ARGUMENT = "legacy_argument"
UNUSED_LAYER = "unused_layer"
# Added by the diagnostics catalogue (docs/diagnostics.md).
TARGET_BROADCAST = "target_broadcast"
UNKNOWN_LOSS = "unknown_loss"
ACTIVATION_LOSS_MISMATCH = "activation_loss_mismatch"
SINGLE_UNIT_SOFTMAX = "single_unit_softmax"
LARGE_FLATTEN_DENSE = "large_flatten_dense"
FULL_DROPOUT = "full_dropout"
ACTIVATION_CHANGES_SHAPE = "activation_changes_shape"
ATTENTION_ACROSS_BATCH = "attention_across_batch"
DECLARED_SHAPE_DIFFERS = "declared_shape_differs"
LAYER_NOT_APPLIED = "layer_not_applied"
EMPTY_TENSOR = "empty_tensor"
INTEGER_INPUTS = "integer_inputs"
NONFINITE_VALUES = "nonfinite_values"
OPEN_SIZES_CONSTRAINED = "open_sizes_constrained"
LEGACY_H5_OPERATIONS = "legacy_h5_operations"


@dataclass
class Fix:
    """A verified change: an RFC 6902 patch against the submitted model and what it gives."""

    title: str
    patch: list[dict[str, Any]]
    result: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "patch": self.patch, "result": self.result}


@dataclass
class Diagnostic:
    severity: str
    code: str
    layer: str | None
    message: str
    hint: str | None = None
    fixes: list[Fix] = field(default_factory=list)
    at_predict: bool = False
    """An error Keras raises only at ``predict``, having built the model: listed after the
    errors it raises while building, as Keras meets them in that order."""

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "layer": self.layer,
            "message": self.message,
            "hint": self.hint,
            "fixes": [f.to_json() for f in self.fixes],
        }


def error(code: str, layer: str | None, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(ERROR, code, layer, message, hint)


def warning(code: str, layer: str | None, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(WARNING, code, layer, message, hint)


def info(code: str, layer: str | None, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(INFO, code, layer, message, hint)
