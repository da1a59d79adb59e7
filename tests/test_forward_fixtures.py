"""Every layer fixture recorded from Keras 3, through the whole ``forward`` request path: the
recorded weights and x sent as base64, Keras' outputs back within 1e-4 × max|y| (a few epsilons
of float16 or bfloat16 where the model computes in them); and the same
models on default weights and random data, which must run to finite outputs of the right
shapes."""

from __future__ import annotations

import pytest
from keras_fixtures import (
    array,
    assert_close,
    cases,
    holds_nonfinite,
    predict_dtypes,
    tolerance,
)
from shapecheck import check

FORWARD_CASES = [c for c in cases() if "forward" in c.values[0]]


@pytest.mark.parametrize("case", FORWARD_CASES)
def test_forward_request_matches_keras_predict(case: dict) -> None:
    assert_forward_request_matches(case["native"], case["forward"])


@pytest.mark.parametrize("case", FORWARD_CASES)
def test_default_weights_and_random_data_run(case: dict) -> None:
    batch = next(iter(case["forward"]["x"].values()))["shape"][0]
    x = {name: {"dtype": "float32", **{k: v for k, v in value.items() if k != "dtype"}}
         for name, value in case["forward"]["x"].items()}
    needs_x = any(None in shape[1:] for shape in input_shapes(case))
    spec = {"x": x} if needs_x or case.get("int_inputs") else {"batch_size": batch}
    result = check({"model": case["native"], "forward": spec})
    for out, expected in zip(result["forward"]["outputs"], case["forward"]["outputs"],
                             strict=True):
        assert out["shape"] == expected["shape"]
        assert out["stats"]["nonfinite"] == 0 or holds_nonfinite(case["forward"]), out["name"]


def assert_keras_json_forward_matches(case: dict) -> None:
    """The case's Keras JSON, sent with its recorded input and weights, gives Keras' outputs."""
    assert_forward_request_matches(case["keras_json"], case["forward"])


def assert_forward_request_matches(doc: dict, recorded: dict) -> None:
    """``doc`` sent with the recorded input and weights gives predict's outputs, in its dtypes
    and within the ``tolerance`` of ``doc`` (1e-4 × max|y| in float32)."""
    x = recorded["x"]
    result = check({"model": doc, "forward": {
        "x": next(iter(x.values())) if len(x) == 1 else x,
        "weights": recorded["weights"], "return": "values"}})
    outputs = result["forward"]["outputs"]
    assert len(outputs) == len(recorded["outputs"])
    assert [out["dtype"] for out in outputs] == predict_dtypes(recorded)
    within = tolerance(doc, recorded)
    for out, expected in zip(outputs, recorded["outputs"], strict=True):
        assert_close(array(out["values"]), array(expected), within, out["name"])


def input_shapes(case: dict) -> list[list]:
    return [value["shape"] for value in case["forward"]["x"].values()]

