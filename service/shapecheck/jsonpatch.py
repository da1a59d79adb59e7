"""A minimal RFC 6902 JSON Patch applier for the engine's own fixes: add, remove, replace, test.

The fixes the engine suggests are patches against the submitted model; before suggesting one,
the engine applies it here and checks the patched model again. Paths are RFC 6901 JSON Pointers.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

Patch = list[dict[str, Any]]


class JsonPatchError(ValueError):
    """An operation cannot be applied to the document."""


def pointer(*tokens: str | int) -> str:
    """The JSON Pointer of a path of keys and indices, escaped: ``("a/b", 0)`` → ``/a~1b/0``."""
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


def apply_patch(document: Any, patch: Sequence[Mapping[str, Any]]) -> Any:
    """A deep copy of ``document`` with ``patch`` applied; the document itself is untouched."""
    result = copy.deepcopy(document)
    for operation in patch:
        result = apply_operation(result, operation)
    return result


def applied(document: Any, operation: Mapping[str, Any]) -> Any:
    """``document`` with one operation applied, the document itself untouched: only the
    containers on the operation's path are copied, the rest is shared with ``document``."""
    tokens = split(operation.get("path"))
    if operation.get("op") == "test" or not tokens:
        return apply_operation(document, operation, tokens)
    root = shallow_copy(document)
    parent = root
    for token in tokens[:-1]:
        try:
            key = token if isinstance(parent, dict) else index(parent, token, end=False)
            child = parent[key]
        except (JsonPatchError, KeyError, TypeError):
            break  # apply_operation reports it
        if not isinstance(child, dict | list):
            break
        child = shallow_copy(child)
        parent[key] = child
        parent = child
    return apply_operation(root, operation, tokens)


def shallow_copy(value: Any) -> Any:
    return value.copy() if isinstance(value, dict | list) else value


def apply_operation(document: Any, operation: Mapping[str, Any],
                    tokens: list[str] | None = None) -> Any:
    """``document`` with ``operation`` applied in place; ``tokens``: its path, split."""
    op = operation.get("op")
    if tokens is None:
        tokens = split(operation.get("path"))
    if op in ("add", "replace", "test") and "value" not in operation:
        raise JsonPatchError(f"{op} at {operation['path']!r} has no value")
    if op == "add":
        return add(document, tokens, json_copy(operation["value"]))
    if op == "remove":
        return remove(document, tokens)
    if op == "replace":
        remove(document, tokens)
        return add(document, tokens, json_copy(operation["value"]))
    if op == "test":
        if resolve(document, tokens) != operation["value"]:
            raise JsonPatchError(f"test failed at {operation['path']}")
        return document
    raise JsonPatchError(f"unsupported op {op!r}")


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (objects, arrays and immutable scalars), several times
    quicker than ``copy.deepcopy``, which keeps a memo of every object it meets."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    return value


def split(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise JsonPatchError(f"{path!r} is not a JSON Pointer")
    return [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]


def index(container: list[Any], token: str, *, end: bool) -> int:
    """The list index ``token`` names; ``end`` admits ``-`` and ``len`` (positions for add)."""
    if end and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise JsonPatchError(f"{token!r} is not an array index")
    position = int(token)
    if position > len(container) or (position == len(container) and not end):
        raise JsonPatchError(f"index {position} is out of range")
    return position


def resolve(document: Any, tokens: list[str]) -> Any:
    value = document
    for token in tokens:
        if isinstance(value, dict):
            if token not in value:
                raise JsonPatchError(f"no member {token!r}")
            value = value[token]
        elif isinstance(value, list):
            value = value[index(value, token, end=False)]
        else:
            raise JsonPatchError(f"cannot descend into {type(value).__name__}")
    return value


def add(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = resolve(document, tokens[:-1])
    if isinstance(parent, list):
        parent.insert(index(parent, tokens[-1], end=True), value)
    elif isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        raise JsonPatchError(f"cannot add into {type(parent).__name__}")
    return document


def remove(document: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise JsonPatchError("cannot remove the whole document")
    parent = resolve(document, tokens[:-1])
    if isinstance(parent, list):
        del parent[index(parent, tokens[-1], end=False)]
    elif isinstance(parent, dict) and tokens[-1] in parent:
        del parent[tokens[-1]]
    else:
        raise JsonPatchError(f"nothing to remove at {tokens[-1]!r}")
    return document
