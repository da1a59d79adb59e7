"""The numpy forward pass over a propagated graph, with Keras inference semantics.

Each layer's kernel lives in its class (``Layer.forward``); this module only walks the calls in
order, feeds each its inputs and weights, and checks every runtime shape against the static
inference: a difference is a bug in a shape rule or a kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .graph import ModelGraph, Propagation, TensorRef


class ShapeDisagreement(AssertionError):
    """A kernel produced a shape the static inference did not predict (an engine bug)."""


def run_forward(graph: ModelGraph, prop: Propagation, inputs: Mapping[str, np.ndarray],
                weights: Mapping[str, Sequence[np.ndarray]]) -> dict[TensorRef, np.ndarray]:
    """Every tensor's value, given the model inputs and every layer's weights."""
    values: dict[TensorRef, np.ndarray] = {TensorRef(n): np.asarray(a, dtype=np.float32)
                                           for n, a in inputs.items()}
    for call in prop.order:
        layer = graph.layers[call.layer]
        args = [values[ref] for ref in call.inputs]
        outputs = layer.forward(args, weights.get(call.layer, ()))
        for i, out in enumerate(outputs):
            ref = TensorRef(call.layer, call.index, i)
            check_shape(ref, out, prop.tensors.get(ref))
            values[ref] = out.astype(np.float32, copy=False)
    return values


def check_shape(ref: TensorRef, value: np.ndarray, static: tuple | None) -> None:
    if static is None or len(static) != value.ndim or any(
            s is not None and s != v for s, v in zip(static, value.shape, strict=True)):
        raise ShapeDisagreement(
            f"{ref.layer} output {ref.index}: the kernel gave {value.shape}, the shape rule "
            f"{static}")
