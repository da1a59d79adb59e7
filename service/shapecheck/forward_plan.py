"""Inference-time rewrites of a graph before its forward pass: less work, the same values.

Keras runs every layer as declared. At inference some layers fold into the one whose output
they read, and some kernels have a faster equivalent:

- a BatchNormalization on the channel axis of a linear layer (Conv, Dense and their kin) is
  an affine map per channel, ``y·inv + shift``, so it becomes part of that layer's kernel and
  bias: ``conv(x, W·inv) + (b·inv + shift)``;
- a bias of zeros (Keras' default initialiser, and so the bias of a batch norm with default
  statistics folded in) is left out: adding zeros changes no value but the sign of a zero;
- an activation layer (``Activation``, or a ``ReLU`` without slope or threshold) right after
  a linear layer becomes that layer's activation; after an Add or a BatchNormalization it is
  applied to their output in place. Either way it overwrites a new array instead of copying;
- an Add of two inputs, one of them a linear layer's new array that nothing else reads (a
  residual branch), writes the sum into that array (``AddInPlace``);
- a ZeroPadding read only by a 'valid' max pooling becomes that pooling's ``margins``: the
  pooling adds the zeros where its windows cross the borders, without a padded copy;
- a 3×3 Conv2D with stride 1 runs by Winograd's F(4×4, 3×3) or F(2×2, 3×3)
  (``winograd.WinogradConv2D``), its kernel transformed once, unless the plain convolution
  is faster (``winograd_tile``: a large kernel over a small map).

The values equal Keras' up to float32 rounding. A layer folds into another only when nothing
else sees the value the fold removes: the receiving layer is called once, the folded call is
the only reader of that value, which is no model output nor read by a mask argument, and no
call involved has call options. A folded call still runs, as a pass-through of its input
(``Absorbed``) that gives the masks it gave, so ``run_forward`` checks every call's runtime
shape (but that of a folded ZeroPadding, ``Unpadded``) and reports every layer.

Folding and transforming cost a pass over the kernels. For read-only weights (the default
weights, cached by ``initializers``) the results are kept as long as those arrays live, keyed
by their identity and the recipe, so that later passes reuse them (they hold about as much
memory again as the kernels, up to four times a 3×3 kernel with Winograd's); and so is the
plan itself, given a key of the graph and its shapes (~1 ms of Python for ResNet50). A
request's own weights serve one pass: they fold only where scaling the kernel costs less than
the pass over the output it saves, and Winograd's transform, which pays over several passes,
is left out.
"""

from __future__ import annotations

import copy
import math
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any, Generic, TypeVar

import numpy as np

from . import activations
from .graph import Call, ModelGraph, Propagation, TensorRef, mask_tensors
from .layers.activations import ReLU
from .layers.base import Array, Layer, Mask
from .layers.conv import BaseConv, ConvTranspose, DepthwiseConv
from .layers.core import Activation, Dense
from .layers.merge import Add
from .layers.normalization import BatchNormalization
from .layers.pooling import MaxPooling, MaxPooling1D, MaxPooling2D, MaxPooling3D
from .layers.reshaping import ZeroPadding, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D
from .lru import LRU
from .shapes import Shape, channel_axis_from_end, spatial_axes
from .winograd import WinogradConv2D, winograd_kernel

ZERO_PADDINGS: dict[type[Layer], type[ZeroPadding]] = {
    MaxPooling1D: ZeroPadding1D, MaxPooling2D: ZeroPadding2D, MaxPooling3D: ZeroPadding3D}
"""The ZeroPadding that folds into each max pooling (``Plan.fold_margins``)."""
MAX_POOLINGS = tuple(ZERO_PADDINGS)

LINEAR = (Dense, BaseConv)
"""Layers with kernels, an optional bias (the last weight) and an ``activation`` argument,
applied in place to their new output."""

Weights = Mapping[str, Sequence[Array]]
T = TypeVar("T")


def prepare(graph: ModelGraph, prop: Propagation, weights: Weights,
            key: Hashable | None = None) -> tuple[ModelGraph, Weights]:
    """The graph and weights to run: ``graph`` rewritten (``graph`` and ``weights``
    themselves when nothing applies). ``key`` tells graphs and propagations apart (equal keys:
    the same layers, calls and shapes); with one, the plan of read-only weights is kept for
    later passes (``PLANS``), as long as those weights live."""
    if key is None:
        return planned(graph, prop, weights)
    sources = [a for arrays in weights.values() for a in arrays]
    return PLANS.get((key, *weights), sources, lambda: planned(graph, prop, weights))


def planned(graph: ModelGraph, prop: Propagation,
            weights: Weights) -> tuple[ModelGraph, Weights]:
    plan = Plan(graph, prop, weights)
    for call in prop.order:
        if plan.layers[call.layer] is graph.layers[call.layer]:  # not rewritten yet
            plan.rewrite(call)
    if plan.layers == graph.layers:
        return graph, weights
    return replace(graph, layers=plan.layers), plan.weights


class Absorbed(Layer):
    """A call whose computation the plan moved into the layer before it: gives its input,
    with the masks the absorbed layer gives."""

    keras_name = "Absorbed"
    family = "core"
    elementwise = True

    def __init__(self, layer: Layer) -> None:
        super().__init__(layer.name, {})
        self.absorbed = layer

    def compute_mask_for_call(self, inputs: Sequence[Array], masks: Sequence[Mask],
                              options: Mapping[str, Any]) -> list[Mask]:
        return self.absorbed.compute_mask_for_call(inputs, masks, options)


class Unpadded(Absorbed):
    """A ZeroPadding whose zeros the pooling after it adds (``Pooling.margins``): gives its
    input, unpadded, where its output was declared padded."""


class Activated(Layer):
    """A layer whose output is a new array, then an activation written into that array."""

    keras_name = "Activated"
    family = "core"
    arity = None

    def __init__(self, layer: Layer, activation: str) -> None:
        super().__init__(layer.name, {})
        self.layer, self.activation = layer, activation

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        return self.activated(self.layer.forward(inputs, weights))

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        return self.activated(self.layer.forward_masked(inputs, weights, masks, options))

    def activated(self, outputs: list[Array]) -> list[Array]:
        (y,) = outputs
        return [activations.apply_in_place(self.activation, y)]

    def compute_mask_for_call(self, inputs: Sequence[Array], masks: Sequence[Mask],
                              options: Mapping[str, Any]) -> list[Mask]:
        return self.layer.compute_mask_for_call(inputs, masks, options)


class AddInPlace(Add):
    """An Add of two arrays of its output's shape, the ``into``-th a new array that nothing
    else reads: the sum is written into it (a + b equals b + a in floating point)."""

    into: int

    def combine(self, xs: list[Array]) -> Array:
        out = xs[self.into]
        return np.add(out, xs[1 - self.into], out=out)


class Plan:
    """The rewrites of one graph: its layers and weights, replaced as calls fold."""

    def __init__(self, graph: ModelGraph, prop: Propagation, weights: Weights) -> None:
        self.graph, self.prop = graph, prop
        self.layers = dict(graph.layers)
        self.weights = dict(weights)
        # Model outputs, and the tensors masks read: their values are seen as they are.
        self.outputs = set(graph.outputs).union(*(mask_tensors(c) for c in prop.order
                                                  if c.masks))
        self.calls = Counter(call.layer for call in prop.order)
        self.readers: dict[TensorRef, list[Call]] = defaultdict(list)
        for call in prop.order:
            for ref in call.inputs:
                self.readers[ref].append(call)
        self.producers = {output_of(call): call for call in prop.order}

    def rewrite(self, call: Call) -> None:
        layer = self.graph.layers[call.layer]
        if getattr(layer, "quantization", None) is not None:
            return  # its weights are integers and scales: it runs as declared
        if isinstance(layer, LINEAR):
            self.rewrite_linear(call, layer)
        elif makes_new_array(layer, call) and self.runs_once(call):
            layer = self.in_place(call, layer)
            after = self.sole_reader(output_of(call))
            activation = self.activation_of(after)
            if after is not None and activation is not None:
                layer = Activated(layer, activation)
                self.absorb(after)
            self.layers[call.layer] = layer
        elif type(layer) in MAX_POOLINGS and layer.padding == "valid" and self.runs_once(call):
            self.fold_margins(call, layer)

    def fold_margins(self, call: Call, pool: MaxPooling) -> None:
        """Fold into ``pool`` the ZeroPadding of its rank and data format that it alone
        reads."""
        ref = call.inputs[0]
        producer = self.producers.get(ref)
        if producer is None or self.sole_reader(ref) is not call or not self.runs_once(producer):
            return
        padding = self.graph.layers[producer.layer]
        if (type(padding) is not ZERO_PADDINGS[type(pool)]
                or padding.data_format != pool.data_format):
            return
        twin = rewritten_layer(pool, type(pool), {})
        twin.margins = padding.padding
        self.layers[call.layer] = twin
        self.layers[producer.layer] = Unpadded(padding)

    def in_place(self, call: Call, layer: Layer) -> Layer:
        """``layer``, or for an Add of two inputs one of which is ``disposable``, an
        ``AddInPlace`` into that one. (Keras 3's Add only: a variant, tf.keras 2's, masks
        otherwise, which the rewritten class would not.)"""
        if type(layer) is not Add or len(call.inputs) != 2:
            return layer
        output = self.prop.tensors[output_of(call)]
        for into, ref in enumerate(call.inputs):
            if self.prop.tensors[ref] == output and self.disposable(ref):
                twin = rewritten_layer(layer, AddInPlace, {})
                twin.into = into
                return twin
        return layer

    def disposable(self, ref: TensorRef) -> bool:
        """Whether the value of ``ref`` is a new array of a linear layer, passed on by the
        calls folded into it, that only one call reads and that is no model output."""
        while ref not in self.outputs and len(self.readers[ref]) == 1:
            producer = self.producers.get(ref)
            if producer is None:  # a model input
                return False
            layer = self.layers[producer.layer]
            if not isinstance(layer, Absorbed):
                return isinstance(layer, LINEAR)
            ref = producer.inputs[0]
        return False

    def rewrite_linear(self, call: Call, linear: Layer) -> None:
        kernels, changes = self.weights[call.layer], {}
        if is_linear(linear.args.activation) and self.runs_once(call):
            kernels, changes = self.fold_readers(call, linear)
        if changes.get("use_bias", linear.args.use_bias) and not kernels[-1].any():
            kernels, changes = kernels[:-1], {**changes, "use_bias": False}
        kind = type(linear)
        output = self.prop.tensors[output_of(call)]
        tile = winograd_tile(linear, kernels[0], output) if kept(kernels[:1]) else None
        if tile is not None:
            kind, kernels = WinogradConv2D, [winograd(kernels[0], tile), *kernels[1:]]
        if changes or kind is not type(linear):
            self.layers[call.layer] = rewritten_layer(linear, kind, changes)
            self.weights[call.layer] = kernels

    def fold_readers(self, call: Call, linear: Layer) -> tuple[Sequence[Array], dict[str, Any]]:
        """Fold into ``linear`` the batch norm, then the activation, that alone read its
        output: its weights and the changes to its arguments."""
        kernels, changes = self.weights[call.layer], {}
        tail = output_of(call)
        norm = self.sole_reader(tail)
        if norm is not None and self.folds(linear, kernels, norm):
            kernels = fold(linear, kernels, self.graph.layers[norm.layer],
                           self.weights[norm.layer])
            changes["use_bias"] = True
            tail = self.absorb(norm)
        after = self.sole_reader(tail)
        activation = self.activation_of(after)
        if after is not None and activation is not None:
            changes["activation"] = activation
            self.absorb(after)
        return kernels, changes

    def folds(self, linear: Layer, kernels: Sequence[Array], norm: Call) -> bool:
        """Whether ``norm`` is a batch norm of ``linear``'s channels that pays to fold."""
        shape = self.prop.tensors[norm.inputs[0]]
        return (normalises_channels(self.graph.layers[norm.layer], linear, shape)
                and folding_pays(kernels, self.weights[norm.layer], shape))

    def activation_of(self, call: Call | None) -> str | None:
        """The activation ``call`` applies, when it is a plain activation layer."""
        return None if call is None else activation_of(self.graph.layers[call.layer])

    def absorb(self, call: Call) -> TensorRef:
        """Make ``call`` a pass-through; its output tensor."""
        self.layers[call.layer] = Absorbed(self.graph.layers[call.layer])
        self.weights[call.layer] = []
        return output_of(call)

    def runs_once(self, call: Call) -> bool:
        """Whether ``call`` is its layer's only call, without call options."""
        return self.calls[call.layer] == 1 and not call.options

    def sole_reader(self, ref: TensorRef) -> Call | None:
        """The call that alone reads ``ref``, on its only input, when ``ref`` is no model
        output and that call ``runs_once``."""
        found = self.readers.get(ref, [])
        if ref in self.outputs or len(found) != 1:
            return None
        call = found[0]
        return call if len(call.inputs) == 1 and self.runs_once(call) else None


def output_of(call: Call) -> TensorRef:
    return TensorRef(call.layer, call.index)


def is_linear(activation: str | None) -> bool:
    return activation in (None, "linear")


def makes_new_array(layer: Layer, call: Call) -> bool:
    """Whether ``layer``'s kernel returns a new array (not a view of an input) on ``call``."""
    return (type(layer) is BatchNormalization
            or (isinstance(layer, Add) and len(call.inputs) > 1))


def normalises_channels(norm: Layer, linear: Layer, shape: Shape) -> bool:
    """Whether ``norm`` is a BatchNormalization of the channel axis of ``linear``'s output."""
    if not isinstance(norm, BatchNormalization):
        return False
    channels = (-1 if isinstance(linear, Dense)
                else channel_axis_from_end(linear.rank, linear.data_format))
    return norm.args.axis % len(shape) == channels % len(shape)


def activation_of(layer: Layer) -> str | None:
    """The activation name of an activation layer without arguments that matter, and that
    keeps the shape (glu's output is checked against the shape Keras declares for its own
    layer)."""
    if isinstance(layer, Activation):  # tf.keras 2 documents have a subclass of it
        activation = layer.args.activation
        return None if activation in activations.SHAPE_CHANGING else activation
    if type(layer) is ReLU and not layer.args.negative_slope and not layer.args.threshold:
        return {None: "relu", 6.0: "relu6"}.get(layer.args.max_value)
    return None


def rewritten_layer(layer: Layer, kind: type[Layer], changes: Mapping[str, Any]) -> Layer:
    """A copy of ``layer`` as a ``kind`` (its own class, or a subclass that computes the same
    another way), its arguments updated by ``changes``."""
    twin = copy.copy(layer)
    twin.__class__ = kind
    twin.args = SimpleNamespace(**{**vars(layer.args), **changes})
    return twin


def kept(arrays: Sequence[Array]) -> bool:
    """Whether what is derived from ``arrays`` is kept for later passes: read-only arrays (the
    cached default weights) do not change; a request's own weights serve one pass."""
    return not any(a.flags.writeable for a in arrays)


def folding_pays(kernels: Sequence[Array], norm_weights: Sequence[Array],
                 output: Shape) -> bool:
    """Whether scaling the kernels costs less than the pass over the output it saves: always
    when the folded kernels are kept; for one pass, when they are no larger than the output."""
    if kept([*kernels, *norm_weights]):
        return True
    return sum(k.size for k in kernels) <= math.prod(d or 1 for d in output)


def winograd_tile(layer: Layer, kernel: Array, output: Shape) -> int | None:
    """The m of the Winograd F(m×m, 3×3) that runs ``layer`` fastest, or None for the plain
    convolution (measured on one core, each kernel read from memory as in a real pass).

    F(4×4) makes 4 times fewer products than the plain convolution, F(2×2) 2.25 times, and
    their transforms cost per element of the input and output. Each of their n² products has
    one row per m×m block: F(4×4) needs a grid of at least 5×5 blocks to beat F(2×2), whose
    products have 4 times more rows. With few rows the products only read their kernel, which
    Winograd makes larger (16/9 for F(2×2)): from 512 channels in and out, fewer than 25
    blocks of 2×2 are faster by the plain convolution.
    """
    if not WinogradConv2D.can_run(layer, output):
        return None
    lengths = [output[axis] or 1 for axis in spatial_axes(2, layer.data_format)]

    def blocks(m: int) -> int:
        return (output[0] or 1) * math.prod(-(-length // m) for length in lengths)

    if blocks(4) >= 25:
        return 4
    if kernel.shape[-2] * kernel.shape[-1] >= 512 * 512 and blocks(2) < 25:
        return None
    return 2


# -- derived weights --------------------------------------------------------------------------
def fold(linear: Layer, weights: Sequence[Array], norm: BatchNormalization,
         norm_weights: Sequence[Array]) -> list[Array]:
    """``linear``'s weights with ``norm`` folded in: its kernels, the last one scaled per
    output channel, and a bias."""
    recipe = (type(linear), linear.args.use_bias, norm.args.epsilon, norm.args.scale,
              norm.args.center)
    return DERIVED.get(recipe, [*weights, *norm_weights],
                       lambda: folded(linear, weights, norm, norm_weights))


def folded(linear: Layer, weights: Sequence[Array], norm: BatchNormalization,
           norm_weights: Sequence[Array]) -> list[Array]:
    inv, shift = norm.affine(norm_weights)
    kernels = list(weights[:-1] if linear.args.use_bias else weights)
    last = kernels[-1]
    if isinstance(linear, ConvTranspose):  # (*kernel, filters, channels)
        kernels[-1] = last * inv[:, None]
    elif isinstance(linear, DepthwiseConv):  # (*kernel, channels, multiplier)
        kernels[-1] = last * inv.reshape(last.shape[-2:])
    else:  # (..., filters), the pointwise kernel of a separable convolution too
        kernels[-1] = last * inv
    bias = weights[-1] * inv + shift if linear.args.use_bias else shift
    return [*kernels, bias]


def winograd(kernel: Array, tile: int) -> Array:
    """``kernel`` transformed for ``WinogradConv2D`` with ``tile``×``tile`` output blocks."""
    return DERIVED.get(("winograd", tile), [kernel], lambda: [winograd_kernel(kernel, tile)])[0]


class DerivedCache(Generic[T]):
    """Values computed from read-only arrays, kept while those live; at most ``max_entries``
    of them, the least recently used dropped first. ``seal`` is applied to each value kept
    (the derived arrays are made read-only in turn).

    Writeable sources (a request's own weights) may change, so their results are not kept.
    """

    def __init__(self, max_entries: int | None = None,
                 seal: Callable[[T], None] = lambda value: None) -> None:
        self.seal = seal
        self.entries: LRU[tuple[list[weakref.ref], T]] = LRU(max_entries)

    def get(self, recipe: Hashable, sources: Sequence[Array], make: Callable[[], T]) -> T:
        if not kept(sources):
            return make()
        key = (recipe, *(id(a) for a in sources))
        entry = self.entries.get(key)
        if entry is not None and all(ref() is a for ref, a in zip(entry[0], sources,
                                                                   strict=True)):
            return entry[1]
        value = make()
        self.seal(value)
        refs = [weakref.ref(a, lambda _, key=key: self.entries.pop(key)) for a in sources]
        self.entries.put(key, (refs, value))
        return value


def read_only(arrays: list[Array]) -> None:
    for a in arrays:
        a.flags.writeable = False


DERIVED: DerivedCache[list[Array]] = DerivedCache(seal=read_only)
PLANS: DerivedCache[tuple[ModelGraph, Weights]] = DerivedCache(max_entries=8)
"""The plans of read-only weights, by the graph's ``key``: a rewritten graph holds little
beyond the derived weights (in ``DERIVED``), but a model may be sent again and again with other
arguments and the same weights."""
