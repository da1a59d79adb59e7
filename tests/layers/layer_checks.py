"""Helpers shared by the layer-family unit tests: run a native model through ``check``."""

from __future__ import annotations

import pytest
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


def refusal_with_argument(doc: dict, index: int, argument: str, value: object) -> list[str]:
    """The messages of the 422 ``check`` answers for a Keras JSON document whose layer
    ``index`` has ``argument`` set to ``value`` (edited in place), which must name that
    argument's path and no other."""
    doc["config"]["layers"][index]["config"][argument] = value
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc})
    path = f"model.config.layers.{index}.config.{argument}"
    assert list(exc.value.errors) == [path], exc.value.errors
    return exc.value.errors[path]


def codes(result: dict) -> list[str]:
    """Every diagnostic code of a result, in order."""
    return [d["code"] for d in result["diagnostics"]]


def refused_paths(shape: list | dict, *layers: dict) -> list[str]:
    """The JSON paths of the 422 that ``check`` answers for a model with these layers."""
    with pytest.raises(RequestInvalid) as exc:
        run(shape, *layers)
    return list(exc.value.errors)
