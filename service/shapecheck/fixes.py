"""Verified fixes: for each diagnostic, candidate changes of the submitted model, each written as
an RFC 6902 patch, applied, and checked again by the engine.

A candidate is kept only when the problem it targets is gone and no new error appears (an error
at a layer that could not be computed before, downstream of the problem, was hidden rather than
new). The fixes kept are ranked: fewest remaining errors, then fewest warnings, then fewest
added parameters, then the shortest patch. Each distinct patched model is checked once (with the
request's data and loss), never fixed in turn, and the search is bounded in checks and time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from . import diagnostics as diag
from .analysis import Analysis, analyse_graph
from .data import check_data
from .diagnostics import Diagnostic, Fix
from .errors import ShapecheckError
from .fixes_edits import CannotEdit, Edit, Editor, all_names, edit_model
from .fixes_patched import patched_graph
from .fixes_proposals import PROPOSERS, Candidate, Situation
from .formats import load_model
from .graph import output_name
from .jsonpatch import Patch
from .request import CheckRequest

MAX_FIXES = 3
"""Fixes shown per diagnostic."""
MAX_CANDIDATES = 8
"""Candidates tried per diagnostic."""
MAX_CHECKS = 40
"""Patched models checked per request."""
TIME_BUDGET = 2.0
"""Seconds the fix search may take per request."""


@dataclass
class Budget:
    checks: int = MAX_CHECKS
    deadline: float = field(default_factory=lambda: time.monotonic() + TIME_BUDGET)

    def spend(self) -> bool:
        if self.checks <= 0 or time.monotonic() > self.deadline:
            return False
        self.checks -= 1
        return True


@dataclass
class Patched:
    """A candidate applied to the submitted model, and the engine's analysis of the result."""

    patch: Patch
    after: Analysis


@dataclass
class Verified:
    fix: Fix
    rank: tuple


def attach_fixes(analysis: Analysis, request: CheckRequest) -> None:
    """Give each diagnostic the verified fixes found for it (at most ``MAX_FIXES``), errors
    first while the budget lasts."""
    targets = [d for d in analysis.diagnostics if d.code in PROPOSERS and d.severity != diag.INFO]
    if not targets:
        return
    search = Search(Situation(analysis, request))
    for target in sorted(targets, key=lambda d: d.severity != diag.ERROR):
        candidates = unique(c for propose in PROPOSERS[target.code]
                            for c in propose(target, search.situation))
        verified = [v for c in candidates[:MAX_CANDIDATES]
                    if (v := search.verify(c, target)) is not None]
        target.fixes = [v.fix for v in sorted(verified, key=lambda v: v.rank)[:MAX_FIXES]]


def unique(candidates: Iterable[Candidate]) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    for candidate in candidates:
        seen.setdefault(candidate.key, candidate)
    return list(seen.values())


class Search:
    """Applies candidates and checks the patched models, each distinct one once."""

    def __init__(self, situation: Situation) -> None:
        self.situation = situation
        self.budget = Budget()
        self.checked: dict[str, Patched | None] = {}
        self.params_before = total_params(situation.analysis)

    @cached_property
    def names(self) -> set[str]:
        """Every name in the submitted model: no new layer may take one."""
        return all_names(self.situation.request.model)

    def verify(self, candidate: Candidate, target: Diagnostic) -> Verified | None:
        """The fix ``candidate`` makes for ``target``; None unless it works."""
        patched = self.patched(candidate)
        if patched is None or not solves(target, self.situation, patched.after):
            return None
        after = patched.after
        errors = sum(d.severity == diag.ERROR for d in after.diagnostics)
        warnings = sum(d.severity == diag.WARNING and d.code != diag.LEGACY_ARGUMENT
                       for d in after.diagnostics)
        params = total_params(after)
        rank = (errors, warnings, params - self.params_before, len(json.dumps(patched.patch)))
        return Verified(Fix(candidate.title, patched.patch, result(after, params)), rank)

    def patched(self, candidate: Candidate) -> Patched | None:
        key = candidate.key
        if key not in self.checked:
            if not self.budget.spend():
                return None
            self.checked[key] = self.apply(candidate)
        return self.checked[key]

    def apply(self, candidate: Candidate) -> Patched | None:
        request = self.situation.request
        try:
            editor = edit_model(request.model, self.situation.graph, candidate.edits,
                                lambda: self.names)
        except CannotEdit:
            return None
        after = rerun(editor, candidate.edits, request, self.situation.analysis)
        if after is None:
            return None
        for name in changed_inputs(self.situation.analysis, after):
            editor.drop_build_config(name)
        return Patched(editor.patch, after)


def rerun(editor: Editor, edits: Sequence[Edit], request: CheckRequest,
          before: Analysis) -> Analysis | None:
    """The patched model analysed as ``check`` does, with what the request's analyses computed
    before; None when it is not even a valid request. Its graph is the analysed one with the
    entries the edits wrote loaded (``patched_graph``) or, for the documents and edits that
    ``patched_graph`` does not cover, the whole patched document loaded."""
    memo = before.memo
    try:
        graph = (patched_graph(before.graph, editor, edits, request.overrides, memo.built)
                 or load_model(editor.doc, request.overrides, memo.built))
        after = analyse_graph(graph, memo)
    except ShapecheckError:
        return None
    after.diagnostics.extend(check_data(after.graph, after.propagation, request.x_shape,
                                        request.y_shape, request.loss, size_hints=False))
    return after


def key(d: Diagnostic) -> tuple[str, str, str | None]:
    return d.severity, d.code, d.layer


def solves(target: Diagnostic, situation: Situation, after: Analysis) -> bool:
    """The target is gone, and every error left was there before or hidden downstream."""
    keys_after = {key(d) for d in after.diagnostics}
    if key(target) in keys_after:
        return False
    before = {key(d) for d in situation.analysis.diagnostics}
    hidden = situation.uncomputed - {target.layer}
    return all(k in before or k[2] in hidden
               for k in keys_after if k[0] == diag.ERROR)


def changed_inputs(before: Analysis, after: Analysis) -> list[str]:
    """Layers whose input shapes the fix changed (or that it added)."""
    old = before.propagation.states
    return [name for name, state in after.propagation.states.items()
            if name not in old or old[name].input_shapes != state.input_shapes]


def total_params(analysis: Analysis) -> int:
    return sum(w.size for state in analysis.propagation.states.values()
               for w in state.weights or ())


def result(after: Analysis, params: int) -> dict[str, Any]:
    """What the fixed model gives: its (first) output shape and parameter count, and every
    output's shape when it has several."""
    shapes = {output_name(ref): as_list(after.propagation.tensors.get(ref))
              for ref in after.graph.outputs}
    answer: dict[str, Any] = {"output_shape": next(iter(shapes.values()), None),
                              "params": params}
    if len(shapes) > 1:
        answer["output_shapes"] = shapes
    return answer


def as_list(shape: tuple | None) -> list | None:
    return None if shape is None else list(shape)

