"""Every error in one pass, through the real server: independent branches each report their own
error once; layers downstream of a failure have ``output_shapes: null`` and no follow-on error;
the healthy parts of the model are computed and explained."""

from __future__ import annotations

from typing import Any

import pytest
import requests


def post(http: requests.Session, url: str, **body: Any) -> dict[str, Any]:
    response = http.post(f"{url}/v1/check", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def errors(answer: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(d["code"], d["layer"]) for d in answer["diagnostics"] if d["severity"] == "error"]


def shapes(answer: dict[str, Any]) -> dict[str, Any]:
    return {row["name"]: row["output_shapes"] for row in answer["layers"]}


def L(type_name: str, name: str, inputs: list[str], **args: Any) -> dict[str, Any]:
    return {"type": type_name, "name": name, "inputs": inputs, **args}


# Three branches from two inputs: two broken independently, one healthy, then merges.
THREE_BRANCHES = {
    "inputs": {"seq": [20], "img": [8, 8]},
    "layers": [
        L("LSTM", "lstm", ["seq"], units=4),             # error: no time axis
        L("Dense", "after_lstm", ["lstm"], units=2),     # downstream: null, silent
        L("Conv2D", "conv", ["img"], filters=2, kernel_size=3),  # error: no channel axis
        L("Flatten", "after_conv", ["conv"]),            # downstream: null, silent
        L("Dense", "healthy", ["seq"], units=3),         # independent: computed
        L("Concatenate", "join", ["after_lstm", "healthy"]),  # reads a failure: null, silent
        L("Dense", "head", ["join"], units=1),
    ],
    "outputs": ["head", "after_conv", "healthy"],
}


def test_each_independent_error_once_at_its_layer(http: requests.Session,
                                                  server_url: str) -> None:
    answer = post(http, server_url, model=THREE_BRANCHES)
    assert answer["ok"] is False
    assert sorted(errors(answer)) == [("layer_input_incompatible", "conv"),
                                      ("layer_input_incompatible", "lstm")]


def test_downstream_layers_are_null_and_the_healthy_branch_is_computed(
        http: requests.Session, server_url: str) -> None:
    answer = post(http, server_url, model=THREE_BRANCHES)
    assert shapes(answer) == {"lstm": None, "after_lstm": None, "conv": None,
                              "after_conv": None, "healthy": [[None, 3]], "join": None,
                              "head": None}
    rows = {row["name"]: row for row in answer["layers"]}
    assert rows["healthy"]["params"] == 63
    assert rows["healthy"]["explain"] == "20 input features → 3 units; params (20 + 1)·3 = 63"
    assert rows["join"]["explain"] is None
    assert [o["shape"] for o in answer["model"]["outputs"]] == [None, None, [None, 3]]


def test_each_error_gets_its_own_fixes(http: requests.Session, server_url: str) -> None:
    answer = post(http, server_url, model=THREE_BRANCHES)
    fixes = {d["layer"]: [f["title"] for f in d["fixes"]] for d in answer["diagnostics"]
             if d["severity"] == "error"}
    assert "Insert Reshape(target_shape=(20, 1)) before 'lstm'" in fixes["lstm"]
    assert "Insert Reshape(target_shape=(8, 8, 1)) before 'conv'" in fixes["conv"]


def test_targets_of_an_output_that_could_not_be_computed_are_not_checked(
        http: requests.Session, server_url: str) -> None:
    model = {"inputs": [28, 28], "layers": [{"type": "Conv2D", "filters": 4, "kernel_size": 3},
                                            {"type": "Dense", "units": 10}]}
    answer = post(http, server_url, model=model, y_shape=[100, 3],
                  loss="categorical_crossentropy")
    assert errors(answer) == [("layer_input_incompatible", "conv2d")]


def test_an_unknown_layer_silences_what_follows_but_not_the_rest(
        http: requests.Session, server_url: str) -> None:
    model = {"inputs": {"x": [16]}, "layers": [
        L("MyCustomBlock", "custom", ["x"]),
        L("Dense", "after", ["custom"], units=2),
        L("Dense", "side", ["x"], units=4),
        L("Reshape", "bad_reshape", ["side"], target_shape=[3]),
    ], "outputs": ["after", "bad_reshape"]}
    answer = post(http, server_url, model=model)
    assert sorted(errors(answer)) == [("layer_input_incompatible", "bad_reshape"),
                                      ("unknown_layer", "custom")]
    assert shapes(answer)["after"] is None
    assert shapes(answer)["side"] == [[None, 4]]


@pytest.mark.parametrize("model, layer, words", [
    ({"inputs": [100, 100, 3], "layers": [
        {"type": "Conv2D", "filters": 32, "kernel_size": [3, 3], "activation": "relu"}]},
     "conv2d", ["98 = floor((100 − 3) / 1) + 1 on each spatial axis",
                "32 filters give 32 channels", "params (3·3·3 + 1)·32 = 896"]),
    ({"inputs": [98, 98, 32], "layers": [{"type": "Dense", "units": 256}]},
     "dense", ["acts on the last axis only, 32 → 256, axes (98, 98) kept",
               "params (32 + 1)·256 = 8,448"]),
    ({"inputs": [98, 98, 32], "layers": [{"type": "Flatten"}]},
     "flatten", ["98 · 98 · 32 = 307,328"]),
])
def test_explanations_say_how_the_numbers_came_about(
        model: dict[str, Any], layer: str, words: list[str], http: requests.Session,
        server_url: str) -> None:
    answer = post(http, server_url, model=model)
    [row] = [r for r in answer["layers"] if r["name"] == layer]
    for part in words:
        assert part in row["explain"]
