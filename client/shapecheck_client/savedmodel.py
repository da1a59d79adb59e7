"""Reading the architecture out of a TensorFlow SavedModel directory that tf.keras 2's
``model.save("path")`` (or ``save_format="tf"``) wrote, without TensorFlow or protobuf.

Such a directory holds ``keras_metadata.pb``: a ``SavedMetadata`` message whose ``nodes`` each
carry a ``node_path`` and a JSON ``metadata`` string. The root node's metadata holds
``model_config``, what ``model.to_json()`` gives, but with tuples written as
``{"class_name": "__tuple__", "items": [...]}``. Only the architecture is read, never the
weights (those are under ``variables/``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

METADATA = "keras_metadata.pb"
NODES, NODE_PATH, METADATA_JSON = 1, 3, 5  # field numbers in SavedMetadata / SavedObject
VARINT, LENGTH_DELIMITED, FIXED64, FIXED32 = 0, 2, 1, 5


def read_saved_model(directory: Path) -> dict[str, Any]:
    """The ``to_json()`` document of the Keras model saved in ``directory``."""
    path = directory / METADATA
    if not path.is_file():
        raise ValueError(
            f"{directory} is a directory without {METADATA}: not a SavedModel that tf.keras 2's "
            "model.save() wrote (Keras 3's model.export() keeps no architecture); send "
            "model.to_json(), or save the model with model.save('model.keras')")
    try:
        root = next(metadata for node in message_fields(path.read_bytes(), NODES)
                    for metadata in root_metadata(node))
        document = json.loads(root, object_hook=tuples_as_lists)
        config = document["model_config"]
    except (StopIteration, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"{path} holds no Keras model architecture that can be read "
                         f"({type(exc).__name__})") from None
    return {**config, "keras_version": document.get("keras_version")}


def root_metadata(node: bytes) -> Iterator[bytes]:
    """The metadata JSON of a ``SavedObject`` when it is the root (the model itself)."""
    fields = dict(message_items(node))
    if fields.get(NODE_PATH) == b"root" and METADATA_JSON in fields:
        yield fields[METADATA_JSON]


def message_fields(message: bytes, number: int) -> Iterator[bytes]:
    """The length-delimited values of field ``number``, in order."""
    for field, value in message_items(message):
        if field == number and isinstance(value, bytes):
            yield value


def message_items(message: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) for each field of a protobuf message, in the wire format."""
    at = 0
    while at < len(message):
        key, at = varint(message, at)
        wire_type = key & 7
        if wire_type == VARINT:
            value, at = varint(message, at)
            yield key >> 3, value
        elif wire_type == LENGTH_DELIMITED:
            length, at = varint(message, at)
            if at + length > len(message):
                raise ValueError("a field runs past the end of the message")
            yield key >> 3, message[at:at + length]
            at += length
        elif wire_type in (FIXED64, FIXED32):
            at += 8 if wire_type == FIXED64 else 4
        else:
            raise ValueError(f"wire type {wire_type} is not one SavedMetadata uses")


def varint(data: bytes, at: int) -> tuple[int, int]:
    """The base-128 integer starting at ``at``, and where the next field starts."""
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def tuples_as_lists(obj: dict[str, Any]) -> Any:
    """tf.keras' JSON encoding of a tuple, as the list ``to_json()`` writes."""
    if obj.get("class_name") == "__tuple__" and isinstance(obj.get("items"), list):
        return obj["items"]
    return obj
