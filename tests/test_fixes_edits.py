"""Edits written as JSON Patch against each form a submitted model can take."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapecheck.analysis import analyse
from shapecheck.fixes_edits import (
    CannotEdit,
    Edit,
    InsertBefore,
    NewLayer,
    ReplaceLayer,
    SetArgs,
    SetInputShape,
    SetType,
    edit_model,
)
from shapecheck.jsonpatch import apply_patch

FIXTURES = Path(__file__).parent / "fixtures"


def patch(model: dict[str, Any], *edits: Edit) -> list[dict[str, Any]]:
    """The patch for ``edits``; also checks that it gives the editor's own patched document."""
    editor = edit_model(model, analyse(model, {}).graph, edits)
    assert apply_patch(model, editor.patch) == editor.doc
    return editor.patch


def output_shapes(model: dict[str, Any]) -> list[Any]:
    analysis = analyse(model, {})
    return [analysis.propagation.tensors.get(ref) for ref in analysis.graph.outputs]


RESHAPE = NewLayer("Reshape", {"target_shape": [20, 1]})


def test_a_layer_inserted_before_the_first_takes_over_its_keras2_input_arguments() -> None:
    model = {"layers": [{"type": "LSTM", "units": 4, "input_shape": [20]},
                        {"type": "Dense", "units": 1}]}
    ops = patch(model, InsertBefore("lstm", RESHAPE))
    assert ops == [
        {"op": "add", "path": "/layers/0",
         "value": {"type": "Reshape", "target_shape": [20, 1], "input_shape": [20]}},
        {"op": "remove", "path": "/layers/1/input_shape"}]
    assert output_shapes(apply_patch(model, ops)) == [(None, 1)]


def test_in_a_graph_the_new_layer_takes_over_one_input_of_a_merge() -> None:
    model = {"inputs": {"a": [4], "b": [6]}, "layers": [
        {"type": "Concatenate", "name": "cat", "inputs": ["a", "b"]}], "outputs": ["cat"]}
    ops = patch(model, InsertBefore("cat", NewLayer("Dense", {"units": 4}), branch=1))
    assert ops == [
        {"op": "add", "path": "/layers/0",
         "value": {"type": "Dense", "name": "dense", "inputs": ["b"], "units": 4}},
        {"op": "replace", "path": "/layers/1/inputs/1", "value": "dense"}]
    assert output_shapes(apply_patch(model, ops)) == [(None, 8)]


def test_a_new_layer_is_named_when_its_automatic_name_would_shift_others() -> None:
    model = {"inputs": [6, 6, 2], "layers": [{"type": "Conv2D", "filters": 2, "kernel_size": 3},
                                             {"type": "Flatten"}, {"type": "Dense", "units": 1}]}
    ops = patch(model, InsertBefore("conv2d", NewLayer("Flatten")))
    assert ops[0]["value"] == {"type": "Flatten", "name": "flatten_1"}
    unnamed = patch(model, InsertBefore("conv2d", NewLayer("Permute", {"dims": [2, 1, 3]})))
    assert unnamed[0]["value"] == {"type": "Permute", "dims": [2, 1, 3]}


def test_only_automatic_looking_names_make_a_new_layer_named() -> None:
    def inserted(dense_name: str) -> dict:
        model = {"inputs": [6, 6, 2], "layers": [
            {"type": "Conv2D", "filters": 2, "kernel_size": 3},
            {"type": "Dense", "units": 1, "name": dense_name}]}
        return patch(model, InsertBefore(dense_name, NewLayer("Flatten")))[0]["value"]

    assert inserted("flatten_2") == {"type": "Flatten", "name": "flatten"}
    assert inserted("flatten_top") == {"type": "Flatten"}
    assert inserted("flatten_2_1") == {"type": "Flatten"}


def test_setting_an_argument_drops_its_keras1_spelling() -> None:
    model = {"inputs": [5, 5, 1], "layers": [
        {"type": "Convolution2D", "nb_filter": 4, "nb_row": 7, "nb_col": 7,
         "border_mode": "valid"}]}
    ops = patch(model, SetArgs("conv2d", {"padding": "same", "kernel_size": [3, 3]}))
    assert ops == [{"op": "remove", "path": "/layers/0/border_mode"},
                   {"op": "add", "path": "/layers/0/padding", "value": "same"},
                   {"op": "remove", "path": "/layers/0/nb_row"},
                   {"op": "remove", "path": "/layers/0/nb_col"},
                   {"op": "add", "path": "/layers/0/kernel_size", "value": [3, 3]}]
    assert output_shapes(apply_patch(model, ops)) == [(None, 5, 5, 4)]


@pytest.mark.parametrize("model, expected", [
    ({"inputs": [20], "layers": [{"type": "Dense", "units": 1}]},
     [{"op": "replace", "path": "/inputs", "value": [20, 1]}]),
    ({"inputs": {"x/y": [20]}, "layers": [{"type": "Dense", "units": 1, "inputs": ["x/y"]}]},
     [{"op": "replace", "path": "/inputs/x~1y", "value": [20, 1]}]),
    ({"layers": [{"type": "InputLayer", "name": "input", "shape": [20]},
                 {"type": "Dense", "units": 1}]},
     [{"op": "add", "path": "/layers/0/shape", "value": [20, 1]}]),
    ({"layers": [{"type": "InputLayer", "batch_shape": [8, 20]}, {"type": "Dense", "units": 1}]},
     [{"op": "replace", "path": "/layers/0/batch_shape", "value": [8, 20, 1]}]),
    ({"layers": [{"type": "Dense", "units": 1, "batch_input_shape": [None, 20]}]},
     [{"op": "replace", "path": "/layers/0/batch_input_shape", "value": [None, 20, 1]}]),
    ({"layers": [{"type": "Dense", "units": 1, "input_dim": 20}]},
     [{"op": "remove", "path": "/layers/0/input_dim"},
      {"op": "add", "path": "/layers/0/input_shape", "value": [20, 1]}]),
])
def test_the_input_shape_is_changed_where_the_document_declares_it(
        model: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    name = analyse(model, {}).graph.inputs[0].name
    ops = patch(model, SetInputShape(name, (20, 1)))
    assert ops == expected
    [shape] = output_shapes(apply_patch(model, ops))
    assert shape[1:] == (20, 1)


def test_a_replaced_layer_keeps_the_name_others_refer_to() -> None:
    model = {"inputs": {"img": [8, 8, 3]}, "layers": [
        {"type": "Flatten", "inputs": ["img"]},
        {"type": "Dense", "name": "out", "units": 2, "inputs": ["flatten"]}], "outputs": ["out"]}
    ops = patch(model, ReplaceLayer("flatten", NewLayer("GlobalAveragePooling2D")))
    assert ops == [{"op": "replace", "path": "/layers/0", "value": {
        "type": "GlobalAveragePooling2D", "name": "flatten", "inputs": ["img"]}}]
    assert output_shapes(apply_patch(model, ops)) == [(None, 2)]


def test_a_misspelt_type_is_replaced_in_place() -> None:
    model = {"inputs": [4], "layers": [{"type": "Dens", "units": 2}]}
    assert patch(model, SetType("dens", "Dense")) == [
        {"op": "replace", "path": "/layers/0/type", "value": "Dense"}]


def keras_json(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "tfkeras2" / "models" / f"{name}.json").read_text())[
        "keras_json"]


def test_keras_functional_insertion_rewires_the_inbound_node() -> None:
    model = keras_json("functional_mlp")
    ops = patch(model, InsertBefore("dense", NewLayer("Dropout", {"rate": 0.5})))
    added, *rewired = ops
    assert added["path"] == "/config/layers/2"
    assert added["value"]["inbound_nodes"] == [[["hidden", 0, 0, {}]]]
    assert added["value"]["config"]["name"] == "dropout"
    assert [(op["path"], op["value"]) for op in rewired] == [
        ("/config/layers/3/inbound_nodes/0/0/0", "dropout"),
        ("/config/layers/3/inbound_nodes/0/0/1", 0),
        ("/config/layers/3/inbound_nodes/0/0/2", 0)]
    assert output_shapes(apply_patch(model, ops)) == [(None, 3)]


def test_a_shared_layer_is_not_rewired() -> None:
    model = keras_json("shared_conv_siamese")
    with pytest.raises(CannotEdit):
        patch(model, InsertBefore("tower", NewLayer("Dropout", {"rate": 0.5})))


def test_keras_arguments_are_set_in_the_config() -> None:
    model = keras_json("functional_mlp")
    assert patch(model, SetArgs("probs", {"units": 5})) == [
        {"op": "add", "path": "/config/layers/3/config/units", "value": 5}]
