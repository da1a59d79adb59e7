"""Reading ``.npy`` files and sending NumPy arrays for the forward pass without importing
numpy (the tests use numpy to write them, as a user would)."""

from __future__ import annotations

import argparse
import base64
import io
from pathlib import Path

import numpy as np
import pytest
from shapecheck_client.arrays import encode_array, encode_forward, read_npy
from shapecheck_client.cli import parse_array_option


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int8", "int16", "int32",
                                   "int64", "uint8", "uint16", "uint32", "uint64", "bool"])
def test_an_array_is_sent_as_its_bytes_with_its_dtype_and_shape(tmp_path: Path,
                                                                 dtype: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    np.save(tmp_path / "x.npy", array)
    encoded = read_npy(tmp_path / "x.npy")
    assert encoded["dtype"] == dtype
    assert encoded["shape"] == [2, 3, 4]
    decoded = np.frombuffer(base64.b64decode(encoded["base64"]), dtype=dtype).reshape(2, 3, 4)
    np.testing.assert_array_equal(decoded, array)


def test_a_scalar_and_an_empty_array(tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", np.float32(2.5))
    assert read_npy(tmp_path / "s.npy")["shape"] == []
    np.save(tmp_path / "e.npy", np.zeros((0, 3), np.float32))
    assert read_npy(tmp_path / "e.npy") == {"dtype": "float32", "shape": [0, 3], "base64": ""}


def test_format_version_2_headers_are_read(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    array = np.ones((2, 2), np.float32)
    np.lib.format.write_array(buffer, array, version=(2, 0))
    (tmp_path / "v2.npy").write_bytes(buffer.getvalue())
    assert read_npy(tmp_path / "v2.npy")["shape"] == [2, 2]


def test_fortran_order_is_refused_only_where_it_changes_the_bytes(tmp_path: Path) -> None:
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((2, 3), np.float32)))
    with pytest.raises(ValueError, match="Fortran order; save it in C order"):
        read_npy(tmp_path / "f.npy")
    np.save(tmp_path / "row.npy", np.asfortranarray(np.ones((1, 3), np.float32)))
    assert read_npy(tmp_path / "row.npy")["shape"] == [1, 3]


@pytest.mark.parametrize(("array", "message"), [
    (np.zeros(3, np.complex64), "'<c8' cannot be sent"),
    (np.zeros(3, ">f4"), "'>f4' cannot be sent"),
    (np.array(["a"], dtype=object), "'|O' cannot be sent"),
])
def test_types_the_service_does_not_read_are_refused(tmp_path: Path, array: np.ndarray,
                                                     message: str) -> None:
    np.save(tmp_path / "x.npy", array, allow_pickle=True)
    with pytest.raises(ValueError, match=message):
        read_npy(tmp_path / "x.npy")


def test_other_files_and_truncated_arrays_are_refused(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text("{}")
    with pytest.raises(ValueError, match=r"not a \.npy file"):
        read_npy(tmp_path / "m.json")
    np.save(tmp_path / "x.npy", np.ones((4, 4), np.float32))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "x.npy").read_bytes()[:-4])
    with pytest.raises(ValueError, match="60 bytes of data where shape"):
        read_npy(tmp_path / "cut.npy")
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY\x01\x00\x04\x00{]!\n")
    with pytest.raises(ValueError, match=r"unreadable \.npy header"):
        read_npy(tmp_path / "junk.npy")


def test_the_x_option_takes_a_path_or_a_named_path(tmp_path: Path, monkeypatch) -> None:
    np.save(tmp_path / "a=b.npy", np.ones(2, np.float32))
    np.save(tmp_path / "x.npy", np.ones(3, np.float32))
    assert parse_array_option(str(tmp_path / "x.npy"))[0] is None
    name, encoded = parse_array_option(f"image={tmp_path / 'x.npy'}")
    assert (name, encoded["shape"]) == ("image", [3])
    assert parse_array_option(str(tmp_path / "a=b.npy"))[1]["shape"] == [2]
    monkeypatch.chdir(tmp_path)
    assert parse_array_option("image=x.npy")[0] == "image"
    with pytest.raises(argparse.ArgumentTypeError, match="missing name"):
        parse_array_option("=x.npy")
    with pytest.raises(argparse.ArgumentTypeError, match="No such file"):
        parse_array_option("image=y.npy")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int8", "int16", "int32",
                                   "int64", "uint8", "uint16", "uint32", "uint64", "bool"])
def test_a_numpy_array_is_sent_as_numpy_save_would_send_it(tmp_path: Path, dtype: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    np.save(tmp_path / "x.npy", array)
    assert encode_array(array) == read_npy(tmp_path / "x.npy")


def test_a_strided_array_is_sent_in_c_order() -> None:
    array = np.arange(6, dtype=np.float32).reshape(2, 3).T  # Fortran order, a view
    encoded = encode_array(array)
    assert encoded["shape"] == [3, 2]
    decoded = np.frombuffer(base64.b64decode(encoded["base64"]), np.float32).reshape(3, 2)
    np.testing.assert_array_equal(decoded, array)


def test_types_the_service_does_not_read_are_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="'>f4' cannot be sent; convert to one of float32"):
        encode_array(np.ones(2, ">f4"))
    with pytest.raises(ValueError, match="'<c8' cannot be sent"):
        encode_array(np.ones(2, np.complex64))


def test_the_forward_request_encodes_arrays_and_leaves_the_rest() -> None:
    x = np.ones((2, 3), np.float32)
    kernel, bias = np.zeros((3, 1), np.float32), np.zeros(1, np.float32)
    forward = {"x": x, "weights": {"dense": [kernel, bias]}, "return": "values"}
    encoded = encode_forward(forward)
    assert encoded["x"] == encode_array(x)
    assert encoded["weights"] == {"dense": [encode_array(kernel), encode_array(bias)]}
    assert encoded["return"] == "values"
    assert forward["x"] is x  # the caller's dict is not changed
    named = encode_forward({"x": {"image": x, "meta": [[1.0], [2.0]]}})
    assert named["x"] == {"image": encode_array(x), "meta": [[1.0], [2.0]]}
    assert encode_forward({"x": [[1.0]], "batch_size": 2}) == {"x": [[1.0]], "batch_size": 2}
