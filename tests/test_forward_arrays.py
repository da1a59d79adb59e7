"""Request and response arrays: shapes read before decoding, strict decoding, JSON-safe output."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from shapecheck.arrays import declared_shape, decode, encode, float32_bytes
from shapecheck.errors import RequestInvalid


def b64(array: np.ndarray, dtype: str) -> dict:
    return {"dtype": dtype, "shape": list(array.shape),
            "base64": base64.b64encode(array.tobytes()).decode()}


def test_declared_shapes_without_decoding():
    assert declared_shape([[1, 2, 3], [4, 5, 6]], "x") == (2, 3)
    assert declared_shape([], "x") == (0,)
    assert declared_shape(7, "x") == ()
    assert declared_shape({"dtype": "uint8", "shape": [2**40, 3], "base64": ""}, "x") == (2**40, 3)


def test_sizes_are_exact_python_integers():
    assert float32_bytes((2**40, 2**40)) == 2**82


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int64", "uint8",
                                   "bool"])
def test_every_dtype_decodes_to_float32(dtype):
    array = (np.arange(6).reshape(2, 3) % 2 if dtype == "bool" else np.arange(6).reshape(2, 3))
    array = array.astype(np.dtype(dtype).newbyteorder("<"))
    decoded = decode(b64(array, dtype), "x")
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, array.astype(np.float32))


@pytest.mark.parametrize(("value", "path", "message"), [
    ([[1, 2], [3]], "x", "rectangular nested list of numbers"),
    ([["1", "2"]], "x", "rectangular nested list of numbers"),
    ([[1, None]], "x", "rectangular nested list of numbers"),
    ({"dtype": "float32", "shape": [2], "base64": "AAAA"}, "x.base64", "needs 8 bytes"),
    ({"dtype": "uint8", "shape": [1], "base64": "AA!A"}, "x.base64", "not valid base64"),
    ({"dtype": "float32", "shape": [1], "base64": 5}, "x.base64", "needs 4 bytes"),
    ({"dtype": "float32", "shape": [-1], "base64": ""}, "x.shape", "integers >= 0"),
    ({"dtype": "float32", "shape": [True], "base64": ""}, "x.shape", "integers >= 0"),
    ({"dtype": "str", "shape": [1], "base64": ""}, "x.dtype", "must be one of"),
    (b64(np.array([np.nan], "<f4"), "float32"), "x.base64", "finite numbers"),
])
def test_invalid_arrays_are_refused_with_their_path(value, path, message):
    with pytest.raises(RequestInvalid) as caught:
        decode(value, "x")
    assert list(caught.value.errors) == [path]
    assert message in caught.value.errors[path][0]


def test_lists_of_finite_numbers_only():
    with pytest.raises(RequestInvalid, match="finite numbers of float32 range only"):
        decode([[1e39]], "x")  # finite as a JSON number, infinite in float32
    assert decode([[1.5, True]], "x").tolist() == [[1.5, 1.0]]


def test_encode_in_both_forms():
    array = np.array([[1.5, np.nan], [np.inf, -2.0]], dtype=np.float32)
    assert encode(array, as_base64=False) == [[1.5, None], [None, -2.0]]
    encoded = encode(array, as_base64=True)
    assert encoded["shape"] == [2, 2] and encoded["dtype"] == "float32"
    back = np.frombuffer(base64.b64decode(encoded["base64"]), "<f4").reshape(2, 2)
    np.testing.assert_array_equal(back, array)


def test_the_client_reads_every_dtype_the_service_reads():
    """``shapecheck check --x FILE.npy`` sends a .npy file's bytes as they are, with its dtype
    name: the two lists are the same, byte order included, and each description ends in its
    item size, which the client reads off it."""
    from shapecheck.arrays import DTYPES
    from shapecheck_client.arrays import NPY_DTYPES

    assert {name: np.dtype(code) for name, code in DTYPES.items()} == {
        name: np.dtype(descr) for descr, name in NPY_DTYPES.items()}
    assert all(np.dtype(descr).itemsize == int(descr[2:]) for descr in NPY_DTYPES)
