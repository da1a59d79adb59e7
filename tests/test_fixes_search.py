"""How the fix search behaves: only when needed, bounded, never recursive, strict about new
errors but not about errors that were hidden behind the one it fixes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from shapecheck import analysis, check, engine, fixes


def diagnostics(body: dict[str, Any]) -> list[dict[str, Any]]:
    return check(body)["diagnostics"]


def titles(body: dict[str, Any], code: str) -> list[str]:
    return [f["title"] for d in diagnostics(body) if d["code"] == code for f in d["fixes"]]


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every patched model the search checks."""
    seen: list[dict[str, Any]] = []
    original = fixes.rerun

    def counting(editor: Any, *args: Any) -> Any:
        seen.append(editor.doc)
        return original(editor, *args)

    monkeypatch.setattr(fixes, "rerun", counting)
    return seen


def test_a_model_without_problems_checks_no_patched_model(checks: list) -> None:
    model = {"inputs": [4, 5, 1], "layers": [{"type": "Conv2D", "filters": 8, "kernel_size": 2},
                                             {"type": "Dense", "units": 5}]}
    found = diagnostics({"model": model})
    assert [d["code"] for d in found] == ["dense_on_high_rank"]
    assert found[0]["fixes"] == []
    assert checks == []


def test_a_patched_model_is_checked_once_and_never_fixed_in_turn(
        checks: list, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = fixes.attach_fixes
    monkeypatch.setattr(engine, "attach_fixes", lambda *a: calls.append(a) or original(*a))
    model = {"inputs": [20], "layers": [{"type": "LSTM", "units": 4}, {"type": "Dense",
                                                                        "units": 1}]}
    check({"model": model})
    assert len(calls) == 1
    assert 1 <= len(checks) <= fixes.MAX_CANDIDATES


def test_the_search_is_bounded_on_a_model_with_many_errors(checks: list) -> None:
    branches = 30
    layers = [{"type": "LSTM", "name": f"lstm_{i}", "units": 2, "inputs": [f"x{i}"]}
              for i in range(branches)]
    model = {"inputs": {f"x{i}": [12] for i in range(branches)}, "layers": layers,
             "outputs": [f"lstm_{i}" for i in range(branches)]}
    started = time.monotonic()
    found = diagnostics({"model": model})
    assert time.monotonic() - started < fixes.TIME_BUDGET + 2
    assert len([d for d in found if d["severity"] == "error"]) == branches
    assert len(checks) <= fixes.MAX_CHECKS
    assert all(len(d["fixes"]) <= fixes.MAX_FIXES for d in found)
    assert found[0]["fixes"]  # the first errors got theirs before the budget ran out


def test_a_fix_that_breaks_the_data_check_is_not_offered() -> None:
    model = {"inputs": [20], "layers": [{"type": "LSTM", "units": 4}, {"type": "Dense",
                                                                        "units": 1}]}
    without_data = titles({"model": model}, "layer_input_incompatible")
    with_data = titles({"model": model, "x_shape": [100, 20]}, "layer_input_incompatible")
    changes_input = "Give the model input 'input' the shape (20, 1) instead of (20,)"
    assert changes_input in without_data
    assert changes_input not in with_data
    assert "Insert Reshape(target_shape=(20, 1)) before 'lstm'" in with_data


def test_an_error_hidden_behind_the_fixed_one_does_not_veto_the_fix() -> None:
    """Fixing the conv lets the targets be checked, which reveals a second, older mistake."""
    model = {"inputs": [28, 28], "layers": [{"type": "Conv2D", "filters": 4, "kernel_size": 3},
                                            {"type": "Flatten"},
                                            {"type": "Dense", "units": 10}]}
    body = {"model": model, "y_shape": [100, 5], "loss": "categorical_crossentropy"}
    [conv] = [d for d in diagnostics(body) if d["layer"] == "conv2d"]
    assert conv["fixes"]
    assert conv["fixes"][0]["result"] == {"output_shape": [None, 10], "params": 27_090}


def test_each_verified_fix_is_what_a_fresh_check_of_the_patched_model_says() -> None:
    from shapecheck.jsonpatch import apply_patch

    model = {"inputs": [100, 100, 3], "layers": [
        {"type": "Conv2D", "filters": 32, "kernel_size": 3, "activation": "relu"},
        {"type": "Dense", "units": 256, "activation": "relu"},
        {"type": "Dense", "units": 10, "activation": "softmax"}]}
    body = {"model": model, "y_shape": [100, 10]}
    [target] = [d for d in diagnostics(body) if d["code"] == "target_shape_mismatch"]
    assert [f["title"] for f in target["fixes"]] == [
        "Insert GlobalAveragePooling2D before 'dense'", "Insert Flatten before 'dense'"]
    for fix in target["fixes"]:
        fresh = check({**body, "model": apply_patch(model, fix["patch"])})
        assert fresh["ok"]
        assert fix["result"] == {"output_shape": fresh["model"]["outputs"][0]["shape"],
                                 "params": fresh["totals"]["params"]}


def test_fixes_come_from_analyse_not_from_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The patched models go through the engine's analyse_graph(), the same pipeline as
    check()."""
    graphs = []
    original = analysis.analyse_graph
    recording = lambda graph, memo: graphs.append(graph) or original(graph, memo)  # noqa: E731
    monkeypatch.setattr(analysis, "analyse_graph", recording)
    monkeypatch.setattr(fixes, "analyse_graph", recording)
    model = {"inputs": [6, 6, 1], "layers": [{"type": "Conv2D", "filters": 2, "kernel_size": 7}]}
    check({"model": model})
    submitted, *patched = [graph.layers["conv2d"].args for graph in graphs]
    assert (submitted.padding, submitted.kernel_size) == ("valid", 7)
    assert [(args.padding, args.kernel_size) for args in patched] == [
        ("same", 7), ("valid", (6, 6))]


def test_a_candidate_shared_by_two_diagnostics_is_checked_once(checks: list) -> None:
    model = {"inputs": [1, 28, 28], "layers": [{"type": "Conv2D", "filters": 4,
                                                "kernel_size": 3}, {"type": "Flatten"}]}
    found = diagnostics({"model": model})
    codes = [d["code"] for d in found if d["fixes"]]
    assert codes == ["layer_input_incompatible", "suspicious_data_format"]
    shared = "Read the data as channels_first: set data_format='channels_first' on 'conv2d', " \
             "'flatten'"
    assert all(shared in [f["title"] for f in d["fixes"]] for d in found)
    assert len(checks) == len({repr(m) for m in checks})
