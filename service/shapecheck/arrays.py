"""Arrays in requests and responses: nested lists, or ``{"dtype", "shape", "base64"}``
(little-endian, C order).

The shape of a request array is read before it is decoded (``declared_shape``), so that its
size is checked against the limits before anything is allocated.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import numpy as np

from .errors import RequestInvalid

DTYPES = {"float32": "<f4", "float64": "<f8", "float16": "<f2", "int8": "i1", "int16": "<i2",
          "int32": "<i4", "int64": "<i8", "uint8": "u1", "uint16": "<u2", "uint32": "<u4",
          "uint64": "<u8", "bool": "?"}
FLOAT32_BYTES = 4
NUMBER_KINDS = "biuf"  # numpy dtype kinds of booleans, integers and floats


def is_encoded(value: Any) -> bool:
    """True for the ``{"dtype", "shape", "base64"}`` form (as opposed to a name → array map)."""
    return isinstance(value, dict) and "base64" in value


def declared_shape(value: Any, path: str) -> tuple[int, ...]:
    """The shape of a request array, read without decoding it.

    For nested lists, the lengths along the first elements; raggedness is found by ``decode``.
    """
    if isinstance(value, dict):
        return encoded_shape(value, path)
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def encoded_shape(value: dict[str, Any], path: str) -> tuple[int, ...]:
    if value.get("dtype", "float32") not in DTYPES:
        raise RequestInvalid({f"{path}.dtype": [f"must be one of {', '.join(DTYPES)}"]})
    shape = value.get("shape")
    if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise RequestInvalid({f"{path}.shape": ["must be a list of integers >= 0"]})
    return tuple(shape)


def float32_bytes(shape: tuple[int, ...]) -> int:
    """Bytes of a float32 array of ``shape`` (exact, however large the dimensions)."""
    return math.prod(shape) * FLOAT32_BYTES


def decode(value: Any, path: str) -> np.ndarray:
    """A request array as float32 (integers stay exact up to 2**24, enough for indices)."""
    if isinstance(value, dict):
        return decode_base64(value, path)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        array = None
    if array is None or array.dtype.kind not in NUMBER_KINDS:
        raise RequestInvalid({path: ["must be a rectangular nested list of numbers"]})
    return finite_float32(array, path)


def decode_base64(value: dict[str, Any], path: str) -> np.ndarray:
    shape = encoded_shape(value, path)
    dtype_name = value.get("dtype", "float32")
    dtype = np.dtype(DTYPES[dtype_name])
    text = value.get("base64")
    expected = math.prod(shape) * dtype.itemsize
    if not isinstance(text, str) or len(text) != 4 * -(-expected // 3):
        raise RequestInvalid({f"{path}.base64": [
            f"shape {list(shape)} of {dtype_name} needs {expected:,} bytes, "
            f"{4 * -(-expected // 3):,} characters of base64"]})
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise RequestInvalid({f"{path}.base64": ["is not valid base64"]}) from None
    if len(raw) != expected:
        raise RequestInvalid({f"{path}.base64": [
            f"holds {len(raw):,} bytes, but shape {list(shape)} of {dtype_name} needs "
            f"{expected:,}"]})
    return finite_float32(np.frombuffer(raw, dtype=dtype).reshape(shape), f"{path}.base64")


def finite_float32(array: np.ndarray, path: str) -> np.ndarray:
    """``array`` as float32, refused if it holds NaN or values float32 cannot hold."""
    with np.errstate(over="ignore"):
        array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise RequestInvalid({path: ["must hold finite numbers of float32 range only"]})
    return array


def encode(array: np.ndarray, as_base64: bool, dtype: str = "float32") -> Any:
    """A response array of float32 values in the request's encoding, as ``dtype``: a name in
    ``DTYPES`` that holds them (an integer or boolean dtype for values that are integers, or
    0 and 1; float16 for values rounded to it), else float32 (bfloat16 values); in nested
    lists, NaN and infinities (which JSON cannot carry) become null."""
    dtype = dtype if dtype in DTYPES else "float32"
    if dtype != "float32":
        array = array.astype(DTYPES[dtype])
    if as_base64:
        data = np.ascontiguousarray(array, dtype=DTYPES[dtype])
        return {"dtype": dtype, "shape": list(array.shape),
                "base64": base64.b64encode(data.tobytes()).decode()}
    if array.dtype.kind != "f" or np.all(np.isfinite(array)):
        return array.tolist()
    return np.where(np.isfinite(array), array, None).tolist()
