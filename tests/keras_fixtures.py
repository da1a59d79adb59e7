"""Loading the golden fixtures that tools/keras_fixtures/ writes from real Keras."""

from __future__ import annotations

import base64
import copy
import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from shapecheck import check
from shapecheck.analysis import analyse
from shapecheck.arrays import decode
from shapecheck.computed import tensor_dtypes
from shapecheck.formats.common import compute_dtype
from shapecheck.forward import run_forward

FIXTURES = Path(__file__).parent / "fixtures"


def cases(flavour: str = "keras3", kind: str = "layers") -> list[Any]:
    """pytest params of every case of every family file, with readable ids."""
    params = []
    for path in sorted((FIXTURES / flavour / kind).glob("*.json")):
        for case in json.loads(path.read_text())["cases"]:
            params.append(pytest.param(case, id=f"{path.stem}:{case['id']}"))
    return params


def recorded(flavour: str, case_id: str, kind: str = "layers") -> dict[str, Any]:
    """A copy of the recorded case ``family:id`` (the tests may edit it)."""
    family, _, name = case_id.partition(":")
    return copy.deepcopy(next(c for c in family_cases(flavour, kind, family) if c["id"] == name))


@functools.cache
def family_cases(flavour: str, kind: str, family: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / flavour / kind / f"{family}.json").read_text())["cases"]


def array(value: dict[str, Any]) -> Any:
    """A recorded array; the outputs of predict may hold NaN and infinities (an overflow),
    which the service's decoder refuses in requests."""
    if isinstance(value, dict) and "base64" in value:
        raw = base64.b64decode(value["base64"])
        return np.frombuffer(raw, dtype=np.dtype(value["dtype"]).newbyteorder("<")).reshape(
            value["shape"]).astype(np.float32)
    return decode(value, "fixture")


def holds_nonfinite(recorded: dict[str, Any]) -> bool:
    """Whether predict's recorded outputs hold NaN or infinities."""
    return any(not np.isfinite(array(out)).all() for out in recorded["outputs"])


ROW_KEYS = ("output_shapes", "params", "trainable_params", "non_trainable_params")


def assert_rows_equal(result: dict[str, Any], layers: list[dict[str, Any]],
                      total_params: int, unshaped: set[str] | frozenset[str] = frozenset(),
                      ) -> None:
    """``check``'s row of each layer in ``layers`` (Keras' figures, by name) has its shapes and
    parameters, and the model totals ``total_params``; the layers in ``unshaped`` (in error)
    have no shapes to compare."""
    rows = {row["name"]: row for row in result["layers"]}
    for expected in layers:
        row = rows[expected["name"]]
        for key in ROW_KEYS:
            if key != "output_shapes" or expected["name"] not in unshaped:
                assert row[key] == expected[key], (expected["name"], key)
    assert result["totals"]["params"] == total_params


def layers_in_error(case: dict[str, Any], result: dict[str, Any]) -> set[str]:
    """The layers in error in ``result``, a check of a model Keras builds: none, unless only
    Keras' predict fails (``predict_refused``), where shapecheck may report the layer predict
    fails at and checks the layers after it with the shapes Keras declares."""
    if "predict_refused" not in case:
        assert result["ok"], result["diagnostics"]
    return {d["layer"] for d in result["diagnostics"] if d["severity"] == "error"}


def check_as_read_back(case: dict[str, Any]) -> dict[str, Any]:
    """``check`` of a case's ``keras_json``, whose rows must have the shapes and parameters of
    the model Keras reads back from that JSON (``keras_json_layers`` where they differ from the
    built model's ``layers``), and the same total; returns the result."""
    result = check({"model": case["keras_json"]})
    layers, total = case["layers"], case["totals"]["params"]
    if "keras_json_layers" in case:  # the JSON does not say the whole model: its own total
        layers = case["keras_json_layers"]
        total += sum(r["params"] for r in layers) - sum(r["params"] for r in case["layers"])
    assert_rows_equal(result, layers, total, layers_in_error(case, result))
    return result


LOW_PRECISION_TOLERANCE = {"float16": 4 * 2.0**-10, "bfloat16": 4 * 2.0**-7}
"""Where Keras computes in float16 or bfloat16 (a mixed-precision policy), the forward pass,
which computes in float32, matches predict within four epsilons of that dtype (× max|y|)."""


def tolerance(doc: dict[str, Any], recorded: dict[str, Any]) -> float:
    """How close to predict's outputs the forward pass of ``doc`` is (× max|y|): 1e-4, or
    ``LOW_PRECISION_TOLERANCE`` where a layer (a wrapper, or a layer it wraps), an input or
    an output is in a low-precision float."""
    graph = analyse(doc, {}).graph
    dtypes = {compute_dtype(policy, "keras3") for policy in policies(doc)} | {
        i.dtype for i in graph.inputs} | set(predict_dtypes(recorded))
    return max([1e-4, *(LOW_PRECISION_TOLERANCE.get(d, 0) for d in dtypes)])


def policies(node: Any) -> list[Any]:
    """Every ``dtype`` given in a document, at any depth (the layers inside wrappers too)."""
    if isinstance(node, list):
        return [p for item in node for p in policies(item)]
    if not isinstance(node, dict):
        return []
    return ([node["dtype"]] if "dtype" in node else []) + [
        p for key, value in node.items() if key != "dtype" for p in policies(value)]


def predict_dtypes(recorded: dict[str, Any]) -> list[str]:
    """The dtypes of predict's outputs (recorded where one is not float32)."""
    return recorded.get("output_dtypes", ["float32"] * len(recorded["outputs"]))


def assert_forward_as_recorded(doc: dict[str, Any], recorded: dict[str, Any],
                               dtypes_recorded: bool = True) -> None:
    """``run_forward`` of ``doc`` on a case's recorded input and weights gives the outputs of
    Keras' predict, within 1e-4 of the largest, and in its dtypes (unless the record predates
    ``output_dtypes``: ``dtypes_recorded`` False)."""
    analysis = analyse(doc, {})
    weights = {name: [array(w) for w in ws] for name, ws in recorded["weights"].items()}
    # In model.inputs order, which is input_layers' (a Sequential's tensors have other names).
    inputs = {i.name: array(x) for i, x in zip(analysis.graph.inputs, recorded["x"].values(),
                                                strict=True)}
    values = run_forward(analysis.graph, analysis.propagation, inputs, weights)
    within = tolerance(doc, recorded)
    dtypes = tensor_dtypes(analysis.graph, analysis.propagation)
    assert not dtypes_recorded or [dtypes.get(ref, "float32") for ref in analysis.graph.outputs
                                   ] == predict_dtypes(recorded)
    for ref, expected in zip(analysis.graph.outputs, recorded["outputs"], strict=True):
        assert_close(values[ref], array(expected), within, ref.layer)


def assert_close(got: Any, want: Any, within: float, name: str) -> None:
    """``got`` is ``want`` within ``within`` × its largest magnitude, with NaN and infinities
    (an overflow) exactly where ``want`` has them."""
    assert got.shape == want.shape, name
    finite = np.isfinite(want)
    assert np.array_equal(got[~finite], want[~finite], equal_nan=True), name
    want, got = want[finite], got[finite]
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-6)
    assert float(np.max(np.abs(got - want), initial=0.0)) <= within * scale, name
