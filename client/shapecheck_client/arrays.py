"""Arrays for a forward pass, without importing NumPy: ``.npy`` files, NumPy arrays given to
``Client.check``, and the outputs' values back (``decode_values``, which needs NumPy).

The service takes an array as ``{"dtype", "shape", "base64"}`` (little-endian, C order), which
is what a ``.npy`` file holds after its header, and what an array's ``tobytes()`` gives: the
bytes are sent as they are.
"""

from __future__ import annotations

import ast
import base64
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

NPY_MAGIC = b"\x93NUMPY"
NPY_DTYPES = {"<f4": "float32", "<f8": "float64", "<f2": "float16",
              "|i1": "int8", "<i2": "int16", "<i4": "int32", "<i8": "int64",
              "|u1": "uint8", "<u2": "uint16", "<u4": "uint32", "<u8": "uint64",
              "|b1": "bool"}
"""The ``.npy`` type descriptions the service reads, and its name for each. A description is
byte order, kind and item size in bytes: ``"<f4"`` is a little-endian 4-byte float."""


def read_npy(path: Path) -> dict[str, Any]:
    """The array saved at ``path`` by ``numpy.save``, as the service's encoded-array object.

    Raises ValueError, naming the file, for anything else: another format, a type the service
    does not read (big-endian, complex, objects), Fortran order or a truncated file.
    """
    data = path.read_bytes()
    header, body = _split(data, path)
    try:
        fields = ast.literal_eval(header.decode("latin1"))
        descr, fortran_order, shape = (fields["descr"], fields["fortran_order"],
                                       tuple(fields["shape"]))
    except (SyntaxError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: unreadable .npy header") from exc
    if descr not in NPY_DTYPES:
        readable = ", ".join(NPY_DTYPES.values())
        raise ValueError(f"{path}: arrays of type {descr!r} cannot be sent; save one of "
                         f"{readable} (little-endian)")
    if fortran_order and sum(length > 1 for length in shape) > 1:
        raise ValueError(f"{path}: the array is in Fortran order; save it in C order: "
                         "numpy.save(path, numpy.ascontiguousarray(x))")
    dtype = NPY_DTYPES[descr]
    expected = math.prod(shape) * int(descr[2:])  # the description ends in the item size
    if len(body) != expected:
        raise ValueError(f"{path}: {len(body)} bytes of data where shape {shape} of {dtype} "
                         f"needs {expected}")
    return {"dtype": dtype, "shape": list(shape),
            "base64": base64.b64encode(body).decode("ascii")}


def _split(data: bytes, path: Path) -> tuple[bytes, bytes]:
    """The header and the data of a ``.npy`` file (format versions 1 to 3)."""
    if not data.startswith(NPY_MAGIC) or len(data) < 10:
        raise ValueError(f"{path}: not a .npy file (numpy.save writes one)")
    version = data[6]
    length_bytes = {1: 2, 2: 4, 3: 4}.get(version)
    if length_bytes is None:
        raise ValueError(f"{path}: .npy format version {version} is not supported")
    start = 8 + length_bytes
    end = start + int.from_bytes(data[8:start], "little")
    return data[start:end], data[end:]


def is_array(value: Any) -> bool:
    """Whether ``value`` is array-like in NumPy's way (``dtype``, ``shape`` and ``tobytes``)."""
    return all(hasattr(value, name) for name in ("dtype", "shape", "tobytes"))


def encode_array(array: Any) -> dict[str, Any]:
    """A NumPy array as the service's encoded-array object (C order; no NumPy import).

    Raises ValueError for a type the service does not read (big-endian, complex, objects):
    convert it first, ``x.astype("float32")``.
    """
    descr = getattr(array.dtype, "str", None)
    if descr not in NPY_DTYPES:
        readable = ", ".join(NPY_DTYPES.values())
        raise ValueError(f"arrays of type {descr!r} cannot be sent; convert to one of "
                         f"{readable} (little-endian)")
    return {"dtype": NPY_DTYPES[descr], "shape": [int(n) for n in array.shape],
            "base64": base64.b64encode(array.tobytes(order="C")).decode("ascii")}


def encode_forward(forward: Mapping[str, Any]) -> dict[str, Any]:
    """``forward`` with the NumPy arrays in ``x`` (one array, or a dict by input name) and in
    ``weights`` (a list of arrays per layer, as ``layer.get_weights()`` gives) encoded; other
    values (nested lists, encoded objects) are left as they are."""
    encoded = dict(forward)
    x = forward.get("x")
    if is_array(x):
        encoded["x"] = encode_array(x)
    elif isinstance(x, Mapping):
        encoded["x"] = {name: encode_array(v) if is_array(v) else v for name, v in x.items()}
    weights = forward.get("weights")
    if isinstance(weights, Mapping):
        encoded["weights"] = {
            name: [encode_array(v) if is_array(v) else v for v in values]
            if isinstance(values, list | tuple) else values
            for name, values in weights.items()}
    return encoded


def decode_values(values: Any, dtype: str) -> Any:
    """An output's ``values`` (nested lists, null for NaN, or an encoded-array object) as a
    NumPy array of ``dtype`` (float32 for bfloat16, which NumPy lacks). Imports NumPy."""
    try:
        import numpy as np
    except ImportError as exc:
        raise ImportError("decoding the values into an array needs NumPy: pip install numpy; "
                          "without it, read them as lists") from exc
    if isinstance(values, Mapping):
        data = base64.b64decode(values["base64"])
        descr = {name: d for d, name in NPY_DTYPES.items()}[values["dtype"]]
        return np.frombuffer(data, dtype=np.dtype(descr)).reshape(values["shape"]).copy()
    kind = dtype if dtype in NPY_DTYPES.values() else "float32"
    if kind.startswith("float"):
        return np.array(_nan_for_null(values), dtype=kind)
    return np.array(values, dtype=kind)


def _nan_for_null(values: Any) -> Any:
    """Nested lists with JSON's null (a NaN or an infinity the service could not send) as NaN."""
    if isinstance(values, list):
        return [_nan_for_null(v) for v in values]
    return math.nan if values is None else values
