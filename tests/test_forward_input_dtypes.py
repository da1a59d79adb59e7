"""Model inputs of integer and boolean dtypes (``InputLayer`` ``dtype``): predict converts the
data to them, and the forward pass does as it does. Recorded with real Keras in
tests/fixtures/*/layers/dtypes.json; here, what the fixtures cannot show."""

from __future__ import annotations

import numpy as np
import pytest
from shapecheck import check
from shapecheck.errors import RequestInvalid
from shapecheck.formats.common import compute_dtype, input_dtype
from shapecheck.layers.base import low_precision_values


def typed(dtype: str, *layers: dict, shape: list | None = None) -> dict:
    return {"layers": [{"type": "InputLayer", "name": "x", "shape": shape or [4],
                        "dtype": dtype}, *layers]}


def forward_values(model: dict, **forward: object) -> tuple[str, np.ndarray]:
    (out,) = check({"model": model, "forward": {**forward, "return": "values"}}
                   )["forward"]["outputs"]
    return out["dtype"], np.array(out["values"], dtype=np.float64)


def test_data_is_converted_toward_zero_as_predict_does() -> None:
    dtype, values = forward_values(typed("int32", {"type": "Reshape", "target_shape": [2, 2]}),
                                   x=[[0.5, 1.7, -2.6, 3.2]])
    assert dtype == "int32"
    assert values.tolist() == [[[0, 1], [-2, 3]]]


def test_booleans_are_whether_the_data_is_nonzero() -> None:
    dtype, values = forward_values(typed("bool", {"type": "Flatten"}), x=[[0.0, 0.2, -3, 0]])
    assert dtype == "bool"
    assert values.tolist() == [[0, 1, 1, 0]]


@pytest.mark.parametrize(("dtype", "x", "message"), [
    ("uint8", [[0, 255.9, 256, 3]], "from 0 to 256, but the model input is uint8, which holds 0 "
                                    "to 255"),
    ("uint8", [[-1.5, 0, 1, 2]], "from -1 to 2, but the model input is uint8"),
    ("int8", [[0, 0, 0, -129]], "from -129 to 0, but the model input is int8, which holds -128 "
                                "to 127"),
])
def test_data_outside_the_dtype_is_refused(dtype: str, x: list, message: str) -> None:
    """Keras 3 saturates it and tf.keras 2 wraps it around: no answer is predict's."""
    with pytest.raises(RequestInvalid) as exc:
        check({"model": typed(dtype, {"type": "Flatten"}), "forward": {"x": x}})
    (problem,) = exc.value.errors["forward.x"]
    assert message in problem


def test_random_data_of_an_integer_input_is_integers_in_its_range() -> None:
    dtype, values = forward_values(typed("uint8", {"type": "Flatten"}, shape=[64]),
                                   batch_size=8)
    assert dtype == "uint8"
    assert np.array_equal(values, np.trunc(values))
    assert values.min() >= 0 and values.max() <= 255 and values.max() > 128


def test_a_normalisation_of_booleans_is_refused_as_keras_3_casts_to_bool() -> None:
    with pytest.raises(RequestInvalid) as exc:
        check({"model": typed("bool", {"type": "LayerNormalization"}), "forward": {}})
    (message,) = exc.value.errors["forward"]
    assert "reads booleans" in message


def test_an_integer_input_into_a_normalisation_gets_the_integer_inputs_warning() -> None:
    result = check({"model": typed("int32", {"type": "LayerNormalization", "name": "ln"})})
    (warning,) = [d for d in result["diagnostics"] if d["code"] == "integer_inputs"]
    assert warning["layer"] == "ln"
    assert "reads integers from 'x'" in warning["message"]
    assert [fix["title"] for fix in warning["fixes"]] == [
        "Insert Rescaling(scale=1.0) before 'ln'"]


@pytest.mark.parametrize(("declared", "flavour", "expected"), [
    ("int64", "keras3", "int32"),  # JAX's 64-bit types are off
    ("uint64", "keras3", "uint32"),
    ("int64", "keras2", "int64"),
    ({"class_name": "DTypePolicy", "config": {"name": "int16"}}, "keras3", "int16"),
    ("bool", "keras3", "bool"),
    ("float16", "keras3", "float16"),
    ("float64", "keras2", "float64"),  # Keras 3 on JAX holds it in float32
    ("float64", "keras3", None),
    ("string", "keras3", None),
    (None, "keras3", None),
    (7, "keras3", None),
])
def test_input_dtypes_as_predict_gives_them(declared: object, flavour: str,
                                            expected: str | None) -> None:
    assert input_dtype(declared, flavour) == expected


@pytest.mark.parametrize(("policy", "flavour", "expected"), [
    ("float64", "keras2", "float64"),
    ("float64", "keras3", None),  # JAX's 64-bit types are off
    ({"class_name": "Policy", "config": {"name": "float64"}}, "keras2", "float64"),
])
def test_tf_keras_2_computes_a_float64_policy_in_float64(policy: object, flavour: str,
                                                         expected: str | None) -> None:
    assert compute_dtype(policy, flavour) == expected


@pytest.mark.parametrize(("policy", "expected"), [
    ("mixed_float16", "float16"),
    ({"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"}},
     "bfloat16"),
    ({"class_name": "Policy", "config": {"name": "float16"}}, "float16"),  # tf.keras 2
    ("float32", None),
    ({"class_name": "QuantizedDTypePolicy", "config": {"name": "int8_from_float32"}}, None),
    (None, None),
    ({"class_name": "DTypePolicy", "config": ["name"]}, None),  # found by the fuzzer
    ({"config": {"name": ["mixed_float16"]}}, None),
])
def test_layers_compute_in_their_policys_dtype(policy: object, expected: str | None) -> None:
    assert compute_dtype(policy, "keras3") == compute_dtype(policy, "keras2") == expected


def test_the_check_names_the_dtypes_of_integer_inputs_and_outputs() -> None:
    model = {"layers": [
        {"type": "InputLayer", "name": "ids", "shape": [4], "dtype": "int64"},
        {"type": "InputLayer", "name": "values", "shape": [4]},
        {"type": "Reshape", "name": "grid", "target_shape": [2, 2], "inputs": ["ids"]},
        {"type": "Dense", "name": "scores", "units": 2, "inputs": ["values"]}],
        "outputs": ["grid", "scores"]}
    result = check({"model": model})["model"]
    assert result["inputs"] == [{"name": "ids", "shape": [None, 4], "dtype": "int32"},
                                {"name": "values", "shape": [None, 4]}]
    assert result["outputs"] == [{"name": "grid", "shape": [None, 2, 2], "dtype": "int32"},
                                 {"name": "scores", "shape": [None, 2]}]


def test_low_precision_values_round_as_a_cast_does() -> None:
    """To nearest, ties to even: bfloat16 keeps 7 bits of fraction, float16 10."""
    x = np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-9, -(1 + 2**-8), np.nan, np.inf],
                 np.float32)
    rounded = low_precision_values(x, "bfloat16")
    assert rounded[:4].tolist() == [1.0, 1 + 2**-6, 1.0, -1.0]
    assert np.isnan(rounded[4]) and rounded[5] == np.inf
    half = low_precision_values(np.array([1 + 2**-11, 65520.0], np.float32), "float16")
    assert half.tolist() == [1.0, np.inf]  # over float16's range


def test_a_mixed_precision_layer_gives_float16_outputs() -> None:
    model = {"inputs": [3], "layers": [
        {"type": "Dense", "units": 4, "dtype": "mixed_float16", "name": "half"},
        {"type": "Dense", "units": 2, "name": "full"}], "outputs": ["half", "full"]}
    result = check({"model": model, "forward": {"batch_size": 2, "return": "values"}})
    assert [o.get("dtype") for o in result["model"]["outputs"]] == ["float16", None]
    half, full = result["forward"]["outputs"]
    assert (half["dtype"], full["dtype"]) == ("float16", "float32")
    values = np.array(half["values"], np.float32)
    np.testing.assert_array_equal(values, values.astype(np.float16).astype(np.float32))
