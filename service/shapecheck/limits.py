"""Request limits the engine enforces before it loads anything.

A request body can describe a model far bigger than the service should analyse: 50,000 layers,
or input shapes of rank 40. These checks look only at the raw document (counting layer entries
and the lengths of declared shapes), so that a refusal costs next to nothing. They run first in
``engine.check``; the HTTP layer checks the body size and JSON nesting before parsing.

Over the layer limit is a 413 (``LimitExceeded``); a declared shape of too high a rank (or an
empty one where the batch axis belongs) is a 422 (``RequestInvalid``) naming its JSON path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .config import Limits
from .errors import LimitExceeded, RequestInvalid

# Keys of a layer entry (native, or a Keras ``config``) that hold a shape, and whether that
# shape leaves the batch axis out (per-sample) or includes it.
PER_SAMPLE_SHAPE_KEYS = ("input_shape", "shape", "target_shape")
BATCHED_SHAPE_KEYS = ("batch_input_shape", "batch_shape", "output_shape")
SHAPE_KEYS = (*((key, 1) for key in PER_SAMPLE_SHAPE_KEYS),
              *((key, 0) for key in BATCHED_SHAPE_KEYS))  # (key, batch axes it leaves out)
# Keys under which a layer holds other layers: model layer lists and wrappers' inner layers.
LAYER_LIST_KEYS = ("layers",)
INNER_LAYER_KEYS = ("layer", "forward_layer", "backward_layer")


def enforce(body: Any, limits: Limits | None = None) -> None:
    """Raise LimitExceeded / RequestInvalid when ``body`` is over a limit; else do nothing."""
    if not isinstance(body, Mapping):
        return  # parse_request refuses it with a clear 422
    limits = limits or Limits.from_env()
    model = body.get("model")
    if isinstance(model, Mapping):
        layers = list(layer_entries(model, "model"))
        inputs = model.get("inputs")
        count = len(layers) + (len(inputs) if isinstance(inputs, Mapping) else 0)
        if count > limits.max_layers:
            raise LimitExceeded(
                "layer count", count, limits.max_layers,
                f"The model has {count:,} layers (input layers, nested models and wrapped "
                f"layers included), over the limit of {limits.max_layers:,} "
                "(SHAPECHECK_MAX_LAYERS).")
        check_fan_in(layers, limits.max_layers)
        check_ranks(declared_shapes(model, layers), limits.max_rank)
    check_ranks(data_shapes(body), limits.max_rank)


def check_fan_in(layers: list[tuple[str, Mapping[str, Any]]], max_layers: int) -> None:
    """A native layer reads at most as many tensors as a model may have layers."""
    for path, entry in layers:
        inputs = entry.get("inputs")
        if isinstance(inputs, list) and len(inputs) > max_layers:
            raise LimitExceeded(
                "layer inputs", len(inputs), max_layers,
                f"{path} reads {len(inputs):,} tensors, over the limit of {max_layers:,} "
                "(SHAPECHECK_MAX_LAYERS).")


def layer_entries(model: Mapping[str, Any], path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every layer entry of a native or Keras model document, at any depth, with its path.

    Iterative, so a deeply nested document cannot exhaust the stack.
    """
    stack: list[tuple[str, Mapping[str, Any]]] = [(path, model)]
    while stack:
        for entry in children(*stack.pop()):
            yield entry
            stack.append(entry)


def children(path: str, node: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The layers directly inside one model or layer entry (native, or Keras' ``config``)."""
    config = node.get("config")
    if isinstance(config, list):  # Keras <= 2.2 wrote a Sequential's config as the layer list
        config = {"layers": config}
    for holder, prefix in ((node, path), (config, f"{path}.config")):
        if not isinstance(holder, Mapping):
            continue
        for key in LAYER_LIST_KEYS:
            items = holder.get(key)
            if isinstance(items, list):
                yield from ((f"{prefix}.{key}.{i}", item) for i, item in enumerate(items)
                            if isinstance(item, Mapping))
        for key in INNER_LAYER_KEYS:
            item = holder.get(key)
            if isinstance(item, Mapping):
                yield f"{prefix}.{key}", item


def declared_shapes(model: Mapping[str, Any],
                    layers: list[tuple[str, Mapping[str, Any]]]) -> Iterator[tuple[str, Any, int]]:
    """``(path, shape, rank)`` of every shape the model declares; rank includes the batch axis."""
    yield from named_shapes(model.get("inputs"), "model.inputs", batch_axes=1)
    build = model.get("build_config")
    if isinstance(build, Mapping):
        yield from named_shapes(build.get("input_shape"), "model.build_config.input_shape", 0)
    for path, entry in layers:
        for holder, prefix in ((entry, path), (entry.get("config"), f"{path}.config")):
            if isinstance(holder, Mapping):
                for key, batch_axes in SHAPE_KEYS:
                    value = holder.get(key)
                    if isinstance(value, list):  # the path is only spelt for a shape
                        yield f"{prefix}.{key}", value, len(value) + batch_axes


def data_shapes(body: Mapping[str, Any]) -> Iterator[tuple[str, Any, int]]:
    """The request's own shapes: ``x_shape``, ``y_shape`` and the overrides' output shapes."""
    for key in ("x_shape", "y_shape"):
        yield from named_shapes(body.get(key), key, batch_axes=0)
    overrides = body.get("overrides")
    if isinstance(overrides, Mapping):
        for name, override in overrides.items():
            if isinstance(override, Mapping):
                yield from one_shape(override.get("output_shape"),
                                     f"overrides.{name}.output_shape", batch_axes=0)


def named_shapes(value: Any, path: str, batch_axes: int) -> Iterator[tuple[str, Any, int]]:
    """One shape, or an object name -> shape."""
    if isinstance(value, Mapping):
        for name, shape in value.items():
            yield from one_shape(shape, f"{path}.{name}", batch_axes)
    else:
        yield from one_shape(value, path, batch_axes)


def one_shape(value: Any, path: str, batch_axes: int) -> Iterator[tuple[str, Any, int]]:
    if isinstance(value, list):
        yield path, value, len(value) + batch_axes


def check_ranks(shapes: Iterator[tuple[str, Any, int]], max_rank: int) -> None:
    errors = {path: [rank_error(rank, max_rank)] for path, _, rank in shapes
              if not 1 <= rank <= max_rank}
    if errors:
        raise RequestInvalid(errors)


def rank_error(rank: int, max_rank: int) -> str:
    if rank < 1:
        return "must include the batch axis: a shape with the batch axis is never empty"
    return (f"a tensor of rank {rank} (batch axis included) is over the limit of {max_rank} "
            "(SHAPECHECK_MAX_RANK)")
