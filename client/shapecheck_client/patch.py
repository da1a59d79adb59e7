"""RFC 6902 JSON Patch over RFC 6901 JSON Pointers, with the standard library only."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .errors import PatchError
from .results import Fix

_BAD_ESCAPE = re.compile(r"~(?![01])")
_INDEX = re.compile(r"0|[1-9][0-9]*")


def apply_fix(model: Mapping[str, Any], fix: Fix | Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``model`` with the fix's JSON Patch applied; ``model`` is not changed.

    ``fix`` is a ``Fix`` or its JSON form (``{"title": ..., "patch": [...]}``).
    Raises ``PatchError`` when an operation cannot be applied.
    """
    patch = fix.patch if isinstance(fix, Fix) else fix.get("patch")
    if not isinstance(patch, list):
        raise PatchError("the fix has no 'patch' list")
    result = apply_patch(model, patch)
    if not isinstance(result, dict):
        raise PatchError("the patch did not leave a model document (a JSON object)")
    return result


def apply_patch(document: Any, patch: Sequence[Mapping[str, Any]]) -> Any:
    """Apply an RFC 6902 patch to a deep copy of ``document`` and return the copy.

    All six operations are supported. The patch is all-or-nothing: on the first operation that
    fails, ``PatchError`` is raised and the caller's document is untouched.
    """
    result = copy.deepcopy(document)
    for number, operation in enumerate(patch):
        try:
            result = _apply_one(result, operation)
        except PatchError as exc:
            raise PatchError(f"operation {number} {dict(operation)!r}: {exc}") from None
    return result


def _apply_one(document: Any, operation: Mapping[str, Any]) -> Any:
    if not isinstance(operation, Mapping):
        raise PatchError("an operation must be a JSON object")
    handler = _OPERATIONS.get(_member(operation, "op"))
    if handler is None:
        raise PatchError(f"unknown op {operation.get('op')!r}")
    return handler(document, operation)


def _member(operation: Mapping[str, Any], name: str) -> Any:
    if name not in operation:
        raise PatchError(f"missing {name!r} member")
    return operation[name]


def _pointer(operation: Mapping[str, Any], name: str = "path") -> list[str]:
    """Split a JSON Pointer into unescaped reference tokens ('' is the whole document)."""
    pointer = _member(operation, name)
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise PatchError(f"{name} {pointer!r} is not a JSON Pointer")
    if _BAD_ESCAPE.search(pointer):
        raise PatchError(f"{name} {pointer!r} has a '~' not followed by 0 or 1")
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]


def _index(container: list[Any], token: str, *, allow_end: bool) -> int:
    """The array index a token names; ``allow_end`` admits ``-`` and ``len`` (for add)."""
    if allow_end and token == "-":
        return len(container)
    if not _INDEX.fullmatch(token):
        raise PatchError(f"{token!r} is not an array index")
    index = int(token)
    if index > len(container) or (index == len(container) and not allow_end):
        raise PatchError(f"index {index} is out of range for an array of {len(container)}")
    return index


def _get(document: Any, tokens: list[str]) -> Any:
    value = document
    for depth, token in enumerate(tokens):
        if isinstance(value, dict):
            if token not in value:
                raise PatchError(f"no member {token!r} at /{'/'.join(tokens[:depth])}")
            value = value[token]
        elif isinstance(value, list):
            value = value[_index(value, token, allow_end=False)]
        else:
            raise PatchError(f"cannot descend into a {type(value).__name__} with {token!r}")
    return value


def _parent(document: Any, tokens: list[str]) -> Any:
    parent = _get(document, tokens[:-1])
    if not isinstance(parent, dict | list):
        raise PatchError(f"the target's parent is a {type(parent).__name__}, not a container")
    return parent


def _add(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent, token = _parent(document, tokens), tokens[-1]
    if isinstance(parent, list):
        parent.insert(_index(parent, token, allow_end=True), value)
    else:
        parent[token] = value
    return document


def _remove(document: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent, key = _locate(document, tokens)
    del parent[key]
    return document


def _locate(document: Any, tokens: list[str]) -> tuple[Any, str | int]:
    """The container of the existing value at ``tokens`` and the value's key in it."""
    parent, token = _parent(document, tokens), tokens[-1]
    if isinstance(parent, list):
        return parent, _index(parent, token, allow_end=False)
    if token not in parent:
        raise PatchError(f"no member {token!r} at /{'/'.join(tokens[:-1])}")
    return parent, token


def _op_add(document: Any, operation: Mapping[str, Any]) -> Any:
    return _add(document, _pointer(operation), copy.deepcopy(_member(operation, "value")))


def _op_remove(document: Any, operation: Mapping[str, Any]) -> Any:
    return _remove(document, _pointer(operation))


def _op_replace(document: Any, operation: Mapping[str, Any]) -> Any:
    tokens = _pointer(operation)
    value = copy.deepcopy(_member(operation, "value"))
    if not tokens:
        return value
    parent, key = _locate(document, tokens)
    parent[key] = value
    return document


def _op_move(document: Any, operation: Mapping[str, Any]) -> Any:
    source, target = _pointer(operation, "from"), _pointer(operation)
    if len(target) > len(source) and target[: len(source)] == source:
        raise PatchError("cannot move a value into one of its own children")
    value = _get(document, source)
    return _add(_remove(document, source), target, value)


def _op_copy(document: Any, operation: Mapping[str, Any]) -> Any:
    value = copy.deepcopy(_get(document, _pointer(operation, "from")))
    return _add(document, _pointer(operation), value)


def _op_test(document: Any, operation: Mapping[str, Any]) -> Any:
    expected = _member(operation, "value")
    actual = _get(document, _pointer(operation))
    if not _json_equal(actual, expected):
        raise PatchError(f"test failed: found {actual!r}, expected {expected!r}")
    return document


def _json_equal(left: Any, right: Any) -> bool:
    """Equality as RFC 6902 defines it for ``test``: booleans are not numbers."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    return left == right


_OPERATIONS: dict[str, Callable[[Any, Mapping[str, Any]], Any]] = {
    "add": _op_add,
    "remove": _op_remove,
    "replace": _op_replace,
    "move": _op_move,
    "copy": _op_copy,
    "test": _op_test,
}
