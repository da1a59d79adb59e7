"""The native model document of API.md: a Sequential list or a functional graph.

```json
{"name": "classifier", "inputs": {"image": [100, 100, 3]},
 "layers": [{"type": "Conv2D", "filters": 32, "kernel_size": 3}, {"type": "Flatten"}],
 "outputs": ["flatten"]}
```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError

from .. import diagnostics as diag
from ..diagnostics import Diagnostic
from ..errors import RequestInvalid
from ..fields import ShapeField
from ..graph import MASK_ARGUMENTS, NEW_TENSOR_REF, Call, ModelGraph, ModelInput, TensorRef
from ..layers.base import Layer
from ..shapes import Shape
from .common import canonical_name, declared_args, input_dtype, make_layer
from .naming import AutoNamer

RESERVED = ("type", "name", "inputs", "call")
# First-layer arguments that declare the model input, Keras 2 style.
INPUT_ARGS = ("input_shape", "input_dim", "batch_input_shape", "batch_size", "input_length")
DEFAULT_INPUT = "input"


def load_native(doc: Mapping[str, Any], overrides: Mapping[str, Any],
                built: dict[tuple, Layer] | None = None) -> ModelGraph:
    """Load a native document; raises RequestInvalid with ``model.``-rooted paths.
    ``built``: the layers built so far, by config key (``Layer.from_config``)."""
    built = {} if built is None else built
    layers_doc = doc.get("layers")
    if not isinstance(layers_doc, list) or not layers_doc:
        raise RequestInvalid({"model.layers": ["must be a non-empty list of layers"]})
    notes: list[Diagnostic] = []
    entries = [entry_of(e, i) for i, e in enumerate(layers_doc)]
    inputs = declared_inputs(doc, entries, notes)
    namer = AutoNamer({e["name"] for e in entries if isinstance(e.get("name"), str)}
                      | {i.name for i in inputs})
    graph = ModelGraph(name=str(doc.get("name") or "sequential"), format="native", inputs=inputs,
                       layers={}, calls=[], outputs=[], notes=notes)
    previous: str | None = inputs[0].name if len(inputs) == 1 else None
    input_names = graph.input_names()
    for i, entry in enumerate(entries):
        if entry["type"] == "InputLayer":
            previous = entry.get("name") or DEFAULT_INPUT
            continue
        name = entry.get("name") or namer.name(canonical_name(entry["type"]))
        if name in graph.layers or name in input_names:
            raise RequestInvalid({f"model.layers.{i}.name": [f"the name '{name}' is used twice"]})
        graph.layers[name], call = load_entry(entry, i, name, previous, overrides, notes, built)
        graph.paths[name] = f"/layers/{i}"
        graph.calls.append(call)
        previous = name
    graph.outputs = output_refs(doc.get("outputs"), previous)
    # A Sequential: one unnamed input (a list of sizes, or a first layer's input_shape), each
    # layer reading the one before; named inputs make a functional model's InputLayer rows.
    graph.sequential = not isinstance(doc.get("inputs"), dict) and not any(
        "inputs" in e or e["type"] == "InputLayer" for e in entries)
    if not doc.get("name") and not graph.sequential:
        graph.name = "functional"  # Keras' name for a functional model
    notes.extend(unknown_mask_tensors(graph))
    return graph


def load_entry(entry: dict[str, Any], i: int, name: str, previous: str | None,
               overrides: Mapping[str, Any], notes: list[Diagnostic],
               built: dict[tuple, Layer]) -> tuple[Layer, Call]:
    """Layer entry ``i`` (checked by ``entry_of``) as the layer ``name`` and its call, which
    reads ``previous`` (the layer or model input before it) when the entry names no inputs."""
    layer = make_layer(entry["type"], name, layer_config(entry), f"model.layers.{i}",
                       overrides, notes, built)
    return layer, entry_call(entry, i, name, previous, notes)


def entry_call(entry: dict[str, Any], i: int, name: str, previous: str | None,
               notes: list[Diagnostic]) -> Call:
    """The call of layer entry ``i``: its inputs (``previous`` unless it names them) and its
    call arguments."""
    refs = input_refs(entry, previous, i, name, notes)
    return call_of(name, refs, entry["call"], i) if "call" in entry else Call(name, refs)


def unknown_mask_tensors(graph: ModelGraph) -> list[Diagnostic]:
    """``invalid_graph`` for each mask argument that names no layer nor model input."""
    known = graph.input_names() | graph.layers.keys()
    return [diag.error(
        diag.INVALID_GRAPH, call.layer,
        f"The {key} argument of '{call.layer}' names '{ref.layer}', which is neither a layer "
        "nor a model input.", f"Name a model input or a layer: {', '.join(sorted(known)[:12])}.")
        for call in graph.calls if call.masks for key, value in call.masks.items()
        for ref in (value if isinstance(value, list) else [value])
        if ref is not None and ref.layer not in known]


def layer_config(entry: dict[str, Any]) -> dict[str, Any]:
    """The layer's arguments: the entry without its reserved keys, nor the Keras 2 input
    arguments unless the layer declares them (Embedding's input_dim is its own)."""
    if entry.keys().isdisjoint(INPUT_ARGS):
        return {k: v for k, v in entry.items() if k not in RESERVED}
    own = declared_args(entry["type"])
    return {k: v for k, v in entry.items()
            if k not in RESERVED and (k not in INPUT_ARGS or k in own)}


def call_of(name: str, refs: list[TensorRef], spec: Any, i: int) -> Call:
    """The layer's call with ``call``: the keyword arguments of its call, as a Keras document
    records them in the node's kwargs (``{"reverse": true}``; None values are Keras'
    defaults). Mask arguments name the tensors whose values are the masks (``{"mask": "m"}``,
    Attention's ``{"mask": ["query_mask", null]}``)."""
    options = call_options(spec, i)
    masks = {key: mask_refs(options.pop(key), f"model.layers.{i}.call.{key}")
             for key in MASK_ARGUMENTS if key in options}
    return Call(name, refs, options, masks=masks or None)


def call_options(options: Any, i: int) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise RequestInvalid({f"model.layers.{i}.call": [
            'must be an object of call arguments, e.g. {"return_attention_scores": true}']})
    return {k: v for k, v in options.items() if v is not None}


def mask_refs(value: Any, where: str) -> TensorRef | list[TensorRef | None]:
    """A mask argument: a layer or input name (``"m"``, ``"lstm:1"``), or a list of them and
    null, one per input tensor."""
    if isinstance(value, list):
        return [None if item is None else parse_ref(item, f"{where}.{k}")
                for k, item in enumerate(value)]
    return parse_ref(value, where)


def entry_of(entry: Any, i: int) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise RequestInvalid({f"model.layers.{i}": ["must be an object with a 'type'"]})
    if not isinstance(entry.get("type"), str) or not entry["type"]:
        raise RequestInvalid({f"model.layers.{i}.type": ["a layer needs a 'type', the Keras "
                                                         "class name (e.g. 'Dense')"]})
    if "name" in entry and not isinstance(entry["name"], str):
        raise RequestInvalid({f"model.layers.{i}.name": ["must be a string"]})
    return dict(entry)


def declared_inputs(doc: Mapping[str, Any], entries: list[dict[str, Any]],
                    notes: list[Diagnostic]) -> list[ModelInput]:
    """The model inputs: ``inputs``, InputLayer entries, or the first layer's Keras 2 args."""
    spec = doc.get("inputs")
    if isinstance(spec, dict):
        return [ModelInput(str(k), batched(parse_shape(v, f"model.inputs.{k}"))) for k, v in
                spec.items()]
    if spec is not None:
        return [ModelInput(DEFAULT_INPUT, batched(parse_shape(spec, "model.inputs")))]
    layer_inputs = [input_layer(e, i) for i, e in enumerate(entries) if e["type"] == "InputLayer"]
    if layer_inputs:
        return layer_inputs
    first_input = first_layer_input(entries[0], notes)
    if first_input is None:
        raise RequestInvalid({"model.inputs": [
            "the model has no input shape: give 'inputs' (e.g. [28, 28, 1]), or input_shape on "
            "the first layer"]})
    return [first_input]


def input_layer(entry: dict[str, Any], i: int) -> ModelInput:
    name = entry.get("name") or DEFAULT_INPUT
    dtype = input_dtype(entry.get("dtype"), "keras3")
    if entry.get("batch_shape") is not None:
        return ModelInput(name, parse_shape(entry["batch_shape"], f"model.layers.{i}.batch_shape"),
                          dtype)
    shape = parse_shape(entry.get("shape", entry.get("input_shape")), f"model.layers.{i}.shape")
    return ModelInput(name, (entry.get("batch_size"), *shape), dtype)


def first_layer_input(entry: dict[str, Any], notes: list[Diagnostic]) -> ModelInput | None:
    """Keras 2's ``input_shape``/``input_dim``/``batch_input_shape`` on the first layer."""
    path = "model.layers.0"
    layer = entry.get("name")
    if entry.get("batch_input_shape") is not None:
        shape = parse_shape(entry["batch_input_shape"], f"{path}.batch_input_shape")
        notes.append(input_note(layer, "batch_input_shape", f"batch_shape={list(shape)}"))
        return ModelInput(DEFAULT_INPUT, shape)
    if entry.get("input_shape") is not None:
        shape = parse_shape(entry["input_shape"], f"{path}.input_shape")
        notes.append(input_note(layer, "input_shape", f"shape={list(shape)}"))
        return ModelInput(DEFAULT_INPUT, (entry.get("batch_size"), *shape))
    if entry.get("input_dim") is not None and "input_dim" not in declared_args(entry["type"]):
        shape = parse_shape([entry["input_dim"]], f"{path}.input_dim")
        if "input_length" in entry:  # Keras 1 recurrent layers: (input_length, input_dim)
            shape = (*parse_shape([entry["input_length"]], f"{path}.input_length"), *shape)
        notes.append(input_note(layer, "input_dim", f"shape={list(shape)}"))
        return ModelInput(DEFAULT_INPUT, (None, *shape))
    if entry.get("input_length") is not None:  # Keras 2 Embedding: sequences of that length
        shape = parse_shape([entry["input_length"]], f"{path}.input_length")
        notes.append(input_note(layer, "input_length", f"shape={list(shape)}"))
        return ModelInput(DEFAULT_INPUT, (None, *shape))
    return None


def input_note(layer: str | None, arg: str, keras3: str) -> Diagnostic:
    return diag.warning(
        diag.LEGACY_ARGUMENT, layer,
        f"{arg} on the first layer is the Keras 2 way to declare the model input; it was read "
        f"as Input({keras3}).",
        f"In Keras 3, start the model with keras.Input({keras3}).")


def parse_shape(value: Any, path: str) -> Shape:
    try:
        return ShapeField.parse(value)
    except ValidationError as exc:
        raise RequestInvalid({path: list(exc.messages)}) from None


def batched(shape: Shape) -> Shape:
    return (None, *shape)


def parse_ref(text: Any, where: str) -> TensorRef:
    """``"lstm"`` is output 0 of ``lstm``; ``"lstm:1"`` its output 1."""
    if not isinstance(text, str) or not text:
        raise RequestInvalid({where: ["must be a layer or input name"]})
    name, _, index = text.partition(":")
    if index and not index.isdigit():
        raise RequestInvalid({where: [f"'{text}': the part after ':' must be an output index"]})
    return NEW_TENSOR_REF(TensorRef, (name, 0, int(index or 0)))


def input_refs(entry: dict[str, Any], previous: str | None, i: int, name: str,
               notes: list[Diagnostic]) -> list[TensorRef]:
    spec = entry.get("inputs")
    if spec is None:
        if previous is None:
            notes.append(diag.error(
                diag.INVALID_GRAPH, name,
                f"'{name}' does not say which model input it reads, and the model has several.",
                'Give it "inputs": ["<input name>"].'))
            return [TensorRef("<unspecified>")]
        return [NEW_TENSOR_REF(TensorRef, (previous, 0, 0))]
    items = spec if isinstance(spec, list) else [spec]
    if not items:
        raise RequestInvalid({f"model.layers.{i}.inputs": [
            "must name at least one earlier layer or model input"]})
    return [parse_ref(item, f"model.layers.{i}.inputs.{k}") for k, item in enumerate(items)]


def output_refs(spec: Any, last: str | None) -> list[TensorRef]:
    if spec is None:
        return [TensorRef(last)] if last else []
    items = spec if isinstance(spec, list) else [spec]
    return [parse_ref(item, f"model.outputs.{k}") for k, item in enumerate(items)]

