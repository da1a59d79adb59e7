"""The users' own questions (shared/seeds/), each an acceptance test through the real server."""

from __future__ import annotations

from typing import Any

import pytest
import requests


def post_check(http: requests.Session, url: str, **body: Any) -> dict[str, Any]:
    response = http.post(f"{url}/v1/check", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def rows(result: dict[str, Any]) -> list[tuple]:
    return [(r["name"], r["output_shapes"], r["params"]) for r in result["layers"]]


def codes(result: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(d["severity"], d["code"], d["layer"]) for d in result["diagnostics"]]


SEED_001 = [
    {"type": "Conv2D", "filters": 8, "kernel_size": [2, 2], "input_shape": [4, 5, 1]},
    {"type": "Conv2D", "filters": 1, "kernel_size": [2, 2]},
    {"type": "Flatten"},
    {"type": "Dense", "units": 5},
    {"type": "Dense", "units": 1},
]


def test_seed_001_conv_flatten_dense_summary(http, server_url):
    result = post_check(http, server_url, model={"layers": SEED_001})
    assert result["ok"] is True
    assert rows(result) == [
        ("conv2d", [[None, 3, 4, 8]], 40), ("conv2d_1", [[None, 2, 3, 1]], 33),
        ("flatten", [[None, 6]], 0), ("dense", [[None, 5]], 35), ("dense_1", [[None, 1]], 6)]
    assert result["totals"]["params"] == 114
    assert "Total params: 114 (456.00 B)" in result["summary"]
    assert "conv2d_1 (Conv2D)" in result["summary"]
    assert not [c for c in codes(result) if c[1] == "dense_on_high_rank"]


def test_seed_001_without_flatten_dense_acts_on_last_axis(http, server_url):
    layers = [entry for entry in SEED_001 if entry["type"] != "Flatten"]
    result = post_check(http, server_url, model={"layers": layers})
    assert result["ok"] is True
    assert rows(result)[2:] == [("dense", [[None, 2, 3, 5]], 10), ("dense_1", [[None, 2, 3, 1]], 6)]
    assert result["totals"]["params"] == 89
    notes = [d for d in result["diagnostics"] if d["code"] == "dense_on_high_rank"]
    assert [n["layer"] for n in notes] == ["dense"]
    assert notes[0]["severity"] == "info"
    assert "last axis only" in notes[0]["message"]
    assert "same 5 units" in notes[0]["message"] and "2×3 positions" in notes[0]["message"]


def test_dense_of_one_unit_on_high_rank_is_spelt_in_the_singular(http, server_url):
    model = {"inputs": {"x": [7, 3]}, "layers": [{"type": "Dense", "units": 1}]}
    note, = post_check(http, server_url, model=model)["diagnostics"]
    assert note["code"] == "dense_on_high_rank"
    assert "the same unit is applied at each of the 7 positions" in note["message"]
    assert "not one value per sample" in note["message"]


SEED_002 = [
    {"type": "Dense", "units": 16, "input_shape": [3, 2]},
    {"type": "Activation", "activation": "relu"},
    {"type": "Flatten"},
    {"type": "Dense", "units": 4},
]


def test_seed_002_flatten_after_dense(http, server_url):
    result = post_check(http, server_url, model={"layers": SEED_002})
    assert rows(result) == [("dense", [[None, 3, 16]], 48), ("activation", [[None, 3, 16]], 0),
                            ("flatten", [[None, 48]], 0), ("dense_1", [[None, 4]], 196)]
    assert result["totals"]["params"] == 244


def test_seed_002_without_flatten(http, server_url):
    layers = [entry for entry in SEED_002 if entry["type"] != "Flatten"]
    result = post_check(http, server_url, model={"layers": layers})
    assert rows(result)[-1] == ("dense_1", [[None, 3, 4]], 68)
    assert result["totals"]["params"] == 116


SEED_003_LAYER = {"type": "Convolution2D", "nb_filter": 10, "nb_row": 8, "nb_col": 8,
                  "subsample": [1, 1], "border_mode": "same", "activation": "relu"}


def test_seed_003_keras1_convolution_channels_first_data(http, server_url):
    result = post_check(http, server_url, model={"inputs": [1, 32, 32], "layers": [SEED_003_LAYER]})
    assert result["ok"] is True
    assert rows(result) == [("conv2d", [[None, 1, 32, 10]], 20490)]
    legacy = {d["message"].split(" ")[0] for d in result["diagnostics"]
              if d["code"] == "legacy_argument"}
    assert {"Convolution2D", "'nb_filter'", "'subsample'", "'border_mode'"} <= legacy
    warning = next(d for d in result["diagnostics"] if d["code"] == "suspicious_data_format")
    assert warning["severity"] == "warning" and warning["layer"] == "conv2d"
    assert "1×32 image with 32 channels" in warning["message"]
    assert "data_format='channels_first'" in warning["hint"]
    assert "(32, 32, 1)" in warning["hint"]


def test_seed_003_with_channels_first(http, server_url):
    layer = {**SEED_003_LAYER, "data_format": "channels_first"}
    result = post_check(http, server_url, model={"inputs": [1, 32, 32], "layers": [layer]})
    assert rows(result) == [("conv2d", [[None, 10, 32, 32]], 650)]
    assert "suspicious_data_format" not in [c[1] for c in codes(result)]


SEED_000 = {"inputs": [100, 100, 3], "layers": [
    {"type": "Conv2D", "filters": 32, "kernel_size": [3, 3], "activation": "relu"},
    {"type": "Dense", "units": 256, "activation": "relu"},
    {"type": "Dense", "units": 10, "activation": "softmax"},
]}


def test_seed_000_dense_after_conv_against_2d_targets(http, server_url):
    result = post_check(http, server_url, model=SEED_000, x_shape=[100, 100, 100, 3],
                        y_shape=[100, 10], loss="categorical_crossentropy")
    assert rows(result) == [("conv2d", [[None, 98, 98, 32]], 896),
                            ("dense", [[None, 98, 98, 256]], 8448),
                            ("dense_1", [[None, 98, 98, 10]], 2570)]
    assert result["ok"] is False
    error = next(d for d in result["diagnostics"] if d["severity"] == "error")
    assert (error["code"], error["layer"]) == ("target_shape_mismatch", "dense_1")
    assert "4-D (None, 98, 98, 10)" in error["message"]
    assert "2-D (100, 10)" in error["message"]
    assert "Flatten" in error["hint"] and "GlobalAveragePooling2D" in error["hint"]
    conv = result["layers"][0]
    assert "98 = floor((100 − 3) / 1) + 1" in conv["explain"]
    assert "(3·3·3 + 1)·32 = 896" in conv["explain"]


SEED_004 = [
    {"type": "Dense", "units": 256, "input_dim": 64},
    {"type": "LeakyReLU", "alpha": 0.2},
    {"type": "Dense", "units": 512},
    {"type": "LeakyReLU", "alpha": 0.2},
    {"type": "Dense", "units": 1024},
    {"type": "LeakyReLU", "alpha": 0.2},
    {"type": "Dense", "units": 784, "activation": "tanh"},
]


def test_seed_004_batch_axis_is_first(http, server_url):
    result = post_check(http, server_url, model={"layers": SEED_004}, x_shape=[128, 64])
    assert result["ok"] is True
    assert result["totals"]["params"] == 1_477_136
    assert result["model"]["inputs"] == [{"name": "input", "shape": [None, 64]}]


def test_seed_004_transposed_data(http, server_url):
    result = post_check(http, server_url, model={"layers": SEED_004}, x_shape=[64, 128])
    assert result["ok"] is False
    error = next(d for d in result["diagnostics"] if d["severity"] == "error")
    assert error["code"] == "input_shape_mismatch" and error["layer"] is None
    assert "128" in error["message"] and "64" in error["message"]
    assert "transposed" in error["hint"]


def test_seed_004_wrong_rank(http, server_url):
    result = post_check(http, server_url, model={"layers": SEED_004}, x_shape=[64, 256, 256])
    error = next(d for d in result["diagnostics"] if d["severity"] == "error")
    assert error["code"] == "input_shape_mismatch"
    assert "rank 3" in error["message"] and "rank 2" in error["message"]


@pytest.mark.parametrize("x_shape", [[64], [1, 64]])
def test_seed_004_one_sample(http, server_url, x_shape):
    result = post_check(http, server_url, model={"layers": SEED_004}, x_shape=x_shape)
    if x_shape == [64]:
        error = next(d for d in result["diagnostics"] if d["severity"] == "error")
        assert "no batch axis" in error["message"] and "(1, 64)" in error["hint"]
    else:
        assert result["ok"] is True
