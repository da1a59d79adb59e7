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
NESTING_KEYS = frozenset((*LAYER_LIST_KEYS, *INNER_LAYER_KEYS))
SHAPE_KEY_NAMES = frozenset(key for key, _ in SHAPE_KEYS)
CONFIG_KEYS = NESTING_KEYS | SHAPE_KEY_NAMES
ENTRY_KEYS = CONFIG_KEYS | {"inputs"}


def enforce(body: Any, limits: Limits | None = None) -> None:
    """Raise LimitExceeded / RequestInvalid when ``body`` is over a limit; else do nothing."""
    if not isinstance(body, Mapping):
        return  # parse_request refuses it with a clear 422
    limits = limits or Limits.from_env()
    model = body.get("model")
    if isinstance(model, Mapping) and not surely_within(model, limits):
        enforce_model(model, limits)
    check_ranks(data_shapes(body), limits.max_rank)


def enforce_model(model: Mapping[str, Any], limits: Limits) -> None:
    """The model's limits, each refusal with the JSON path of what is over it."""
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


def surely_within(model: Mapping[str, Any], limits: Limits) -> bool:
    """True when the model is within its limits, by one quick walk that spells no paths.

    False when something is over a limit, or when the document holds a mapping that is not a
    dict: ``enforce_model`` then walks it again to say where. Most entries hold none of the
    keys the limits read, which one set test in C tells.
    """
    if type(model) is not dict:
        return False
    max_layers, max_rank = limits.max_layers, limits.max_rank
    inputs = model.get("inputs")
    build = model.get("build_config")
    model_shapes = [*named_shapes(inputs, "", batch_axes=1),
                    *(named_shapes(build.get("input_shape"), "", 0)
                      if isinstance(build, Mapping) else ())]
    if any(not 1 <= rank <= max_rank for _, _, rank in model_shapes):
        return False
    count = len(inputs) if isinstance(inputs, Mapping) else 0
    stack = [model]
    while stack:
        for entry in nested_entries(stack.pop()):
            count += 1
            if entry is None or count > max_layers:
                return False
            if plain(entry):
                continue  # no shape, no inputs, no nested layer: the usual entry
            if not entry_within(entry, max_layers, max_rank):
                return False
            stack.append(entry)
    return count <= max_layers


def plain(entry: dict[str, Any]) -> bool:
    """True for an entry (and config) holding none of the keys the limits read."""
    config = entry.get("config")
    return entry.keys().isdisjoint(ENTRY_KEYS) and (
        config is None or (type(config) is dict and config.keys().isdisjoint(CONFIG_KEYS)))


def nested_entries(node: dict[str, Any]) -> Iterator[dict[str, Any] | None]:
    """The layer entries directly in a model or layer entry, as ``children`` finds them; None
    for a mapping that is not a dict."""
    config = node.get("config")
    for holder in (node, {"layers": config} if type(config) is list else config):
        if type(holder) is not dict:
            if isinstance(holder, Mapping):
                yield None
            continue
        if holder.keys().isdisjoint(NESTING_KEYS):
            continue
        items = holder.get("layers")
        if type(items) is list:
            for item in items:
                if type(item) is dict:
                    yield item
                elif isinstance(item, Mapping):
                    yield None
        for key in INNER_LAYER_KEYS:
            item = holder.get(key)
            if isinstance(item, Mapping):
                yield item if type(item) is dict else None


def entry_within(entry: dict[str, Any], max_layers: int, max_rank: int) -> bool:
    """One layer entry's fan-in and declared shapes are within the limits."""
    inputs = entry.get("inputs")
    if type(inputs) is list and len(inputs) > max_layers:
        return False
    for holder in (entry, entry.get("config")):
        if type(holder) is dict:
            if holder.keys().isdisjoint(SHAPE_KEY_NAMES):
                continue
            for key, batch_axes in SHAPE_KEYS:
                value = holder.get(key)
                if isinstance(value, list) and not 1 <= len(value) + batch_axes <= max_rank:
                    return False
        elif isinstance(holder, Mapping):
            return False
    return True


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
