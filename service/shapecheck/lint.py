"""Model-level notes that are not errors: Dense on high-rank inputs, suspicious data formats,
layers that feed no output, a softmax over one unit, a Flatten → Dense holding most of the
parameters, a dropout rate of 1, an activation that changes the shape Keras declares, attention
across the samples of a batch, another shape declared than computed, tensors of no values."""

from __future__ import annotations

import math
from fractions import Fraction

from . import computed
from . import diagnostics as diag
from .activations import SHAPE_CHANGING
from .data import PASS_THROUGH, counted, global_pooling
from .diagnostics import Diagnostic
from .errors import LayerInputIncompatible
from .graph import LayerState, MaskOp, ModelGraph, Propagation, TensorRef
from .layers.attention import DotAttentionBase
from .layers.base import Layer
from .layers.core import Dense
from .shapes import Shape, channel_axis, format_shape, num_elements

SMALL_CHANNELS = (1, 2, 3, 4)
LARGE_DENSE_PARAMS = 1_000_000
"""A Flatten → Dense is worth a warning from this many parameters..."""
LARGE_DENSE_SHARE = Fraction(1, 2)
"""...when it also holds this share of the model's parameters (exact: counts may be huge)."""


def lint(graph: ModelGraph, prop: Propagation) -> list[Diagnostic]:
    return [*dense_on_high_rank(graph, prop), *suspicious_data_format(graph, prop),
            *unused_layers(graph, prop), *single_unit_softmax(prop),
            *large_flatten_dense(graph, prop), *full_dropout(graph),
            *shape_changing_activations(prop), *attention_across_batch(prop),
            *declared_shapes_that_differ(prop), *empty_tensors(graph, prop),
            *integer_inputs(graph, prop), *mask_broadcasts_to_unknown_sizes(graph)]


def producer(ref: TensorRef, graph: ModelGraph) -> str | None:
    return ref.layer if ref.layer in graph.layers else None


def dense_on_high_rank(graph: ModelGraph, prop: Propagation) -> list[Diagnostic]:
    """One note at the head of each run of Dense layers that receives rank > 2."""
    notes = []
    flagged: set[str] = set()
    for call in prop.order:
        layer = graph.layers[call.layer]
        dense = isinstance(layer, Dense)
        if not call.inputs or not (dense or (layer.elementwise
                                             and call.inputs[0].layer in flagged)):
            continue  # neither starts nor continues a run
        shape = prop.tensors.get(call.inputs[0])
        if shape is None or len(shape) <= 2:
            continue
        starts = dense and producer(call.inputs[0], graph) not in flagged
        flagged.add(call.layer)
        if starts:
            notes.append(dense_note(call.layer, layer.args.units, shape))
    return notes


def dense_note(name: str, units: int, shape: tuple) -> Diagnostic:
    positions = shape[1:-1]
    grid = extent(positions)
    out = format_shape((*shape[:-1], units))
    pool = global_pooling(len(shape))
    count = num_elements(positions)
    where = f"each of the {grid} positions" if count else f"every position ({grid})"
    applied = "the same unit is" if units == 1 else f"the same {units} units are"
    wanted = "one value" if units == 1 else f"one vector of {units}"
    return diag.info(
        diag.DENSE_ON_HIGH_RANK, name,
        f"'{name}' receives {format_shape(shape)}, of rank {len(shape)}. Dense acts on the last "
        f"axis only: {applied} applied at {where}, giving {out}, not {wanted} per sample.",
        f"If you want one vector per sample, put Flatten or {pool} before '{name}'. If acting "
        "per position is what you want (e.g. per time step), this note needs no action.")


def suspicious_data_format(graph: ModelGraph, prop: Propagation) -> list[Diagnostic]:
    """Conv and pooling layers reading model inputs whose channel axis looks spatial."""
    notes = []
    inputs = graph.input_names()
    for call in prop.order:
        if len(call.inputs) != 1 or call.inputs[0].layer not in inputs:
            continue
        layer = graph.layers[call.layer]
        data_format = getattr(layer.args, "data_format", None)
        rank = getattr(layer, "rank", None)
        if data_format is None or rank is None:
            continue
        shape = prop.tensors.get(call.inputs[0])
        if shape is None or len(shape) != rank + 2:
            continue
        note = data_format_note(call.layer, layer.keras_name, shape, data_format)
        if note:
            notes.append(note)
    return notes


def data_format_note(name: str, kind: str, shape: tuple, data_format: str) -> Diagnostic | None:
    """A warning when the axis read as channels is large and the other end is 1 to 4."""
    sample = shape[1:]
    if data_format == "channels_last":
        channels, lead = sample[-1], sample[0]
        read_spatial, meant_spatial = sample[:-1], sample[1:]
        other, reshaped = "channels_first", (*sample[1:], sample[0])
    else:
        channels, lead = sample[0], sample[-1]
        read_spatial, meant_spatial = sample[1:], sample[:-1]
        other, reshaped = "channels_last", (sample[-1], *sample[:-1])
    if channels is None or lead is None or not (lead in SMALL_CHANNELS and 4 < channels > lead):
        return None
    noun = {1: "sequence", 2: "image", 3: "volume"}.get(len(read_spatial), "map")
    side = "last" if data_format == "channels_last" else "first"
    return diag.warning(
        diag.SUSPICIOUS_DATA_FORMAT, name,
        f"{kind} '{name}' reads its input {format_shape(shape)} as {data_format}: a "
        f"{extent(read_spatial)} {noun} with {channels} channels. The axis of {lead} looks like "
        f"the channels, which {data_format} expects on the {side} axis.",
        f"If each sample is {counted(lead, 'channel')} of {extent(meant_spatial)}, either set "
        f"data_format='{other}' on '{name}' (and on the layers after it), or shape the data as "
        f"{format_shape(reshaped)}.")


def extent(dims: tuple) -> str:
    return "×".join("?" if d is None else str(d) for d in dims)


def unused_layers(graph: ModelGraph, prop: Propagation) -> list[Diagnostic]:
    """Layers from which no model output can be reached."""
    needed = {ref.layer for ref in graph.outputs}
    frontier = list(needed)
    if len(prop.order) == len(graph.calls):  # the states hold every call
        calls_of = {name: state.calls for name, state in prop.states.items()}
    else:  # some calls could not be ordered (a cycle, a dangling input)
        calls_of = {}
        for call in graph.calls:
            calls_of.setdefault(call.layer, []).append(call)
    while frontier:
        for call in calls_of.get(frontier.pop(), ()):
            for ref in call.inputs:
                if ref.layer not in needed:
                    needed.add(ref.layer)
                    frontier.append(ref.layer)
    return [diag.warning(diag.UNUSED_LAYER, name,
                         f"'{name}' does not lead to any model output, so Keras would leave it "
                         "out of the model.",
                         "Connect it to an output, list it in 'outputs', or remove it.")
            for name in graph.layers if name not in needed]


def single_unit_softmax(prop: Propagation) -> list[Diagnostic]:
    """Softmax over an axis of size 1 always gives 1.0."""
    notes = []
    for name, state in prop.states.items():
        layer = state.layer
        if not state.output_shapes:
            continue
        if layer.keras_name == "Softmax":
            axis = getattr(layer.args, "axis", -1)
        elif getattr(layer.args, "activation", None) == "softmax":
            axis = -1
        else:
            continue
        shape = state.output_shapes[0]
        if isinstance(axis, int) and -len(shape) <= axis < len(shape) and shape[axis] == 1:
            notes.append(diag.warning(
                diag.SINGLE_UNIT_SOFTMAX, name,
                f"'{name}' applies softmax over an axis of size 1 (output "
                f"{format_shape(shape)}): softmax scales the values along that axis to sum to "
                "1, so the output is always 1.0, whatever the input.",
                "For one yes/no output use activation='sigmoid' (with binary_crossentropy); "
                "for C classes give the layer C units."))
    return notes


def large_flatten_dense(graph: ModelGraph, prop: Propagation) -> list[Diagnostic]:
    """A Dense after Flatten that holds most of the model's parameters."""
    total = None  # the model's parameters, counted once a Dense is large enough
    notes = []
    for call in prop.order:
        layer = graph.layers[call.layer]
        if not isinstance(layer, Dense):
            continue
        params = sum(w.size for w in prop.states[call.layer].weights or ())
        if params < LARGE_DENSE_PARAMS:
            continue
        if total is None:
            total = sum(w.size for state in prop.states.values() for w in state.weights or ())
        if params * LARGE_DENSE_SHARE.denominator < total * LARGE_DENSE_SHARE.numerator:
            continue  # under its share, in integers (a Fraction product costs microseconds)
        flatten = flatten_before(graph, call.inputs[0].layer)
        grids = prop.states[flatten].input_shapes if flatten else None
        if not grids or len(grids[0][0]) < 3 or None in grids[0][0][1:]:
            continue
        notes.append(flatten_dense_note(call.layer, layer, params, total, flatten,
                                        graph.layers[flatten], grids[0][0]))
    return notes


def flatten_before(graph: ModelGraph, name: str) -> str | None:
    """The Flatten that feeds ``name`` directly or through dropout-like layers."""
    calls = {call.layer: call for call in graph.calls}
    while name in graph.layers:
        layer = graph.layers[name]
        if layer.keras_name == "Flatten":
            return name
        if layer.keras_name not in PASS_THROUGH or len(calls[name].inputs) != 1:
            return None
        name = calls[name].inputs[0].layer
    return None


def flatten_dense_note(name: str, dense: Dense, params: int, total: int, flatten: str,
                       flatten_layer: Layer, grid: Shape) -> Diagnostic:
    units, bias = dense.args.units, 1 if dense.args.use_bias else 0
    data_format = getattr(flatten_layer.args, "data_format", None) or "channels_last"
    channels = grid[channel_axis(data_format)]
    features = num_elements(grid[1:])
    pooled = (channels + bias) * units
    share = math.floor(1000 * params / total) / 10  # 99.99 % reads 99.9, not 100.0
    return diag.warning(
        diag.LARGE_FLATTEN_DENSE, name,
        f"'{name}' holds {params:,} of the model's {total:,} parameters ({share:.1f}%): "
        f"'{flatten}' turns {format_shape(grid)} into {features:,} features per sample, and "
        f"each is connected to each of the {units} units.",
        f"{global_pooling(len(grid))} instead of Flatten keeps one value per channel: "
        f"{channels} features, so '{name}' would have ({channels} + {bias})·{units} = "
        f"{pooled:,} parameters and the model {total - params + pooled:,}. Or downsample "
        "before Flatten (MaxPooling, strides).")


def full_dropout(graph: ModelGraph) -> list[Diagnostic]:
    """A dropout rate of 1, which Keras accepts (a rate outside [0, 1] is a 422)."""
    notes = []
    for name, layer in graph.layers.items():
        if layer.family != "regularization" or getattr(layer.args, "rate", None) != 1:
            continue
        if layer.keras_name in ("GaussianDropout", "AlphaDropout"):
            effect = ("in training Keras fails with a division by zero: the noise is scaled by "
                      "1 / (1 − rate)")
        else:
            effect = ("in training it zeroes every value, so the layers after it never see the "
                      "input and nothing before it learns")
        notes.append(diag.warning(
            diag.FULL_DROPOUT, name,
            f"'{name}' is a {layer.keras_name} with rate=1.0: {effect}. Keras accepts the "
            "rate; only at inference is the layer harmless.",
            "Use a rate below 1 (0.2 to 0.5 is usual), or remove the layer."))
    return notes


def shape_changing_activations(prop: Propagation) -> list[Diagnostic]:
    """A glu activation halves the last axis, which Keras leaves out of the shapes it
    declares: the summary shows one shape, predict computes another (or fails)."""
    notes = []
    for name, state in prop.states.items():
        args = getattr(state.layer, "args", None)
        for argument in ACTIVATION_ARGUMENTS:
            activation = getattr(args, argument, None)
            if activation in SHAPE_CHANGING and state.output_shapes:
                notes.append(activation_note(name, state, argument, activation))
                break
    return notes


ACTIVATION_ARGUMENTS = ("activation", "recurrent_activation")


def activation_note(name: str, state: LayerState, argument: str, activation: str) -> Diagnostic:
    declared = state.output_shapes[0] if state.output_shapes else ()
    features = declared[-1] if declared else None
    applies = (f"the {activation} activation" if argument == "activation"
               else f"{activation} as its {argument}")
    what = (f"'{name}' applies {applies}, which splits the last axis in two halves and "
            "multiplies the first by the sigmoid of the second")
    hint = ("Use another activation, or build the gate where Keras sees it: Dense(n) and "
            "Dense(n, activation='sigmoid') on the same input, multiplied by Multiply().")
    if state.layer.family == "recurrent":
        return diag.warning(
            diag.ACTIVATION_CHANGES_SHAPE, name,
            f"{what}, inside the recurrent cell: its state of {features} units would lose half "
            "of them at every step, so Keras builds the model but its predict fails.", hint)
    if features is not None and features % 2:
        effect = (f"the last axis of {format_shape(declared)} has {features} values, an odd "
                  "number, so Keras builds the model but its predict fails")
    else:
        halved, built = (("half the", "the declared size") if features is None
                         else (f"{features // 2}", f"{features} features"))
        effect = (f"Keras declares {format_shape(declared)}, as the summary shows, but its "
                  f"predict gives {halved} features on the last axis; a layer after it, built "
                  f"for {built}, fails at predict")
    return diag.warning(diag.ACTIVATION_CHANGES_SHAPE, name, f"{what}: {effect}.", hint)


def attention_across_batch(prop: Propagation) -> list[Diagnostic]:
    """Attention or AdditiveAttention whose inputs have no steps axis, or differ in rank: each
    sample attends over the samples of the batch."""
    notes = []
    for name, state in prop.states.items():
        layer = state.layer
        if not isinstance(layer, DotAttentionBase) or not state.output_shapes:
            continue
        inputs, options = state.input_shapes[0], state.calls[0].options
        if layer.mixes_batch(inputs):
            message, hint = layer.batch_note(inputs, options, state.call_outputs(0)[0])
            notes.append(diag.warning(diag.ATTENTION_ACROSS_BATCH, name,
                                      f"'{name}' attends across the batch: {message}", hint))
    return notes


def declared_shapes_that_differ(prop: Propagation) -> list[Diagnostic]:
    """Layers whose output Keras computes in another shape than it declares, as the layer
    says (``Layer.declared_shape_caveat``)."""
    notes = []
    for name, state in prop.states.items():
        if type(state.layer).declared_shape_caveat is Layer.declared_shape_caveat:
            continue  # the usual case: the layer declares what it computes
        if state.output_shapes and state.input_shapes:
            caveat = state.layer.declared_shape_caveat(state.input_shapes[0])
            if caveat is not None and not undone_by_readers(prop, state):
                notes.append(diag.warning(diag.DECLARED_SHAPE_DIFFERS, name, caveat.message,
                                          caveat.hint))
    return notes


def undone_by_readers(prop: Propagation, state: LayerState) -> bool:
    """Whether every layer that reads the first call's output computes, on the shape predict
    gives it, what it declares (a CenterCrop after a RandomCrop): the difference stops there."""
    first = state.calls[0]
    shape = state.layer.computed_output_shape(state.input_shapes[0])
    ref = TensorRef(first.layer, first.index)
    readers = [call for call in prop.order if ref in call.inputs]
    if shape is None or not readers:
        return False
    outputs = prop.outputs_by_call()
    for call in readers:
        reader = prop.states[call.layer]
        inputs = [shape if source == ref else prop.tensors.get(source) for source in call.inputs]
        declared = [prop.tensors[out] for out in outputs[call.layer, call.index]]
        if reader.failed or None in inputs:
            return False
        try:
            built, why = computed.built_for(reader.layer, [prop.tensors[s] for s in call.inputs],
                                            inputs, call.options, reader.weights)
            if (built is None or why is not None
                    or computed.call_outputs(built, inputs, call.options) != declared):
                return False
        except (LayerInputIncompatible, NotImplementedError):
            return False
    return True


def integer_inputs(graph: ModelGraph, prop: Propagation) -> list[Diagnostic]:
    """Where a layer that computes otherwise on integers (``Layer.integer_caveat``) reads
    integer tensors: a Discretization's or a lookup's indices, or an integer model input,
    which Keras leaves as they are, so that a normalisation truncates what it normalises; an
    error where Keras cannot build the layer on them (``Layer.integer_refusal``). Once per
    layer."""
    dtypes = computed.tensor_dtypes(graph, prop)
    notes: list[Diagnostic] = []
    seen: set[str] = set()
    for call in prop.order if dtypes else ():
        read = computed.dtype_read(call, dtypes)
        if read is None or call.layer in seen:
            continue
        layer = prop.states[call.layer].layer
        caveat, refusal = layer.integer_caveat(read), layer.integer_refusal()
        if caveat is None and refusal is None:
            continue
        seen.add(call.layer)
        sources = " and ".join(f"'{ref.layer}'" for ref in call.inputs)
        hint = ("Make floats of them first: one-hot encode the indices (output_mode='one_hot', "
                "or CategoryEncoding), embed them (Embedding), or cast them (Rescaling(1.0)) "
                f"before '{call.layer}'.")
        if refusal is not None:
            notes.append(diag.error(diag.LAYER_INPUT_INCOMPATIBLE, call.layer,
                                    f"'{call.layer}' reads integers from {sources}, and "
                                    f"{refusal}.", hint))
            continue
        notes.append(diag.warning(
            diag.INTEGER_INPUTS, call.layer,
            f"'{call.layer}' reads integers from {sources}. Keras leaves integer tensors as they "
            f"are, and {layer.keras_name} {caveat}.", hint))
    return notes


def empty_tensors(graph: ModelGraph, prop: Propagation) -> list[Diagnostic]:
    """Where tensors of no values start: a model input, or a call whose inputs hold values,
    with an axis of size 0. Keras builds such models (tf.keras 2's Cropping3D crops down to
    nothing, an EinsumDense may declare 0 features) and runs them on empty arrays."""
    empty = {ref: shape for ref, shape in prop.tensors.items() if shape and 0 in shape}
    if not empty:
        return []
    notes, seen = [], set()
    inputs = graph.input_names()
    for ref, shape in empty.items():
        if ref.layer in inputs:
            notes.append(empty_note(ref.layer, f"'{ref.layer}' declares", shape,
                                    "Give the input the sizes of your data: x.shape[1:]."))
    outputs = prop.outputs_by_call()
    for call in prop.order:
        if call.layer in seen or any(ref in empty for ref in call.inputs):
            continue
        shape = next((empty[ref] for ref in outputs[call.layer, call.index] if ref in empty),
                     None)
        if shape is not None:
            seen.add(call.layer)
            given = ", ".join(format_shape(prop.tensors[ref] or ()) for ref in call.inputs)
            notes.append(empty_note(call.layer, f"'{call.layer}' gives", shape, (
                f"An axis of size 0 is rarely meant: check the arguments of '{call.layer}' "
                f"against what it receives, {given}.")))
    return notes


def empty_note(name: str, gives: str, shape: Shape, hint: str) -> Diagnostic:
    axis = shape.index(0)
    return diag.warning(
        diag.EMPTY_TENSOR, name,
        f"{gives} {format_shape(shape)}: axis {axis} has size 0, so the tensor holds no "
        "values. Keras builds and runs the model, but nothing of the data reaches the layers "
        "after it through this tensor (a Dense reading it gives its bias alone).", hint)


def mask_broadcasts_to_unknown_sizes(graph: ModelGraph) -> list[Diagnostic]:
    """An operation of masks that broadcasts to a shape with an unknown axis: Keras 3.6 and 3.9
    write one for each masked input of a Concatenate (``BroadcastTo`` of the shape Keras
    declares, its batch axis None), and their predict cannot run it (recorded:
    tests/fixtures/versions, ``masked_concatenation``). An error at predict, at the operation
    (a row of the summary)."""
    errors = []
    for operation in graph.mask_operations:
        computes = operation.computes
        shape = (dict(computes.config).get("shape") if isinstance(computes, MaskOp)
                 and computes.operation == "BroadcastTo" else None)
        if not isinstance(shape, list | tuple) or None not in shape:
            continue
        error = diag.error(
            diag.LAYER_INPUT_INCOMPATIBLE, operation.name,
            f"'{operation.name}' (BroadcastTo) computes a mask by broadcasting it to "
            f"{format_shape(tuple(shape))}, a shape with an unknown axis, which predict "
            "cannot do: Keras 3.6 and 3.9 write this operation for each masked input of a "
            "Concatenate, and their predict fails there (\"Shapes must be 1D sequences of "
            "concrete values of integer type\").",
            "Keras 3.12 and later compute a Concatenate's mask without it: build the model "
            "with Keras 3.12 or later, or concatenate tensors that carry no mask.")
        error.at_predict = True
        errors.append(error)
    return errors
