"""Helpers shared by the layer-family unit tests: run a native model through ``check``."""

from __future__ import annotations

import pytest
from keras_fixtures import recorded
from shapecheck import check
from shapecheck.errors import RequestInvalid


def run(shape: list | dict, *layers: dict, outputs: list | None = None, **extra: object) -> dict:
    """``check`` of a model with these inputs and layers (plus request fields in ``extra``)."""
    model: dict = {"inputs": shape, "layers": list(layers)}
    if outputs:
        model["outputs"] = outputs
    return check({"model": model, **extra})


def only_row(result: dict) -> dict:
    """The first layer row of a result that has no errors."""
    assert result["ok"], result["diagnostics"]
    return result["layers"][0]


def error_of(result: dict) -> dict:
    """The first error diagnostic of a result that has one."""
    errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert errors, result
    return errors[0]


def only_diagnostic(result: dict, code: str, **expected: str) -> dict:
    """The one diagnostic of ``code`` in a result, whose fields have the ``expected`` values
    (``severity="warning", layer="dense"``)."""
    (diagnostic,) = [d for d in result["diagnostics"] if d["code"] == code]
    assert {key: diagnostic[key] for key in expected} == expected, diagnostic
    return diagnostic


def tf_keras_2_refusal(case_id: str, argument: str, value: object) -> list[str]:
    """The messages of the 422 ``check`` answers for the tf.keras 2 document recorded as
    ``case_id`` with ``argument`` of its first layer set to ``value``: a value tf.keras 2
    refuses, or shapecheck does, which tf.keras 2 writes no document for. The 422 must name
    that argument's path and no other."""
    doc = recorded("tfkeras2", case_id)["keras_json"]
    doc["config"]["layers"][1]["config"][argument] = value
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc})
    path = f"model.config.layers.1.config.{argument}"
    assert list(exc.value.errors) == [path], exc.value.errors
    return exc.value.errors[path]


def forward_refusal_where_predict_fails(case_id: str, predict_says: str) -> str:
    """The one message of the 422 that the forward pass (batch 2) answers for the Keras 3
    model recorded as ``case_id``, whose ``predict`` failed with ``predict_says``."""
    case = recorded("keras3", case_id)
    assert predict_says in case["predict_refused"]
    with pytest.raises(RequestInvalid) as exc:
        check({"model": case["native"], "forward": {"batch_size": 2}})
    (message,) = exc.value.errors["forward"]
    return message


def codes(result: dict) -> list[str]:
    """Every diagnostic code of a result, in order."""
    return [d["code"] for d in result["diagnostics"]]


def refused_paths(shape: list | dict, *layers: dict) -> list[str]:
    """The JSON paths of the 422 that ``check`` answers for a model with these layers."""
    with pytest.raises(RequestInvalid) as exc:
        run(shape, *layers)
    return list(exc.value.errors)
