"""Arrays for a forward pass's ``x``, read from NumPy ``.npy`` files without NumPy.

The service takes an array as ``{"dtype", "shape", "base64"}`` (little-endian, C order), which
is what a ``.npy`` file holds after its header: the bytes are sent as they are.
"""

from __future__ import annotations

import ast
import base64
import math
from pathlib import Path
from typing import Any

NPY_MAGIC = b"\x93NUMPY"
NPY_DTYPES = {
    "<f4": ("float32", 4),
    "<f8": ("float64", 8),
    "<f2": ("float16", 2),
    "|i1": ("int8", 1),
    "<i2": ("int16", 2),
    "<i4": ("int32", 4),
    "<i8": ("int64", 8),
    "|u1": ("uint8", 1),
    "<u2": ("uint16", 2),
    "<u4": ("uint32", 4),
    "<u8": ("uint64", 8),
    "|b1": ("bool", 1),
}
"""The ``.npy`` type descriptions the service reads: its name for each, and the item size."""


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
        readable = ", ".join(name for name, _ in NPY_DTYPES.values())
        raise ValueError(f"{path}: arrays of type {descr!r} cannot be sent; save one of "
                         f"{readable} (little-endian)")
    if fortran_order and sum(length > 1 for length in shape) > 1:
        raise ValueError(f"{path}: the array is in Fortran order; save it in C order: "
                         "numpy.save(path, numpy.ascontiguousarray(x))")
    dtype, itemsize = NPY_DTYPES[descr]
    expected = math.prod(shape) * itemsize
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
