"""Arrays in requests and responses: nested lists, or ``{"dtype", "shape", "base64"}``
(little-endian, C order)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from .errors import RequestInvalid

DTYPES = {"float32": "<f4", "float64": "<f8", "int32": "<i4", "int64": "<i8", "uint8": "u1",
          "float16": "<f2", "bool": "?"}


def decode(value: Any, path: str) -> np.ndarray:
    """A request array as float32 (integers stay exact up to 2**24, enough for indices)."""
    if isinstance(value, dict):
        return decode_base64(value, path)
    try:
        array = np.asarray(value, dtype=np.float32)
    except (ValueError, TypeError):
        raise RequestInvalid({path: ["must be a rectangular nested list of numbers"]}) from None
    if not np.all(np.isfinite(array)):
        raise RequestInvalid({path: ["must hold finite numbers only"]})
    return array


def decode_base64(value: dict[str, Any], path: str) -> np.ndarray:
    dtype = DTYPES.get(value.get("dtype", "float32"))
    shape = value.get("shape")
    if dtype is None:
        raise RequestInvalid({f"{path}.dtype": [f"must be one of {', '.join(DTYPES)}"]})
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise RequestInvalid({f"{path}.shape": ["must be a list of integers >= 0"]})
    try:
        raw = base64.b64decode(value.get("base64", ""), validate=True)
    except (binascii.Error, TypeError):
        raise RequestInvalid({f"{path}.base64": ["is not valid base64"]}) from None
    expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if len(raw) != expected:
        raise RequestInvalid({f"{path}.base64": [
            f"holds {len(raw)} bytes, but shape {shape} of {value.get('dtype', 'float32')} "
            f"needs {expected}"]})
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(np.float32)


def encode(array: np.ndarray, as_base64: bool) -> Any:
    """A response array in the request's encoding."""
    if not as_base64:
        return array.tolist()
    data = np.ascontiguousarray(array, dtype="<f4")
    return {"dtype": "float32", "shape": list(array.shape),
            "base64": base64.b64encode(data.tobytes()).decode()}
