"""Bad input gets a clear 4xx problem+json answer from the real server, never a 5xx."""

from __future__ import annotations

import requests

PROBLEM = "application/problem+json"


def assert_problem(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def test_malformed_json_is_400(http, server_url):
    response = http.post(f"{server_url}/v1/check", data=b'{"model": ',
                         headers={"Content-Type": "application/json"})
    assert "not valid JSON" in assert_problem(response, 400)["detail"]


def test_body_over_limit_is_413(http, server_url):
    response = http.post(f"{server_url}/v1/check", data=b" " * (9 * 1024 * 1024),
                         headers={"Content-Type": "application/json"})
    assert_problem(response, 413)


def test_negative_units_is_422_with_path(http, server_url):
    body = {"model": {"inputs": [4], "layers": [{"type": "Dense", "units": -3}]}}
    problem = assert_problem(http.post(f"{server_url}/v1/check", json=body), 422)
    assert "model.layers.0.units" in problem["errors"]
    assert ">= 1" in problem["errors"]["model.layers.0.units"][0]


def test_wrong_types_and_zero_sizes_are_422(http, server_url):
    layers = [{"type": "Conv2D", "filters": 0, "kernel_size": "3"},
              {"type": "Dense", "units": True}]
    body = {"model": {"inputs": [8, 8, 1], "layers": layers}}
    problem = assert_problem(http.post(f"{server_url}/v1/check", json=body), 422)
    assert {"model.layers.0.filters", "model.layers.0.kernel_size"} <= set(problem["errors"]) or \
        "model.layers.0.filters" in problem["errors"]


def test_missing_model_is_422(http, server_url):
    problem = assert_problem(http.post(f"{server_url}/v1/check", json={"x_shape": [1]}), 422)
    assert "model" in problem["errors"]


def test_unknown_layer_is_a_diagnostic_with_suggestion(http, server_url):
    body = {"model": {"inputs": [4], "layers": [{"type": "Dens", "units": 3},
                                                {"type": "Dense", "units": 2}]}}
    result = http.post(f"{server_url}/v1/check", json=body).json()
    assert result["ok"] is False
    error = result["diagnostics"][0]
    assert (error["code"], error["layer"]) == ("unknown_layer", "dens")
    assert "Did you mean Dense" in error["message"]
    assert [r["output_shapes"] for r in result["layers"]] == [None, None]
    assert len([d for d in result["diagnostics"] if d["severity"] == "error"]) == 1


def test_unknown_path_and_method(http, server_url):
    assert_problem(http.get(f"{server_url}/nope"), 404)
    assert_problem(http.get(f"{server_url}/v1/check"), 405)


def test_health_and_catalogue(http, server_url):
    assert http.get(f"{server_url}/livez").json() == {"status": "ok"}
    assert http.get(f"{server_url}/readyz").json() == {"status": "ok"}
    catalogue = http.get(f"{server_url}/v1/layers").json()["layers"]
    layers = {entry["type"]: entry for entry in catalogue}
    units = next(a for a in layers["Dense"]["arguments"] if a["name"] == "units")
    assert units["required"] is True
    conv = {a["name"]: a for a in layers["Conv2D"]["arguments"]}
    assert conv["padding"]["default"] == "valid"
    assert "Convolution2D" in layers["Conv2D"]["legacy_aliases"]
    # Descriptions are the docstrings' first paragraphs, as one line of prose.
    assert all(" ".join(e["description"].split()) == e["description"]
               and "``" not in e["description"] for e in catalogue)
    assert layers["Dense"]["description"] == ("Fully connected layer on the last axis: "
                                              "`activation(x @ kernel + bias)`.")
