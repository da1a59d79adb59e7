"""apply_patch / apply_fix against RFC 6902 (appendix A examples) and RFC 6901 pointers."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from seed_models import SEED_000
from shapecheck_client import Fix, PatchError, apply_fix, apply_patch

# (name, document, patch, expected) from RFC 6902 appendix A, plus RFC 6901 escaping.
APPLIES: list[tuple[str, Any, list[dict[str, Any]], Any]] = [
    (
        "A.1 add an object member",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux"}],
        {"baz": "qux", "foo": "bar"},
    ),
    (
        "A.2 add an array element",
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    (
        "A.3 remove an object member",
        {"baz": "qux", "foo": "bar"},
        [{"op": "remove", "path": "/baz"}],
        {"foo": "bar"},
    ),
    (
        "A.4 remove an array element",
        {"foo": ["bar", "qux", "baz"]},
        [{"op": "remove", "path": "/foo/1"}],
        {"foo": ["bar", "baz"]},
    ),
    (
        "A.5 replace a value",
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        "A.6 move a value",
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        "A.7 move an array element",
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        "A.8 test a value: success",
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [
            {"op": "test", "path": "/baz", "value": "qux"},
            {"op": "test", "path": "/foo/1", "value": 2},
        ],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    (
        "A.10 add a nested member object",
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    (
        "A.11 ignore unrecognized elements",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
        {"foo": "bar", "baz": "qux"},
    ),
    (
        "A.14 ~ escape ordering",
        {"/": 9, "~1": 10},
        [{"op": "test", "path": "/~01", "value": 10}],
        {"/": 9, "~1": 10},
    ),
    (
        "A.16 add an array value",
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
    (
        "copy, and ~1 names a key with a slash",
        {"a/b": {"c": [1]}},
        [
            {"op": "copy", "from": "/a~1b", "path": "/d"},
            {"op": "add", "path": "/d/c/0", "value": 0},
        ],
        {"a/b": {"c": [1]}, "d": {"c": [0, 1]}},
    ),
    (
        "replace and add at the root",
        {"a": 1},
        [{"op": "replace", "path": "", "value": [1]}, {"op": "add", "path": "/1", "value": 2}],
        [1, 2],
    ),
    (
        "add null, which is a value",
        {},
        [{"op": "add", "path": "/x", "value": None}, {"op": "test", "path": "/x", "value": None}],
        {"x": None},
    ),
    (
        "the empty key",
        {"": 1},
        [{"op": "replace", "path": "/", "value": 2}],
        {"": 2},
    ),
    (
        "test compares JSON values: 1 equals 1.0, nested",
        {"a": [1, {"b": 2.0}]},
        [{"op": "test", "path": "/a", "value": [1.0, {"b": 2}]}],
        {"a": [1, {"b": 2.0}]},
    ),
]

FAILS: list[tuple[str, Any, list[dict[str, Any]], str]] = [
    (
        "A.9 test a value: error",
        {"baz": "qux"},
        [{"op": "test", "path": "/baz", "value": "bar"}],
        "test failed",
    ),
    (
        "A.12 add to a nonexistent target",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz/bat", "value": "qux"}],
        "no member 'baz'",
    ),
    (
        "A.15 comparing strings and numbers",
        {"/": 9, "~1": 10},
        [{"op": "test", "path": "/~01", "value": "10"}],
        "test failed",
    ),
    ("true is not 1", {"a": True}, [{"op": "test", "path": "/a", "value": 1}], "test failed"),
    ("remove a missing member", {"a": 1}, [{"op": "remove", "path": "/b"}], "no member 'b'"),
    (
        "replace a missing member",
        {"a": 1},
        [{"op": "replace", "path": "/b", "value": 2}],
        "no member 'b'",
    ),
    (
        "index past the end",
        {"a": [1]},
        [{"op": "add", "path": "/a/2", "value": 0}],
        "out of range",
    ),
    ("'-' only for add", {"a": [1]}, [{"op": "remove", "path": "/a/-"}], "not an array index"),
    ("leading zero", {"a": [1, 2]}, [{"op": "remove", "path": "/a/01"}], "not an array index"),
    ("bad escape", {"a~2": 1}, [{"op": "remove", "path": "/a~2"}], "not followed by 0 or 1"),
    ("not a pointer", {"a": 1}, [{"op": "remove", "path": "a"}], "not a JSON Pointer"),
    ("unknown op", {}, [{"op": "frobnicate", "path": "/a"}], "unknown op"),
    ("missing value", {}, [{"op": "add", "path": "/a"}], "missing 'value'"),
    ("missing from", {"a": 1}, [{"op": "move", "path": "/b"}], "missing 'from'"),
    (
        "move into its own child",
        {"a": {"b": 1}},
        [{"op": "move", "from": "/a", "path": "/a/b/c"}],
        "own children",
    ),
    (
        "descend into a scalar",
        {"a": 1},
        [{"op": "add", "path": "/a/b", "value": 2}],
        "not a container",
    ),
]


@pytest.mark.parametrize(
    ("document", "patch", "expected"),
    [case[1:] for case in APPLIES],
    ids=[case[0] for case in APPLIES],
)
def test_patch_applies(document: Any, patch: list[dict[str, Any]], expected: Any) -> None:
    original = copy.deepcopy(document)
    assert apply_patch(document, patch) == expected
    assert document == original


@pytest.mark.parametrize(
    ("document", "patch", "message"),
    [case[1:] for case in FAILS],
    ids=[case[0] for case in FAILS],
)
def test_patch_fails_clearly(document: Any, patch: list[dict[str, Any]], message: str) -> None:
    original = copy.deepcopy(document)
    with pytest.raises(PatchError, match=message):
        apply_patch(document, patch)
    assert document == original


def test_a_failing_operation_leaves_the_document_untouched() -> None:
    model = {"layers": [{"type": "Dense", "units": 5}]}
    patch = [
        {"op": "replace", "path": "/layers/0/units", "value": 10},
        {"op": "test", "path": "/layers/0/units", "value": 5},
    ]
    with pytest.raises(PatchError, match="operation 1"):
        apply_patch(model, patch)
    assert model == {"layers": [{"type": "Dense", "units": 5}]}


def test_patch_error_is_a_value_error() -> None:
    assert issubclass(PatchError, ValueError)


def test_added_values_are_copies() -> None:
    value = {"type": "Flatten"}
    result = apply_patch({"layers": []}, [{"op": "add", "path": "/layers/0", "value": value}])
    result["layers"][0]["name"] = "flat"
    assert value == {"type": "Flatten"}


INSERT_FLATTEN = {
    "title": "Insert Flatten before dense",
    "patch": [{"op": "add", "path": "/layers/1", "value": {"type": "Flatten"}}],
    "result": {"output_shape": [None, 10], "params": 78679690},
}


@pytest.mark.parametrize(
    "fix", [INSERT_FLATTEN, Fix.from_dict(INSERT_FLATTEN)], ids=["dict", "Fix"]
)
def test_apply_fix_inserts_a_layer(fix: Fix | dict[str, Any]) -> None:
    fixed = apply_fix(SEED_000, fix)
    assert [layer["type"] for layer in fixed["layers"]] == ["Conv2D", "Flatten", "Dense", "Dense"]
    assert len(SEED_000["layers"]) == 3


def test_apply_fix_wants_a_patch() -> None:
    with pytest.raises(PatchError, match="no 'patch' list"):
        apply_fix(SEED_000, {"title": "nothing"})


def test_apply_fix_must_leave_an_object() -> None:
    with pytest.raises(PatchError, match="JSON object"):
        apply_fix(SEED_000, {"patch": [{"op": "replace", "path": "", "value": []}]})
