"""The graph of a patched native model, made from the analysed graph by loading only the entries
a fix wrote.

A fix is verified by analysing exactly the model its patch produces. Loading the whole patched
document again would rebuild every layer the patch left alone. For a native document whose
loading had nothing to say (no notes), ``patched_graph`` loads instead, with the loader's own
``load_entry``, just the entries one edit wrote (an inserted layer and the layer after it, or a
layer whose arguments changed), wired as the loader wires them; the rest of the graph is the
analysed one. ``tests/test_fixes_patched.py`` checks that this is the graph the patched document
loads into. Other documents and edits give None: then the whole patched document is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .diagnostics import Diagnostic
from .fixes_edits import Edit, Editor, InsertBefore, SetArgs, SetInnerArgs
from .formats.common import canonical_name
from .formats.naming import snake_case
from .formats.native import entry_call, entry_of, load_entry
from .graph import Call, ModelGraph
from .layers.base import Layer


@dataclass
class Loaded:
    """An entry of the patched document, loaded: its layer, its call and its pointer."""

    layer: Layer
    call: Call
    path: str


Replacements = dict[str, list[Loaded]]
"""Layer name -> the loaded entries that take its place in the patched graph, in order."""


def patched_graph(graph: ModelGraph, editor: Editor, edits: Sequence[Edit],
                  overrides: Mapping[str, Any], built: dict[tuple, Layer]) -> ModelGraph | None:
    """The graph loading ``editor.doc`` gives, from ``graph`` (the submitted document's) and the
    entries ``edits`` wrote; None when the document or the edits are not of the kinds covered.
    Raises RequestInvalid as loading ``editor.doc`` does, for an invalid written entry."""
    if graph.format != "native" or graph.notes or len(edits) != 1:
        return None
    edit = edits[0]
    if isinstance(edit, InsertBefore):
        replacements = inserted_before(graph, editor, edit.layer, overrides, built)
    elif isinstance(edit, SetArgs | SetInnerArgs):
        replacements = reloaded(graph, editor, edit.layer, overrides, built)
    else:
        return None
    return None if replacements is None else replaced(graph, editor, replacements)


def inserted_before(graph: ModelGraph, editor: Editor, target: str,
                    overrides: Mapping[str, Any], built: dict[tuple, Layer]) -> Replacements | None:
    """The entry inserted just before ``target``'s, which reads what ``target`` read unless it
    names its inputs, and ``target``'s call, which now reads the new layer unless its entry
    names its inputs (then the edit rewired them). The layer ``target`` is unchanged: all an
    insertion may take from its entry are Keras 2 input arguments, which ``layer_config``
    leaves out of its arguments."""
    _, position = editor.position(target)
    entry = entry_of(editor.doc["layers"][position - 1], position - 1)
    name = entry.get("name") or snake_case(canonical_name(entry["type"]))
    if name in graph.layers or name in graph.input_names():
        return None  # the loader refuses a name used twice
    notes: list[Diagnostic] = []
    previous = call_of(graph, target).inputs[0].layer
    new = load(editor, position - 1, name, previous, overrides, notes, built)
    target_entry = entry_of(editor.doc["layers"][position], position)
    moved = Loaded(graph.layers[target], entry_call(target_entry, position, target, name, notes),
                   f"/layers/{position}")
    return None if notes else {target: [new, moved]}


def reloaded(graph: ModelGraph, editor: Editor, target: str,
             overrides: Mapping[str, Any], built: dict[tuple, Layer]) -> Replacements | None:
    """``target``'s entry, whose arguments changed, under the same name and inputs."""
    notes: list[Diagnostic] = []
    _, position = editor.position(target)
    previous = call_of(graph, target).inputs[0].layer
    loaded = load(editor, position, target, previous, overrides, notes, built)
    return None if notes else {target: [loaded]}


def load(editor: Editor, i: int, name: str, previous: str, overrides: Mapping[str, Any],
         notes: list[Diagnostic], built: dict[tuple, Layer]) -> Loaded:
    """Entry ``i`` of the patched document as the loader loads it, ``previous`` being the layer
    or model input the loader would have met just before it."""
    entry = entry_of(editor.doc["layers"][i], i)
    layer, call = load_entry(entry, i, name, previous, overrides, notes, built)
    return Loaded(layer, call, f"/layers/{i}")


def call_of(graph: ModelGraph, name: str) -> Call:
    """The call of a native layer (a native document calls each layer once)."""
    return next(call for call in graph.calls if call.layer == name)


def replaced(graph: ModelGraph, editor: Editor, replacements: Replacements) -> ModelGraph:
    """``graph`` with the layers and calls of ``replacements`` in place of those they replace,
    and the pointers of the patched document."""
    layers: dict[str, Layer] = {}
    calls: list[Call] = []
    paths = dict(editor.paths)
    for call in graph.calls:
        loaded = replacements.get(call.layer)
        if loaded is None:
            layers[call.layer] = graph.layers[call.layer]
            calls.append(call)
            continue
        for entry in loaded:
            layers[entry.layer.name] = entry.layer
            calls.append(entry.call)
            paths[entry.layer.name] = entry.path
    return ModelGraph(graph.name, graph.format, graph.inputs, layers, calls, graph.outputs, paths)
