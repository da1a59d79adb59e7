"""Keras ``model.to_json()`` documents (Keras 3 and tf.keras 2), Sequential or Functional.

Keras 3 writes each call of a layer (an *inbound node*) as ``{"args": [...], "kwargs": {...}}``
whose tensors are ``{"class_name": "__keras_tensor__", "config": {"keras_history": [layer,
node_index, tensor_index]}}``; tf.keras 2 writes it as a list ``[[layer, node_index,
tensor_index, kwargs], ...]`` where ``kwargs`` (repeated on every entry) holds the other
arguments, tensors among them as ``[layer, node_index, tensor_index]``.

One inbound node becomes one ``Call`` whose inputs are, in this order:

1. the tensors of the positional arguments, flattened in order (Concatenate's list, ...);
2. the tensor keyword arguments, in the order of ``TENSOR_KWARGS`` (``query``, ``value``,
   ``key`` of MultiHeadAttention; ``initial_state`` and ``constants`` of recurrent layers),
   then any other tensor keyword argument in document order.

Masks (``mask`` and ``*_mask`` keyword arguments) are no inputs: they do not change shapes,
and become ``Call.masks``, which the forward pass follows. Keras operations that only compute
masks (the ``not_equal`` Keras writes after ``Embedding(mask_zero=True)``, a
``keras.ops.logical_and`` of two masks) are no layers: a mask they compute is their
``MaskOp``, and Keras' summary, which lists them, gets them apart
(``ModelGraph.mask_operations``; ``ModelGraph.keras_reads`` holds what the calls given masks
or keyword tensors read, in Keras' order). Non-tensor keyword arguments that are not None
(``return_attention_scores``, ``training``) become ``Call.options``.

A model used as a layer (a nested Sequential or Functional) is loaded recursively into a
``NestedModel``. Arithmetic on tensors (Keras 3 operations such as ``x + 3.0``, tf.keras 2
``TFOpLambda`` layers naming an element-by-element TensorFlow function) becomes a
``KerasOperation`` row, as ``model.summary()`` lists it. Nothing in the document is ever
evaluated: a ``Lambda`` carries bytecode, which is never decoded; custom classes and other
operations are reported as unknown or unsupported layers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .. import diagnostics as diag
from ..diagnostics import Diagnostic
from ..errors import RequestInvalid, prefixed
from ..graph import (
    NEW_TENSOR_REF,
    Call,
    MaskOp,
    MaskOperation,
    MaskSource,
    ModelGraph,
    ModelInput,
    TensorRef,
    Unresolved,
)
from ..layers import REGISTRY
from ..layers.base import Layer
from .common import canonical_name, input_dtype, make_layer
from .keras_nested import NestedModel
from .keras_ops import (
    KNOWN_OPERATIONS,
    TF_FUNCTIONS,
    Cast,
    KerasOperation,
    is_binary,
    is_supported,
)
from .naming import AutoNamer
from .native import parse_shape

MODEL_CLASSES = ("Sequential", "Functional", "Model")
TENSOR_KWARGS = ("inputs", "sequences", "query", "value", "key", "initial_state", "constants")
KERAS_OPS_MODULES = ("keras.src.ops.", "keras.ops.")
KERAS_MODULES = ("keras.", "tf_keras.")
CONSTANT = "_CONSTANT_VALUE"  # tf.keras 2's marker of a constant first argument
HISTORY_FORM = "a tensor reference is [layer_name, node_index, tensor_index]"
NO_TENSOR = "a call passes no tensor: a layer is called on at least one"
NO_MASK = {"mask": None}


def load_keras(doc: Mapping[str, Any], overrides: Mapping[str, Any],
               built: dict[tuple, Layer] | None = None) -> ModelGraph:
    """Load a parsed ``model.to_json()``; raises RequestInvalid with ``model.``-rooted paths.
    ``built``: the layers built so far, by config key (``Layer.from_config``)."""
    loader = KerasLoader(detect_format(doc), overrides, {} if built is None else built)
    graph = loader.model(doc, Where(), top_level=True)
    if loader.unmarked_operations:
        loader.notes.append(legacy_h5_note(loader.unmarked_operations))
    return graph


def detect_format(doc: Mapping[str, Any]) -> str:
    """``keras2`` for tf.keras 2 (and Keras 1/2) documents, else ``keras3``.

    Evidence in order: the ``keras_version`` field; then, layer by layer, the form of the first
    inbound node (dict in Keras 3, list before) and the input shape's key (Keras 3 writes
    ``batch_shape``, tf.keras 2 ``batch_input_shape``). Keras 3's ``module`` keys do not tell:
    tf.keras 2 writes them too, in the ``config.json`` of the ``.keras`` archives it saves.
    """
    version = doc.get("keras_version")
    if isinstance(version, str) and version[:1].isdigit():
        return "keras3" if int(version.split(".")[0]) >= 3 else "keras2"
    for entry in walk_layer_entries(doc):
        nodes = entry.get("inbound_nodes")
        if isinstance(nodes, list) and nodes:
            return "keras3" if isinstance(nodes[0], dict) else "keras2"
        config = entry.get("config")
        if isinstance(config, dict) and "batch_shape" in config:
            return "keras3"
        if isinstance(config, dict) and "batch_input_shape" in config:
            return "keras2"
    return "keras3"


def walk_layer_entries(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every layer entry of a model document, nested models' included."""
    for entry in layer_list(doc.get("config")) or ():
        if isinstance(entry, dict):
            yield entry
            if entry.get("class_name") in MODEL_CLASSES:
                yield from walk_layer_entries(entry)


def layer_list(config: Any) -> list[Any] | None:
    """``config.layers``; Keras ≤ 2.2 wrote a Sequential's config as the list itself."""
    if isinstance(config, list):
        return config
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        return config["layers"]
    return None


class Where:
    """Where something sits in the submitted model, as the keys that lead to it; spelt as a
    dotted 422 path (``model.config.layers.3``) or a JSON Pointer (``/config/layers/3``) only
    when needed, since most places never are."""

    __slots__ = ("_pointer", "keys", "parent")

    def __init__(self, keys: tuple[str | int, ...] = (), parent: Where | None = None) -> None:
        self.keys = keys
        self.parent = parent
        self._pointer: str | None = None

    def child(self, *keys: str | int) -> Where:
        return Where(self.keys + keys, self)

    @property
    def path(self) -> str:
        return ".".join(["model", *map(str, self.keys)])

    @property
    def pointer(self) -> str:
        """Spelt once per place, from its parent's: the layers of a model share the start."""
        if self._pointer is None:
            start = len(self.parent.keys) if self.parent else 0
            self._pointer = (self.parent.pointer if self.parent else "") + "".join([
                f"/{k}" if type(k) is int else f"/{str(k).replace('~', '~0').replace('/', '~1')}"
                for k in self.keys[start:]])
        return self._pointer

    def fail(self, message: str) -> RequestInvalid:
        return RequestInvalid({self.path: [message]})


class Entry:
    """One layer entry of a model's ``config.layers``, read once: whether it is a nested model
    (``is_model``) or a Keras operation on tensors (``keras.ops.add``, ``is_operation``), and
    how to name it if its class is a custom one (``Custom>MyLayer``, ``__main__.MyLayer``;
    None for the classes Keras ships)."""

    __slots__ = ("class_name", "config", "custom_name", "index", "is_model", "is_operation",
                 "name", "parent", "raw")

    def __init__(self, name: str, class_name: str, config: dict[str, Any], raw: dict[str, Any],
                 parent: Where, index: int) -> None:
        self.name = name
        self.class_name = class_name
        self.config = config
        self.raw = raw
        self.parent = parent  # the layer list, and the entry's index in it
        self.index = index
        self.is_model = class_name in MODEL_CLASSES
        module = raw.get("module")
        self.is_operation = str(module or "").startswith(KERAS_OPS_MODULES)
        self.custom_name = custom_name(raw.get("registered_name"), module, self.is_operation)

    @property
    def where(self) -> Where:
        return self.parent.child(self.index)

    @property
    def pointer(self) -> str:
        return f"{self.parent.pointer}/{self.index}"


def legacy_serialization(items: list[Any]) -> bool:
    """Whether a layer list is Keras' legacy serialization, which a .h5 file holds: no entry
    has a ``module``, and the layers' configs are whole (some holds ``trainable``)."""
    return not any(isinstance(raw, dict) and "module" in raw for raw in items) and any(
        isinstance(raw, dict) and isinstance(raw.get("config"), dict)
        and "trainable" in raw["config"] for raw in items)


def unmarked_operation(raw: dict[str, Any], legacy: bool) -> bool:
    """A Keras 3 operation on tensors written without its ``module``, as Keras 3 writes the
    model into a legacy .h5 file (``model.save("model.h5")``): a class the engine knows as an
    operation whose config holds no ``trainable``, which every Keras 3 layer's holds (an
    operation's holds its name and its own arguments). A class that is a layer's too (``Add``,
    ``Concatenate``) only in a ``legacy_serialization``: elsewhere, in a document written by
    hand, it is the layer."""
    config = raw.get("config")
    class_name = raw["class_name"]
    return ("module" not in raw and class_name in KNOWN_OPERATIONS
            and isinstance(config, dict) and "trainable" not in config
            and (legacy or canonical_name(class_name) not in REGISTRY))


def legacy_h5_note(operations: list[Entry]) -> Diagnostic:
    quoted = [f"'{entry.name}'" for entry in operations[:3]]
    if len(operations) > 3:
        quoted.append(f"{len(operations) - 3} more")
    names = " and ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
    classes = list(dict.fromkeys(entry.class_name for entry in operations))
    unknown = next((c for c in classes if canonical_name(c) not in REGISTRY), None)
    return diag.warning(
        diag.LEGACY_H5_OPERATIONS, operations[0].name,
        f"{names} {'are Keras operations' if len(operations) > 1 else 'is a Keras operation'} "
        f"on tensors ({', '.join(classes)}) written without a module, as Keras 3 writes them "
        "into a legacy .h5 file. shapecheck reads them as those operations, but "
        "keras.models.load_model cannot rebuild the model from such a file: it takes each for "
        "a layer of its class, and fails"
        + (f" (\"Unknown layer: '{unknown}'\")." if unknown else "."),
        'Save the model with model.save("model.keras"): that format keeps each operation\'s '
        "module, and load_model reads it back.")


def custom_name(registered: Any, module: Any, is_operation: bool) -> str | None:
    if not isinstance(registered, str) or registered in MODEL_CLASSES or is_operation:
        return None
    if module == "keras" or str(module).startswith(KERAS_MODULES):
        return None  # shipped with Keras (keras.applications' CustomScaleLayer, ...)
    if ">" in registered or not module:
        return registered
    return f"{module}.{registered}"  # an unregistered class: where it was defined


class KerasLoader:
    """Turns one Keras document (and its nested models) into ModelGraphs."""

    def __init__(self, flavour: str, overrides: Mapping[str, Any],
                 built: dict[tuple, Layer]) -> None:
        self.flavour = flavour
        self.overrides = overrides
        self.notes: list[Diagnostic] = []
        self.built = built  # the layers built so far, by config key
        self.unmarked_operations: list[Entry] = []
        """Keras 3 operations written without their module (``unmarked_operation``)."""

    # -- models -------------------------------------------------------------------------------
    def model(self, doc: Mapping[str, Any], where: Where, top_level: bool = False) -> ModelGraph:
        class_name = doc.get("class_name")
        if class_name not in MODEL_CLASSES:
            raise where.child("class_name").fail(
                f"expected a model ({', '.join(MODEL_CLASSES)}), got {class_name!r}: submit what "
                "model.to_json() returns")
        entries_doc = layer_list(doc.get("config"))
        if not entries_doc:
            raise where.child("config", "layers").fail("must be a non-empty list of layers")
        config = doc["config"] if isinstance(doc["config"], dict) else {}
        layers_where = where.child("config", "layers") if isinstance(doc["config"], dict) \
            else where.child("config")
        entries = self.entries(entries_doc, layers_where)
        name = str(config.get("name") or class_name.lower())
        graph = ModelGraph(name=name, format=self.flavour, inputs=[], layers={}, calls=[],
                           outputs=[], notes=self.notes)
        if class_name == "Sequential":
            graph.sequential = True
            self.sequential(graph, entries, doc, where, top_level)
        else:
            graph.listing = [entry.name for entry in entries]
            self.functional(graph, entries, config, where)
        return graph

    def entries(self, items: list[Any], where: Where) -> list[Entry]:
        entries: list[Entry] = []
        namer = AutoNamer()
        legacy = legacy_serialization(items)
        for i, raw in enumerate(items):
            if not isinstance(raw, dict) or not isinstance(raw.get("class_name"), str):
                raise where.child(i).fail(
                    "must be a layer object with a 'class_name' and a 'config'")
            config = raw.get("config")
            if config is None:
                config = {}
            elif not isinstance(config, dict):
                raise where.child(i, "config").fail("must be an object")
            name = raw.get("name", config.get("name"))
            if name is not None and not isinstance(name, str):
                raise where.child(i, "config", "name").fail("must be a string")
            entries.append(Entry(name or namer.name(raw["class_name"]), raw["class_name"],
                                 config, raw, where, i))
            if "module" not in raw and self.flavour == "keras3" \
                    and unmarked_operation(raw, legacy):
                entries[-1].is_operation = True
                self.unmarked_operations.append(entries[-1])
        if len({entry.name for entry in entries}) < len(entries):
            seen: set[str] = set()
            for entry in entries:
                if entry.name in seen:
                    raise entry.where.child("config", "name").fail(
                        f"the name '{entry.name}' is used twice")
                seen.add(entry.name)
        return entries

    def sequential(self, graph: ModelGraph, entries: list[Entry], doc: Mapping[str, Any],
                   where: Where, top_level: bool) -> None:
        """A chain: each layer reads the one before; the input is an InputLayer or declared."""
        if entries[0].class_name == "InputLayer":
            graph.inputs.append(self.input_of(entries[0]))
            entries = entries[1:]
        else:
            declared = (first_layer_input(entries[0]) or self.nested_input(entries[0])
                        or (build_input(doc) if top_level else None))
            if declared is None and top_level:
                raise where.child("config", "layers").fail(
                    "the model has no input shape: start it with an InputLayer (keras.Input) or "
                    "build it before calling to_json()")
            # A nested Sequential without a declared input takes the shape it is called with.
            graph.inputs.append(ModelInput(f"{entries[0].name}_input", declared))
        previous = TensorRef(graph.inputs[0].name)
        for entry in entries:
            if entry.class_name == "InputLayer":
                raise where.child("config", "layers").fail(
                    f"the InputLayer '{entry.name}' is not the first layer: a Sequential model "
                    "has one input, its first layer")
            self.add_layer(graph, entry, [Call(entry.name, [previous])])
            previous = NEW_TENSOR_REF(TensorRef, (entry.name, 0, 0))
        graph.outputs = [previous]

    def nested_input(self, entry: Entry) -> tuple | None:
        """The input of a model that is a Sequential's first layer: its own first input."""
        inner = layer_list(entry.config) if entry.is_model else None
        if not inner:
            return None
        first, *_ = self.entries(inner, entry.where.child("config", "layers"))
        if first.class_name == "InputLayer":
            return self.input_of(first).shape
        return first_layer_input(first) or self.nested_input(first)

    def functional(self, graph: ModelGraph, entries: list[Entry], config: Mapping[str, Any],
                   where: Where) -> None:
        models = [e for e in entries if e.is_model]  # only nested models number calls from 1
        offsets = {e.name: 1 for e in models if self.skips_first_node(e, in_outputs=False)}
        nodes: dict[str, list[Call]] = {}
        for entry in entries:
            if entry.class_name != "InputLayer":
                nodes[entry.name] = self.inbound_nodes(entry, offsets, graph.keras_reads)
        output_offsets = {e.name: 1 for e in models if self.skips_first_node(e, in_outputs=True)}
        graph.outputs = tensor_triples(config.get("output_layers"),
                                       where.child("config", "output_layers"), output_offsets)
        declared = tensor_triples(config.get("input_layers"),
                                  where.child("config", "input_layers"), {})
        inputs = {e.name: e for e in entries if e.class_name == "InputLayer"}
        order = [r.layer for r in declared if r.layer in inputs]
        for name in [*order, *(n for n in inputs if n not in order)]:
            graph.inputs.append(self.input_of(inputs[name]))
        dropped = mask_only_operations(entries, nodes, graph.outputs)
        masks = MaskOperations({e.name: e for e in entries if e.name in dropped})
        for entry in entries:
            if entry.name in nodes and entry.name not in dropped:
                self.add_layer(graph, entry, nodes[entry.name], masks)
        graph.mask_operations = masks.rows()

    def skips_first_node(self, entry: Entry, in_outputs: bool) -> bool:
        """Whether references number a nested model's calls from 1.

        Keras counts a nested Functional's node 0 as the one that built it, which the document
        leaves out (``_should_skip_first_node``). tf.keras 2 numbers from 1 everywhere (also a
        Sequential that starts with an InputLayer); Keras 3 only in ``output_layers``.
        """
        if not entry.is_model:
            return False
        if self.flavour == "keras3":
            return in_outputs and entry.class_name != "Sequential"
        inner = layer_list(entry.config) or []
        return entry.class_name != "Sequential" or bool(
            inner and isinstance(inner[0], dict) and inner[0].get("class_name") == "InputLayer")

    # -- layers -------------------------------------------------------------------------------
    def add_layer(self, graph: ModelGraph, entry: Entry, calls: list[Call],
                  masks: MaskOperations | None = None) -> None:
        """The entry's layer, and its calls (their masks that read left-out operations read
        as MaskOps; what a Keras 3 call reads, in Keras' order, in ``graph.keras_reads``
        where that differs from its inputs)."""
        graph.layers[entry.name] = self.layer(entry)
        graph.paths[entry.name] = entry.pointer
        for call in calls:
            if self.flavour == "keras3" and (call.masks or keyword_tensors(entry, call)):
                reads = node_reads(entry, call.index)
                if call.masks or reads != call.inputs:
                    graph.keras_reads[call.layer, call.index] = reads
            if call.masks and masks is not None:
                call.masks = masks.sources(call.masks)
        graph.calls += calls

    def layer(self, entry: Entry) -> Layer:
        if entry.name in self.overrides:  # make_layer turns it into an Opaque
            return make_layer(entry.class_name, entry.name, {}, "", self.overrides, self.notes)
        if entry.is_model:
            return self.nested(entry)
        if entry.is_operation:
            return self.operation(entry)
        if entry.class_name == "TFOpLambda" and entry.custom_name is None:
            operation = tf_operation(entry)
            if operation is not None:
                return operation
        class_name = entry.custom_name or entry.class_name
        try:
            return make_layer(class_name, entry.name, entry.config, "config", self.overrides,
                              self.notes, self.built, self.flavour)
        except RequestInvalid as exc:  # the entry's path spelt for an error alone
            raise RequestInvalid(prefixed(exc.errors, entry.where.path)) from None

    def nested(self, entry: Entry) -> Layer:
        inner = self.model(entry.raw, entry.where)
        if any(isinstance(layer, Unresolved) for layer in inner.layers.values()):
            return Unresolved(entry.name, entry.class_name)  # already reported inside
        return NestedModel(entry.name, entry.class_name, inner,
                           trainable=entry.config.get("trainable", True) is not False)

    def operation(self, entry: Entry) -> Layer:
        if entry.class_name == "Cast":
            cast = cast_operation(entry, self.flavour)
            if cast is not None:
                return cast
        arguments = operation_arguments(entry)
        if arguments is None or not is_supported(entry.class_name):
            self.notes.append(operation_note(entry))
            return Unresolved(entry.name, entry.class_name)
        return KerasOperation(entry.name, entry.class_name, arguments)

    def input_of(self, entry: Entry) -> ModelInput:
        config, where = entry.config, entry.where.child("config")
        dtype = input_dtype(config.get("dtype"), self.flavour)
        for key in ("batch_shape", "batch_input_shape"):
            if config.get(key) is not None:
                return ModelInput(entry.name, parse_shape(config[key], where.child(key).path),
                                  dtype)
        key = "shape" if config.get("shape") is not None else "input_shape"
        shape = parse_shape(config.get(key), where.child(key).path)
        return ModelInput(entry.name, (config.get("batch_size"), *shape), dtype)

    # -- inbound nodes ------------------------------------------------------------------------
    def inbound_nodes(self, entry: Entry, offsets: Mapping[str, int],
                      reads: dict[tuple[str, int], list[TensorRef]] | None = None,
                      ) -> list[Call]:
        """The entry's calls, one per inbound node. ``offsets``: the nested models whose calls
        tf.keras 2 numbers from 1 (``skips_first_node``); a Keras 3 node's references need
        none. ``reads``: where a tf.keras 2 call's mask changes what its summary lists it
        reads (``keras2_node``)."""
        nodes = entry.raw.get("inbound_nodes")
        if not isinstance(nodes, list):
            raise entry.where.child("inbound_nodes").fail("must be a list of the layer's calls")
        if self.flavour == "keras3":
            return [keras3_node(node, entry, k) for k, node in enumerate(nodes)]
        where = entry.where.child("inbound_nodes")
        return [keras2_node(node, entry.name, k, where.child(k), offsets,
                            {} if reads is None else reads)
                for k, node in enumerate(nodes)]


def first_layer_input(entry: Entry) -> tuple | None:
    """The batched input a Sequential's first layer declares (``batch_input_shape``, ...)."""
    config, where = entry.config, entry.where.child("config")
    for key in ("batch_shape", "batch_input_shape"):
        if config.get(key) is not None:
            return parse_shape(config[key], where.child(key).path)
    if config.get("input_shape") is not None:
        shape = parse_shape(config["input_shape"], where.child("input_shape").path)
        return (config.get("batch_size"), *shape)
    return None


def build_input(doc: Mapping[str, Any]) -> tuple | None:
    """Last resort for a Sequential without any input: the shape it was built with."""
    config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    build_config = doc.get("build_config") if isinstance(doc.get("build_config"), dict) else {}
    for value, where in ((config.get("build_input_shape"), "model.config.build_input_shape"),
                         (build_config.get("input_shape"), "model.build_config.input_shape")):
        if value is not None:
            return parse_shape(value, where)
    return None


def operation_arguments(entry: Entry) -> list[Any] | None:
    """An operation's positional arguments: None for each tensor, numbers as they are; None
    when an argument is neither (a list of tensors, a structure)."""
    nodes = entry.raw.get("inbound_nodes")
    args = nodes[0].get("args") if nodes and isinstance(nodes[0], dict) else None
    if not isinstance(args, list) or entry.config.keys() - {"name"}:
        return None
    arguments: list[Any] = []
    for arg in args:
        if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
            arguments.append(None)
        elif isinstance(arg, int | float) and not isinstance(arg, bool):
            arguments.append(arg)
        else:
            return None
    return arguments


def cast_operation(entry: Entry, flavour: str) -> Cast | None:
    """``keras.ops.cast`` of one tensor to the dtype its config names (``Cast``), or None
    where the entry is not that."""
    dtype = entry.config.get("dtype")
    nodes = entry.raw.get("inbound_nodes")
    node = nodes[0] if isinstance(nodes, list) and len(nodes) == 1 else None
    args = node.get("args") if isinstance(node, dict) else None
    if not isinstance(dtype, str) or entry.config.keys() - {"name", "dtype"} \
            or not isinstance(args, list) or len(args) != 1 or node.get("kwargs") \
            or not (isinstance(args[0], dict) and args[0].get("class_name") == "__keras_tensor__"):
        return None
    return Cast(entry.name, input_dtype(dtype, flavour))


def tf_operation(entry: Entry) -> KerasOperation | None:
    """A tf.keras TFOpLambda whose TensorFlow function is element by element (``x + 3.0``
    is ``__operators__.add`` with ``y=3.0``), or None for any other (reported as code)."""
    function = entry.config.get("function")
    operation = TF_FUNCTIONS.get(function) if isinstance(function, str) else None
    nodes = entry.raw.get("inbound_nodes")
    if operation is None or not (isinstance(nodes, list) and nodes):
        return None
    entries = list(keras2_entries(nodes[0], Where()))  # the first argument: one tensor
    first = entries[0][0] if len(entries) == 1 else None
    if first is None or len(first) < 4 or not isinstance(first[3], dict):
        return None
    kwargs = first[3]
    second = ["y"] if is_binary(operation) else []
    if kwargs.keys() - {"name", *second} or not kwargs.keys() >= set(second):
        return None
    arguments = [first[2] if first[0] == CONSTANT else None,
                 *(None if is_keras2_tensor(kwargs[k]) else kwargs[k] for k in second)]
    constants = [a for a in arguments if a is not None]
    if not all(isinstance(a, int | float) and not isinstance(a, bool) for a in constants):
        return None
    return KerasOperation(entry.name, operation, arguments, class_name="TFOpLambda")


def operation_note(entry: Entry) -> Diagnostic:
    module = entry.raw.get("module")
    return diag.error(
        diag.UNKNOWN_LAYER, entry.name,
        f"'{entry.name}' is the Keras operation {module}.{entry.class_name} applied to a tensor "
        "in a functional model; shapecheck computes the element-by-element operations (x + 3, "
        "x * y, keras.ops.relu) but not this one, so its output and what follows cannot be "
        "checked.",
        f'Use the equivalent layer (Add, Multiply, Reshape, Rescaling, ...), or declare what it '
        f'does: "overrides": {{"{entry.name}": {{"output_shape": [null, ...], "params": 0}}}}.')


def mask_only_operations(entries: list[Entry], nodes: Mapping[str, list[Call]],
                         outputs: list[TensorRef]) -> set[str]:
    """Keras operations whose results feed only masks (which are not followed)."""
    operations = {e.name for e in entries if e.is_operation}
    if not operations:
        return set()
    used = {ref.layer for ref in outputs}
    used.update(ref.layer for name, calls in nodes.items() if name not in operations
                for node in calls for ref in node.inputs)
    frontier = [name for name in operations if name in used]
    while frontier:
        for node in nodes.get(frontier.pop(), ()):
            for ref in node.inputs:
                if ref.layer in operations and ref.layer not in used:
                    used.add(ref.layer)
                    frontier.append(ref.layer)
    return operations - used


class MaskOperations:
    """The Keras operations left out because they only compute masks (``operations``, by
    name): the masks that read them are read as ``MaskOp`` trees over the graph's tensors."""

    def __init__(self, operations: Mapping[str, Entry]) -> None:
        self.operations = operations
        self.made: dict[TensorRef, MaskSource] = {}

    def rows(self) -> list[MaskOperation]:
        """The operations as Keras' summary lists them."""
        rows = []
        for name, entry in self.operations.items():
            calls = range(len(entry.raw["inbound_nodes"]))
            last = self.source(TensorRef(name, len(calls) - 1))  # as Keras shows its shape
            rows.append(MaskOperation(name, entry.class_name, last,
                                      [ref for k in calls for ref in node_reads(entry, k)]))
        return rows

    def sources(self, masks: Mapping[str, Any]) -> dict[str, Any]:
        """A node's mask arguments, each reference to an operation read as its MaskOp."""
        return {key: self.source(value) for key, value in masks.items()}

    def source(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.source(item) for item in value]
        if not isinstance(value, TensorRef) or value.layer not in self.operations:
            return value  # a model input, a layer's output, or None
        if value not in self.made:
            self.made[value] = value  # on a cycle, the reference itself: nothing computes it
            self.made[value] = self.operation(self.operations[value.layer], value)
        return self.made[value]

    def operation(self, entry: Entry, ref: TensorRef) -> MaskSource:
        """The call of an operation that ``ref`` names: its tensor arguments read as mask
        sources too, its settings from its config and the node's other keyword arguments
        (``ref`` itself when the operation has no such call: nothing computes it)."""
        nodes = entry.raw["inbound_nodes"]  # a list, checked by inbound_nodes
        node = nodes[ref.call] if 0 <= ref.call < len(nodes) else None
        if not isinstance(node, dict):  # not a Keras 3 node (checked by keras3_node)
            return ref
        arguments = tuple(self.argument(arg) for arg in node.get("args") or ())
        settings = {**(node.get("kwargs") or {}), **entry.config}
        settings.pop("name", None)
        return MaskOp(entry.class_name, arguments, tuple(sorted(settings.items())))

    def argument(self, value: Any) -> Any:
        if isinstance(value, list):
            return tuple(self.argument(item) for item in value)
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return self.source(keras3_tensor(value))
        return value


# -- Keras 3 nodes --------------------------------------------------------------------------------
class MalformedTensor(Exception):
    """A ``__keras_tensor__`` without a valid ``keras_history``: found by the quick walk,
    located (with its path) by a second one."""


def keras3_node(node: Any, entry: Entry, index: int) -> Call:
    """``{"args": [...], "kwargs": {...}}`` with ``__keras_tensor__`` objects as tensors: the
    entry's inbound node ``index``, as its call ``index`` (the node's path is spelt for an
    error alone)."""
    if not isinstance(node, dict):
        raise node_where(entry, index).fail(
            "a Keras 3 inbound node is an object with 'args' and 'kwargs'")
    args, kwargs = node.get("args", []), node.get("kwargs") or {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise node_where(entry, index).fail("'args' must be a list and 'kwargs' an object")
    try:
        inputs: list[TensorRef] = []
        for arg in args:  # collect_keras3(args, inputs), the usual argument one call less
            if type(arg) is dict and arg.get("class_name") == "__keras_tensor__":
                inputs.append(keras3_tensor(arg))
            else:
                collect_keras3(arg, inputs)
        if not kwargs or kwargs == NO_MASK:  # the usual call: no keyword tensor nor option
            found = Call(entry.name, inputs, {}, index)
        else:
            found = split_kwargs(Call(entry.name, inputs, {}, index), kwargs,
                                 {key: keras3_tensors(value) for key, value in kwargs.items()},
                                 keras3_mask)
    except MalformedTensor:
        locate_malformed({"args": args, "kwargs": kwargs}, node_where(entry, index).keys)
        raise
    if not found.inputs:
        raise node_where(entry, index).fail(NO_TENSOR)
    return found


def keyword_tensors(entry: Entry, call: Call) -> bool:
    """Whether a Keras 3 call of several tensors was given some as keyword arguments
    (``MultiHeadAttention()(query=q, value=v)``), which Keras lists by sorted keyword."""
    if len(call.inputs) < 2:
        return False
    kwargs = entry.raw["inbound_nodes"][call.index].get("kwargs")
    return bool(kwargs) and kwargs != NO_MASK


def node_reads(entry: Entry, index: int) -> list[TensorRef]:
    """Every tensor a Keras 3 inbound node reads, masks too, in the order of Keras'
    ``tree.flatten((args, kwargs))``: dictionaries by sorted key (the node was checked by
    ``keras3_node``)."""
    node = entry.raw["inbound_nodes"][index]
    found: list[TensorRef] = []
    collect_in_keras_order([node.get("args", []), node.get("kwargs") or {}], found)
    return found


def collect_in_keras_order(value: Any, found: list[TensorRef]) -> None:
    if isinstance(value, list):
        for item in value:
            collect_in_keras_order(item, found)
    elif isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            found.append(keras3_tensor(value))
        else:
            for key in sorted(value):
                collect_in_keras_order(value[key], found)


def node_where(entry: Entry, index: int) -> Where:
    return entry.where.child("inbound_nodes", index)


def keras3_tensors(value: Any) -> list[TensorRef]:
    """Every ``__keras_tensor__`` in a (nested) argument, in order."""
    found: list[TensorRef] = []
    collect_keras3(value, found)
    return found


def collect_keras3(value: Any, found: list[TensorRef]) -> None:
    if isinstance(value, list):  # first: a node's args are a list
        for item in value:
            if type(item) is dict and item.get("class_name") == "__keras_tensor__":
                found.append(keras3_tensor(item))  # the usual argument, one call less
            else:
                collect_keras3(item, found)
    elif isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            found.append(keras3_tensor(value))
        else:
            for item in value.values():
                collect_keras3(item, found)


def keras3_tensor(value: dict[str, Any]) -> TensorRef:
    """The tensor a ``__keras_tensor__`` object stands for."""
    config = value.get("config")
    history = config.get("keras_history") if type(config) is dict else None
    if type(history) is list and len(history) == 3 and type(history[0]) is str \
            and type(history[1]) is int and type(history[2]) is int:
        return NEW_TENSOR_REF(TensorRef, history)  # what Keras writes
    if not is_history(history):
        raise MalformedTensor
    return TensorRef(history[0], history[1], history[2])



def keras3_mask(value: Any) -> TensorRef | list[Any] | None:
    """A mask argument: a tensor, or a list of tensors and None (one per input tensor)."""
    if isinstance(value, list):
        return [keras3_mask(item) for item in value]
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return keras3_tensor(value)
    return None


def locate_malformed(value: Any, keys: tuple[str | int, ...]) -> None:
    """Raise the 422 of the first malformed ``__keras_tensor__`` in ``value``, at its path."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            try:
                keras3_tensor(value)
            except MalformedTensor:
                raise Where((*keys, "config", "keras_history")).fail(HISTORY_FORM) from None
        else:
            for key, item in value.items():
                locate_malformed(item, (*keys, key))
    elif isinstance(value, list):
        for k, item in enumerate(value):
            locate_malformed(item, (*keys, k))


# -- tf.keras 2 nodes ------------------------------------------------------------------------------
def keras2_node(node: Any, layer: str, index: int, where: Where,
                offsets: Mapping[str, int], reads: dict[tuple[str, int], list[TensorRef]],
                ) -> Call:
    """``[[layer, node_index, tensor_index, kwargs], ...]``, the inbound node ``index`` of
    ``layer``, as its call ``index``; kwargs tensors are triples. Where a call's mask makes
    tf.keras 2 list what it reads otherwise than its inputs (positional tensors, then those
    of its keywords in the order of the call, masks too), ``reads`` gets that order."""
    entries = list(keras2_entries(node, where))
    inputs = [history_ref(e[:3], w, offsets) for e, w in entries if e[0] != CONSTANT]
    kwargs = next((e[3] for e, _ in entries if len(e) > 3 and isinstance(e[3], dict)), {})
    tensors = {key: list(keras2_tensors(value, where.child("kwargs", key), offsets))
               for key, value in kwargs.items()}
    listed = [*inputs, *(ref for refs in tensors.values() for ref in refs)]
    found = split_kwargs(Call(layer, inputs, {}, index), kwargs, tensors,
                         lambda value: keras2_mask(value, where, offsets))
    if not found.inputs:
        raise where.fail(NO_TENSOR)
    if listed != found.inputs:
        reads[layer, index] = listed
    return found


def keras2_entries(value: Any, where: Where) -> Iterator[tuple[list[Any], Where]]:
    """The ``[layer, node_index, tensor_index, (kwargs)]`` entries of a node, in order."""
    if is_keras2_tensor(value):
        yield value, where
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from keras2_entries(item, where.child(k))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from keras2_entries(item, where.child(key))
    else:
        raise where.fail("a tf.keras inbound node lists [layer, node_index, tensor_index, kwargs]")


def keras2_tensors(value: Any, where: Where, offsets: Mapping[str, int]) -> Iterator[TensorRef]:
    """The ``[layer, node_index, tensor_index]`` triples in a keyword argument's value."""
    if is_keras2_tensor(value):
        if value[0] != CONSTANT:
            yield history_ref(value[:3], where, offsets)
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from keras2_tensors(item, where.child(k), offsets)


def keras2_mask(value: Any, where: Where,
                offsets: Mapping[str, int]) -> TensorRef | list[Any] | None:
    """A tf.keras 2 mask argument: a tensor triple, or a list of them and None."""
    if is_keras2_tensor(value):
        return None if value[0] == CONSTANT else history_ref(value[:3], where, offsets)
    if isinstance(value, list):
        return [keras2_mask(item, where, offsets) for item in value]
    return None


def is_keras2_tensor(value: Any) -> bool:
    if isinstance(value, list) and len(value) in (3, 4) and value[0] == CONSTANT:
        return True  # [CONSTANT, -1, value, kwargs]: a constant where a tensor could be
    return is_history(value) and len(value) <= 4


# -- shared ---------------------------------------------------------------------------------------
def split_kwargs(call: Call, kwargs: Mapping[str, Any], tensors: Mapping[str, list[TensorRef]],
                 mask_of: Callable[[Any], Any]) -> Call:
    """``call`` with a node's keyword arguments: tensor arguments (``tensors``: those of each
    argument) join its inputs in ``TENSOR_KWARGS`` order; masks (``mask_of`` reads one) go
    apart (a structure that holds tensors but is no mask stays an option, which the forward
    pass refuses); the other arguments that are not None become options."""
    tensor_kwargs: dict[str, list[TensorRef]] = {}
    masks: dict[str, Any] = {}
    for key, value in kwargs.items():
        found = tensors[key]
        mask = mask_of(value) if found and is_mask(key) else None
        if mask is not None:
            masks[key] = mask
        elif found and is_mask(key):
            call.options[key] = value
        elif found:
            tensor_kwargs[key] = found
        elif value is not None:
            call.options[key] = value
    if tensor_kwargs:
        ranked = sorted(tensor_kwargs, key=lambda k: TENSOR_KWARGS.index(k)
                        if k in TENSOR_KWARGS else len(TENSOR_KWARGS))
        for key in ranked:
            call.inputs.extend(tensor_kwargs[key])
    call.masks = masks or None
    return call


def is_mask(argument: str) -> bool:
    return argument == "mask" or argument.endswith("_mask")


def history_ref(history: Any, where: Where, offsets: Mapping[str, int]) -> TensorRef:
    """``[layer, node_index, tensor_index]`` as a TensorRef (node index as the call index)."""
    if not is_history(history):
        raise where.fail(HISTORY_FORM)
    name, node, index = history[:3]
    return NEW_TENSOR_REF(TensorRef, (name, node - offsets.get(name, 0), index))


def is_history(value: Any) -> bool:
    return (isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str)
            and type(value[1]) is int and type(value[2]) is int)  # not bool


def tensor_triples(value: Any, where: Where, offsets: Mapping[str, int]) -> list[TensorRef]:
    """``input_layers`` / ``output_layers``: one triple, a list of them, or a dict of them."""
    if value is None:
        raise where.fail("is missing: a functional model lists its input and output tensors")
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [history_ref(value, where, offsets)]
    if isinstance(value, dict):
        return [r for key, item in value.items()
                for r in tensor_triples(item, where.child(key), offsets)]
    if isinstance(value, list):
        return [r for k, item in enumerate(value)
                for r in tensor_triples(item, where.child(k), offsets)]
    raise where.fail(HISTORY_FORM)
