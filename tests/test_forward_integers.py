"""Integer tensors in the forward pass: Keras leaves integer inputs as they are (it casts only
floating ones to a layer's dtype), so a layer that casts its output to its input's dtype
(Keras 3's SpectralNormalization) truncates after integer indices. The forward pass computes in
float32 and tracks which tensors Keras holds as integers. Recorded with real Keras:
tests/fixtures/*/layers/normalization.json, ``sn_after_*``."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from shapecheck import check
from shapecheck.errors import RequestInvalid
from shapecheck.layers.normalization import SpectralNormalization, TfKerasSpectralNormalization

DISCRETIZE = {"type": "Discretization", "bin_boundaries": [-0.5, 0.5, 1.0]}
SN = {"type": "SpectralNormalization", "name": "sn", "layer": {"type": "Dense", "units": 3}}


def sn_outputs(between: list[dict], source: dict = DISCRETIZE,
               inputs: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The SpectralNormalization's output after ``source`` and ``between``, and that of the
    same Dense without the wrapper (same seed: the same weights but vector_u)."""
    forward = {"batch_size": 4, "seed": 3, "return": "values"}
    if inputs is not None:
        forward = {**forward, "x": inputs}
    values = []
    for last in (SN, {**SN["layer"], "name": "plain"}):
        model = {"inputs": [4], "layers": [source, *between, last]}
        answer = check({"model": model, "forward": forward})
        values.append(np.array(answer["forward"]["outputs"][0]["values"], np.float32))
    return values[0], values[1]


@pytest.mark.parametrize("between", [
    [],
    [{"type": "Reshape", "target_shape": [2, 2]}, {"type": "MaxPooling1D", "pool_size": 1},
     {"type": "Flatten"}],
    [{"type": "ReLU", "threshold": 1.0}, {"type": "Activation", "activation": "relu"},
     {"type": "Dropout", "rate": 0.5}, {"type": "GaussianNoise", "stddev": 1.0},
     {"type": "Identity"}, {"type": "Masking"}],
    [{"type": "Reshape", "target_shape": [2, 2]}, {"type": "GlobalMaxPooling1D"},
     {"type": "RepeatVector", "n": 2}, {"type": "Flatten"}],
])
def test_spectral_normalization_truncates_what_integers_give(between: list[dict]) -> None:
    wrapped, plain = sn_outputs(between)
    np.testing.assert_array_equal(wrapped, np.trunc(plain))
    assert not np.array_equal(plain, np.trunc(plain))  # the test would see a missing cast


@pytest.mark.parametrize("between", [
    [{"type": "Dense", "units": 4}],
    [{"type": "Activation", "activation": "tanh"}],
    [{"type": "ReLU", "negative_slope": 0.5}],
    [{"type": "ReLU", "max_value": 6.0}],  # clipped at a float (recorded)
    [{"type": "Reshape", "target_shape": [2, 2]}, {"type": "GlobalAveragePooling1D"}],
    [{"type": "Rescaling", "scale": 1.0}],
])
def test_layers_that_compute_floats_end_the_integers(between: list[dict]) -> None:
    wrapped, plain = sn_outputs(between)
    np.testing.assert_allclose(wrapped, plain, rtol=1e-6)
    assert not np.array_equal(plain, np.trunc(plain))


def test_encoded_bins_are_floats() -> None:
    wrapped, plain = sn_outputs([], {**DISCRETIZE, "output_mode": "one_hot"})
    np.testing.assert_allclose(wrapped, plain, rtol=1e-6)


def test_integer_lookup_indices_are_integers() -> None:
    lookup = {"type": "IntegerLookup", "vocabulary": [3, 5, 7]}
    x = [[3, 5, 7, 9], [9, 7, 5, 3], [5, 5, 5, 5], [7, 3, 9, 1]]
    wrapped, plain = sn_outputs([], lookup, x)
    np.testing.assert_array_equal(wrapped, np.trunc(plain))


@pytest.mark.parametrize(("source", "dtype"), [
    (DISCRETIZE, "int32"),  # Keras 3 gives bin indices as int32, on JAX and TensorFlow
    # int64 indices, which Keras 3 on JAX gives as int32 (tf.keras 2 and Keras 3 on
    # TensorFlow as int64)
    ({"type": "IntegerLookup", "vocabulary": [3, 5, 7]}, "int32"),
])
def test_outputs_have_the_dtype_predict_gives(source: dict, dtype: str) -> None:
    """Reported, and the values sent in it: integers in nested lists, base64 of that dtype."""
    model = {"inputs": [4], "layers": [source, {"type": "Reshape", "target_shape": [2, 2]}]}
    x = [[3, 5, 7, 9], [0.6, -1, 2, 0]]
    (nested,) = check({"model": model, "forward": {"x": x, "return": "values"}}
                      )["forward"]["outputs"]
    assert nested["dtype"] == dtype
    assert all(type(v) is int for row in nested["values"] for pair in row for v in pair)
    encoded = {"dtype": "float32", "shape": [2, 4],
               "base64": base64.b64encode(np.array(x, "<f4").tobytes()).decode()}
    (packed,) = check({"model": model, "forward": {"x": encoded, "return": "values"}}
                      )["forward"]["outputs"]
    assert packed["values"]["dtype"] == dtype
    unpacked = np.frombuffer(base64.b64decode(packed["values"]["base64"]), np.dtype(dtype))
    assert unpacked.reshape(2, 2, 2).tolist() == nested["values"]


def test_the_cast_to_integers_is_xla_s() -> None:
    """Toward zero, NaN to 0, saturated at the int32 range (in float32)."""
    layer = SpectralNormalization("sn", {"layer": {"type": "Dense", "units": 1},
                                         "power_iterations": 1})
    y = np.array([2.7, -2.7, np.nan, np.inf, -np.inf, 3e9, -3e9, -0.3], np.float32)
    (cast,) = layer.on_integer_inputs([y], [], [y], "int32")
    assert cast.tolist() == [2.0, -2.0, 0.0, 2**31, -(2**31), 2**31, -(2**31), 0.0]
    assert not np.signbit(cast[-1])  # an integer 0 has no sign
    (cast,) = layer.on_integer_inputs([], [], [np.array([300.5, -2.7], np.float32)],
                                     "uint8")
    assert cast.tolist() == [255.0, 0.0]  # saturated at the input dtype's range
    assert layer.output_dtype(["int32"]) == "int32"
    assert layer.output_dtype([None]) is None


def test_tf_keras_2_gives_the_wrapped_layers_floats() -> None:
    layer = TfKerasSpectralNormalization("sn", {"layer": {"type": "Dense", "units": 1},
                                                "power_iterations": 1})
    y = np.array([2.7], np.float32)
    assert layer.on_integer_inputs([y], [], [y], "int64")[0] is y
    assert layer.output_dtype(["int64"]) is None


def test_unit_normalization_of_integers_is_refused_as_predict_fails() -> None:
    model = {"inputs": [4], "layers": [DISCRETIZE, {"type": "UnitNormalization"}]}
    assert check({"model": model})["ok"]
    with pytest.raises(RequestInvalid) as exc:
        check({"model": model, "forward": {}})
    (message,) = exc.value.errors["forward"]
    assert message.startswith("layer 'unit_normalization' (UnitNormalization) cannot run on "
                              "integer tensors: Keras 3 takes their inverse square root")


@pytest.mark.parametrize(("layer", "integer"), [
    ({"type": "LayerNormalization"}, False),
    ({"type": "GroupNormalization", "groups": 2}, False),
    ({"type": "RMSNormalization"}, True),
])
def test_normalizations_truncate_what_they_normalise(layer: dict, integer: bool) -> None:
    """Keras 3 casts the normalised values to the input's dtype; LayerNormalization and
    GroupNormalization cast them back to floats (a SpectralNormalization after them computes
    on floats), RMSNormalization does not."""
    wrapped, plain = sn_outputs([layer])
    normalised = check({"model": {"inputs": [4], "layers": [DISCRETIZE, layer]},
                        "forward": {"batch_size": 4, "seed": 3, "return": "values"}})
    values = np.array(normalised["forward"]["outputs"][0]["values"], np.float32)
    np.testing.assert_array_equal(values, np.trunc(values))
    if integer:
        np.testing.assert_array_equal(wrapped, np.trunc(plain))
    else:
        np.testing.assert_allclose(wrapped, plain, rtol=1e-6)
