"""The shapes Keras' ``predict`` computes, where they differ from those it declares.

A few layers compute another shape than the one Keras declares and the summary shows
(``Layer.computed_output_shape``): Keras 3's RandomCrop returns its images uncropped at
inference, MelSpectrogram's stft makes one frame fewer, an attention over tensors without
steps pairs the samples of the batch. ``predict`` runs the layers after them on the computed
shape: each computes what its operations give on it, as long as it can take that shape and its
weights, built for the declared one, fit it (a Conv2D and a global pooling do; a Dense after a
Flatten does not, and ``predict`` fails there).

This module follows those shapes through a model, for the forward pass to check its kernels
against and for its budget to count (a RandomCrop to 32×32 of 1024×1024 images makes every
convolution after it a thousand times larger than the declared shapes say).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import LayerInputIncompatible
from .graph import Call, ModelGraph, Propagation, TensorRef
from .layers.base import EXACT_DTYPES, Layer, Shapes, Weight, promoted_dtype
from .shapes import Shape, format_shape


def call_outputs(layer: Layer, inputs: Shapes, options: Mapping[str, Any]) -> list[Shape]:
    """The output shapes of a call on inputs of these shapes, as predict computes them: the
    shape rule's, output 0 as ``Layer.computed_output_shape`` gives it where it does. Raises
    LayerInputIncompatible where the layer cannot take these shapes."""
    outputs = list(layer.output_shapes_for_call(inputs, options))
    computed = layer.computed_output_shape(inputs)
    if computed is not None and outputs:
        outputs[0] = computed
    return outputs


def built_for(layer: Layer, declared: Shapes, inputs: Shapes, options: Mapping[str, Any],
              weights: Sequence[Weight] | None) -> tuple[Layer | None, str | None]:
    """``layer`` as Keras built it for the ``declared`` input shapes (``Layer.built_as``), to
    run on inputs of the computed shapes ``inputs``, and why predict cannot run it there
    (``refusal``); (None, why) where the forward pass does not follow those shapes through
    the layer."""
    try:
        built = layer.built_as(declared)
    except NotImplementedError as exc:
        return None, str(exc)
    return built, refusal(built, inputs, options, weights)


def refusal(layer: Layer, inputs: Shapes, options: Mapping[str, Any],
            weights: Sequence[Weight] | None) -> str | None:
    """Why predict cannot run a call on inputs of these computed shapes (the layer cannot
    take them, or builds other ``weights`` than it did on the declared ones); None where it
    can."""
    try:
        call_outputs(layer, inputs, options)
        built = layer.build(inputs)
    except LayerInputIncompatible as exc:
        return f"cannot take them: {exc.message}"
    except NotImplementedError:  # a layer without a shape rule (unknown to shapecheck)
        return "has no shape rule to follow them by"
    for declared, needed in zip(weights or (), built, strict=False):
        if tuple(declared.shape) != tuple(needed.shape):
            return (f"was built for the declared shape: its {declared.name} has shape "
                    f"{format_shape(declared.shape)}, these inputs need "
                    f"{format_shape(needed.shape)}")
    if len(built) != len(weights or ()):
        return "was built for the declared shape, with other weights than these inputs need"
    return None


def tensor_dtypes(graph: ModelGraph, prop: Propagation) -> dict[TensorRef, str]:
    """The dtype of every tensor Keras does not hold as float32, by name: integers or booleans
    (``Layer.output_dtype``: model inputs declared so, indices of a Discretization or a
    lookup, and what the layers that keep them make of them), and float16 or bfloat16 (model
    inputs declared so, outputs of layers whose dtype policy computes in them)."""
    if prop.dtypes is not None and prop.dtypes[0] is graph:
        return prop.dtypes[1]
    dtypes = {TensorRef(i.name): i.dtype for i in graph.inputs if i.dtype is not None}
    outputs: dict[tuple[str, int], list[TensorRef]] | None = None  # made when first needed
    for call in prop.order:
        layer = prop.states[call.layer].layer
        # Mostly none: the layers that keep integers then have none to keep.
        read = [exact_dtype(dtypes, r) for r in call.inputs] if dtypes else ()
        by_output = layer.output_dtypes(read)
        dtype = layer.output_dtype(read) or layer.compute_dtype
        if by_output is None and dtype is None:
            continue
        outputs = outputs or prop.outputs_by_call()
        refs = outputs[call.layer, call.index]
        for ref, own in zip(refs, by_output or [dtype] * len(refs), strict=False):
            if own is not None:
                dtypes[ref] = own
    prop.dtypes = graph, dtypes
    return dtypes


def exact_dtype(dtypes: Mapping[TensorRef, str], ref: TensorRef) -> str | None:
    """The integer or boolean dtype of ``ref`` (``tensor_dtypes``), which Keras leaves as it
    is; None for floats, which a layer casts to its own dtype."""
    dtype = dtypes.get(ref)
    return dtype if dtype in EXACT_DTYPES else None


def dtype_read(call: Call, dtypes: Mapping[TensorRef, str]) -> str | None:
    """The dtype ``call``'s inputs combine into where every one is an integer or a boolean
    tensor (``tensor_dtypes``); None where one is a float."""
    read = [exact_dtype(dtypes, ref) for ref in call.inputs]
    return promoted_dtype(read) if read and all(read) else None


def computed_shapes(prop: Propagation) -> dict[TensorRef, Shape | None]:
    """Every tensor's shape as predict computes it, from the shapes a propagation declares.

    A call whose inputs all have their declared shapes gives its declared outputs, output 0
    as the layer computes it (``Layer.computed_output_shape``); one that reads a computed
    shape gives what the shape rule of the layer built for the declared shapes gives on it
    (``built_for``). A call predict cannot run there, or the forward pass does not follow,
    keeps its declared outputs: the forward pass refuses it before it runs.
    """
    shapes = dict(prop.tensors)
    outputs = prop.outputs_by_call()
    for call in prop.order:
        layer = prop.states[call.layer].layer
        refs = outputs[call.layer, call.index]
        inputs = [shapes[ref] for ref in call.inputs]
        if any(shape is None or None in shape for shape in inputs) or not refs:
            continue
        declared = [prop.tensors[ref] for ref in call.inputs]
        try:
            if inputs == declared:
                computed = layer.computed_output_shape(inputs)
                if computed is not None:
                    shapes[refs[0]] = computed
            else:
                built, why = built_for(layer, declared, inputs, call.options,
                                       prop.states[call.layer].weights)
                if built is not None and why is None:
                    shapes.update(zip(refs, call_outputs(built, inputs, call.options),
                                      strict=False))
        except (LayerInputIncompatible, NotImplementedError):
            continue  # the forward pass refuses this call before it runs
    return shapes
