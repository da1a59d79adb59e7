"""``integer_inputs``: a warning where a layer that computes otherwise on integers reads
integer tensors (Keras leaves them as they are), with a verified fix."""

from __future__ import annotations

from typing import Any

import pytest
from keras_fixtures import recorded
from shapecheck import check
from shapecheck.errors import RequestInvalid

DISCRETIZE = {"type": "Discretization", "bin_boundaries": [0.0, 1.0]}


def integer_notes(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in check({"model": model})["diagnostics"] if d["code"] == "integer_inputs"]


@pytest.mark.parametrize(("layer", "says"), [
    ({"type": "LayerNormalization"}, "LayerNormalization casts the values it normalises back"),
    ({"type": "GroupNormalization", "groups": 2}, "GroupNormalization casts the values"),
    ({"type": "RMSNormalization"}, "RMSNormalization casts the values"),
    ({"type": "SpectralNormalization", "layer": {"type": "Dense", "units": 2}},
     "SpectralNormalization casts the outputs of the layer it wraps"),
    ({"type": "UnitNormalization"}, "predict and fit fail there"),
])
def test_a_layer_that_computes_otherwise_on_integers_is_flagged(layer: dict, says: str) -> None:
    model = {"inputs": [4], "layers": [DISCRETIZE, {**layer, "name": "reader"}]}
    (note,) = integer_notes(model)
    assert (note["severity"], note["layer"]) == ("warning", "reader")
    assert note["message"].startswith("'reader' reads integers from 'discretization'. Keras "
                                      "leaves integer tensors as they are, and ")
    assert says in note["message"]
    (fix,) = note["fixes"]
    assert fix["title"] == "Insert Rescaling(scale=1.0) before 'reader'"


def test_through_layers_that_keep_integers_and_not_past_one_that_makes_floats() -> None:
    keeps = {"inputs": [4], "layers": [DISCRETIZE, {"type": "Reshape", "target_shape": [2, 2]},
                                       {"type": "MaxPooling1D", "pool_size": 1},
                                       {"type": "LayerNormalization"}]}
    assert [n["layer"] for n in integer_notes(keeps)] == ["layer_normalization"]
    floats = {"inputs": [4], "layers": [DISCRETIZE, {"type": "Dense", "units": 4},
                                        {"type": "LayerNormalization"}]}
    assert integer_notes(floats) == []
    encoded = {"inputs": [4], "layers": [{**DISCRETIZE, "output_mode": "one_hot"},
                                         {"type": "LayerNormalization"}]}
    assert integer_notes(encoded) == []


def test_upsampling_is_flagged_only_where_it_interpolates() -> None:
    for interpolation, flagged in (("bilinear", True), ("nearest", False)):
        model = {"inputs": [3, 4, 1], "layers": [DISCRETIZE, {
            "type": "UpSampling2D", "interpolation": interpolation}]}
        assert bool(integer_notes(model)) == flagged


def test_tf_keras_2_documents_compute_on_floats_and_are_not_flagged() -> None:
    """Recorded with tf.keras 2: its LayerNormalization of Discretization's indices gives the
    floats' values (fixture ln_after_discretization)."""
    case = recorded("tfkeras2", "normalization:ln_after_discretization")
    assert integer_notes(case["keras_json"]) == []
    keras3 = recorded("keras3", "normalization:ln_after_discretization")
    assert [n["layer"] for n in integer_notes(keras3["keras_json"])] == ["layer_normalization"]


def test_tf_keras_2_cannot_build_a_group_normalization_on_integers() -> None:
    """Recorded: tf.keras 2 refuses the model at the layer (``dtypes:int32_group_norm``), so
    there is no to_json() of it; its LayerNormalization twin's, with the class swapped, is
    what tf.keras 2 would write. An error there, with the verified fix; Keras 3 builds it."""
    refusal = recorded("tfkeras2", "dtypes:int32_group_norm")["error"]
    assert refusal["layer"] == "group_normalization"
    assert "'SquaredDifference' Op has type float64" in refusal["message"]
    doc = recorded("tfkeras2", "dtypes:int32_layer_norm")["keras_json"]
    entry = doc["config"]["layers"][1]
    entry["class_name"] = "GroupNormalization"
    entry["config"] = {"name": "group_normalization", "groups": 2, "axis": -1}
    entry["name"] = "group_normalization"
    doc["config"]["output_layers"] = [["group_normalization", 0, 0]]
    result = check({"model": doc})
    (error,) = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert (error["code"], error["layer"]) == ("layer_input_incompatible", "group_normalization")
    assert "tf.keras 2 cannot build a GroupNormalization on them" in error["message"]
    assert [fix["title"] for fix in error["fixes"]] == [
        "Insert Rescaling(scale=1.0) before 'group_normalization'"]
    assert not [d for d in result["diagnostics"] if d["code"] == "integer_inputs"]
    assert recorded("keras3", "dtypes:int32_group_norm").get("error") is None


def two_inputs(dtype: str, merge: str) -> dict[str, Any]:
    return {"layers": [{"type": "InputLayer", "name": "a", "shape": [4], "dtype": dtype},
                       {"type": "InputLayer", "name": "b", "shape": [4], "dtype": dtype},
                       {"type": merge, "name": "merged", "inputs": ["a", "b"]}]}


def test_arithmetic_in_narrow_integers_is_flagged_where_it_wraps_around() -> None:
    """Keras 3 adds uint8 tensors in uint8 (recorded: dtypes:uint8_add, 200 + 100 is 44); an
    int32 sum of data rarely leaves its range, and a maximum never does."""
    (note,) = integer_notes(two_inputs("uint8", "Add"))
    assert note["message"].endswith("and Add computes in uint8, where results past 0 to 255 "
                                    "wrap around.")
    (fix,) = note["fixes"]
    assert fix["title"] == "Insert Rescaling(scale=1.0) on inputs 0, 1 of 'merged'"
    assert integer_notes(two_inputs("int32", "Add")) == []
    assert integer_notes(two_inputs("uint8", "Maximum")) == []
    (average,) = integer_notes(two_inputs("int8", "Average"))
    assert "Average sums them in int8, where sums past -128 to 127 wrap around" in (
        average["message"])


def test_average_pooling_of_pixels_is_flagged() -> None:
    def pooled(dtype: str) -> dict[str, Any]:
        return {"layers": [{"type": "InputLayer", "name": "x", "shape": [4, 4, 1],
                            "dtype": dtype},
                           {"type": "AveragePooling2D", "name": "reader", "pool_size": 2}]}
    (note,) = integer_notes(pooled("uint8"))
    assert "sums each window's values in uint8, where sums past 0 to 255 wrap around" in (
        note["message"])
    assert [f["title"] for f in note["fixes"]] == ["Insert Rescaling(scale=1.0) before 'reader'"]
    assert integer_notes(pooled("int32")) == []


def test_prelu_of_unsigned_integers_is_flagged() -> None:
    """Keras 3 computes relu(-x) in uint8, where -211 is 45 (recorded: dtypes:uint8_prelu)."""
    def prelu(dtype: str) -> dict[str, Any]:
        return {"layers": [{"type": "InputLayer", "name": "x", "shape": [4], "dtype": dtype},
                           {"type": "PReLU", "name": "reader"}]}
    (note,) = integer_notes(prelu("uint8"))
    assert note["message"].endswith("PReLU negates them in uint8, where -x wraps around (-1 is "
                                    "255), so that its slopes scale every value but 0.")
    assert [f["title"] for f in note["fixes"]] == ["Insert Rescaling(scale=1.0) before 'reader'"]
    assert integer_notes(prelu("int32")) == []


def on_integers(dtype: str, layer: dict[str, Any]) -> dict[str, Any]:
    return {"layers": [{"type": "InputLayer", "name": "x", "shape": [5], "dtype": dtype},
                       {**layer, "name": "reader"}]}


def test_activations_keras_3_cannot_take_on_integers_are_flagged_and_refused() -> None:
    """Recorded: dtypes:int32_activation_sigmoid ("logistic does not accept dtype int32")."""
    model = on_integers("int32", {"type": "Activation", "activation": "sigmoid"})
    (note,) = integer_notes(model)
    assert "Activation takes the sigmoid of them as integers" in note["message"]
    assert "predict and fit fail there" in note["message"]
    with pytest.raises(RequestInvalid, match="its predict cannot do"):
        check({"model": model, "forward": {}})


@pytest.mark.parametrize("layer", [{"type": "Softmax"},
                                   {"type": "Activation", "activation": "softmax"},
                                   {"type": "Activation", "activation": "hard_tanh"}])
def test_functions_that_negate_unsigned_integers_are_flagged_and_not_run(layer: dict) -> None:
    """Keras 3's softmax subtracts the maximum in uint8 (recorded: NaN and zeros)."""
    model = on_integers("uint8", layer)
    (note,) = integer_notes(model)
    assert "computes with negatives of them in uint8, where -1 is 255" in note["message"]
    assert [f["title"] for f in note["fixes"]] == ["Insert Rescaling(scale=1.0) before 'reader'"]
    with pytest.raises(RequestInvalid, match="wrap around, which the forward pass does not"):
        check({"model": model, "forward": {}})
    assert integer_notes(on_integers("int32", layer)) == []
