"""Inference-time rewrites of a graph before its forward pass: less work, the same values.

Keras runs every layer as declared. At inference, some layers fold into the linear layer
(Conv, Dense and their kin) whose output they read:

- a BatchNormalization on that layer's channel axis is an affine map per channel,
  ``y·inv + shift``, so it becomes part of the kernel and bias:
  ``conv(x, W·inv) + (b·inv + shift)``;
- an activation right after it (``Activation`` or a plain ``ReLU``) becomes the layer's own,
  applied in place on the layer's new output instead of on a copy.

The values equal Keras' up to float32 rounding. A rewrite applies only when nothing else sees
the value it removes: the linear layer is called once, its output (and the normalised output,
when an activation folds too) has that single reader and is not a model output, and no call
involved has call options. The absorbed calls still run, as pass-throughs of their input, so
``run_forward`` checks every call's runtime shape and reports every layer as before.

Folding costs a pass over the kernels: the folded arrays of read-only weights (the default
weights, cached by ``initializers``) are kept as long as those arrays live, keyed by their
identity and the fold's arguments, so that repeated passes reuse them.
"""

from __future__ import annotations

import copy
import math
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from .graph import Call, ModelGraph, Propagation, TensorRef
from .layers.activations import ReLU
from .layers.base import Array, Layer, Mask
from .layers.conv import (
    BaseConv,
    ConvTranspose,
    DepthwiseConv,
    WinogradConv2D,
    winograd_kernel,
)
from .layers.core import Activation, Dense
from .layers.normalization import BatchNormalization
from .shapes import Shape, channel_axis, spatial_axes

LINEAR = (Dense, BaseConv)
"""Layers with kernels, an optional bias (the last weight) and an ``activation`` argument."""

Weights = Mapping[str, Sequence[Array]]


class Absorbed(Layer):
    """A call whose computation the plan moved into the layer before it: gives its input,
    with the masks the absorbed layer gives."""

    keras_name = "Absorbed"
    family = "core"
    elementwise = True

    def __init__(self, layer: Layer) -> None:
        super().__init__(layer.name, {})
        self.absorbed = layer

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        return self.absorbed.compute_mask(inputs, masks)


def prepare(graph: ModelGraph, prop: Propagation,
            weights: Weights) -> tuple[ModelGraph, Weights]:
    """The graph and weights to run: ``graph`` with its foldable calls folded (``graph`` and
    ``weights`` themselves when there is nothing to fold)."""
    readers = Readers(graph, prop)
    layers, rewritten = dict(graph.layers), dict(weights)
    done: set[str] = set()

    def absorb(call: Call) -> TensorRef:
        layers[call.layer], rewritten[call.layer] = Absorbed(graph.layers[call.layer]), []
        return output_of(call)

    for call in prop.order:
        linear = graph.layers[call.layer]
        if not isinstance(linear, LINEAR) or call.layer in done:
            continue
        done.add(call.layer)
        kernels, changes = weights[call.layer], {}
        tail = output_of(call)
        norm = readers.sole_reader(tail) if folds_into(linear, call, readers) else None
        if norm is not None and normalises_channels(graph.layers[norm.layer], linear,
                                                    prop.tensors[tail]):
            kernels = fold(linear, kernels, graph.layers[norm.layer], weights[norm.layer])
            changes["use_bias"] = True
            tail = absorb(norm)
        after = readers.sole_reader(tail) if folds_into(linear, call, readers) else None
        activation = None if after is None else activation_of(graph.layers[after.layer])
        if activation is not None:
            changes["activation"] = activation
            absorb(after)  # type: ignore[arg-type]
        kind = type(linear)
        if winograd_pays(linear, kernels[0], prop.tensors[output_of(call)]):
            kind, kernels = WinogradConv2D, [winograd(kernels[0]), *kernels[1:]]
        if changes or kind is not type(linear):
            layers[call.layer] = rewritten_layer(linear, kind, changes)
            rewritten[call.layer] = kernels
    if layers == graph.layers:
        return graph, weights
    return replace(graph, layers=layers), rewritten


class Readers:
    """Which calls read each tensor of a propagated graph."""

    def __init__(self, graph: ModelGraph, prop: Propagation) -> None:
        self.outputs = set(graph.outputs)
        self.calls = Counter(call.layer for call in prop.order)
        self.readers: dict[TensorRef, list[Call]] = defaultdict(list)
        for call in prop.order:
            for ref in call.inputs:
                self.readers[ref].append(call)

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


def normalises_channels(norm: Layer, linear: Layer, shape: Shape) -> bool:
    """Whether ``norm`` is a BatchNormalization of the channel axis of ``linear``'s output."""
    if not isinstance(norm, BatchNormalization):
        return False
    channels = -1 if isinstance(linear, Dense) else channel_axis(linear.data_format)
    return norm.args.axis % len(shape) == channels % len(shape)


def activation_of(layer: Layer) -> str | None:
    """The activation name of an activation layer without arguments that matter."""
    if type(layer) is Activation:
        return layer.args.activation
    if type(layer) is ReLU and not layer.args.negative_slope and not layer.args.threshold:
        return {None: "relu", 6.0: "relu6"}.get(layer.args.max_value)
    return None


def folds_into(linear: Layer, call: Call, readers: Readers) -> bool:
    """Whether layers after ``call`` may fold into ``linear``: it has no activation of its own
    and no other call that would need its unfolded weights."""
    return is_linear(linear.args.activation) and readers.runs_once(call)


def rewritten_layer(layer: Layer, kind: type[Layer], changes: Mapping[str, Any]) -> Layer:
    """A copy of ``layer`` as a ``kind`` (its own class, or a subclass that computes the same
    another way), its arguments updated by ``changes``."""
    twin = copy.copy(layer)
    twin.__class__ = kind
    twin.args = SimpleNamespace(**{**vars(layer.args), **changes})
    return twin


def winograd_pays(layer: Layer, kernel: Array, output: Shape) -> bool:
    """Whether Winograd's 16 products per 2×2 outputs (instead of 36) outweigh its transforms
    here: they cost per element of the input and output, the products per pair of channels,
    so it pays from 128 channels in and out; and on maps of at least 128 positions, where the
    products are not too small for BLAS and the transformed kernel (16/9 of its size) is read
    once for enough outputs."""
    if not WinogradConv2D.can_run(layer):
        return False
    positions = (output[0] or 1) * math.prod(output[a] for a in spatial_axes(2, layer.data_format))
    return min(kernel.shape[-2:]) >= 128 and positions >= 128


# -- folding ----------------------------------------------------------------------------------
def fold(linear: Layer, weights: Sequence[Array], norm: BatchNormalization,
         norm_weights: Sequence[Array]) -> list[Array]:
    """``linear``'s weights with ``norm`` folded in: its kernels, the last one scaled per
    output channel, and a bias (cached for read-only weights)."""
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
    bias = shift if not linear.args.use_bias else weights[-1] * inv + shift
    return [*kernels, bias]


class DerivedCache:
    """Arrays computed from read-only arrays, kept while those live.

    Writeable sources (a request's own weights) may change, so their results are not kept.
    """

    def __init__(self) -> None:
        self.entries: dict[Hashable, tuple[list[weakref.ref], list[Array]]] = {}

    def get(self, recipe: Hashable, sources: Sequence[Array],
            make: Callable[[], list[Array]]) -> list[Array]:
        if any(a.flags.writeable for a in sources):
            return make()
        key = (recipe, *(id(a) for a in sources))
        entry = self.entries.get(key)
        if entry is not None and all(ref() is a for ref, a in zip(entry[0], sources,
                                                                   strict=True)):
            return entry[1]
        derived = make()
        for a in derived:
            a.flags.writeable = False
        refs = [weakref.ref(a, lambda _, key=key: self.entries.pop(key, None)) for a in sources]
        self.entries[key] = (refs, derived)
        return derived


def winograd(kernel: Array) -> Array:
    """``kernel`` transformed for ``WinogradConv2D`` (cached for a read-only kernel)."""
    return DERIVED.get("winograd", [kernel], lambda: [winograd_kernel(kernel)])[0]


DERIVED = DerivedCache()
