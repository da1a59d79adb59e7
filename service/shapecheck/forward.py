"""The numpy forward pass over a propagated graph, with Keras inference semantics.

Each layer's kernel lives in its class (``Layer.forward``); this module walks the calls in
order, feeds each its inputs and weights, frees every tensor after its last reader, and checks
every runtime shape against the static inference: a difference is a bug in a shape rule or a
kernel, unless the layer says that Keras declares a shape it does not compute
(``Layer.undeclared_shape``). The layers after such a shape run on it, as predict runs them,
where their weights fit it (``computed``); elsewhere the pass refuses. Keras masks travel
beside the values: each call's output masks come from ``Layer.compute_mask``, and a call whose
inputs carry masks runs ``Layer.forward_masked``; a call with options
(``return_attention_scores``) runs ``Layer.forward_for_call``. A call given masks as arguments
(``Call.masks``) runs ``forward_masked`` with each mask computed (``mask_value``) and passed
among the options under its argument's name, as Keras' ``call`` receives it; its ``mask``
argument also takes the place of the masks its inputs carry, for the kernel and for its output
masks, as in Keras' ``Layer.__call__``. A nested model (``RunsWithMasks``) reads its ``mask``
argument itself and gives its output masks with its outputs.
A kernel that cannot run on the data raises NotImplementedError, which refuses the request
(422) naming the layer.

``forward_pass`` answers the ``forward`` part of a request, in this order: validate it (422),
propagate the shapes again with the real batch and input sizes, estimate memory and
multiply-accumulates and refuse what is over the limits (413), and only then decode the data,
draw the weights and run, with a wall-clock deadline checked between layers. The same model
with data of the same shapes (its ``model_key``) reuses the propagation, the estimate and,
with the same default weights, the forward plan: ~2 ms of Python for ResNet50.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from . import arrays, budget, computed, forward_plan, nonfinite
from . import diagnostics as diag
from .config import Limits
from .errors import RequestInvalid
from .fields import Choice, Int, PositiveInt, flatten_messages
from .graph import (
    MASK_ARGUMENTS,
    Call,
    MaskOp,
    ModelGraph,
    ModelInput,
    Propagation,
    TensorRef,
    output_name,
    propagate,
)
from .initializers import WeightCache, default_weights
from .layers.adapters import is_adapter
from .layers.base import (
    FLOAT_DTYPES,
    LOW_PRECISION,
    Layer,
    Mask,
    Weight,
    integer_values,
    low_precision_values,
)
from .layers.core import Embedding, Opaque
from .lru import LRU
from .shapes import Shape, format_shape

if TYPE_CHECKING:
    from .analysis import Analysis

Array = np.ndarray
DATA_CODES = {diag.INPUT_SHAPE_MISMATCH, diag.TARGET_SHAPE_MISMATCH}
"""Diagnostics about x_shape/y_shape: they do not stop the model from running."""


class ShapeDisagreement(AssertionError):
    """A kernel produced a shape the static inference did not predict (an engine bug)."""


RUNNING_DEADLINE: ContextVar[budget.Deadline | None] = ContextVar("deadline", default=None)
"""The deadline of the forward pass under way: a nested model's layers check it too."""


def run_forward(graph: ModelGraph, prop: Propagation, inputs: Mapping[str, Array],
                weights: Mapping[str, Sequence[Array]],
                deadline: budget.Deadline | None = None,
                key: Hashable | None = None, watch: CallWatch | None = None,
                ) -> dict[TensorRef, Array]:
    """The model outputs' values, given the model inputs and every layer's weights; ``key``:
    the graph's ``model_key``, under which its plan is kept (``forward_plan.prepare``).

    Every other tensor is freed after its last reader, and so is its mask: as
    ``budget.estimate`` counts them, except that a mask argument that reads a tensor (which
    the estimate does not see) also keeps it until then.
    """
    running = RUNNING_DEADLINE.set(deadline)
    try:
        return run_graph(graph, prop, inputs, weights, deadline, key=key, watch=watch)[0]
    finally:
        RUNNING_DEADLINE.reset(running)


class CallWatch(Protocol):
    """What sees each call's outputs as ``run_graph`` runs the layers as declared."""

    def after(self, layer: Layer, call: Call, inputs: Sequence[Array],
              outputs: Sequence[Array], weights: Sequence[Array]) -> None: ...


class LayerStats:
    """Each call's outputs' statistics (``stats``), by (layer, call index): what every layer
    computes, for ``"layer_stats": true``."""

    def __init__(self) -> None:
        self.by_call: dict[tuple[str, int], list[dict[str, float | int | None]]] = {}

    def after(self, layer: Layer, call: Call, inputs: Sequence[Array],
              outputs: Sequence[Array], weights: Sequence[Array]) -> None:
        self.by_call[call.layer, call.index] = [stats(out) for out in outputs]


def run_graph(graph: ModelGraph, prop: Propagation, inputs: Mapping[str, Array],
              weights: Mapping[str, Sequence[Array]], deadline: budget.Deadline | None = None,
              input_masks: Mapping[str, Mask] | None = None, key: Hashable | None = None,
              watch: CallWatch | None = None,
              ) -> tuple[dict[TensorRef, Array], dict[TensorRef, Array]]:
    """``run_forward``'s outputs, and the Keras masks they carry; ``input_masks``: those of
    the model inputs (a nested model's, given by the outer call). Without a ``deadline``, the
    one of the pass under way (``RUNNING_DEADLINE``) is checked. With a ``watch``, each layer
    runs as declared (no plan) and the watch sees each call's outputs."""
    deadline = deadline or RUNNING_DEADLINE.get()
    weights = {name: kernel_arrays(graph.layers[name], arrays) if name in graph.layers
               else arrays for name, arrays in weights.items()}
    planned, weights = ((graph, weights) if watch is not None else
                        forward_plan.prepare(graph, prop, weights, key))  # folds BN, activations
    last = budget.last_readers(prop.order)
    keep = set(graph.outputs)
    call_outputs = prop.outputs_by_call()
    dtypes = computed.tensor_dtypes(graph, prop)
    values: dict[TensorRef, Array] = {
        TensorRef(i.name): keras_input(np.asarray(inputs[i.name], dtype=np.float32), i.dtype)
        for i in graph.inputs}
    masks: dict[TensorRef, Array] = {TensorRef(n): m for n, m in (input_masks or {}).items()
                                     if m is not None}
    undeclared: dict[TensorRef, Undeclared] = {}
    for step, call in enumerate(prop.order):
        if deadline is not None:
            deadline.check(call.layer)
        layer, declared = planned.layers[call.layer], graph.layers[call.layer]
        received = [values[ref] for ref in call.inputs]
        ins = autocast(declared, call, received, dtypes)
        in_masks = [masks.get(ref) for ref in call.inputs]
        options = call.options
        check_mask_options(layer, options)
        # As declared: the plan's rewrites build other weights (a folded or dropped bias).
        built = built_for_inputs(declared, call, ins, prop, undeclared)
        if built is not declared:  # built for the declared shapes, run on computed ones
            layer = built
        if call.masks:
            options = {**options, **{key: mask_argument(layer, key, source, values)
                                     for key, source in call.masks.items()}}
        layer_weights = weights.get(call.layer, ())
        outputs, out_masks = run_call(layer, ins, layer_weights, in_masks, options,
                                      bool(call.masks))
        refs = call_outputs[call.layer, call.index]
        read = computed.dtype_read(call, dtypes)
        if read is not None:
            outputs = on_integer_inputs(declared, ins, layer_weights, outputs, read)
        if len(outputs) != len(refs):
            raise ShapeDisagreement(f"{call.layer}: the kernel gave {len(outputs)} output(s), "
                                    f"the shape rule {len(refs)}")
        if dtypes:
            outputs = [held_as(out, dtypes.get(ref)) for ref, out in zip(refs, outputs,
                                                                          strict=True)]
        if watch is not None:
            watch.after(layer, call, received, outputs, layer_weights)
        for i, (ref, out) in enumerate(zip(refs, outputs, strict=True)):
            check_shape(layer, call, ref, out, prop, undeclared, ins)
            if ref in last or ref in keep:
                values[ref] = out.astype(np.float32, copy=False)
                if i < len(out_masks) and out_masks[i] is not None:
                    masks[ref] = out_masks[i]
        for ref in budget.reads(call):
            if last[ref] == step and ref not in keep:
                values.pop(ref, None)
                masks.pop(ref, None)
    return ({ref: values[ref] for ref in graph.outputs},
            {ref: masks[ref] for ref in graph.outputs if ref in masks})


def kernel_arrays(layer: Layer, arrays: Sequence[Array]) -> Sequence[Array]:
    """The arrays ``layer``'s kernel reads, from the weights Keras holds (``merged_adapters``);
    a layer whose weights the forward pass cannot compute with refuses the request."""
    try:
        return layer.merged_adapters(arrays)
    except NotImplementedError as exc:
        raise cannot_run(layer, f"cannot run: {exc}") from None


def autocast(layer: Layer, call: Call, inputs: list[Array],
             dtypes: Mapping[TensorRef, str]) -> list[Array]:
    """The inputs as ``layer`` computes on them: under a mixed-precision policy, Keras casts
    its float inputs to float16 or bfloat16 (so a value past float16's 65,504 is infinite)."""
    if layer.compute_dtype not in LOW_PRECISION:
        return inputs
    return [low_precision_values(x, layer.compute_dtype)
            if dtypes.get(ref) in (None, "float64") else x
            for ref, x in zip(call.inputs, inputs, strict=True)]


def held_as(values: Array, dtype: str | None) -> Array:
    """A layer's output as Keras holds it: rounded to float16 or bfloat16 under a
    mixed-precision policy (and so infinite beyond float16's 65,504, as in predict), kept in
    float32; other dtypes as they are."""
    return low_precision_values(values, dtype) if dtype in LOW_PRECISION else values


def keras_input(values: Array, dtype: str | None) -> Array:
    """A model input's values as Keras converts them to its ``dtype``: an integer one (toward
    zero, saturated), bool (nonzero is True) or a low-precision float; kept in float32 (and
    a float64 one computed in it)."""
    if dtype is None or dtype == "float64":
        return values
    if dtype == "bool":
        return (values != 0).astype(np.float32)
    if dtype in LOW_PRECISION:
        return low_precision_values(values, dtype)
    return integer_values(values, dtype)


def on_integer_inputs(layer: Layer, inputs: Sequence[Array], weights: Sequence[Array],
                      outputs: list[Array], dtype: str) -> list[Array]:
    """The outputs as Keras computes them from integer tensors of ``dtype``
    (``Layer.on_integer_inputs``), or a 422 where predict fails on them or reads booleans."""
    if dtype == "bool":
        if layer.integer_caveat(dtype) is None:
            return outputs
        raise cannot_run(layer, "reads booleans, and Keras 3 computes otherwise on them "
                                f"(it {layer.integer_caveat(dtype)}, in bool), which the forward "
                                "pass does not follow")
    try:
        return layer.on_integer_inputs(inputs, weights, outputs, dtype)
    except NotImplementedError as exc:
        raise cannot_run(layer, f"cannot run on integer tensors: {exc}") from None


class RunsWithMasks(Layer):
    """A layer whose output masks come out of the computation itself (a nested model's are
    those its inner layers give), not from ``compute_mask``; it reads its ``mask`` argument
    (in ``options``) itself."""

    def forward_with_masks(self, inputs: Sequence[Array], weights: Sequence[Array],
                           masks: Sequence[Mask], options: Mapping[str, Any],
                           ) -> tuple[list[Array], list[Mask]]:
        raise NotImplementedError


def run_call(layer: Layer, inputs: list[Array], weights: Sequence[Array], masks: list[Mask],
             options: Mapping[str, Any], given_masks: bool = False,
             ) -> tuple[list[Array], list[Mask]]:
    """One call's kernel (masked, with options, or plain) and its output masks: ``masks`` are
    those the inputs carry, ``given_masks`` says whether ``options`` hold mask arguments (all
    of them None, as Keras reads it, is a call without masks but the inputs'). A
    kernel that cannot run on these inputs (NotImplementedError) refuses the request, and so
    does one whose operands numpy cannot combine (ValueError: tensors that do not broadcast,
    which Keras' call cannot combine either), naming the layer instead of failing the
    request."""
    try:
        if isinstance(layer, RunsWithMasks):
            return layer.forward_with_masks(inputs, weights, masks, options)
        if given_masks:
            masks = with_mask_argument(layer, masks, options.get("mask"))
            given_masks = any(options.get(key) is not None for key in MASK_ARGUMENTS)
        if given_masks or any(mask is not None for mask in masks):
            outputs = layer.forward_masked(inputs, weights, masks, options)
        elif options:
            outputs = layer.forward_for_call(inputs, weights, options)
        else:
            outputs = layer.forward(inputs, weights)
        return outputs, layer.compute_mask_for_call(inputs, masks, options)
    except NotImplementedError as exc:
        raise cannot_run(layer, f"cannot run on this data: {exc}") from None
    except ValueError as exc:
        raise cannot_run(layer, f"cannot combine its tensors: {exc}") from None


# -- masks given as call arguments ------------------------------------------------------------
def check_mask_options(layer: Layer, options: Mapping[str, Any]) -> None:
    """A mask argument that reads no tensor is among the options: None, or a list of None,
    says "no mask"; anything else is no mask Keras could take, and refuses the request."""
    for key, value in options.items():
        if key in MASK_ARGUMENTS and value is not None and not (
                isinstance(value, list) and all(item is None for item in value)):
            raise cannot_run(layer, f"cannot take its {key} argument, which is no tensor nor "
                                    f"list of tensors (a {type(value).__name__}); Keras takes "
                                    "masks as tensors.")


def one_mask(mask: Any) -> Mask:
    """A mask given for one input: an array, or None; a list there (a list of lists of
    masks) is no mask Keras could apply."""
    if mask is not None and not isinstance(mask, np.ndarray):
        raise NotImplementedError(
            f"its mask argument gives a {type(mask).__name__} where one input's mask goes")
    return mask


def with_mask_argument(layer: Layer, masks: list[Mask], given: Any) -> list[Mask]:
    """Keras' ``mask`` argument in place of the masks the inputs carry: the first input's, or
    a list of them, one per input (None where the list says so or ends). A list for a layer of
    one input reaches its call as a list, which the layer reads (``Layer.mask_of_list``)."""
    if given is None:
        return masks
    if isinstance(given, list):
        if len(masks) == 1:
            return [layer.mask_of_list(given)]
        return [one_mask(given[i]) if i < len(given) else None for i in range(len(masks))]
    return [given, *masks[1:]]


def mask_argument(layer: Layer, key: str, source: Any,
                  values: Mapping[TensorRef, Array]) -> Any:
    """The value of the mask argument ``key`` (a list of them for a list): booleans, where a
    number counts as True unless it is 0, as Keras' kernels cast masks, but for the arguments
    the layer reads as numbers (``numeric_mask_arguments``)."""
    if isinstance(source, list):
        return [mask_argument(layer, key, item, values) for item in source]
    if source is None:
        return None
    try:
        value = np.asarray(mask_value(source, values))
    except MaskUnavailable as exc:
        raise cannot_run(layer, f"reads its {key} argument from {exc}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # shapes or settings it refuses
        raise cannot_run(layer, f"cannot compute its {key} argument: {exc}") from None
    if value.dtype == np.bool_ or key in layer.numeric_mask_arguments:
        return value
    return value != 0


class MaskUnavailable(Exception):
    """A mask reads a tensor the forward pass does not have, or an operation it does not
    compute: the message says which."""


COMPARISONS = {"NotEqual": np.not_equal, "Equal": np.equal, "Greater": np.greater,
               "GreaterEqual": np.greater_equal, "Less": np.less, "LessEqual": np.less_equal,
               "LogicalAnd": np.logical_and, "LogicalOr": np.logical_or,
               "LogicalXor": np.logical_xor, "LogicalNot": np.logical_not}
"""Keras operations of masks that are numpy's element-by-element functions."""


def mask_value(source: Any, values: Mapping[TensorRef, Array]) -> Any:
    """A tensor's value, or what a Keras operation computes from its arguments' values (the
    operations Keras writes to compute masks, and the comparisons and logic of masks)."""
    if isinstance(source, TensorRef):
        if source not in values:
            raise MaskUnavailable(f"'{source.layer}', which is neither a model input nor an "
                                  "output computed before this layer")
        return values[source]
    if not isinstance(source, MaskOp):
        return tuple(mask_value(item, values) for item in source) \
            if isinstance(source, tuple) else source  # a constant
    args = [mask_value(argument, values) for argument in source.arguments]
    config = dict(source.config)
    name = source.operation
    if name in COMPARISONS:
        return COMPARISONS[name](*args)
    if name in ("Any", "All"):
        reduce = np.any if name == "Any" else np.all
        return reduce(args[0], axis=config.get("axis"), keepdims=bool(config.get("keepdims")))
    if name == "ExpandDims":
        return np.expand_dims(args[0], config.get("axis"))
    if name == "Squeeze":
        return np.squeeze(args[0], config.get("axis"))
    if name == "Concatenate":
        return np.concatenate(args[0], axis=config.get("axis", 0))
    if name in ("ZerosLike", "OnesLike"):
        fill = np.zeros_like if name == "ZerosLike" else np.ones_like
        return fill(args[0], dtype=mask_dtype(config.get("dtype"), args[0]))
    if name in ("Cast", "ConvertToTensor"):
        return np.asarray(args[0], dtype=mask_dtype(config.get("dtype"), args[0]))
    raise MaskUnavailable(f"the Keras operation {name}, which the forward pass does not "
                          "compute")


def mask_dtype(dtype: str | None, like: Array) -> Any:
    """A Keras dtype among those of masks: booleans, or any number as float32."""
    if dtype is None:
        return np.asarray(like).dtype
    return np.bool_ if dtype == "bool" else np.float32


def cannot_run(layer: Layer, why: str) -> RequestInvalid:
    return RequestInvalid({"forward": [f"layer '{layer.name}' ({layer.keras_name}) {why}"]})


def fits(static: Shape | None, shape: tuple[int, ...]) -> bool:
    """Whether ``shape`` is the ``static`` shape, its unknown dimensions any."""
    return static is not None and len(static) == len(shape) and all(
        s is None or s == v for s, v in zip(static, shape, strict=True))


@dataclass(frozen=True)
class Undeclared:
    """A tensor whose computed shape Keras does not declare: the layer whose kernel first
    computed another shape than declared (the origin of this one's), which of its outputs, its
    computed and declared shapes, and why Keras computes another shape than it declares."""

    layer: Layer
    index: int
    computed: tuple[int, ...]
    declared: Shape | None
    why: str


def built_for_inputs(layer: Layer, call: Call, inputs: Sequence[Array], prop: Propagation,
                     undeclared: Mapping[TensorRef, Undeclared]) -> Layer:
    """``layer`` (as declared) to run on these inputs: itself, but for a call that reads a
    tensor of an undeclared shape, the layer as Keras built it for the declared one
    (``computed.built_for``). predict runs it there where it can take that shape and the
    weights it was built with; elsewhere predict fails, and the forward pass refuses the
    data, naming the layer that computed the shape."""
    origin = next((undeclared[ref] for ref in call.inputs if ref in undeclared), None)
    if origin is None:
        return layer
    built, why = computed.built_for(layer, [prop.tensors[ref] for ref in call.inputs],
                                    [value.shape for value in inputs], call.options,
                                    prop.states[call.layer].weights)
    if why is None:
        return built
    tail = ("Keras' predict fails there too." if built is not None else
            "The forward pass does not follow shapes Keras does not declare through it.")
    raise cannot_run(origin.layer, (
        f"computes output {origin.index} with shape {format_shape(origin.computed)} where "
        f"Keras declares {format_shape(origin.declared or ())} ({origin.why}); layer "
        f"'{call.layer}', which reads it, {why.rstrip('.')}. {tail}"))


def check_shape(layer: Layer, call: Call, ref: TensorRef, value: Array, prop: Propagation,
                undeclared: dict[TensorRef, Undeclared], inputs: Sequence[Array]) -> None:
    """The kernel's output has the shape the shape rule gives (but a folded ZeroPadding's,
    which the pooling after it pads); or one that Keras computes but does not declare, which
    ``undeclared`` collects: where the layer says so (``Layer.undeclared_shape``), or where the
    call read such a tensor and its shape rule gives this shape on it."""
    static = prop.tensors[ref]
    if isinstance(layer, forward_plan.Unpadded) or fits(static, value.shape):
        return
    origin = next((undeclared[source] for source in call.inputs if source in undeclared), None)
    if origin is not None:
        rule = computed.call_outputs(layer, [x.shape for x in inputs], call.options)[ref.index]
        if not fits(rule, value.shape):  # where Keras declares no shape: refused, not a bug
            raise cannot_run(layer, (
                f"gives {format_shape(value.shape)} on the shape '{origin.layer.name}' computes, "
                f"where its shape rule gives {format_shape(rule)}: the forward pass cannot "
                "follow the shapes Keras computes through it."))
    else:
        why = layer.undeclared_shape(ref.index, call.options,
                                     [prop.tensors[source] for source in call.inputs])
        if why is None:
            raise ShapeDisagreement(
                f"{ref.layer} output {ref.index}: the kernel gave {value.shape}, the shape "
                f"rule {static}")
        origin = Undeclared(layer, ref.index, value.shape, static, why)
    undeclared[ref] = origin


# -- the request ------------------------------------------------------------------------------
class ForwardSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    x = fields.Raw(load_default=None, allow_none=True)
    batch_size = PositiveInt(load_default=None, allow_none=True)
    seed = Int(min_value=0, load_default=0)
    weights = fields.Dict(keys=fields.String(), values=fields.List(fields.Raw()),
                          load_default=dict)
    returns = Choice(("summary", "values"), data_key="return", load_default="summary")
    layer_stats = fields.Boolean(load_default=False)


@dataclass
class ForwardOptions:
    x: Any
    batch_size: int | None
    seed: int
    weights: dict[str, list[Any]]
    returns: str
    layer_stats: bool


def parse_options(spec: Any) -> ForwardOptions:
    if not isinstance(spec, dict):
        raise RequestInvalid({"forward": ["must be an object"]})
    try:
        return ForwardOptions(**ForwardSchema().load(spec))
    except ValidationError as exc:
        raise RequestInvalid(flatten_messages(exc.messages, "forward")) from None


def forward_pass(analysis: Analysis, spec: Any, limits: Limits | None = None) -> dict[str, Any]:
    """The ``forward`` section of the response: run the model on the request's data."""
    started = time.perf_counter()
    limits = limits or Limits.from_env()
    options = parse_options(spec)
    refuse_broken_model(analysis)
    graph = analysis.graph
    data = request_data(graph, options)
    for item in data.values():
        budget.check_bytes(item.path, arrays.float32_bytes(item.shape), limits)
    shapes = {name: item.shape for name, item in data.items()}
    concrete = replace(graph, inputs=[replace(i, shape=shapes[i.name]) for i in graph.inputs])
    key = model_key(concrete)
    prop, computed_shapes, needed = shapes_and_costs(concrete, shapes, key)
    given = given_weights(prop, options.weights)
    budget.enforce(needed, limits)
    if options.returns == "values":
        budget.check_values(sum(budget.tensor_bytes(computed_shapes[ref])
                                for ref in graph.outputs),
                            limits)
    deadline = budget.Deadline(limits.forward_timeout_s, started)
    inputs = decode_inputs(graph, data, options.seed)
    weights = {**default_weights(weight_layout(prop), options.seed), **decode_weights(given)}
    layer_stats = LayerStats() if options.layer_stats else None
    with np.errstate(all="ignore"):  # overflows show in the outputs' stats (nonfinite)
        outputs = run_forward(concrete, prop, inputs, weights, deadline, key, layer_stats)
        nonfinite_outputs = {name: count for name, count in
                             ((output_name(ref), int((~np.isfinite(v)).sum()))
                              for ref, v in outputs.items()) if count}
        origin = (locate_nonfinite(concrete, prop, inputs, weights, deadline)
                  if nonfinite_outputs else None)
    if origin is not None:
        analysis.diagnostics.append(nonfinite.note(origin, nonfinite_outputs))
    as_base64 = uses_base64(options.x)
    dtypes = computed.tensor_dtypes(concrete, prop)
    return {
        "outputs": [output_json(ref, outputs[ref], dtypes.get(ref, "float32"),
                                options.returns == "values", as_base64)
                    for ref in graph.outputs],
        "layers": layers_json(prop, computed_shapes, layer_stats),
        "estimate": needed.to_json(),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
    }


def locate_nonfinite(graph: ModelGraph, prop: Propagation, inputs: Mapping[str, Array],
                     weights: Mapping[str, Sequence[Array]],
                     deadline: budget.Deadline) -> nonfinite.Origin | None:
    """The call where NaN or infinities start (``nonfinite``), found by a second pass that
    stops there; None when the time left does not allow it (the answer has the outputs
    already) or the second pass gives none."""
    watch = nonfinite.Watch({name: state.weights or [] for name, state in prop.states.items()})
    running = RUNNING_DEADLINE.set(deadline)
    try:
        run_graph(graph, prop, inputs, weights, deadline, watch=watch)
    except nonfinite.FirstNonFinite as found:
        return found.origin
    except budget.ForwardTimeout:
        return None
    finally:
        RUNNING_DEADLINE.reset(running)
    return None


def model_key(graph: ModelGraph) -> Hashable | None:
    """What tells graphs apart for the forward pass: each call with its layer's
    ``config_key`` (equal keys: equal arguments), the inputs' shapes and the outputs. None when
    a layer has no config key, or a call has options or mask arguments."""
    calls = []
    for call in graph.calls:
        config = graph.layers[call.layer].config_key
        if config is None or call.options or call.masks:
            return None
        calls.append((call.layer, call.index, tuple(call.inputs), config))
    return (tuple(calls), tuple((i.name, i.shape, i.dtype) for i in graph.inputs),
            tuple(graph.outputs))


Setup = tuple[Propagation, dict[TensorRef, Shape | None], budget.Estimate]
SETUPS: LRU[Setup] = LRU(max_entries=8)


def shapes_and_costs(graph: ModelGraph, shapes: Mapping[str, Shape],
                     key: Hashable | None) -> Setup:
    """The propagation of the data's shapes through ``graph``, the shapes predict computes
    from them (``computed.computed_shapes``) and the estimate of its costs; the last few
    (``SETUPS``) by ``model_key``, as the same model comes again and again."""
    setup = SETUPS.get(key) if key is not None else None
    if setup is None:
        prop = propagate_data(graph, shapes)
        tensors = computed.computed_shapes(prop)
        setup = prop, tensors, budget.estimate(graph, prop, next(iter(shapes.values()))[0],
                                               tensors)
        if key is not None:
            SETUPS.put(key, setup)
    return setup


def refuse_broken_model(analysis: Analysis) -> None:
    errors = [d for d in analysis.diagnostics
              if d.severity == diag.ERROR and d.code not in DATA_CODES]
    if errors:
        first = errors[0]
        where = f" at layer '{first.layer}'" if first.layer else ""
        raise RequestInvalid({"forward": [
            f"the model has {len(errors)} error(s), so it cannot run. The first{where}: "
            f"{first.message} Fix the errors in 'diagnostics' first."]})
    for state in analysis.propagation.states.values():
        layer = state.layer
        if not has_kernel(type(layer)):
            why = (": a layer declared by 'overrides' only says what shape it gives, not what it "
                   "computes" if isinstance(layer, Opaque) else "")
            raise cannot_run(layer, f"has no numpy kernel, so the forward pass cannot run "
                                    f"it{why}.")


def has_kernel(cls: type[Layer]) -> bool:
    return cls.elementwise or cls.forward is not Layer.forward or cls.apply is not Layer.apply


# -- data -------------------------------------------------------------------------------------
@dataclass
class InputData:
    """One model input's data: the request's array (None for random data), its batched shape
    read without decoding it, and its JSON path."""

    value: Any
    shape: Shape
    path: str


def request_data(graph: ModelGraph, options: ForwardOptions) -> dict[str, InputData]:
    if options.x is None:
        return {i.name: InputData(None, random_shape(i, options.batch_size), "forward.x")
                for i in graph.inputs}
    named = named_arrays(graph, options.x)
    data = {}
    for model_input in graph.inputs:
        path = f"forward.x.{model_input.name}" if is_named(options.x) else "forward.x"
        value = named[model_input.name]
        shape = arrays.declared_shape(value, path)
        check_input_shape(model_input, shape, path)
        data[model_input.name] = InputData(value, shape, path)
    if len({d.shape[0] for d in data.values()}) > 1:
        raise RequestInvalid({"forward.x": [
            "the inputs have different numbers of samples: "
            + ", ".join(f"{n} {format_shape(d.shape)}" for n, d in data.items())]})
    return data


def is_named(x: Any) -> bool:
    return isinstance(x, dict) and not arrays.is_encoded(x)


def named_arrays(graph: ModelGraph, x: Any) -> dict[str, Any]:
    names = [i.name for i in graph.inputs]
    if not is_named(x):
        if len(names) > 1:
            raise RequestInvalid({"forward.x": [
                f"the model has {len(names)} inputs ({', '.join(names)}): give x as an object "
                "input name → array"]})
        return {names[0]: x}
    unknown = [n for n in x if n not in names]
    missing = [n for n in names if n not in x]
    if unknown or missing:
        problem = (f"names {', '.join(unknown)}, which the model does not have" if unknown
                   else f"lacks {', '.join(missing)}")
        raise RequestInvalid({"forward.x": [
            f"x {problem}; the model's inputs are {', '.join(names)}"]})
    return x


def check_input_shape(model_input: ModelInput, shape: Shape, path: str) -> None:
    if not fits(model_input.shape, shape):
        raise RequestInvalid({path: [
            f"x has shape {format_shape(shape)}, but model input '{model_input.name}' takes "
            f"{format_shape(model_input.shape)} (batch axis first)"]})
    if shape[0] == 0:
        raise RequestInvalid({path: ["x must hold at least one sample"]})


def random_shape(model_input: ModelInput, batch_size: int | None) -> Shape:
    """The shape of seeded random data for an input: ``batch_size`` samples (default: the
    input's fixed batch size, else 1)."""
    batch = batch_size or model_input.shape[0] or 1
    shape = (batch, *model_input.shape[1:])
    if None in shape:
        raise RequestInvalid({"forward.x": [
            f"model input '{model_input.name}' has an unknown axis "
            f"{format_shape(model_input.shape)}: give x, so that the forward pass knows its "
            "size"]})
    check_input_shape(model_input, shape, "forward.batch_size")
    return shape


def propagate_data(graph: ModelGraph, shapes: Mapping[str, Shape]) -> Propagation:
    """Shapes again with the data's sizes; a layer that cannot take them refuses the data."""
    prop = propagate(graph)
    problem = next((d for d in prop.diagnostics if d.severity == diag.ERROR), None)
    if problem is not None:
        given = ", ".join(f"{n} {format_shape(s)}" for n, s in shapes.items())
        raise RequestInvalid({"forward.x": [
            f"with data of shape {given}, layer '{problem.layer}' cannot run: "
            f"{problem.message}"]})
    empty = next((ref for ref, shape in prop.tensors.items() if shape and 0 in shape), None)
    if empty is not None:  # the kernels need at least one element on every axis
        raise RequestInvalid({"forward.x": [
            f"'{empty.layer}' gives an empty tensor {format_shape(prop.tensors[empty])}: the "
            "forward pass needs every axis to have a size of at least 1"]})
    return prop


def decode_inputs(graph: ModelGraph, data: Mapping[str, InputData],
                  seed: int) -> dict[str, Array]:
    """The request's arrays decoded, or seeded random data (``random_inputs``)."""
    dtypes = {i.name: i.dtype for i in graph.inputs}
    layouts = {name: (item.shape, index_range(graph, name), dtypes[name])
               for name, item in data.items() if item.value is None}
    drawn = dict(zip(layouts, random_inputs(tuple(layouts.values()), seed), strict=True))
    return {name: drawn[name] if item.value is None
            else in_dtype_range(arrays.decode(item.value, item.path), dtypes[name], item.path)
            for name, item in data.items()}


def in_dtype_range(values: Array, dtype: str | None, path: str) -> Array:
    """``values``, refused where an input of an integer ``dtype`` cannot hold them: Keras 3
    saturates them, tf.keras 2 wraps them around."""
    if dtype is None or dtype == "bool" or dtype in FLOAT_DTYPES or not values.size:
        return values
    bounds, truncated = np.iinfo(dtype), np.trunc(values)
    low, high = float(truncated.min()), float(truncated.max())
    if low < bounds.min or high > bounds.max:
        raise RequestInvalid({path: [
            f"holds values from {low:g} to {high:g}, but the model input is {dtype}, which "
            f"holds {bounds.min} to {bounds.max}: Keras converts the others differently on "
            "each backend (saturated or wrapped around). Give values in that range."]})
    return values


RANDOM_INPUTS = WeightCache(max_entries=4, max_bytes=64 * 1024 * 1024)


RANDOM_INTEGERS = 256
"""Seeded random data for an integer input holds integers below this (pixel values, say)."""


def random_inputs(layouts: tuple[tuple[Shape, int | None, str | None], ...],
                  seed: int) -> list[Array]:
    """Seeded random data for inputs of these (shape, index range, dtype) layouts: integer
    indices below the range for an input only Embedding layers read; else for an integer or
    boolean input, integers below ``RANDOM_INTEGERS`` (or the dtype's maximum) or 0 and 1;
    else standard normal. Its own stream, so that the weights do not depend on the batch
    size. Read-only and cached, as the default weights are: repeated requests skip the
    drawing."""

    def draw() -> dict[str, list[Array]]:
        rng = np.random.default_rng([1, seed])
        return {"inputs": [
            rng.standard_normal(shape, dtype=np.float32) if bound is None
            else rng.integers(0, bound, size=shape).astype(np.float32)
            for shape, bound in ((shape, integer_bound(vocabulary, dtype))
                                 for shape, vocabulary, dtype in layouts)]}

    return RANDOM_INPUTS.get((seed, layouts), draw)["inputs"]


def integer_bound(vocabulary: int | None, dtype: str | None) -> int | None:
    """The integers random data of an input holds are below this; None for floats."""
    if vocabulary is not None:
        return vocabulary
    if dtype is None or dtype in FLOAT_DTYPES:
        return None
    return 2 if dtype == "bool" else min(RANDOM_INTEGERS, int(np.iinfo(dtype).max) + 1)


def index_range(graph: ModelGraph, name: str) -> int | None:
    """The number of valid indices when only Embedding layers read the input ``name``."""
    readers = [graph.layers[c.layer] for c in graph.calls
               if any(ref.layer == name for ref in c.inputs)]
    if readers and all(isinstance(layer, Embedding) for layer in readers):
        return min(layer.args.input_dim for layer in readers)
    return None


def uses_base64(x: Any) -> bool:
    if is_named(x):
        return any(arrays.is_encoded(v) for v in x.values())
    return arrays.is_encoded(x)


# -- weights ----------------------------------------------------------------------------------
def weight_layout(prop: Propagation) -> list[tuple[str, list]]:
    return [(name, state.weights) for name, state in prop.states.items() if state.weights]


def given_weights(prop: Propagation, given: Mapping[str, list[Any]]) -> dict[str, list]:
    """The request's weights, their shapes checked against the layers' (not yet decoded). A
    LoRA layer's may leave out its adapters, as ``model.save()`` does (it merges them into the
    kernel): they are zeros, as when Keras loads the file."""
    completed = {}
    for name, values in given.items():
        path = f"forward.weights.{name}"
        state = prop.states.get(name)
        if state is None:
            raise RequestInvalid({path: [f"the model has no layer named '{name}'"]})
        expected = held = state.weights or []
        adapters = [i for i, w in enumerate(expected) if is_adapter(w)]
        if adapters and len(values) == len(expected) - len(adapters):
            held = [w for w in expected if not is_adapter(w)]
        listing = ", ".join(f"{w.name} {format_shape(w.shape)}" for w in expected) or "none"
        if len(values) != len(held):
            raise RequestInvalid({path: [
                f"layer '{name}' has {len(expected)} weight arrays ({listing}), "
                f"{len(values)} given"]})
        for i, (weight, value) in enumerate(zip(held, values, strict=True)):
            shape = arrays.declared_shape(value, f"{path}.{i}")
            if shape != tuple(weight.shape):
                raise RequestInvalid({f"{path}.{i}": [
                    f"layer '{name}' {weight.name} has shape {format_shape(weight.shape)}, "
                    f"the array given has shape {format_shape(shape)}"]})
        completed[name] = values if held is expected else with_zero_adapters(values, expected)
    return completed


def with_zero_adapters(values: list[Any], expected: list[Weight]) -> list[Any]:
    """A LoRA layer's weights as ``model.save()`` writes them, with zeros for its adapters."""
    given = iter(values)
    return [np.zeros(w.shape, np.float32) if is_adapter(w) else next(given) for w in expected]


def decode_weights(given: Mapping[str, list[Any]]) -> dict[str, list[Array]]:
    return {name: [arrays.decode(v, f"forward.weights.{name}.{i}") for i, v in enumerate(values)]
            for name, values in given.items()}


# -- the response -----------------------------------------------------------------------------
def output_json(ref: TensorRef, value: Array, dtype: str, with_values: bool,
                as_base64: bool) -> dict[str, Any]:
    """One model output; ``dtype``: the one predict gives it (``computed.tensor_dtypes``).
    The forward pass computes in float32 throughout: a float16 or bfloat16 output (a layer
    under a mixed-precision policy) is rounded to its dtype at the end, a float64 one (tf.keras
    2's float64 policy) is sent as float64."""
    if dtype in LOW_PRECISION:
        value = low_precision_values(value, dtype)
    out: dict[str, Any] = {"name": output_name(ref),
                           "shape": list(value.shape), "dtype": dtype,
                           "stats": stats(value)}
    if with_values:
        out["values"] = arrays.encode(value, as_base64, dtype)
    return out


def layers_json(prop: Propagation, tensors: Mapping[TensorRef, Shape | None],
                layer_stats: LayerStats | None = None) -> list[dict[str, Any]]:
    """Every call's output shapes as predict computes them (``tensors``), which the kernels
    gave: each was checked against the shapes propagated with the data's sizes; and, with
    ``layer_stats``, the statistics of each of its outputs."""
    rows = []
    outputs = prop.outputs_by_call()
    for call in prop.order:
        shapes = [list(tensors[ref] or ()) for ref in outputs[call.layer, call.index]]
        row = {"name": call.layer, "output_shape": shapes[0], "output_shapes": shapes}
        if layer_stats is not None:
            row["output_stats"] = layer_stats.by_call[call.layer, call.index]
        rows.append(row)
    return rows


def stats(value: Array) -> dict[str, float | int | None]:
    """min, max, mean and std of the finite values, and how many are not finite."""
    finite = value[np.isfinite(value)]
    summary: dict[str, float | int | None] = dict.fromkeys(("min", "max", "mean", "std"))
    if finite.size:
        summary.update(min=float(finite.min()), max=float(finite.max()),
                       mean=float(finite.mean(dtype=np.float64)),
                       std=float(finite.std(dtype=np.float64)))
    summary["nonfinite"] = int(value.size - finite.size)
    return summary
