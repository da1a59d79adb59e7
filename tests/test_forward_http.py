"""The forward pass over HTTP, against the real gunicorn-served service."""

from __future__ import annotations

import numpy as np

MODEL = {"inputs": [3], "layers": [{"type": "Dense", "units": 2, "name": "dense"}]}


def test_forward_values_over_http(http, server_url):
    weights = {"dense": [[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.5, 0.5]]}
    response = http.post(f"{server_url}/v1/check", timeout=10, json={
        "model": MODEL, "forward": {"x": [[1.0, 2.0, 3.0]], "weights": weights,
                                    "return": "values"}})
    assert response.status_code == 200, response.text
    (out,) = response.json()["forward"]["outputs"]
    np.testing.assert_allclose(out["values"], [[4.5, 5.5]])


def test_weight_shape_mismatch_is_a_422_problem(http, server_url):
    response = http.post(f"{server_url}/v1/check", timeout=10, json={
        "model": MODEL, "forward": {"weights": {"dense": [[0.0, 0.0], [0.0, 0.0]]}}})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {"forward.weights.dense.0": [
        "layer 'dense' kernel has shape (3, 2), the array given has shape (2,)"]}


def test_over_budget_is_a_413_problem_in_milliseconds(http, server_url):
    huge = {"inputs": [4096], "layers": [{"type": "Dense", "units": 4096}] * 3}
    response = http.post(f"{server_url}/v1/check", timeout=10, json={
        "model": huge, "forward": {"batch_size": 1000}})
    assert response.status_code == 413
    assert response.elapsed.total_seconds() < 2
    body = response.json()
    assert body["limit"]["name"] == "forward multiply-accumulates"
    assert body["limit"]["value"] == 3 * 4096 * 4096 * 1000
