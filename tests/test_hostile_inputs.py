"""Hostile requests against the real server: each gets a clear 4xx problem (or a 200 with a
diagnostic), quickly, and never a 5xx. Limits are refused before the work is done."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

PROBLEM = "application/problem+json"
DENSE = {"type": "Dense", "units": 3}


def post_raw(http: requests.Session, url: str, data: bytes) -> requests.Response:
    return http.post(f"{url}/v1/check", data=data, timeout=60,
                     headers={"Content-Type": "application/json"})


def post(http: requests.Session, url: str, body: Any) -> requests.Response:
    return post_raw(http, url, json.dumps(body).encode())


def problem(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_a_20_mb_body_is_413_before_it_is_read(http, server_url):
    started = time.monotonic()
    try:
        response = post_raw(http, server_url, b"[" + b"0," * (10 * 1024 * 1024) + b"0]")
    except requests.ConnectionError:
        pytest.fail("the server dropped the connection instead of answering 413")
    body = problem(response, 413)
    assert "8,388,608 bytes" in body["detail"] and "SHAPECHECK_MAX_BODY_BYTES" in body["detail"]
    assert time.monotonic() - started < 10


def test_a_nesting_bomb_is_413_without_recursing(http, server_url):
    bomb = b'{"model": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    body = problem(post_raw(http, server_url, bomb), 413)
    assert "200,001 deep" in body["detail"] and "SHAPECHECK_MAX_JSON_DEPTH" in body["detail"]
    assert body["limit"] == {"name": "JSON nesting depth", "value": 200_001, "limit": 64}


def test_nesting_just_over_the_limit_is_refused_and_at_the_limit_accepted(http, server_url):
    def nested(depth: int) -> bytes:  # the body object is level 1, the model level 2
        return (b'{"model": {"inputs": [4], "layers": [{"type": "Dense", "units": 2}], "x": '
                + b"[" * (depth - 2) + b"]" * (depth - 2) + b"}}")

    assert post_raw(http, server_url, nested(64)).status_code == 200
    problem(post_raw(http, server_url, nested(65)), 413)


def test_brackets_inside_strings_do_not_count_as_nesting(http, server_url):
    name = '"[{' * 100 + "\\\\"
    body = {"model": {"name": name, "inputs": [4], "layers": [DENSE]}}
    response = post(http, server_url, body)
    assert response.status_code == 200, response.text
    assert response.json()["model"]["name"] == name


def test_a_50000_layer_model_is_413_before_loading(http, server_url):
    body = {"model": {"inputs": [4], "layers": [DENSE] * 50_000}}
    started = time.monotonic()
    detail = problem(post(http, server_url, body), 413)["detail"]
    assert "50,000 layers" in detail and "SHAPECHECK_MAX_LAYERS" in detail
    assert time.monotonic() - started < 5


def test_nested_keras_layers_count_towards_the_layer_limit(http, server_url):
    inner = {"class_name": "Sequential",
             "config": {"name": "inner", "layers": [{"class_name": "Dense",
                                                     "config": {"units": 2}}] * 2600}}
    model = {"class_name": "Sequential",
             "config": {"name": "outer", "layers": [
                 {"class_name": "InputLayer", "config": {"batch_shape": [None, 4]}},
                 inner, inner]}}
    detail = problem(post(http, server_url, {"model": model}), 413)["detail"]
    assert "5,203 layers" in detail


def test_150000_model_inputs_count_as_layers(http, server_url):
    names = [f"i{k}" for k in range(150_000)]
    body = {"model": {"inputs": {name: [1] for name in names},
                      "layers": [{"type": "Concatenate", "inputs": names}]}}
    detail = problem(post(http, server_url, body), 413)["detail"]
    assert "150,001 layers" in detail


def test_a_layer_reading_400000_tensors_is_413(http, server_url):
    body = {"model": {"inputs": {"a": [2]}, "layers": [{"type": "Add", "inputs": ["a"] * 400_000}]}}
    detail = problem(post(http, server_url, body), 413)["detail"]
    assert "model.layers.0 reads 400,000 tensors" in detail


def test_a_terabyte_forward_pass_is_413(http, server_url):
    body = {"model": {"inputs": [1_000_000], "layers": [{"type": "Dense", "units": 1_000_000}]},
            "forward": {"batch_size": 1_000_000}}
    started = time.monotonic()
    detail = problem(post(http, server_url, body), 413)["detail"]
    assert "SHAPECHECK_FORWARD_MAX" in detail
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_400(http, server_url, literal):
    raw = b'{"model": {"inputs": [4], "layers": [{"type": "Dropout", "rate": ' + literal + b"}]}}"
    assert "not valid JSON" in problem(post_raw(http, server_url, raw), 400)["detail"]


@pytest.mark.parametrize(("layer", "path", "message"), [
    ({"type": "Dense", "units": -3}, "units", ">= 1"),
    ({"type": "Dense", "units": 0}, "units", ">= 1"),
    ({"type": "Dense", "units": True}, "units", "integer"),
    ({"type": "Dense", "units": 2.5}, "units", "integer"),
    ({"type": "Dense", "units": "3"}, "units", "integer"),
    ({"type": "Dropout", "rate": 10**400}, "rate", "finite"),
    ({"type": "Dropout", "rate": -0.5}, "rate", ">= 0"),
])
def test_negative_zero_boolean_and_absurd_arguments_are_422(http, server_url, layer, path,
                                                             message):
    body = {"model": {"inputs": [4], "layers": [layer]}}
    errors = problem(post(http, server_url, body), 422)["errors"]
    assert message in " ".join(errors[f"model.layers.0.{path}"])


def test_groups_that_do_not_divide_an_astronomical_axis_answer_at_once(http, server_url):
    """The hint's divisors are not searched for among 10^30 channels (the search never ended)."""
    layer = {"type": "GroupNormalization", "groups": 7}
    body = {"model": {"inputs": [4, 10**30], "layers": [layer]}}
    started = time.monotonic()
    response = post(http, server_url, body)
    assert time.monotonic() - started < 5
    assert response.status_code == 200, response.text
    error = response.json()["diagnostics"][0]
    assert error["code"] == "layer_input_incompatible"
    assert f"Set groups to a divisor of {10**30} (or -1" in error["hint"]


@pytest.mark.parametrize(("body", "path"), [
    ({"model": {"inputs": [4, -1], "layers": [DENSE]}}, "model.inputs"),
    ({"model": {"inputs": [4], "layers": [DENSE]}, "x_shape": [True, 4]}, "x_shape"),
    ({"model": {"inputs": [4], "layers": [DENSE]}, "batch_size": 0}, "batch_size"),
    ({"model": {"inputs": [4], "layers": [DENSE]}, "batch_size": -5}, "batch_size"),
])
def test_negative_and_boolean_shapes_are_422(http, server_url, body, path):
    assert path in problem(post(http, server_url, body), 422)["errors"]


def test_a_dense_of_a_billion_units_is_counted_exactly_not_allocated(http, server_url):
    body = {"model": {"inputs": [100_000], "layers": [{"type": "Dense", "units": 10**9}]},
            "batch_size": 10**6}
    started = time.monotonic()
    response = post(http, server_url, body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["layers"][0]["params"] == 100_000 * 10**9 + 10**9  # beyond float precision
    assert result["totals"]["param_bytes"] == 4 * (100_000 * 10**9 + 10**9)
    assert result["totals"]["batch_macs"] == 100_000 * 10**9 * 10**6
    assert time.monotonic() - started < 5


def test_astronomical_sizes_stay_exact_integers(http, server_url):
    units = 10**40
    body = {"model": {"inputs": [units], "layers": [{"type": "Dense", "units": units}]}}
    response = post(http, server_url, body)
    assert response.status_code == 200, response.text
    assert response.json()["layers"][0]["params"] == units * units + units
    assert "PB" in response.json()["summary"]


def test_a_kernel_larger_than_the_universe_is_a_diagnostic(http, server_url):
    layer = {"type": "Conv2D", "filters": 2, "kernel_size": 10**30}
    response = post(http, server_url, {"model": {"inputs": [8, 8, 3], "layers": [layer]}})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is False
    assert result["diagnostics"][0]["code"] == "layer_input_incompatible"


@pytest.mark.parametrize(("body", "path"), [
    ({"model": {"inputs": [2] * 8, "layers": [DENSE]}}, "model.inputs"),
    ({"model": {"inputs": {"a": [2] * 8}, "layers": [DENSE]}}, "model.inputs.a"),
    ({"model": {"layers": [{**DENSE, "input_shape": [2] * 8}]}}, "model.layers.0.input_shape"),
    ({"model": {"inputs": [4], "layers": [DENSE]}, "x_shape": [2] * 9}, "x_shape"),
    ({"model": {"inputs": [4], "layers": [{"type": "Reshape", "target_shape": [1] * 8}]}},
     "model.layers.0.target_shape"),
    ({"model": {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, *[2] * 8]}}]}}},
     "model.config.layers.0.config.batch_shape"),
])
def test_ranks_over_the_limit_are_422_with_the_path(http, server_url, body, path):
    errors = problem(post(http, server_url, body), 422)["errors"]
    assert "rank 9" in errors[path][0] and "SHAPECHECK_MAX_RANK" in errors[path][0]


def test_rank_at_the_limit_is_accepted(http, server_url):
    body = {"model": {"inputs": [2] * 7, "layers": [DENSE]}, "x_shape": [5, *[2] * 7]}
    response = post(http, server_url, body)
    assert response.status_code == 200, response.text
    assert response.json()["layers"][0]["output_shapes"] == [[None, *[2] * 6, 3]]


@pytest.mark.parametrize("raw", [
    b"", b"{", b'{"model": }', b"\xff\xfe", b'"just a string"' b"x", b"[1, 2,]",
    b"1" * 5000,  # beyond Python's int digit limit
])
def test_not_json_is_400(http, server_url, raw):
    problem(post_raw(http, server_url, raw), 400)


@pytest.mark.parametrize("body", [[], "model", 42, None, {"model": []}, {"model": "x"}])
def test_json_of_the_wrong_form_is_422(http, server_url, body):
    problem(post(http, server_url, body), 422)
