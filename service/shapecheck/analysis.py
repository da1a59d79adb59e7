"""A model loaded, propagated and linted: what ``check`` and the fix search both run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import diagnostics as diag
from .diagnostics import Diagnostic
from .formats import load_model
from .graph import ModelGraph, Propagation, propagate
from .lint import lint


@dataclass
class Analysis:
    graph: ModelGraph
    propagation: Propagation
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not any(d.severity == diag.ERROR for d in self.diagnostics)


def analyse(model: Mapping[str, Any], overrides: Mapping[str, Any]) -> Analysis:
    graph = load_model(model, overrides)
    prop = propagate(graph)
    notes = [*graph.notes, *prop.diagnostics, *lint(graph, prop)]
    return Analysis(graph, prop, notes)
