"""The request body: the quick reading of plain bodies agrees with the schema's."""

from __future__ import annotations

from typing import Any

import pytest
from shapecheck.errors import RequestInvalid
from shapecheck.request import REQUEST_SCHEMA, CheckRequest, parse_request, plain_request

MODEL = {"inputs": [4], "layers": [{"type": "Dense", "units": 2}]}
PLAIN = [
    {"model": MODEL},
    {"model": MODEL, "x_shape": [8, 4], "y_shape": [8, None, 0], "loss": "mse",
     "batch_size": 32, "overrides": {}, "forward": None, "unknown": 1},
    {"model": MODEL, "x_shape": None, "loss": "", "forward": {"seed": 1}},
]
NOT_PLAIN = [
    {"model": MODEL, "x_shape": {"input": [8, 4]}},
    {"model": MODEL, "x_shape": 8},
    {"model": MODEL, "batch_size": 2.0},
    {"model": MODEL, "overrides": {"dense": {"output_shape": [None, 2]}}},
]
REFUSED = [
    {},
    {"model": MODEL, "y_shape": [8, True]},
    {"model": MODEL, "y_shape": [8, -1]},
    {"model": MODEL, "y_shape": [8, 2.0]},
    {"model": None},
    {"model": [MODEL]},
    {"model": MODEL, "loss": 3},
    {"model": MODEL, "batch_size": 0},
    {"model": MODEL, "batch_size": True},
    {"model": MODEL, "forward": []},
    {"model": MODEL, "overrides": []},
]


@pytest.mark.parametrize("body", PLAIN)
def test_plain_bodies_read_as_the_schema_reads_them(body: dict[str, Any]) -> None:
    request = plain_request(body)
    assert request is not None
    assert request == CheckRequest(**REQUEST_SCHEMA.load(body))
    assert request.model == body["model"] and request.model is not body["model"]


@pytest.mark.parametrize("body", NOT_PLAIN)
def test_other_bodies_are_left_to_the_schema(body: dict[str, Any]) -> None:
    assert plain_request(body) is None
    assert parse_request(body) == CheckRequest(**REQUEST_SCHEMA.load(body))


@pytest.mark.parametrize("body", REFUSED)
def test_invalid_bodies_are_refused_by_the_schema(body: dict[str, Any]) -> None:
    assert plain_request(body) is None
    with pytest.raises(RequestInvalid):
        parse_request(body)
