"""A model loaded, propagated and linted: what ``check`` and the fix search both run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import diagnostics as diag
from .diagnostics import Diagnostic
from .formats import load_model
from .graph import Computed, ModelGraph, Propagation, propagate
from .layers.base import Layer
from .lint import lint


@dataclass
class Memo:
    """What the analyses of one request share, all of it keyed by content: the layers built
    from each config (``Layer.from_config``) and the weights and outputs computed for each
    (config, input shapes). A fix is verified by analysing the whole patched model; the layers
    the patch left alone, and the shapes it did not change, come from here (or, for the edits
    ``fixes_patched`` covers, the layers themselves from the analysed graph)."""

    built: dict[tuple, Layer] = field(default_factory=dict)
    computed: Computed = field(default_factory=dict)


@dataclass
class Analysis:
    graph: ModelGraph
    propagation: Propagation
    diagnostics: list[Diagnostic]
    memo: Memo

    @property
    def ok(self) -> bool:
        return not any(d.severity == diag.ERROR for d in self.diagnostics)


def analyse(model: Mapping[str, Any], overrides: Mapping[str, Any],
            memo: Memo | None = None) -> Analysis:
    memo = Memo() if memo is None else memo
    return analyse_graph(load_model(model, overrides, memo.built), memo)


def analyse_graph(graph: ModelGraph, memo: Memo) -> Analysis:
    """A loaded model propagated and linted."""
    prop = propagate(graph, memo.computed)
    notes = [*graph.notes, *prop.diagnostics, *lint(graph, prop)]
    return Analysis(graph, prop, notes, memo)
