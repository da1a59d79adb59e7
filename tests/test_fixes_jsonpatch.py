"""The service's RFC 6902 applier (add, remove, replace, test), on the RFC's own examples."""

from __future__ import annotations

from typing import Any

import pytest
from shapecheck.jsonpatch import JsonPatchError, applied, apply_patch, pointer


@pytest.mark.parametrize("doc, patch, expected", [
    # RFC 6902 A.1-A.6
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}],
     {"baz": "qux", "foo": "bar"}),
    ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
     {"foo": ["bar", "qux", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}],
     {"foo": ["bar", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}],
     {"baz": "boo", "foo": "bar"}),
    # A.8 test that succeeds; A.10 adding a nested member object
    ({"baz": "qux", "foo": ["a", 2, "c"]},
     [{"op": "test", "path": "/baz", "value": "qux"},
      {"op": "test", "path": "/foo/1", "value": 2}], {"baz": "qux", "foo": ["a", 2, "c"]}),
    ({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),
    # A.14 escaped tokens, A.16 appending with "-"
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
     {"foo": ["bar", ["abc", "def"]]}),
    # add on an existing member replaces it; the whole document can be replaced
    ({"units": 10}, [{"op": "add", "path": "/units", "value": 5}], {"units": 5}),
    ({"a": 1}, [{"op": "add", "path": "", "value": [1]}], [1]),
])
def test_rfc_examples(doc: Any, patch: list[dict[str, Any]], expected: Any) -> None:
    assert apply_patch(doc, patch) == expected
    result, sent = doc, repr(doc)
    for operation in patch:
        result = applied(result, operation)
    assert result == expected
    assert repr(doc) == sent


@pytest.mark.parametrize("doc, operation", [
    ({"baz": "qux"}, {"op": "test", "path": "/baz", "value": "bar"}),  # A.9
    ({"foo": "bar"}, {"op": "add", "path": "/baz/bat", "value": "qux"}),  # A.12
    ({"foo": ["bar"]}, {"op": "add", "path": "/foo/2", "value": 1}),
    ({"foo": ["bar"]}, {"op": "remove", "path": "/foo/01"}),
    ({"foo": "bar"}, {"op": "remove", "path": "/nothing"}),
    ({"foo": "bar"}, {"op": "replace", "path": "/nothing", "value": 1}),
    ({"foo": "bar"}, {"op": "add", "path": "foo", "value": 1}),
    ({"foo": "bar"}, {"op": "move", "from": "/foo", "path": "/baz"}),
    ({"foo": "bar"}, {"op": "add", "path": "/baz"}),
])
def test_operations_that_cannot_apply_raise(doc: Any, operation: dict[str, Any]) -> None:
    with pytest.raises(JsonPatchError):
        apply_patch(doc, [operation])
    with pytest.raises(JsonPatchError):
        applied(doc, operation)


def test_the_document_itself_is_never_changed() -> None:
    doc = {"layers": [{"type": "Dense", "units": 3}]}
    value = {"type": "Flatten"}
    patched = apply_patch(doc, [{"op": "add", "path": "/layers/0", "value": value}])
    value["type"] = "changed"
    assert doc == {"layers": [{"type": "Dense", "units": 3}]}
    assert patched["layers"][0] == {"type": "Flatten"}


def test_applied_copies_only_the_containers_on_the_path() -> None:
    dense, conv = {"type": "Dense", "units": 3}, {"type": "Conv2D", "filters": 8}
    doc = {"name": "m", "layers": [conv, dense], "outputs": ["dense"]}
    patched = applied(doc, {"op": "replace", "path": "/layers/1/units", "value": 5})
    assert doc == {"name": "m", "layers": [conv, dense], "outputs": ["dense"]}
    assert dense == {"type": "Dense", "units": 3}
    assert patched["layers"][1] == {"type": "Dense", "units": 5}
    assert patched["layers"][0] is conv and patched["outputs"] is doc["outputs"]


def test_pointer_escapes_tokens() -> None:
    assert pointer("config", "layers", 3) == "/config/layers/3"
    assert pointer("a/b", "m~n") == "/a~1b/m~0n"
    assert apply_patch({"a/b": 1}, [{"op": "replace", "path": pointer("a/b"), "value": 2}]) == \
        {"a/b": 2}
