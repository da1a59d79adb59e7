"""Candidate fixes for each kind of diagnostic: plausible edits, not yet verified.

Each proposer looks at one diagnostic and the analysed model and yields candidates, the changes
a Keras user would make (insert Flatten, set padding='same', add a channel axis...). Proposers
may be generous: ``fixes.verify`` applies every candidate and keeps those that work.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import product
from typing import TYPE_CHECKING, Any

from . import diagnostics as diag
from .data import (
    BINARY_LOSSES,
    CATEGORICAL_LOSSES,
    LOSS_KINDS,
    SPARSE,
    compatible,
    declared_as_whole_data,
    global_pooling,
    loss_name,
    target_sample_counts,
)
from .diagnostics import Diagnostic
from .fixes_edits import (
    Edit,
    InsertBefore,
    NewLayer,
    ReplaceLayer,
    SetArgs,
    SetInnerArgs,
    SetInputShape,
    SetType,
    as_python,
)
from .graph import Call, TensorRef, Unresolved
from .layers import ALIASES, REGISTRY
from .layers.attention import DotAttentionBase
from .layers.base import Layer
from .layers.core import Dense
from .layers.reshaping import Reshape
from .lint import SMALL_CHANNELS, flatten_before
from .shapes import Shape, format_shape, num_elements, spatial_axes

if TYPE_CHECKING:
    from .analysis import Analysis
    from .request import CheckRequest


@dataclass
class Candidate:
    title: str
    edits: list[Edit]

    @cached_property
    def key(self) -> str:
        """What the candidate changes, spelt: two candidates of equal keys patch alike."""
        return repr(self.edits)


class Situation:
    """The analysed model and the request, with the questions proposers ask of them."""

    def __init__(self, analysis: Analysis, request: CheckRequest) -> None:
        self.analysis = analysis
        self.request = request
        self.graph = analysis.graph
        self.prop = analysis.propagation
        self.loss = loss_name(request.loss)
        self.calls: dict[str, Call] = {}
        self.readers: dict[str, list[str]] = defaultdict(list)
        for call in self.graph.calls:
            self.calls.setdefault(call.layer, call)
            for ref in call.inputs:
                self.readers[ref.layer].append(call.layer)
        self.uncomputed = {name for name, state in self.prop.states.items()
                           if state.output_shapes is None}

    def layer(self, name: str | None) -> Layer | None:
        return self.graph.layers.get(name) if name else None

    def inputs(self, name: str) -> list[Shape | None]:
        """The input shapes of the first call of ``name``."""
        call = self.calls.get(name)
        return [self.prop.tensors.get(ref) for ref in call.inputs] if call else []

    def source(self, name: str, branch: int = 0) -> str | None:
        """The layer or model input that feeds input ``branch`` of ``name``."""
        call = self.calls.get(name)
        return call.inputs[branch].layer if call and len(call.inputs) > branch else None

    def output(self, name: str) -> Shape | None:
        return self.prop.tensors.get(TensorRef(name))

    def is_model_input(self, name: str | None) -> bool:
        return name in self.graph.input_names() and name not in self.graph.layers

    def chain(self, name: str) -> list[str]:
        """``name`` and the layers before it, while each reads one tensor of a single layer."""
        names = [name]
        while True:
            call = self.calls.get(names[-1])
            if call is None or len(call.inputs) != 1 or call.inputs[0].layer not in self.calls:
                return names
            names.append(call.inputs[0].layer)

    def data_shape(self, shapes: Any, name: str, several: bool) -> Shape | None:
        if isinstance(shapes, Mapping):
            return shapes.get(name)
        return None if shapes is None or several else tuple(shapes)

    def targets(self, output: str) -> Shape | None:
        return self.data_shape(self.request.y_shape, output, len(self.graph.outputs) > 1)

    def x(self, model_input: str) -> Shape | None:
        return self.data_shape(self.request.x_shape, model_input, len(self.graph.inputs) > 1)

    def sole_reader(self, name: str) -> str | None:
        readers = self.readers.get(name, [])
        return readers[0] if len(readers) == 1 else None


Proposer = Callable[[Diagnostic, Situation], Iterator[Candidate]]


def quoted(name: str) -> str:
    return f"'{name}'"


def insert(layer: str, new: NewLayer, branch: int = 0) -> Candidate:
    return Candidate(f"Insert {new} before {quoted(layer)}", [InsertBefore(layer, new, branch)])


def set_args(layer: str, **args: Any) -> Candidate:
    listing = ", ".join(f"{k}={as_python(v)}" for k, v in args.items())
    return Candidate(f"Set {listing} on {quoted(layer)}", [SetArgs(layer, args)])


def data_format_of(layer: Layer | None) -> str:
    """A layer's data format; channels_last when it has none (or is a model input)."""
    data_format = getattr(layer.args, "data_format", None) if layer else None
    return data_format or "channels_last"


def pooling_layer(rank: int, data_format: str) -> NewLayer:
    """Global average pooling for a batched input of ``rank`` axes in ``data_format``."""
    args = {"data_format": data_format} if data_format == "channels_first" else {}
    return NewLayer(global_pooling(rank), args)


# -- the output against the targets ---------------------------------------------------------------

def first_high_rank_dense(situation: Situation, output: str) -> str | None:
    """The Dense nearest the input, on the chain to ``output``, that receives rank > 2."""
    found = None
    for name in situation.chain(output):
        layer, shapes = situation.layer(name), situation.inputs(name)
        if layer and layer.keras_name == "Dense" and shapes and shapes[0] and len(shapes[0]) > 2:
            found = name
    return found


def flatten_or_pool(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """Dense after a conv stack keeps the spatial axes: Flatten or pool before it."""
    out, y = situation.output(target.layer), situation.targets(target.layer)
    if out is None or y is None or len(out) <= len(y):
        return
    dense = first_high_rank_dense(situation, target.layer)
    if dense is None:
        return
    shape = situation.inputs(dense)[0]
    yield insert(dense, NewLayer("Flatten"))
    if 3 <= len(shape) <= 5:
        producer = situation.layer(situation.source(dense))
        yield insert(dense, pooling_layer(len(shape), data_format_of(producer)))


def returns_sequences(layer: Layer | None) -> bool | None:
    """A recurrent layer's ``return_sequences`` (a Bidirectional's: its layer's); None for
    other layers."""
    if layer is None or layer.family != "recurrent":
        return None
    if layer.keras_name == "Bidirectional":
        return layer.forward_layer.args.return_sequences
    return getattr(layer.args, "return_sequences", None)


def set_return_sequences(situation: Situation, name: str, value: bool) -> Candidate:
    if situation.layer(name).keras_name == "Bidirectional":
        return Candidate(f"Set return_sequences={value} on the layers {quoted(name)} wraps",
                         [SetInnerArgs(name, {"return_sequences": value})])
    return set_args(name, return_sequences=value)


def return_sequences(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """The last recurrent layer gives a sequence where one vector is wanted, or the reverse."""
    out, y = situation.output(target.layer), situation.targets(target.layer)
    if out is None or y is None:
        return
    for name in situation.chain(target.layer):
        current = returns_sequences(situation.layer(name))
        if current is not None:
            if current and len(out) > len(y):
                yield set_return_sequences(situation, name, False)
            elif not current and len(out) < len(y):
                yield set_return_sequences(situation, name, True)
            return


def pad_or_crop_to_targets(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """An output of the targets' rank and channels but another spatial size (a decoder that
    ends at 24×24 for 28×28 images): zeros around it, or a crop, before the last layer, which
    keeps the size it is given (a convolution with padding='same')."""
    out, y = situation.output(target.layer), situation.targets(target.layer)
    layer = situation.layer(target.layer)
    if (out is None or y is None or layer is None or len(out) != len(y)
            or not 3 <= len(out) <= 5 or out[-1] != y[-1]
            or data_format_of(layer) != "channels_last"):
        return
    gaps = [(y[axis] - out[axis]) if None not in (y[axis], out[axis]) else None
            for axis in range(1, len(out) - 1)]
    if None in gaps or not any(gaps):
        return
    if all(gap >= 0 for gap in gaps):
        kind, argument, sizes = "ZeroPadding", "padding", gaps
    elif all(gap <= 0 for gap in gaps):
        kind, argument, sizes = "Cropping", "cropping", [-gap for gap in gaps]
    else:
        return
    sides = [[size // 2, size - size // 2] for size in sizes]
    value = sides[0] if len(sides) == 1 else sides
    yield insert(target.layer, NewLayer(f"{kind}{len(sides)}D", {argument: value}))


def wanted_units(situation: Situation, out: Shape, y: Shape) -> int | None:
    """How many values per sample the targets ask for, as the loss reads them."""
    kind = LOSS_KINDS.get(situation.loss or "")
    if kind == SPARSE:
        return None
    if situation.loss in CATEGORICAL_LOSSES and y and out and y[-1] == 1 and out[-1] != 1:
        return None  # class ids for a categorical loss: the labels or the loss must change
    if len(y) == len(out) and y[-1] is not None:
        return y[-1]
    if len(y) == len(out) - 1 and situation.loss not in CATEGORICAL_LOSSES:
        return 1
    return None


def output_units(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """The last layer gives the wrong number of values: give it as many as the targets."""
    out, y = situation.output(target.layer), situation.targets(target.layer)
    if out is None or y is None:
        return
    units = wanted_units(situation, out, y)
    if units is None or units == out[-1]:
        return
    for name in situation.chain(target.layer):
        layer = situation.layer(name)
        if layer is None:
            return
        if hasattr(layer.args, "units"):
            yield set_args(name, units=units)
            activation = getattr(layer.args, "activation", None)
            if units == 1 and activation == "softmax":
                yield set_args(name, units=1, activation="sigmoid")
            if units > 1 and activation in ("sigmoid", "hard_sigmoid") \
                    and situation.loss in CATEGORICAL_LOSSES:
                yield set_args(name, units=units, activation="softmax")
            return
        if not (layer.elementwise or layer.keras_name == "Softmax"):
            return


# -- layers that cannot take their input ----------------------------------------------------------

def failed_inputs(situation: Situation, name: str | None) -> list[Shape]:
    """The input shapes of the call of ``name`` that failed."""
    state = situation.prop.states.get(name) if name else None
    return list(state.input_shapes[-1]) if state and state.input_shapes else []


def expected_rank(layer: Layer) -> int | None:
    """The rank (batch axis included) a spatial or recurrent layer needs."""
    if layer.family == "recurrent" and layer.keras_name != "TimeDistributed":
        return 3 + getattr(layer, "rank", 0)
    if layer.family in ("conv", "pooling", "reshaping") and hasattr(layer, "rank"):
        return layer.rank + 2
    return None


def missing_axis(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """Images without a channel axis, sequences without a feature axis: add the axis."""
    layer, shapes = situation.layer(target.layer), failed_inputs(situation, target.layer)
    rank = expected_rank(layer) if layer else None
    if rank is None or len(shapes) != 1 or len(shapes[0]) != rank - 1 or None in shapes[0][1:]:
        return
    sample = shapes[0][1:]
    source = situation.source(target.layer)
    if rank == 3 and returns_sequences(situation.layer(source)) is False:
        yield set_return_sequences(situation, source, True)  # stacked recurrent layers
        return
    if layer.family == "recurrent":
        options = [(*sample, 1), (1, *sample)]  # steps of one feature, or one step
    elif data_format_of(layer) == "channels_first":
        options = [(1, *sample)]
    else:
        options = [(*sample, 1)]
    for option in options:
        yield insert(target.layer, NewLayer("Reshape", {"target_shape": list(option)}))
        if situation.is_model_input(source) and situation.sole_reader(source) == target.layer:
            yield Candidate(f"Give the model input {quoted(source)} the shape "
                            f"{format_shape(option)} instead of {format_shape(sample)}",
                            [SetInputShape(source, option)])


def sequences_for_time_distributed(target: Diagnostic,
                                   situation: Situation) -> Iterator[Candidate]:
    """A TimeDistributed after a recurrent layer that gives its last output only: that layer
    gives its whole sequence (a tagger's LSTM → TimeDistributed(Dense), one label per step)."""
    layer = situation.layer(target.layer)
    source = situation.source(target.layer)
    if (layer is not None and layer.keras_name == "TimeDistributed"
            and returns_sequences(situation.layer(source)) is False):
        yield set_return_sequences(situation, source, True)


def window_too_large(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """A kernel or pool larger than its input: padding='same', or a window that fits."""
    layer, shapes = situation.layer(target.layer), failed_inputs(situation, target.layer)
    window = getattr(layer, "window", None) if layer else None
    if window is None or len(shapes) != 1 or len(shapes[0]) != layer.rank + 2:
        return
    if getattr(layer.args, "padding", None) == "valid":
        yield set_args(target.layer, padding="same")
    axes = spatial_axes(layer.rank, layer.data_format)
    lengths = [shapes[0][axis] for axis in axes]
    fitted = [k if length is None else min(k, (length - 1) // d + 1)
              for k, length, d in zip(window, lengths, layer.dilation, strict=True)]
    if fitted != list(window):
        yield set_args(target.layer, **{layer.window_arg: fitted})


def merge_mismatch(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """Branches that disagree: pad or crop the spatial axes, project the channels."""
    layer, shapes = situation.layer(target.layer), failed_inputs(situation, target.layer)
    if layer is None or layer.family != "merge" or len(shapes) < 2 or layer.keras_name == "Dot":
        return
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes) or not 2 <= rank <= 5:
        return
    concat_axis = getattr(layer.args, "axis", None)
    channel = rank - 1
    if concat_axis is not None and concat_axis % rank != channel:
        return
    spatial = list(range(1, rank - 1))
    yield from same_padding_on_branches(target.layer, shapes, spatial, situation)
    if concat_axis is not None:  # joined on the channels: only the spatial axes must agree
        yield from resize_branches(target.layer, shapes, spatial)
        return
    strided = list(strided_projection(target.layer, shapes, spatial))
    if strided:  # a shortcut that skipped a downsampling: padding or cropping would be wrong
        yield from strided
        return
    resizes = list(resize_branches(target.layer, shapes, spatial)) or [None]
    projections = list(project_branches(target.layer, shapes, rank)) or [None]
    for resize, project in product(resizes, projections):
        parts = [c for c in (resize, project) if c is not None]
        if parts:
            yield Candidate("; ".join(c.title for c in parts), [e for c in parts for e in c.edits])


def same_padding_on_branches(merge: str, shapes: Sequence[Shape], axes: list[int],
                             situation: Situation) -> Iterator[Candidate]:
    """Branches made smaller by 'valid' windows keep their size with padding='same'."""
    if not axes or any(s[a] is None for s in shapes for a in axes):
        return
    largest = [max(s[a] for s in shapes) for a in axes]
    names: list[str] = []
    for branch, shape in enumerate(shapes):
        if [shape[a] for a in axes] != largest:
            names += [n for n in branch_layers(situation, merge, branch)
                      if getattr(situation.layer(n).args, "padding", None) == "valid"]
    if names:
        listing = ", ".join(quoted(n) for n in names)
        yield Candidate(f"Set padding='same' on {listing}",
                        [SetArgs(n, {"padding": "same"}) for n in names])


def branch_layers(situation: Situation, merge: str, branch: int) -> list[str]:
    """The layers of one branch of ``merge``: back from its input to where branches fork."""
    names: list[str] = []
    name = situation.source(merge, branch)
    while name in situation.calls and len(situation.readers.get(name, [])) == 1:
        names.append(name)
        call = situation.calls[name]
        if len(call.inputs) != 1:
            break
        name = call.inputs[0].layer
    return names


def strided_projection(merge: str, shapes: Sequence[Shape],
                       axes: list[int]) -> Iterator[Candidate]:
    """A shortcut that skipped a downsampling: a strided 1×1 convolution (ResNet's projection)."""
    if not 1 <= len(axes) <= 3 or any(s[a] is None for s in shapes for a in axes):
        return
    smallest = min(shapes, key=lambda s: [s[a] for a in axes])
    if any(smallest[a] == 0 for a in axes):
        return
    edits, branches = [], []
    for branch, shape in enumerate(shapes):
        if any(shape[a] < smallest[a] or shape[a] % smallest[a] for a in axes):
            return
        strides = [shape[a] // smallest[a] for a in axes]  # exact, however large
        if strides == [1] * len(axes) and shape[-1] == smallest[-1]:
            continue
        new = NewLayer(f"Conv{len(axes)}D", {"filters": smallest[-1], "kernel_size": 1,
                                              "strides": strides})
        edits.append(InsertBefore(merge, new, branch))
        branches.append(str(branch))
    if edits and any(e.new.args["strides"] != [1] * len(axes) for e in edits):
        yield Candidate(f"Insert {edits[0].new} on input {', '.join(branches)} of "
                        f"{quoted(merge)} (a strided projection shortcut)", edits)


def resize_branches(merge: str, shapes: Sequence[Shape], axes: list[int]) -> Iterator[Candidate]:
    """Zero-pad the smaller branches up to the largest, or crop the larger down to the smallest."""
    if not axes or any(s[a] is None for s in shapes for a in axes):
        return
    rank = len(axes)
    for kind, arg, goal in (("ZeroPadding", "padding", max), ("Cropping", "cropping", min)):
        sizes = [goal(s[a] for s in shapes) for a in axes]
        edits, titles = [], []
        for branch, shape in enumerate(shapes):
            amounts = [abs(size - shape[a]) for size, a in zip(sizes, axes, strict=True)]
            if not any(amounts):
                continue
            pairs = [[n // 2, n - n // 2] for n in amounts]
            new = NewLayer(f"{kind}{rank}D", {arg: pairs[0] if rank == 1 else pairs})
            edits.append(InsertBefore(merge, new, branch))
            titles.append(f"{new} on input {branch}")
        if edits:
            yield Candidate(f"Insert {', '.join(titles)} of {quoted(merge)}", edits)


def project_branches(merge: str, shapes: Sequence[Shape], rank: int) -> Iterator[Candidate]:
    """A 1×1 convolution (a Dense for vectors) giving each branch the same channels."""
    channels = [s[-1] for s in shapes]
    if None in channels or len(set(channels)) == 1:
        return
    for goal in dict.fromkeys(channels):
        if rank == 2:
            new = NewLayer("Dense", {"units": goal})
        else:
            new = NewLayer(f"Conv{rank - 2}D", {"filters": goal, "kernel_size": 1})
        edits = [InsertBefore(merge, new, b) for b, c in enumerate(channels) if c != goal]
        branches = ", ".join(str(b) for b, c in enumerate(channels) if c != goal)
        yield Candidate(f"Insert {new} on input {branches} of {quoted(merge)} (a projection to "
                        f"{goal} channels)", edits)


def units_for_reshape(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """A Reshape whose target holds another number of elements than the Dense before it
    gives: the Dense with the units that fill the target (a decoder's Dense(7 * 7 * 64)
    before Reshape((7, 7, 64)), its product mistyped)."""
    reshape = situation.layer(target.layer)
    source = situation.source(target.layer)
    if (not isinstance(reshape, Reshape) or not isinstance(situation.layer(source), Dense)
            or situation.sole_reader(source) != target.layer):
        return
    dense_output = situation.output(source)
    per_unit = num_elements(dense_output[1:-1]) if dense_output else None
    wanted = num_elements(reshape.target)
    if per_unit and wanted and wanted > 0 and wanted % per_unit == 0:
        yield set_args(source, units=wanted // per_unit)


def flatten_unknown_axis(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """Dense after Flatten of a variable-size input: global pooling has a known size."""
    layer, shapes = situation.layer(target.layer), failed_inputs(situation, target.layer)
    if layer is None or not shapes or shapes[0][-1] is not None:
        return
    yield from pooling_for_flatten(target, situation)


def channels_first(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """Data laid out (channels, spatial...) read as channels_last: say so on every layer, or
    move the channel axis of the input last."""
    source = channels_first_input(target, situation)
    if source is None:
        return
    edits: list[Edit] = []
    for name, layer in situation.graph.layers.items():
        if hasattr(layer.args, "data_format") and data_format_of(layer) == "channels_last":
            edits.append(SetArgs(name, {"data_format": "channels_first"}))
        elif layer.keras_name == "BatchNormalization" and reads_channels_last(situation, name):
            edits.append(SetArgs(name, {"axis": 1}))
    if edits:
        formats = ", ".join(quoted(e.layer) for e in edits if "data_format" in e.args)
        axes = ", ".join(quoted(e.layer) for e in edits if "axis" in e.args)
        also = f" and axis=1 on {axes}" if axes else ""
        yield Candidate(f"Read the data as channels_first: set data_format='channels_first' "
                        f"on {formats}{also}", edits)
    sample = situation.output(source)[1:]
    moved = (*sample[1:], sample[0])
    yield Candidate(f"Give the model input {quoted(source)} the shape {format_shape(moved)} "
                    f"(channels last) and transpose the data to match",
                    [SetInputShape(source, moved)])


def reads_channels_last(situation: Situation, name: str) -> bool:
    """Whether a BatchNormalization normalises the last axis of feature maps."""
    shapes = situation.inputs(name)
    rank = len(shapes[0]) if shapes and shapes[0] is not None else 0
    return rank > 2 and situation.layer(name).args.axis % rank == rank - 1


def channels_first_input(target: Diagnostic, situation: Situation) -> str | None:
    """The model input that ``target``'s layer reads and that looks channels-first."""
    name = situation.chain(target.layer or "")[-1]
    source = situation.source(name) if name in situation.calls else None
    if not situation.is_model_input(source):
        return None
    shape = situation.output(source)
    if shape is None or not 3 <= len(shape) <= 5 or None in shape[1:]:
        return None
    first, last = shape[1], shape[-1]
    return source if first in SMALL_CHANNELS and last > max(4, first) else None


# -- the data against the model -------------------------------------------------------------------

def input_from_data(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """Make the model take x as it is: its shape, then Reshape or Permute to what follows."""
    y_counts = target_sample_counts(situation.request.y_shape)
    for model_input in situation.graph.inputs:
        x = situation.x(model_input.name)
        sample, reader = model_input.shape[1:], situation.sole_reader(model_input.name)
        if x is None or len(x) < 2 or tuple(x[1:]) == tuple(sample) or None in x[1:]:
            continue
        data = tuple(x[1:])
        if len(x) == 2 and len(sample) == 1 and x[0] == sample[0]:
            continue  # x looks transposed: the data, not the model, needs the change
        whole_data = declared_as_whole_data(x, sample, y_counts)  # input_shape=x.shape
        if compatible(x, sample) and not whole_data:
            continue  # x is one sample without its batch axis
        title = f"Give the model input {quoted(model_input.name)} " + (
            f"the shape {format_shape(data)}: x's without its {x[0]:,} samples" if whole_data
            else f"the shape of the data, {format_shape(data)}")
        yield Candidate(title, [SetInputShape(model_input.name, data)])
        if reader is None or None in sample:
            continue
        dims = permutation(data, sample)
        if dims is not None:
            new = NewLayer("Permute", {"dims": list(dims)})
        elif num_elements(data) == num_elements(sample):
            new = NewLayer("Reshape", {"target_shape": list(sample)})
        else:
            continue
        yield Candidate(f"Give the model input {quoted(model_input.name)} the shape "
                        f"{format_shape(data)} and insert {new} before {quoted(reader)}",
                        [SetInputShape(model_input.name, data), InsertBefore(reader, new)])


def permutation(data: Shape, sample: Shape) -> tuple[int, ...] | None:
    """Permute ``dims`` turning ``data`` into ``sample`` (1-based), if only the order differs."""
    if sorted(data) != sorted(sample) or len(data) < 2:
        return None
    free = list(range(len(data)))
    dims = []
    for size in sample:
        axis = next(a for a in free if data[a] == size)
        free.remove(axis)
        dims.append(axis + 1)
    return tuple(dims)


# -- names and activations ------------------------------------------------------------------------

def typo(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """An unknown layer type that is a known one misspelt."""
    layer = situation.layer(target.layer)
    if not isinstance(layer, Unresolved):
        return
    known = [*REGISTRY, *ALIASES]
    exact = [k for k in known if k.lower() == layer.class_name.lower()]
    for name in exact or difflib.get_close_matches(layer.class_name, known, n=3, cutoff=0.75):
        yield Candidate(f"Use {name} for {quoted(target.layer)} (not {layer.class_name})",
                        [SetType(target.layer, name)])


def set_activation(situation: Situation, name: str, activation: str) -> Candidate:
    layer = situation.layer(name)
    if layer is not None and layer.keras_name == "Softmax":
        new = NewLayer("Activation", {"activation": activation})
        return Candidate(f"Replace {quoted(name)} by {new}", [ReplaceLayer(name, new)])
    return set_args(name, activation=activation)


def output_activation(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """The activation the loss expects on the output."""
    layer = situation.layer(target.layer)
    if layer is None:
        return
    shape = situation.output(target.layer)
    units = shape[-1] if shape else None
    if situation.loss in BINARY_LOSSES:
        yield set_activation(situation, target.layer, "sigmoid")
    elif units == 1 and hasattr(layer.args, "units"):
        yield set_args(target.layer, units=2, activation="softmax")
    else:
        yield set_activation(situation, target.layer, "softmax")


def sigmoid_for_one_unit(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    yield set_activation(situation, target.layer, "sigmoid")


def pooling_for_flatten(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """Replace the Flatten before the target's Dense by the global pooling of its rank: it
    keeps one value per channel, a known size even when the spatial axes are unknown, and far
    fewer parameters in the Dense when Flatten → Dense holds most of them."""
    flatten = flatten_before(situation.graph, situation.source(target.layer) or "")
    grids = situation.prop.states[flatten].input_shapes if flatten else None
    if not grids or not 3 <= len(grids[0][0]) <= 5:
        return
    new = pooling_layer(len(grids[0][0]), data_format_of(situation.layer(flatten)))
    yield Candidate(f"Replace {quoted(flatten)} by {new}", [ReplaceLayer(flatten, new)])


def floats_from_integers(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """A Rescaling of scale 1 before a layer that reads integers (on each input of a merge):
    Keras casts them to floats there, and the layer after it computes on floats."""
    count = len(situation.inputs(target.layer))
    new = NewLayer("Rescaling", {"scale": 1.0})
    if count == 1:
        yield insert(target.layer, new)
    elif count > 1:
        branches = ", ".join(map(str, range(count)))
        yield Candidate(f"Insert {new} on inputs {branches} of {quoted(target.layer)}",
                        [InsertBefore(target.layer, new, branch) for branch in range(count)])


def floats_for_a_refusal(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """``floats_from_integers`` where Keras refuses to build the layer on integers."""
    layer = situation.layer(target.layer)
    if layer is not None and layer.integer_refusal() is not None:
        yield from floats_from_integers(target, situation)


def steps_for_the_query(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """A query vector per sample before Attention or AdditiveAttention whose value and key are
    sequences: a steps axis of 1 makes the query a sequence of the key's rank, so that each
    sample's query attends over its own key steps."""
    layer = situation.layer(target.layer)
    shapes = situation.inputs(target.layer)
    if not isinstance(layer, DotAttentionBase) or len(shapes) < 2 or None in shapes:
        return
    query, value, key = layer.query_value_key(shapes)
    if len(query) == 2 and query[-1] is not None and len(key) == len(value) > 2:
        steps = [1] * (len(key) - 2)
        yield insert(target.layer, NewLayer("Reshape", {"target_shape": [*steps, query[-1]]}))


def declared_arguments(target: Diagnostic, situation: Situation) -> Iterator[Candidate]:
    """The arguments with which Keras declares the shape it computes, or the layer after it
    that computes the declared shape again, as the layer gives them."""
    layer = situation.layer(target.layer)
    shapes = situation.inputs(target.layer)
    if layer is None or not shapes or None in shapes:
        return
    caveat = layer.declared_shape_caveat(shapes)
    if caveat is not None and caveat.args:
        yield set_args(target.layer, **caveat.args)
    reader = situation.sole_reader(target.layer)
    if caveat is not None and caveat.follow_with and reader is not None:
        yield insert(reader, NewLayer(*caveat.follow_with))


PROPOSERS: dict[str, list[Proposer]] = {
    diag.TARGET_SHAPE_MISMATCH: [flatten_or_pool, return_sequences, output_units,
                                 pad_or_crop_to_targets],
    diag.TARGET_BROADCAST: [flatten_or_pool, return_sequences, output_units],
    diag.LAYER_INPUT_INCOMPATIBLE: [missing_axis, window_too_large, merge_mismatch,
                                    flatten_unknown_axis, units_for_reshape,
                                    sequences_for_time_distributed, channels_first,
                                    floats_for_a_refusal],
    diag.INPUT_SHAPE_MISMATCH: [input_from_data],
    diag.UNKNOWN_LAYER: [typo],
    diag.SUSPICIOUS_DATA_FORMAT: [channels_first],
    diag.ACTIVATION_LOSS_MISMATCH: [output_activation],
    diag.SINGLE_UNIT_SOFTMAX: [sigmoid_for_one_unit],
    diag.LARGE_FLATTEN_DENSE: [pooling_for_flatten],
    diag.ATTENTION_ACROSS_BATCH: [steps_for_the_query],
    diag.DECLARED_SHAPE_DIFFERS: [declared_arguments],
    diag.INTEGER_INPUTS: [floats_from_integers],
}
