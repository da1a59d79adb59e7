"""The layer graph every model format is loaded into, and shape propagation over it.

A model is a set of named inputs, a set of layers, and the *calls* of those layers: a layer
called twice (shared weights) has two calls. A tensor is named by ``TensorRef(layer, call,
index)``: output ``index`` of call ``call`` of ``layer``; a model input is ``TensorRef(name)``.
"""

from __future__ import annotations

import difflib
import sys
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import diagnostics as diag
from .diagnostics import Diagnostic
from .errors import LayerInputIncompatible
from .layers.base import Layer, Weight
from .shapes import Shape, shapes_text


class TensorRef(NamedTuple):
    # A named tuple, not a frozen dataclass: tensors are created and hashed for every call of
    # every layer, and a tuple does both in C.
    layer: str
    call: int = 0
    index: int = 0


def output_name(ref: TensorRef) -> str:
    """A model output's name, as ``y_shape`` and the answer name it: its layer's, and
    ``layer:index`` for a layer's other outputs."""
    return ref.layer if ref.index == 0 else f"{ref.layer}:{ref.index}"


NEW_TENSOR_REF = tuple.__new__
"""``NEW_TENSOR_REF(TensorRef, (layer, call, index))`` makes a TensorRef in C, without the named
tuple's ``__new__`` in Python: twice as fast, for the hottest loops."""


class MaskOp(NamedTuple):
    """A Keras operation that computes a mask (``keras.ops.not_equal(ids, 0)``, the
    ``logical_or`` Keras writes for a merge's mask): its class name, its positional arguments
    (``TensorRef``, ``MaskOp``, constants, or tuples of them) and its settings (``axis``...)."""

    operation: str
    arguments: tuple[Any, ...]
    config: tuple[tuple[str, Any], ...] = ()


MaskSource = TensorRef | MaskOp


MASK_ARGUMENTS = ("mask", "query_mask", "value_mask", "key_mask", "attention_mask")
"""The call arguments Keras' layers read as masks: tensors, named as inputs are
(``use_causal_mask`` is a plain option)."""


@dataclass(slots=True)
class Call:
    """One call of a layer: its input tensors, in order, and non-tensor call options."""

    layer: str
    inputs: list[TensorRef]
    options: dict[str, Any] = field(default_factory=dict)
    index: int = 0  # the how-many-th call of this layer
    masks: dict[str, Any] | None = None
    """Masks given as call arguments (``mask``, ``query_mask``, ``value_mask``, ``key_mask``,
    ``attention_mask``) by name: a ``MaskSource``, or a list of them and None (Attention's
    ``mask=[query_mask, value_mask]``). Only the forward pass reads them: they are not inputs,
    and shapes do not depend on them."""


def mask_tensors(call: Call) -> list[TensorRef]:
    """The tensors that a call's mask arguments read (their MaskOps' included)."""
    found: list[TensorRef] = []
    pending: list[Any] = list((call.masks or {}).values())
    while pending:
        item = pending.pop()
        if isinstance(item, TensorRef):
            found.append(item)
        elif isinstance(item, MaskOp):
            pending.extend(item.arguments)
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return found


@dataclass
class MaskOperation:
    """A Keras 3 operation left out of the layers because its result feeds only masks (the
    ``NotEqual`` Keras writes after ``Embedding(mask_zero=True)``): not checked as a layer,
    but a row of Keras' summary. ``computes``: what its last call computes, over the graph's
    tensors; ``reads``: the tensors its calls read, in Keras' order."""

    name: str
    class_name: str
    computes: MaskSource
    reads: list[TensorRef]


@dataclass
class ModelInput:
    name: str
    shape: Shape  # batched: the batch axis first
    dtype: str | None = None
    """The integer or boolean dtype Keras gives the input's tensor (``formats.common.
    input_dtype``), or None for floats."""


@dataclass
class ModelGraph:
    name: str
    format: str
    inputs: list[ModelInput]
    layers: dict[str, Layer]
    calls: list[Call]
    outputs: list[TensorRef]
    paths: dict[str, str] = field(default_factory=dict)
    """Layer name -> JSON Pointer of its entry in the submitted model (for fixes)."""
    notes: list[Diagnostic] = field(default_factory=list)
    """What the loader found: legacy spellings, unknown or unsupported layers, graph errors."""
    sequential: bool = False
    """A Sequential model (a Keras ``Sequential``, or a native chain that names no inputs),
    whose summary lists no InputLayer."""
    listing: list[str] = field(default_factory=list)
    """The inputs and layers in the order the document lists them (Keras' ``model.layers``),
    where the loader knows it; else inputs first."""
    mask_operations: list[MaskOperation] = field(default_factory=list)
    """Keras 3's operations whose results feed only masks, which its summary lists."""
    keras_reads: dict[tuple[str, int], list[TensorRef]] = field(default_factory=dict)
    """The calls given masks or keyword tensors, by (layer, call index): every tensor the call
    reads, its masks too, in Keras' order (Keras 3: args, then keywords sorted; tf.keras 2:
    keywords in the order of the call), where that is not its inputs: what Keras' summary
    shows as "Connected to"."""

    def input_names(self) -> set[str]:
        return {i.name for i in self.inputs}


class Unresolved(Layer):
    """Stand-in for a layer the engine cannot compute (unknown or unsupported type).

    The loader has already reported why; its outputs are unknown and so is everything
    downstream, without follow-on errors.
    """

    keras_name = "Unresolved"
    family = "core"
    arity = None

    def __init__(self, name: str, class_name: str) -> None:
        super().__init__(name, {})
        self.class_name = class_name


@dataclass(slots=True)
class LayerState:
    """What propagation learnt about one layer, over all its calls."""

    layer: Layer
    calls: list[Call] = field(default_factory=list)
    input_shapes: list[list[Shape]] = field(default_factory=list)
    output_shapes: list[Shape] | None = field(default_factory=list)
    weights: list[Weight] | None = None
    failed: bool = False

    def call_outputs(self, call: int) -> list[Shape]:
        """The output shapes of one call (``output_shapes`` holds every call's, in order)."""
        per_call = len(self.output_shapes or ()) // max(len(self.input_shapes), 1)
        return list((self.output_shapes or ())[call * per_call:(call + 1) * per_call])

    def sort_calls(self) -> None:
        """Calls and their shapes in the layer's call order (Keras' node order), whatever
        order the propagation met them in: a shared layer's first call may come late."""
        per_call = len(self.output_shapes or ()) // len(self.calls)
        order = sorted(range(len(self.calls)), key=lambda k: self.calls[k].index)
        self.calls = [self.calls[k] for k in order]
        self.input_shapes = [self.input_shapes[k] for k in order]
        self.output_shapes = [shape for k in order
                              for shape in (self.output_shapes or ())[k * per_call:
                                                                     (k + 1) * per_call]]


@dataclass
class Propagation:
    states: dict[str, LayerState]
    tensors: dict[TensorRef, Shape | None]
    order: list[Call]
    diagnostics: list[Diagnostic]
    dtypes: tuple[ModelGraph, dict[TensorRef, str]] | None = field(
        default=None, repr=False, compare=False)
    """``computed.tensor_dtypes`` of the graph it was last asked for (lint and the answer
    both ask)."""

    def output_shapes(self, graph: ModelGraph) -> list[Shape | None]:
        return [self.tensors.get(ref) for ref in graph.outputs]

    def outputs_by_call(self) -> dict[tuple[str, int], list[TensorRef]]:
        """The output tensors of every call, in order, keyed by (layer, call index)."""
        outputs: dict[tuple[str, int], list[TensorRef]] = defaultdict(list)
        for ref in sorted(self.tensors, key=lambda ref: ref.index):
            outputs[ref.layer, ref.call].append(ref)
        return outputs


def topological_calls(graph: ModelGraph) -> tuple[list[Call], list[Diagnostic]]:
    """Calls ordered so that every call comes after those it reads from (Kahn's algorithm).

    Calls that read a tensor nobody produces, or that sit on a cycle, are reported as
    ``invalid_graph`` and left out. Documents usually list their layers in such an order
    already (Keras writes them so): then that order is kept, as Kahn's algorithm would keep it.
    """
    if in_order(graph):
        return list(graph.calls), []
    calls = graph.calls
    producers = {(c.layer, c.index): i for i, c in enumerate(calls)}
    inputs = graph.input_names() - graph.layers.keys()
    problems: list[Diagnostic] = []
    waiting: dict[int, int] = {}  # call position -> how many producers it still waits for
    readers: dict[int, list[int]] = defaultdict(list)
    ready: deque[int] = deque()
    for i, call in enumerate(calls):
        deps: set[int] = set()
        for ref in call.inputs:
            if ref.layer in inputs:
                continue
            producer = producers.get((ref.layer, ref.call))
            if producer is None:
                problems.append(dangling(call, ref, graph))
                break
            deps.add(producer)
        else:
            for producer in deps:  # once per producer, however often the call reads it
                readers[producer].append(i)
            waiting[i] = len(deps)
            if not deps:
                ready.append(i)
    order: list[Call] = []
    while ready:
        i = ready.popleft()
        order.append(calls[i])
        for reader in readers[i]:
            waiting[reader] -= 1
            if waiting[reader] == 0:
                ready.append(reader)
    stuck = [calls[i] for i, count in waiting.items() if count]
    for call in stuck:
        problems.append(diag.error(
            diag.INVALID_GRAPH, call.layer,
            f"Layer '{call.layer}' is on a cycle or depends on a layer that cannot be reached: "
            "its inputs can never be computed.",
            "Each layer may only take inputs from model inputs or from layers before it."))
    return order, problems


def in_order(graph: ModelGraph) -> bool:
    """Whether every call reads only model inputs and calls listed before it."""
    # name -> its last call listed so far; a model input is always there
    called = dict.fromkeys(graph.input_names() - graph.layers.keys(), sys.maxsize)
    for call in graph.calls:
        for ref in call.inputs:
            if called.get(ref.layer, -1) < ref.call:
                return False
        if called.get(call.layer, -1) != call.index - 1:
            return False
        called[call.layer] = call.index
    return True


def dangling(call: Call, ref: TensorRef, graph: ModelGraph) -> Diagnostic:
    return diag.error(diag.INVALID_GRAPH, call.layer,
                      f"Layer '{call.layer}' takes its input from {missing(ref, graph)}.",
                      known_names(graph))


def missing(ref: TensorRef, graph: ModelGraph) -> str:
    """What a reference to a tensor that no call makes names instead."""
    if ref.layer in graph.layers:
        return f"call {ref.call} of layer '{ref.layer}', which is called fewer times"
    close = difflib.get_close_matches(ref.layer, [*graph.input_names(), *graph.layers], n=1)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    return f"'{ref.layer}', which is neither a layer nor a model input{guess}"


def known_names(graph: ModelGraph) -> str:
    return f"Known names: {', '.join(sorted([*graph.input_names(), *graph.layers])[:12])}."


def unmade_outputs(graph: ModelGraph, order: list[Call],
                   tensors: dict[TensorRef, Shape | None]) -> list[Diagnostic]:
    """``invalid_graph`` for each model output that names a tensor the model does not make.
    (The outputs of a call left out of ``order`` are unknown: its own error explains them.)"""
    if all(ref in tensors for ref in graph.outputs):
        return []
    ran = {(call.layer, call.index) for call in order}
    declared = {(call.layer, call.index) for call in graph.calls}
    problems = []
    for k, ref in enumerate(graph.outputs):
        key = (ref.layer, ref.call)
        if ref in tensors or key in declared - ran:
            continue
        if key in ran or ref.layer in graph.input_names():
            made = sum(1 for t in tensors if (t.layer, t.call) == key)
            what = f"output {ref.index} of '{ref.layer}', which has {made} output(s)"
        else:
            what = missing(ref, graph)
        problems.append(diag.error(diag.INVALID_GRAPH, None,
                                   f"Model output {k} is {what}.", known_names(graph)))
    return problems


def propagate(graph: ModelGraph, computed: Computed | None = None) -> Propagation:
    """Compute every tensor's shape and every layer's weights, reporting each error once.

    A layer whose inputs are unknown because an upstream layer failed is skipped silently:
    its outputs are unknown too, so only independent errors are reported. ``computed``: the
    weights and outputs already computed for (config key, input shapes), shared by the
    propagations of one request.
    """
    order, problems = topological_calls(graph)
    tensors: dict[TensorRef, Shape | None] = {TensorRef(i.name): i.shape for i in graph.inputs}
    states = {name: LayerState(layer) for name, layer in graph.layers.items()}
    computed = {} if computed is None else computed
    for call in order:
        state = states[call.layer]
        outputs = run_call(state, call, tensors, problems, computed)
        for i, shape in enumerate(outputs or ()):
            tensors[NEW_TENSOR_REF(TensorRef, (call.layer, call.index, i))] = shape
        if outputs is None:
            tensors[TensorRef(call.layer, call.index, 0)] = None
    for state in states.values():
        if state.failed or not state.calls:
            state.output_shapes = None
        elif len(state.calls) > 1:
            state.sort_calls()
    problems.extend(unmade_outputs(graph, order, tensors))
    problems.extend(returned_inputs(graph, order))
    return Propagation(states, tensors, order, problems)


def returned_inputs(graph: ModelGraph, order: list[Call]) -> list[Diagnostic]:
    """The calls of layers whose symbolic call Keras 3 answers with the input tensor itself
    (``Layer.returns_its_input``): the tensor keeps no producer of its own. On model inputs
    only, and not a model output, the model reads past the call (a warning: the layer never
    runs); anywhere else the call is the producer of its own input, a cycle Keras refuses."""
    returning = {name for name, layer in graph.layers.items() if layer.returns_its_input}
    notes = []
    model_inputs = graph.input_names() - graph.layers.keys()
    for call in order:
        if call.layer not in returning:
            continue
        layer = graph.layers[call.layer]
        skipped = (all(ref.layer in model_inputs for ref in call.inputs)
                   and TensorRef(call.layer, call.index) not in graph.outputs)
        if skipped:
            notes.append(diag.warning(diag.LAYER_NOT_APPLIED, call.layer, *layer.skipped()))
        else:
            notes.append(diag.error(diag.INVALID_GRAPH, call.layer, *layer.cycle()))
    return notes


_MISSING = object()
Computed = dict[tuple, tuple[list[Weight], list[Shape]]]
"""(config key, input shapes) -> (weights, output shapes): what a layer's build and shape rule
give, which depend on nothing else."""


def run_call(state: LayerState, call: Call, tensors: dict[TensorRef, Shape | None],
             problems: list[Diagnostic], computed: Computed) -> list[Shape] | None:
    """Propagate one call; None when its outputs are unknown."""
    state.calls.append(call)
    shapes = []
    for ref in call.inputs:
        shape = tensors.get(ref, _MISSING)
        if shape is _MISSING:
            problems.append(missing_output(call, ref, tensors))
            state.failed = True
            return None
        shapes.append(shape)
    if None in shapes or isinstance(state.layer, Unresolved):
        state.failed = True
        return None
    state.input_shapes.append(shapes)
    try:
        outputs = compute(state, shapes, call, computed)
    except LayerInputIncompatible as exc:
        problem = diag.error(diag.LAYER_INPUT_INCOMPATIBLE, call.layer, exc.message, exc.hint)
        problem.at_predict = exc.declared is not None
        problems.append(problem)
        state.failed = True
        return exc.declared
    if state.output_shapes is not None:
        state.output_shapes.extend(outputs)
    return outputs


def compute(state: LayerState, shapes: list[Shape], call: Call,
            computed: Computed) -> list[Shape]:
    """Build (first call) or check (later calls) the weights, then the output shapes.

    Layers of equal ``config_key`` called on equal shapes compute the same weights and
    outputs (models repeat their blocks): ``computed`` keeps them for the rest of the
    propagation.
    """
    layer = state.layer
    key = (layer.config_key, *shapes) if layer.config_key and not call.options else None
    known = computed.get(key) if key else None
    # A new list for each build: rows take its identity for (config, input shapes).
    weights = known[0] if known else list(layer.build(shapes))
    if state.weights is None:
        state.weights = weights
    elif [w.shape for w in weights] != [w.shape for w in state.weights]:
        first, now = shapes_text(state.input_shapes[0]), shapes_text(shapes)
        raise LayerInputIncompatible(
            f"'{layer.name}' is shared: its first call created weights for input {first}, "
            f"but this call gives {now}, which needs weights of other shapes.",
            "A shared layer must receive the same feature sizes on every call.")
    if known:
        return list(known[1])
    if call.options:
        return layer.output_shapes_for_call(shapes, call.options)
    outputs = layer.output_shapes(shapes)
    if key:
        computed[key] = (weights, outputs)
    return list(outputs)


def missing_output(call: Call, ref: TensorRef,
                   tensors: dict[TensorRef, Shape | None]) -> Diagnostic:
    count = sum(1 for t in tensors if t.layer == ref.layer and t.call == ref.call)
    return diag.error(
        diag.INVALID_GRAPH, call.layer,
        f"Layer '{call.layer}' reads output {ref.index} of '{ref.layer}', which has only "
        f"{count} output(s).", None)
