"""The implementation and openapi.yaml agree: the same routes, and real responses (successes
and problems) that validate against the spec's schemas. /openapi.yaml and /docs are served."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
import requests
import yaml
from openapi_validation import SPEC_PATH, response_errors, spec
from servers import start_gunicorn, stop
from shapecheck.api import create_app

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
MODEL = {"inputs": [100, 100, 3], "layers": [
    {"type": "Conv2D", "filters": 32, "kernel_size": [3, 3], "activation": "relu"},
    {"type": "Dense", "units": 10, "activation": "softmax", "name": "probs"}]}


def flask_routes() -> set[tuple[str, str]]:
    app = create_app()
    return {(method.lower(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
            for rule in app.url_map.iter_rules() if rule.endpoint != "static"
            for method in rule.methods & {m.upper() for m in HTTP_METHODS}}


def spec_routes() -> set[tuple[str, str]]:
    return {(method, path) for path, item in spec()["paths"].items()
            for method in item if method in HTTP_METHODS}


def test_every_route_is_in_the_spec_and_every_spec_path_is_served():
    assert flask_routes() == spec_routes()


def assert_conforms(method: str, path: str, response: requests.Response) -> None:
    errors = response_errors(method, path, response.status_code, response)
    assert not errors, errors


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/v1/layers", "/metrics",
                                  "/openapi.yaml", "/docs"])
def test_get_endpoints_conform(http, server_url, path):
    response = http.get(server_url + path)
    assert response.status_code == 200
    assert_conforms("get", path, response)


@pytest.mark.parametrize("example", ["ClassifierRequest", "MissingFlattenRequest",
                                     "KerasJsonRequest", "ForwardRequest"])
def test_the_spec_examples_get_conforming_answers(http, server_url, example):
    body = spec()["components"]["examples"][example]["value"]
    response = http.post(f"{server_url}/v1/check", json=body, timeout=60)
    assert response.status_code == 200, response.text
    assert_conforms("post", "/v1/check", response)


def test_a_check_with_fixes_and_a_forward_pass_conforms(http, server_url):
    body = {"model": MODEL, "y_shape": [8, 10], "loss": "categorical_crossentropy",
            "batch_size": 8}
    response = http.post(f"{server_url}/v1/check", json=body)
    result = response.json()
    assert result["ok"] is False and any(d["fixes"] for d in result["diagnostics"])
    assert_conforms("post", "/v1/check", response)
    forward = {"model": {"inputs": [4], "layers": [{"type": "Dense", "units": 2}]},
               "forward": {"x": [[1, 2, 3, 4]], "return": "values"}}
    response = http.post(f"{server_url}/v1/check", json=forward)
    assert response.status_code == 200 and "values" in response.json()["forward"]["outputs"][0]
    assert_conforms("post", "/v1/check", response)


@pytest.mark.parametrize(("dtype", "layer", "values"), [
    ("bool", {"type": "Flatten"}, [[False, True, True, False]]),
    ("uint8", {"type": "Flatten"}, [[0, 2, 255, 0]]),
    ("int32", {"type": "Activation", "activation": "exponential"},
     [[1.0, pytest.approx(7.389056), None, 1.0]]),  # exp(255) overflows float32
])
def test_outputs_of_every_dtype_conform(http, server_url, dtype, layer, values):
    """Booleans and integers in nested lists, and null for what JSON cannot carry."""
    model = {"layers": [{"type": "InputLayer", "shape": [4], "dtype": dtype}, layer]}
    forward = {"x": [[0, 2, 255.5, 0]], "return": "values"}
    response = http.post(f"{server_url}/v1/check", json={"model": model, "forward": forward})
    assert response.status_code == 200, response.text
    (output,) = response.json()["forward"]["outputs"]
    assert output["values"] == values
    assert_conforms("post", "/v1/check", response)


@pytest.mark.parametrize(("request_kwargs", "status"), [
    ({"data": b"{nope"}, 400),
    ({"json": {"model": {"inputs": [4], "layers": [{"type": "Dense", "units": 0}]}}}, 422),
    ({"data": b"[" * 100 + b"]" * 100}, 413),
    ({"data": b" " * (9 * 1024 * 1024)}, 413),
])
def test_check_problems_conform(http, server_url, request_kwargs, status):
    response = http.post(f"{server_url}/v1/check", **request_kwargs,
                         headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert_conforms("post", "/v1/check", response)


def test_unknown_paths_and_methods_are_problems(http, server_url):
    for response in (http.get(f"{server_url}/nope"), http.delete(f"{server_url}/v1/check")):
        assert response.status_code in (404, 405)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert not response_errors("post", "/v1/check", 500, response)  # the default schema
    assert "POST" in http.get(f"{server_url}/v1/check").headers["Allow"]


@pytest.fixture(scope="module")
def keyed_url() -> Iterator[str]:
    process, url = start_gunicorn({"SHAPECHECK_API_KEYS": "k1"})
    try:
        yield url
    finally:
        stop(process)


def test_401_conforms(keyed_url):
    for method, path in (("post", "/v1/check"), ("get", "/v1/layers")):
        response = requests.request(method, keyed_url + path, json={}, timeout=30)
        assert response.status_code == 401
        assert_conforms(method, path, response)


def test_openapi_yaml_is_the_repository_spec(http, server_url):
    response = http.get(f"{server_url}/openapi.yaml")
    assert response.headers["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(response.content) == spec()


def test_docs_page_lists_every_operation_and_loads_nothing_from_elsewhere(http, server_url):
    page = http.get(f"{server_url}/docs").text
    for method, path in spec_routes():
        assert f'<span class="method {method}">{method}</span> <code>{path}</code>' in page
    for name in ("CheckRequest", "CheckResult", "Problem"):
        assert f'id="schema-{name}"' in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script" not in page


def test_the_spec_ships_inside_the_package():
    """A wheel built from service/ alone (as the Dockerfile builds it) must carry the spec:
    the packaged file is the real one, and the repository's openapi.yaml links to it."""
    packaged = files("shapecheck.api").joinpath("openapi.yaml")
    assert packaged.is_file() and not Path(str(packaged)).is_symlink()
    assert SPEC_PATH.resolve() == Path(str(packaged)).resolve()
