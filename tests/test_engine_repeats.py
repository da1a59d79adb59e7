"""Layers that repeat (equal arguments on equal shapes) are computed once per request; each
still gets its own row, and the request body is never changed."""

from __future__ import annotations

import copy
from typing import Any

from shapecheck import check
from shapecheck.formats import load_model


def tensor(layer: str, node: int = 0) -> dict[str, Any]:
    return {"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, 0]}}


def keras_layer(class_name: str, name: str, nodes: list[list[str]],
                **config: Any) -> dict[str, Any]:
    return {"class_name": class_name, "name": name, "config": {"name": name, **config},
            "inbound_nodes": [{"args": [tensor(source) for source in node], "kwargs": {}}
                              for node in nodes]}


def test_repeated_layers_each_get_their_own_row():
    layers = [{"type": "Dense", "units": 16, "name": f"d{i}"} for i in range(4)]
    result = check({"model": {"inputs": [16], "layers": layers}})
    single = check({"model": {"inputs": [16], "layers": layers[:1]}})["layers"][0]
    assert [row["name"] for row in result["layers"]] == ["d0", "d1", "d2", "d3"]
    assert [row["inputs"] for row in result["layers"]] == [["input"], ["d0"], ["d1"], ["d2"]]
    for row in result["layers"]:
        assert {k: row[k] for k in ("params", "macs", "explain", "output_shapes")} == \
            {k: single[k] for k in ("params", "macs", "explain", "output_shapes")}
    assert result["totals"]["params"] == 4 * single["params"] == 4 * 272


def test_a_config_met_again_builds_a_renamed_copy_of_its_layer():
    layers = [{"type": "Dense", "units": 16, "name": f"d{i}"} for i in range(3)]
    graph = load_model({"inputs": [16], "layers": [*layers, {"type": "Dense", "units": 8}]}, {})
    first, second, third, other = graph.layers.values()
    assert [layer.name for layer in graph.layers.values()] == ["d0", "d1", "d2", "dense"]
    assert second is not first and third is not second
    assert vars(second) == {**vars(first), "name": "d1"}
    assert other.config_key != first.config_key and other.args.units == 8


def test_a_shared_layer_is_checked_against_weights_another_layer_computed():
    """'a' computes Dense(4) on (None, 8) first; the shared 's' meets the same shapes on its
    second call, after creating its weights for (None, 3) on the first."""
    model = {"class_name": "Functional", "config": {
        "name": "m",
        "layers": [
            keras_layer("InputLayer", "x", [], batch_shape=[None, 3]),
            keras_layer("InputLayer", "y", [], batch_shape=[None, 8]),
            keras_layer("Dense", "a", [["y"]], units=4),
            keras_layer("Dense", "s", [["x"], ["y"]], units=4),
        ],
        "input_layers": [["x", 0, 0], ["y", 0, 0]],
        "output_layers": [["a", 0, 0], ["s", 1, 0]]}}
    result = check({"model": model})
    errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert [(d["code"], d["layer"]) for d in errors] == [("layer_input_incompatible", "s")]
    assert errors[0]["message"] == (
        "'s' is shared: its first call created weights for input (None, 3), but this call "
        "gives (None, 8), which needs weights of other shapes.")
    assert {row["name"]: row["params"] for row in result["layers"]} == {"a": 36, "s": 16}


def test_check_leaves_the_body_unchanged():
    """Keras 1 argument names are translated in a copy: the fixes patch the body as sent."""
    keras1 = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Convolution2D", "config": {
            "name": "conv", "nb_filter": 4, "nb_row": 3, "nb_col": 3, "border_mode": "same",
            "batch_input_shape": [None, 8, 8, 3]}},
        {"class_name": "Dense", "config": {"name": "dense", "output_dim": 2}}]}}
    native = {"inputs": [8, 8, 3], "layers": [
        {"type": "Convolution2D", "nb_filter": 4, "nb_row": 3, "nb_col": 3},
        {"type": "Dense", "output_dim": 2, "activation": "softmax"}]}
    for model in (keras1, native):
        body = {"model": model, "y_shape": [2, 3], "loss": "categorical_crossentropy"}
        sent = copy.deepcopy(body)
        result = check(body)
        assert "legacy_argument" in {d["code"] for d in result["diagnostics"]}
        assert body == sent
