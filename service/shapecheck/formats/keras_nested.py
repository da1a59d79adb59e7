"""A model used as a layer of another model (a nested Sequential or Functional).

In the outer graph it is one layer whose calls propagate its inner graph with the shapes they
receive, as Keras' ``Functional.call`` runs its operations on the tensors it is given. Its
weights are the inner layers' weights in layer order (the order of ``model.get_weights()``), so
its parameter count is the inner total, each shared inner layer counted once.

Keras masks cross it both ways, as in Keras' ``predict``: the masks of the tensors a call gives
it (or its ``mask`` argument) are those of the inner model inputs, and its outputs carry the
masks the inner layers gave them, which the layers after it follow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, NoReturn

import numpy as np

from .. import diagnostics as diag
from ..computed import computed_shapes, tensor_dtypes
from ..errors import LayerInputIncompatible
from ..forward import RunsWithMasks, one_mask, run_graph
from ..graph import ModelGraph, ModelInput, Propagation, propagate
from ..layers.base import Array, Mask, ShapeCaveat, Shapes, Weight
from ..lint import declared_shapes_that_differ
from ..shapes import Shape, format_shape, shapes_text


class NestedModel(RunsWithMasks):
    """A Sequential or Functional model called as a layer."""

    keras_name = "Model"
    family = "core"
    arity = None

    def __init__(self, name: str, class_name: str, graph: ModelGraph, trainable: bool) -> None:
        super().__init__(name, {"trainable": trainable})
        self.class_name = class_name
        self.graph = graph
        self._runs: dict[tuple[Shape, ...], Propagation] = {}

    def built_as(self, declared: Shapes) -> NoReturn:
        raise NotImplementedError("is a nested model, whose layers run on the shapes they "
                                  "declare")

    def run(self, inputs: Shapes) -> Propagation:
        """The inner graph propagated with these input shapes (memoised: shapes repeat)."""
        key = tuple(inputs)
        if key not in self._runs:
            self._runs[key] = propagate(self.called_with(inputs))
        return self._runs[key]

    def called_with(self, inputs: Shapes) -> ModelGraph:
        """The inner graph whose inputs are the shapes of this call, checked as Keras'
        ``InputSpec`` of a model checks them: same rank, same known sizes after the batch."""
        declared = self.graph.inputs
        if len(inputs) != len(declared):
            raise LayerInputIncompatible(
                f"{self.class_name} '{self.name}' takes {len(declared)} input(s) "
                f"({', '.join(i.name for i in declared)}), but receives {len(inputs)}.",
                "Call the model with one tensor per model input.")
        for model_input, shape in zip(declared, inputs, strict=True):
            self.check_compatible(model_input, shape)
        return replace(self.graph, inputs=[replace(i, shape=shape)
                                           for i, shape in zip(declared, inputs, strict=True)])

    def check_compatible(self, model_input: ModelInput, shape: Shape) -> None:
        expected = model_input.shape
        if expected is None:  # a Sequential without a declared input takes any shape
            return
        if len(expected) == len(shape) and all(
                e is None or s is None or e == s for e, s in zip(expected[1:], shape[1:],
                                                                 strict=True)):
            return
        raise LayerInputIncompatible(
            f"{self.class_name} '{self.name}' was built for input '{model_input.name}' of shape "
            f"{format_shape(expected)}, but receives {format_shape(shape)}.",
            f"Give it tensors of shape {format_shape(expected)} (the batch axis may differ).")

    def output_dtypes(self, dtypes: Sequence[str | None]) -> list[str | None] | None:
        """The dtype of each of its outputs as its own layers give it, whatever the outer
        model gives it: Keras casts a nested model's inputs to the dtypes the model declares,
        and leaves its outputs as they come (an integer and a float output stay so)."""
        prop = next(iter(self._runs.values()), None)  # propagated: the outer call came first
        if prop is None:
            return None
        inner = tensor_dtypes(self.graph, prop)
        return [inner.get(ref) for ref in self.graph.outputs]

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        prop = self.run(inputs)
        errors = [d for d in prop.diagnostics if d.severity == diag.ERROR]
        if errors:
            inner = errors[0]
            raise LayerInputIncompatible(
                f"Inside {self.class_name} '{self.name}', layer '{inner.layer}': {inner.message}",
                inner.hint)
        shapes = list(prop.output_shapes(self.graph))
        if None in shapes:  # an output layer that is never called inside the model
            missing = [ref.layer for ref, shape in zip(self.graph.outputs, shapes, strict=True)
                       if shape is None]
            raise LayerInputIncompatible(
                f"Inside {self.class_name} '{self.name}', the output layer '{missing[0]}' is "
                "never called, so the model's output has no shape.",
                f"Check the inbound_nodes of '{missing[0]}' in the model's JSON.")
        return shapes

    def build(self, inputs: Shapes) -> list[Weight]:
        prop = self.run(inputs)
        return [Weight(f"{state.layer.name}/{w.name}", w.shape,
                       w.trainable and state.layer.trainable, w.initializer)
                for state in prop.states.values() for w in state.weights or ()]

    def undeclared_shape(self, index: int, options: Mapping[str, Any],
                         inputs: Shapes) -> str | None:
        """Where a layer inside computes another shape than it declares and the model's
        output ``index`` follows it (a MelSpectrogram's frame fewer, ...)."""
        declared, computed = self.computed_outputs(inputs)[index]
        if computed == declared or declared is None:  # (None: a layer inside failed)
            return None
        return (f"its layers compute {format_shape(computed)} there, where Keras declares "
                f"{format_shape(declared)}")

    def computed_output_shape(self, inputs: Shapes) -> Shape | None:
        outputs = self.computed_outputs(inputs)
        if not outputs or outputs[0][0] in (None, outputs[0][1]):
            return None
        return outputs[0][1]

    def declared_shape_caveat(self, inputs: Shapes) -> ShapeCaveat | None:
        """The first ``declared_shape_differs`` of the layers inside, said of this model. It
        offers no arguments to change: they are those of a layer inside."""
        inner = declared_shapes_that_differ(self.run(inputs))
        if not inner:
            return None
        return ShapeCaveat(f"Inside {self.class_name} '{self.name}', layer '{inner[0].layer}': "
                           f"{inner[0].message}", inner[0].hint or "")

    def computed_outputs(self, inputs: Shapes) -> list[tuple[Shape, Shape]]:
        """(declared, computed) shape of each output of a call on ``inputs``. The shapes
        predict computes need every size, so an unknown batch is taken as 1 and given back."""
        batches = [shape[0] if shape else None for shape in inputs]
        prop = self.run([(1, *shape[1:]) if shape and shape[0] is None else shape
                         for shape in inputs])
        computed = computed_shapes(prop)
        batch = batches[0] if batches else None
        return [(self.with_batch(prop.tensors[ref], batch),
                 self.with_batch(computed.get(ref) or prop.tensors[ref], batch))
                for ref in self.graph.outputs]

    @staticmethod
    def with_batch(shape: Shape, batch: int | None) -> Shape:
        return (batch, *shape[1:]) if shape else shape

    def inner_graph(self, inputs: Shapes) -> tuple[ModelGraph, Propagation]:
        return self.called_with(inputs), self.run(inputs)

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        return sum(state.layer.macs(ins, state.call_outputs(k))
                   for state in self.run(inputs).states.values() if state.output_shapes
                   for k, ins in enumerate(state.input_shapes))

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        return self.forward_with_masks(inputs, weights, [None] * len(inputs), {})[0]

    def forward_with_masks(self, inputs: Sequence[Array], weights: Sequence[Array],
                           masks: Sequence[Mask], options: Mapping[str, Any],
                           ) -> tuple[list[Array], list[Mask]]:
        """The inner graph run on ``inputs`` carrying ``masks``: its outputs and their masks.
        A ``mask`` argument (one mask, or a list) sets the masks of the first inputs, as
        Keras' ``Functional.call`` does; where it says None an input keeps its own."""
        given = options.get("mask")
        given = [] if given is None else [one_mask(m) for m in given] \
            if isinstance(given, list) else [given]
        masks = [mask if k >= len(given) or given[k] is None else given[k]
                 for k, mask in enumerate(masks)]
        shapes = [(None, *x.shape[1:]) for x in inputs]
        prop = self.run(shapes)
        graph = self.called_with(shapes)
        per_layer, start = {}, 0
        for name, state in prop.states.items():
            count = len(state.weights or ())
            per_layer[name] = list(weights[start:start + count])
            start += count
        values, out_masks = run_graph(
            graph, prop, {i.name: x for i, x in zip(graph.inputs, inputs, strict=True)},
            per_layer, input_masks={i.name: m for i, m in zip(graph.inputs, masks, strict=True)})
        return ([np.asarray(values[ref]) for ref in graph.outputs],
                [out_masks.get(ref) for ref in graph.outputs])

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        ins, outs = shapes_text(inputs), shapes_text(outputs)
        total = sum(w.size for w in weights)
        frozen = sum(w.size for w in weights if not w.trainable)
        tail = f" ({frozen:,} non-trainable)" if frozen else ""
        return (f"a nested {self.class_name} of {len(self.graph.layers)} layers: {ins} → {outs}; "
                f"params: the sum of its layers' = {total:,}{tail}")
