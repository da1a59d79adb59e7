"""The fix search's patched graphs (fixes_patched.py: the analysed graph with only the entries a
fix wrote loaded) are the graphs the patched documents load into, and the answers they give
are those of loading every patched document in full.

The requests: the real-world mistakes, the 560 random models recorded from Keras (half of which
Keras refuses, so the search runs on them), the same models against targets their outputs mostly
miss, and a few models made for the corners of the loader (named inputs, InputLayer entries,
names the new layer must not take, legacy spellings, wrappers).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from keras_fixtures import FIXTURES
from shapecheck import check, fixes
from shapecheck.errors import ShapecheckError
from shapecheck.formats import load_model
from shapecheck.graph import ModelGraph
from test_real_world_mistakes import MISTAKES

RANDOM = json.loads((FIXTURES / "keras3" / "random" / "random_models.json").read_text())


def L(type_name: str, **args: Any) -> dict[str, Any]:
    return {"type": type_name, **args}


CORNERS = [
    # Sequential lists whose insertions read the model input, an InputLayer, a named layer.
    {"model": {"inputs": [28, 28], "layers": [L("Conv2D", filters=4, kernel_size=3),
                                              L("Dense", units=10)]}, "y_shape": [9, 10]},
    {"model": {"layers": [L("InputLayer", shape=[100, 100, 3], name="image"),
                          L("Conv2D", filters=8, kernel_size=3, name="features"),
                          L("Dense", units=10, activation="softmax")]},
     "y_shape": [100, 10], "loss": "categorical_crossentropy"},
    # Names a new layer must not take: an explicit "flatten", an auto-named one.
    {"model": {"inputs": [100, 100, 3], "layers": [
        L("Conv2D", filters=8, kernel_size=3), L("Dense", units=10, name="flatten")]},
     "y_shape": [100, 10]},
    {"model": {"inputs": [10, 10, 3], "layers": [
        L("Conv2D", filters=8, kernel_size=3), L("Flatten"), L("Reshape", target_shape=[8, 8, 8]),
        L("Dense", units=10)]}, "y_shape": [100, 10]},
    # A functional graph: named inputs, wired entries, a merge of mismatched branches.
    {"model": {"inputs": {"a": [32, 32, 3], "b": [30, 30, 3]}, "layers": [
        L("Conv2D", name="ca", filters=4, kernel_size=3, inputs="a"),
        L("Conv2D", name="cb", filters=4, kernel_size=1, inputs="b"),
        L("Add", name="add", inputs=["ca", "cb"]), L("Dense", name="out", units=2, inputs="add")],
        "outputs": ["out"]}, "y_shape": [7, 2]},
    # Recurrent layers and a wrapper: return_sequences set on a layer or on what it wraps.
    {"model": {"inputs": [20, 8], "layers": [L("LSTM", units=4), L("LSTM", units=4),
                                             L("Dense", units=1)]}, "y_shape": [5, 20, 1]},
    {"model": {"inputs": [20, 8], "layers": [
        L("Bidirectional", layer={"type": "LSTM", "units": 4}), L("LSTM", units=2)]}},
    # Legacy spellings and the Keras 2 input arguments: the whole document is loaded.
    {"model": {"layers": [L("Convolution2D", nb_filter=4, nb_row=3, nb_col=3,
                            input_shape=[28, 28, 1]), L("Dense", output_dim=10)]},
     "y_shape": [3, 10]},
    # A mask call argument and an unknown loss.
    {"model": {"inputs": [12], "layers": [L("Embedding", input_dim=50, output_dim=8),
                                          L("LSTM", units=4, call={"mask": None}),
                                          L("Dense", units=3, activation="sigmoid")]},
     "y_shape": [4, 12, 3], "loss": "poisson_nll"},
]

TARGETS = {"categorical": {"y_shape": [7, 3], "loss": "categorical_crossentropy"},
           "sequences": {"y_shape": [7, 5, 3], "loss": "mse"}}
"""Targets that the random models' outputs mostly miss, so that fixes are searched for them."""

REQUESTS = [
    *(pytest.param(m.request, id=m.name) for m in MISTAKES if "class_name" not in
      m.request["model"]),
    *(pytest.param({"model": c["native"]}, id=c["id"]) for c in RANDOM["cases"]),
    *(pytest.param({"model": c["native"], **data}, id=f"{c['id']}_{name}")
      for c in RANDOM["cases"] if len(c["native"].get("outputs") or []) <= 1
      for name, data in TARGETS.items()),
    *(pytest.param(body, id=f"corner_{i}") for i, body in enumerate(CORNERS)),
]


def layer_identity(graph: ModelGraph) -> list[tuple]:
    """Each layer as what it is: its name, type, arguments and memo key, in order."""
    return [(name, type(layer), vars(layer.args), layer.config_key, layer.trainable)
            for name, layer in graph.layers.items()]


def assert_same_graph(patched: ModelGraph, loaded: ModelGraph) -> None:
    assert layer_identity(patched) == layer_identity(loaded)
    assert patched.calls == loaded.calls
    assert (patched.name, patched.format, patched.inputs, patched.outputs) == (
        loaded.name, loaded.format, loaded.inputs, loaded.outputs)
    assert patched.paths == loaded.paths
    assert patched.notes == loaded.notes


def answer(body: dict[str, Any]) -> dict[str, Any] | str:
    """The check's answer, or the request error it raises."""
    try:
        return check(copy.deepcopy(body))
    except ShapecheckError as exc:
        return repr(exc)


def fast_path_recorded(monkeypatch: pytest.MonkeyPatch) -> list[ModelGraph]:
    """Every patched graph made fast from now on, each checked against its document loaded."""
    made: list[ModelGraph] = []
    original = fixes.patched_graph

    def compared(graph: ModelGraph, editor: Any, edits: Any, overrides: Any,
                 built: Any) -> ModelGraph | None:
        patched = original(graph, editor, edits, overrides, built)
        if patched is not None:
            assert_same_graph(patched, load_model(editor.doc, overrides, {}))
            made.append(patched)
        return patched

    monkeypatch.setattr(fixes, "patched_graph", compared)
    return made


@pytest.mark.parametrize("body", REQUESTS)
def test_a_patched_graph_is_the_patched_document_loaded(
        body: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fast_path_recorded(monkeypatch)
    fast = answer(body)
    monkeypatch.setattr(fixes, "patched_graph", lambda *args: None)
    assert fast == answer(body)


def test_the_requests_exercise_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most of the patched models (725 of 853 today) come from the fast path: the others have
    two edits, or edits of the model input or of a layer's type."""
    made = fast_path_recorded(monkeypatch)
    for body in REQUESTS:
        answer(body.values[0])
    assert len(made) >= 600
