"""``check(body) -> dict``: the whole analysis of one request, as the endpoint returns it.

The engine is pure: no Flask, no I/O. Request problems raise RequestInvalid / LimitExceeded;
everything about the model itself becomes a diagnostic in a 200 answer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from . import diagnostics as diag
from . import limits
from .analysis import Analysis, analyse
from .computed import tensor_dtypes
from .data import check_data
from .data_sizes import periodic_size_notes
from .diagnostics import Diagnostic
from .errors import RequestInvalid
from .fixes import attach_fixes
from .formats import config_path, config_pointer, keras_document
from .forward import forward_pass
from .graph import Call, LayerState, Propagation
from .layers.base import ITEMSIZE
from .request import CheckRequest, parse_request
from .shapes import num_elements
from .summary import render_summary

BYTES_PER_VALUE = 4  # float32 activations
Costs = tuple[int, int, int, int, int, str | None]
"""A row's parameters, trainable parameters, their bytes (each in its dtype) and the trainable
ones', multiply-accumulates and explanation."""


def check(body: Any) -> dict[str, Any]:
    """Analyse one ``POST /v1/check`` body and return the response document."""
    with collector_paused():
        return checked(body)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one request, and restore it however the
    request ends.

    An analysis allocates many small objects and frees them by reference counting; meanwhile
    the collector would rescan the whole request body and graph again and again, work that
    grows faster than the model: with it running, a native chain costs 14 µs per layer at
    1,000 layers but 21 at 10,000 (over 200 ms) and 28 at 20,000; paused, 13 to 16 µs per
    layer throughout. Cycles made during the request are collected by the next collection
    after it. When the collector is already off (another request in this process paused it),
    it is left alone.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def checked(body: Any) -> dict[str, Any]:
    limits.enforce(body)
    request = parse_request(body)
    document = keras_document(request.model)
    if document is None:
        return answer(request)
    return config_answer(replace(request, model=document))


def config_answer(request: CheckRequest) -> dict[str, Any]:
    """The answer for a model sent as its ``get_config()``, checked as the ``to_json()``
    document ``keras_document`` made of it, with its 422 paths and fix patches pointing into
    the ``get_config()`` that was sent."""
    try:
        response = answer(request)
    except RequestInvalid as exc:
        raise RequestInvalid({config_path(p): m for p, m in exc.errors.items()}) from None
    for diagnostic in response["diagnostics"]:
        for fix in diagnostic.get("fixes", ()):
            fix["patch"] = [{**op, **{key: config_pointer(op[key]) for key in ("path", "from")
                                      if key in op}} for op in fix["patch"]]
    return response


def answer(request: CheckRequest) -> dict[str, Any]:
    analysis = analyse(request.model, request.overrides)
    # Which open sizes a model runs at, where it runs at its declared shapes at all.
    size_notes = periodic_size_notes(analysis.graph, request.x_shape) if analysis.ok else []
    data_notes = check_data(analysis.graph, analysis.propagation, request.x_shape,
                            request.y_shape, request.loss)
    analysis.diagnostics.extend(data_notes)
    analysis.diagnostics.extend(size_notes)
    attach_fixes(analysis, request)
    forward = None if request.forward is None else forward_pass(analysis, request.forward)
    response = render(analysis, request)
    if forward is not None:
        response["forward"] = forward
    return response


def render(analysis: Analysis, request: CheckRequest) -> dict[str, Any]:
    graph, prop = analysis.graph, analysis.propagation
    costs: dict[tuple, Costs] = {}
    layers, stored = [], [0, 0]  # bytes of all the weights, of the trainable ones
    for state in prop.states.values():
        row, known = layer_json(state, costs)
        layers.append(row)
        stored[0] += known[2]
        stored[1] += known[3]
    totals = totals_json(layers, request.batch_size, prop, stored[0])
    diagnostics = sorted(analysis.diagnostics, key=severity_rank)
    dtypes = tensor_dtypes(graph, prop)
    return {
        "ok": analysis.ok,
        "model": {
            "name": graph.name,
            "format": graph.format,
            "inputs": [tensor_json(i.name, i.shape, i.dtype) for i in graph.inputs],
            "outputs": [tensor_json(ref.layer, maybe_list(prop.tensors.get(ref)), dtypes.get(ref))
                        for ref in graph.outputs],
        },
        "layers": layers,
        "totals": totals,
        "diagnostics": [d.to_json() for d in diagnostics],
        "summary": render_summary(graph, prop, layers, totals, stored[1]),
    }


def tensor_json(name: str, shape: tuple | list | None, dtype: str | None) -> dict[str, Any]:
    """A model input or output; ``dtype`` only where Keras holds it as integers or booleans."""
    tensor = {"name": name, "shape": None if shape is None else list(shape)}
    return tensor if dtype is None else {**tensor, "dtype": dtype}


def severity_rank(d: Diagnostic) -> tuple[int, bool]:
    """Errors, then warnings, then notes; the errors Keras raises while building the model
    before those it raises only at predict."""
    return {diag.ERROR: 0, diag.WARNING: 1}.get(d.severity, 2), d.at_predict


def maybe_list(shape: tuple | None) -> list | None:
    return None if shape is None else list(shape)


def layer_json(state: LayerState, costs: dict[Any, Costs]) -> tuple[dict[str, Any], Costs]:
    """One layer's row, and its costs. ``costs`` holds the parameters, their bytes,
    multiply-accumulates and explanation of the rows already made, for layers of equal
    ``config_key`` with the same weights and calls (models repeat their blocks). A layer
    called once shares its weights list with the others of equal config called on equal
    shapes (propagation's memo made it once), so that list stands for all three."""
    layer = state.layer
    shapes = state.output_shapes
    computed = shapes is not None and bool(state.input_shapes)
    key: Any = None
    if computed and layer.config_key:
        key = (id(state.weights) if len(state.calls) == 1 else
               (layer.config_key, id(state.weights), tuple(map(tuple, state.input_shapes)),
                tuple(shapes)))
    known = costs.get(key) if key else None
    if known is None:
        known = layer_costs(state, computed)
        if key:
            costs[key] = known
    params, trainable, _, _, macs, explain = known
    return {
        "name": layer.name,
        "type": getattr(layer, "class_name", layer.keras_name),
        "inputs": input_layers(state.calls),
        "output_shapes": list(map(list, shapes)) if computed else None,
        "params": params,
        "trainable_params": trainable,
        "non_trainable_params": params - trainable,
        "macs": macs,
        "explain": explain,
    }, known


def layer_costs(state: LayerState, computed: bool) -> Costs:
    layer = state.layer
    weights = state.weights or []
    params = trainable = stored = stored_trainable = 0
    variable_dtype = layer.variable_dtype
    for weight in weights:
        size = weight.size * ITEMSIZE.get(weight.dtype or variable_dtype, 4)
        params += weight.size
        stored += size
        if weight.trainable:
            trainable += weight.size
            stored_trainable += size
    if not layer.trainable:
        trainable = stored_trainable = 0
    if not computed:
        return params, trainable, stored, stored_trainable, 0, None
    first_inputs, *later_inputs = state.input_shapes
    first_outputs = state.call_outputs(0) if later_inputs else state.output_shapes or []
    macs = layer.macs(first_inputs, first_outputs)
    for k, inputs in enumerate(later_inputs, start=1):
        macs += layer.macs(inputs, state.call_outputs(k))
    return (params, trainable, stored, stored_trainable, macs,
            layer.explain(first_inputs, first_outputs, weights))


def input_layers(calls: list[Call]) -> list[str]:
    """The layers (and model inputs) a layer reads, each once, in order."""
    if len(calls) == 1 and len(calls[0].inputs) == 1:
        return [calls[0].inputs[0].layer]  # the usual layer
    return list(dict.fromkeys(ref.layer for call in calls for ref in call.inputs))


def totals_json(layers: list[dict[str, Any]], batch_size: int | None,
                prop: Propagation, param_bytes: int) -> dict[str, Any]:
    """The model's totals; ``param_bytes``: its weights', each in its dtype."""
    params = sum(row["params"] for row in layers)
    trainable = sum(row["trainable_params"] for row in layers)
    macs = sum(row["macs"] for row in layers)
    totals: dict[str, Any] = {"params": params, "trainable_params": trainable,
                              "non_trainable_params": params - trainable,
                              "param_bytes": param_bytes, "macs": macs}
    if batch_size is not None:
        per_sample = sum(num_elements(s[1:]) or 0 for s in prop.tensors.values() if s)
        totals["batch_size"] = batch_size
        totals["batch_macs"] = macs * batch_size
        totals["activation_bytes"] = per_sample * batch_size * BYTES_PER_VALUE
    return totals


