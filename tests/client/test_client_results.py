"""Parsing a /v1/check answer into typed results, and the errors raised from them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from shapecheck_client import (
    CheckResult,
    Diagnostic,
    Fix,
    LayerResult,
    ModelShapeError,
    ShapecheckError,
)

ANSWER: dict[str, Any] = {
    "ok": False,
    "model": {
        "name": "model",
        "format": "native",
        "inputs": [{"name": "input", "shape": [None, 100, 100, 3]}],
        "outputs": [{"name": "dense_1", "shape": [None, 98, 98, 10]}],
    },
    "layers": [
        {
            "name": "conv2d",
            "type": "Conv2D",
            "inputs": ["input"],
            "output_shapes": [[None, 98, 98, 32]],
            "params": 896,
            "trainable_params": 896,
            "non_trainable_params": 0,
            "macs": 8297856,
            "explain": "3x3 kernel, valid padding",
            "future_field": "ignored",
        },
        {"name": "broken", "type": "Mystery", "inputs": ["conv2d"], "output_shapes": None},
    ],
    "totals": {"params": 896, "trainable_params": 896, "non_trainable_params": 0},
    "diagnostics": [
        {
            "severity": "error",
            "code": "target_shape_mismatch",
            "layer": "dense_1",
            "message": "expected (None, 98, 98, 10), got (100, 10)",
            "hint": "insert Flatten",
            "fixes": [
                {
                    "title": "Insert Flatten before dense",
                    "patch": [{"op": "add", "path": "/layers/1", "value": {"type": "Flatten"}}],
                    "result": {"output_shape": [None, 10], "params": 78679690},
                    "score": 0.9,
                }
            ],
        },
        {"severity": "warning", "code": "legacy_argument", "layer": "conv2d", "message": "nb"},
        {"severity": "info", "code": "dense_on_high_rank", "layer": "dense", "message": "rank 4"},
    ],
    "summary": "Layer (type)  Output Shape  Param #\nconv2d (Conv2D)  (None, 98, 98, 32)  896\n",
    "request_id": "abc",
}


@pytest.fixture
def result() -> CheckResult:
    return CheckResult.from_dict(ANSWER)


def test_layers_parse_to_typed_results(result: CheckResult) -> None:
    conv, broken = result.layers
    assert conv == LayerResult(
        name="conv2d",
        type="Conv2D",
        inputs=["input"],
        output_shapes=[(None, 98, 98, 32)],
        params=896,
        trainable_params=896,
        non_trainable_params=0,
        macs=8297856,
        explain="3x3 kernel, valid padding",
    )
    assert broken.output_shapes is None
    assert (broken.params, broken.macs, broken.explain) == (0, None, "")


def test_diagnostics_and_fixes_parse(result: CheckResult) -> None:
    error = result.diagnostics[0]
    assert (error.code, error.layer) == ("target_shape_mismatch", "dense_1")
    assert error.fixes == [
        Fix(
            title="Insert Flatten before dense",
            patch=[{"op": "add", "path": "/layers/1", "value": {"type": "Flatten"}}],
            result={"output_shape": [None, 10], "params": 78679690},
        )
    ]
    assert result.diagnostics[1].hint is None
    assert result.diagnostics[1].fixes == []


def test_result_keeps_everything_in_raw(result: CheckResult) -> None:
    assert not result.ok
    assert result.raw["request_id"] == "abc"
    assert result.totals["params"] == 896
    assert result.model["format"] == "native"
    assert result.forward is None


def test_errors_and_warnings(result: CheckResult) -> None:
    assert [item.code for item in result.errors] == ["target_shape_mismatch"]
    assert [item.code for item in result.warnings] == ["legacy_argument"]


def test_results_are_frozen(result: CheckResult) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.ok = True  # type: ignore[misc]


def test_str_is_the_summary_then_one_line_per_diagnostic(result: CheckResult) -> None:
    lines = str(result).splitlines()
    assert lines[:2] == ANSWER["summary"].splitlines()
    assert lines[2:] == [
        "error: target_shape_mismatch at dense_1: expected (None, 98, 98, 10), got (100, 10)"
        " (hint: insert Flatten)",
        "warning: legacy_argument at conv2d: nb",
        "info: dense_on_high_rank at dense: rank 4",
    ]


def test_repr_is_one_line_with_the_verdict_and_the_first_diagnostic(
        result: CheckResult) -> None:
    """Not the whole answer a dataclass would spell (``raw`` holds it)."""
    assert repr(result) == ("<CheckResult 'model' ok=False: 1 error(s), 1 warning(s); first: "
                            "target_shape_mismatch at dense_1>")
    assert repr(CheckResult.from_dict({"ok": True})) == (
        "<CheckResult '?' ok=True: 0 error(s), 0 warning(s)>")


def test_a_notebook_shows_the_table_and_the_diagnostics_escaped() -> None:
    answer = {**ANSWER, "summary": "dense <Dense>", "diagnostics": [
        {**ANSWER["diagnostics"][0], "message": "a < b & c"}]}
    html = CheckResult.from_dict(answer)._repr_html_()
    assert html.startswith("<pre>dense &lt;Dense&gt;</pre><ul><li><b>error</b> ")
    assert "a &lt; b &amp; c<br><i>hint:</i> insert Flatten" in html
    assert "<i>fix:</i> Insert Flatten before dense" in html
    assert html.endswith("<p><b>FAILED</b>: CheckResult 'model' ok=False: 1 error(s), "
                         "0 warning(s); first: target_shape_mismatch at dense_1</p>")


def test_raise_for_errors_lists_the_errors(result: CheckResult) -> None:
    with pytest.raises(ModelShapeError) as caught:
        result.raise_for_errors()
    assert isinstance(caught.value, ShapecheckError)
    assert caught.value.diagnostics == result.errors
    assert "1 shape error" in str(caught.value)
    assert "target_shape_mismatch at dense_1" in str(caught.value)
    assert "legacy_argument" not in str(caught.value)


def test_raise_for_errors_returns_an_ok_result() -> None:
    result = CheckResult.from_dict({"ok": True, "diagnostics": [], "summary": "table"})
    assert result.raise_for_errors() is result


def test_missing_fields_get_defaults() -> None:
    result = CheckResult.from_dict({"diagnostics": [{"severity": "error", "code": "x"}]})
    assert not result.ok  # derived from the diagnostics when "ok" is absent
    assert (result.layers, result.totals, result.summary, result.model) == ([], {}, "", {})
    assert result.diagnostics == [Diagnostic("error", "x", None, "", None, [])]
    assert str(result) == "error: x: "


FORWARD = {"outputs": [
    {"name": "probs", "shape": [2, 2], "dtype": "float32",
     "stats": {"min": 0.0, "max": 1.0, "mean": 0.5, "std": 0.5, "nonfinite": 1},
     "values": [[0.0, 1.0], [None, 0.5]]},
    {"name": "ids", "shape": [2], "dtype": "int32", "stats": {},
     "values": {"dtype": "int32", "shape": [2], "base64": "BwAAAP////8="}},
    {"name": "half", "shape": [1], "dtype": "bfloat16", "stats": {},
     "values": {"dtype": "float32", "shape": [1], "base64": "AADAPw=="}},
    {"name": "stats_only", "shape": [2, 1], "stats": {"min": 0.0}},
]}


def test_forward_outputs_parse_and_decode_to_numpy_arrays() -> None:
    np = pytest.importorskip("numpy")
    probs, ids, half, stats_only = CheckResult.from_dict({**ANSWER, "forward": FORWARD}).outputs
    assert (probs.name, probs.shape, probs.stats["nonfinite"]) == ("probs", (2, 2), 1)
    values = probs.to_numpy()
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, [[0.0, 1.0], [np.nan, 0.5]])  # null is NaN
    assert ids.to_numpy().dtype == np.int32
    assert ids.to_numpy().tolist() == [7, -1]
    assert half.to_numpy().tolist() == [1.5]  # bfloat16 values come as float32
    assert stats_only.dtype == "float32"
    with pytest.raises(ValueError, match=r'ask for them with forward=.*"return": "values"'):
        stats_only.to_numpy()


def test_no_forward_pass_no_outputs(result: CheckResult) -> None:
    assert result.outputs == []
