"""``empty_tensor``: a warning where tensors of no values start, and only there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shapecheck import check

FIXTURES = Path(__file__).parent / "fixtures"
EMPTY_FEATURES = {"type": "EinsumDense", "equation": "ab,bc->ac", "output_shape": 0}


def empty_notes(model: dict[str, Any]) -> list[tuple[str, str]]:
    return [(d["layer"], d["message"].split(":")[0]) for d in check({"model": model})[
        "diagnostics"] if d["code"] == "empty_tensor"]


def test_a_model_input_of_no_values_is_flagged_once_at_the_input() -> None:
    model = {"inputs": [0, 8], "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 1}]}
    assert empty_notes(model) == [("input", "'input' declares (None, 0, 8)")]


def test_only_the_layer_where_the_values_end_is_flagged() -> None:
    model = {"inputs": [8], "layers": [
        {"type": "Dense", "units": 4},
        EMPTY_FEATURES,
        {"type": "Reshape", "target_shape": [0, 1]},
        {"type": "Dense", "units": 1}]}
    assert empty_notes(model) == [("einsum_dense", "'einsum_dense' gives (None, 0)")]


def test_each_origin_is_flagged_and_a_merge_that_keeps_values_is_not() -> None:
    model = {"inputs": {"a": [8], "b": [8]}, "layers": [
        {**EMPTY_FEATURES, "name": "shared", "inputs": ["a"]},
        {"type": "EinsumDense", "equation": "ab,bc->ac", "output_shape": 0, "name": "other",
         "inputs": ["b"]},
        {"type": "Concatenate", "name": "joined", "inputs": ["shared", "b"]},
        {"type": "Dense", "units": 1, "inputs": ["joined"]}],
        "outputs": ["dense", "other"]}
    assert empty_notes(model) == [("shared", "'shared' gives (None, 0)"),
                                  ("other", "'other' gives (None, 0)")]


def test_a_model_without_empty_tensors_has_no_note() -> None:
    model = {"inputs": [8], "layers": [{"type": "Dense", "units": 4}]}
    assert empty_notes(model) == []


def test_tf_keras_2_cropping_an_axis_to_nothing() -> None:
    """tf.keras 2 builds a Cropping3D that leaves 0 of an axis (Keras 3 refuses it); the
    random model records it, the MaxPooling3D and Flatten after it stay silent."""
    sweep = json.loads((FIXTURES / "tfkeras2" / "random" / "random_models_12201.json")
                       .read_text())
    case = next(c for c in sweep["cases"] if c["id"] == "sequential_301")
    assert empty_notes(case["keras_json"]) == [
        ("cropping3d", "'cropping3d' gives (None, 3, 4, 3, 0)")]
