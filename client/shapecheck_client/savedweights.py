"""A saved Keras model's trained weights as the service's ``forward.weights``: per top-level
layer name, that layer's arrays in the order of Keras' ``layer.get_weights()``; a nested
model's are its layers' weights in layer order, as the service reads them. Read with the
pure-Python ``hdf5`` reader (h5py only for files it does not support); no Keras, no NumPy.

Both formats ``model.save()`` writes keep the weights in HDF5, in their own layouts:

- ``.keras`` (a zip; Keras 3's and tf.keras 2's ``saving_lib``): ``model.weights.h5`` holds
  ``layers/<key>/vars/0, 1, ...``, a layer's own variables in ``get_weights()`` order, and
  the objects it owns under their attribute names (an RNN's ``cell``, a Bidirectional's
  ``forward_layer`` and ``backward_layer``, a nested model's own ``layers/...``). A layer's
  ``<key>`` is not its name but its class in snake case, numbered from ``_1`` when the class
  repeats, in the model's layer order: hence the model's ``config.json`` to map them.
- legacy ``.h5`` (``legacy_h5_format``, ``hdf5_format``): ``model_weights`` lists its layers
  in its ``layer_names`` attribute, each layer group its weights in ``weight_names``, in the
  order of ``trainable_weights + non_trainable_weights``; a nested model's are regrouped
  by its layers, where ``get_weights()`` puts a BatchNormalization's moving statistics, and a
  LoRA layer's frozen kernel goes back before its other weights.

A LoRA layer's ``.keras`` weights are its kernel with the update merged in, without the
factors (Keras' ``save_own_variables``): the service takes them as zeros, as loading does.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .hdf5 import Array, Group, is_hdf5, read_hdf5

SnakeCase = Callable[[str], str]
EncodedWeights = dict[str, list[dict[str, Any]]]
Arrays = list[tuple[str, Array]]
"""A layer's weights with where each is in the file, for the error that names one left over."""

MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})
ORDERED_CHILDREN = {
    "Bidirectional": (("forward_layer",), ("backward_layer",)),
    "MultiHeadAttention": tuple((name, f"_{name}") for name in (
        "query_dense", "key_dense", "value_dense", "output_dense")),
}
"""Where a layer owns several weighted layers, their attribute names in ``get_weights()``
order (the file has them in name order): Keras 3's name first, then tf.keras 2's."""
NOT_WEIGHTS = frozenset({"seed_generator", "_seed_generator"})
"""Saved state that ``get_weights()`` leaves out: a dropout's random seed."""
WEIGHTS_MEMBER = "model.weights.h5"


def saved_weights(path: str | Path) -> EncodedWeights:
    """The trained weights saved in the Keras model file ``path`` (``model.save()``'s
    ``.keras`` archive, or legacy ``.h5``), as ``Client.check``'s ``forward["weights"]``."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a SavedModel directory, whose weights are TensorFlow "
                         "checkpoints this client does not read: save the model with "
                         "model.save('model.keras')")
    if zipfile.is_zipfile(path):
        arrays = archive_weights(path)
    elif is_hdf5(path):
        arrays = read_hdf5(path, str(path), lambda root: legacy_weights(root, str(path)))
    else:
        raise ValueError(f"{path} is not a Keras .keras or .h5 file, and only those hold "
                         "weights: save the model with model.save('model.keras')")
    return {name: [array.encoded() for _, array in values] for name, values in arrays.items()}


# -- .keras ------------------------------------------------------------------------------------
def archive_weights(path: Path) -> dict[str, Arrays]:
    """The weights in a ``.keras`` archive, mapped through its ``config.json``."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "config.json" not in names or WEIGHTS_MEMBER not in names:
            raise ValueError(f"{path} has no config.json and {WEIGHTS_MEMBER}: not a whole "
                             "model saved with model.save('model.keras')")
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json")) if "metadata.json" in names else {}
        data = archive.read(WEIGHTS_MEMBER)
    snake = tf_keras_snake_case if str(metadata.get("keras_version", "3")).startswith(
        "2.") else keras_snake_case

    def read(root: Group) -> dict[str, Arrays]:
        if "layers" not in root:
            raise ValueError(f"{path}: {WEIGHTS_MEMBER} has no layers/ group")
        weights = {name: values for name, values in container_weights(
            root["layers"], layer_configs(config, path), snake) if values}
        check_all_read(root["layers"], weights, f"{path}:{WEIGHTS_MEMBER}")
        return weights

    return read_hdf5(data, f"{path}:{WEIGHTS_MEMBER}", read)


def container_weights(group: Group, layers: list[dict[str, Any]],
                      snake: SnakeCase) -> Iterator[tuple[str, Arrays]]:
    """Each layer's name and weights, from the ``layers`` group of a model, whose members
    are keyed by class (``dense``, ``dense_1``, ...) in the model's layer order."""
    for layer, key in zip(layers, container_keys(layers, snake), strict=True):
        if key in group:
            yield layer_name(layer), layer_weights(group[key], layer, snake)


def container_keys(layers: list[dict[str, Any]], snake: SnakeCase) -> list[str]:
    """The keys ``saving_lib`` gives the layers of a list: each class in snake case, then
    ``_1``, ``_2`` ... for the same class again."""
    keys, used = [], {}
    for layer in layers:
        base = snake(str(layer.get("class_name", "")))
        keys.append(f"{base}_{used[base]}" if base in used else base)
        used[base] = used.get(base, 0) + 1
    return keys


def layer_weights(group: Group, layer: Mapping[str, Any] | None, snake: SnakeCase) -> Arrays:
    """A layer's weights as ``get_weights()`` orders them: its own variables, then those of
    the layers it owns (a nested model's layers, or ``ORDERED_CHILDREN``, or its only
    weighted child: an RNN's cell, a wrapper's layer)."""
    class_name = (layer or {}).get("class_name")
    config = (layer or {}).get("config") or {}
    own = in_get_weights_order([(variable.path, variable.array()) for variable in variables(group)],
                               class_name, config)
    if class_name in MODEL_CLASSES and "layers" in group:
        return own + [weight for _, values in container_weights(
            group["layers"], config.get("layers") or [], snake) for weight in values]
    if class_name in ORDERED_CHILDREN:
        children = [next((group[n] for n in names if n in group), None)
                    for names in ORDERED_CHILDREN[class_name]]
        return own + [weight for child in children if child is not None
                      for weight in layer_weights(child, None, snake)]
    weighted = [group[key] for key in group
                if key not in ("vars", *NOT_WEIGHTS) and holds_weights(group[key])]
    if len(weighted) > 1:
        raise ValueError(
            f"{group.path}: the layer owns several layers with weights "
            f"({', '.join(child.path.rsplit('/', 1)[-1] for child in weighted)}), in an "
            "order the file does not tell")
    inner = config.get("layer") if isinstance(config.get("layer"), dict) else None  # a wrapper's
    return own + [weight for child in weighted for weight in layer_weights(child, inner, snake)]


QUANTIZED_POLICIES = frozenset({"QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy",
                                "Int4DTypePolicy", "GPTQDTypePolicy", "AWQDTypePolicy"})


def quantization_mode(policy: Any) -> str | None:
    """The mode of a Keras 3 quantized dtype policy (``int8``, ``int4``, ``float8``, ``gptq``,
    ``awq``), given as its JSON or its name (``int8_from_float32``); None for the others."""
    if isinstance(policy, dict) and policy.get("class_name") in QUANTIZED_POLICIES:
        mode = (policy.get("config") or {}).get("mode")
    elif isinstance(policy, str) and "_from_" in policy:
        mode = policy.partition("_from_")[0]
    else:
        return None
    return mode.split("/")[0] if isinstance(mode, str) else None


def in_get_weights_order(own: Arrays, class_name: Any, config: Mapping[str, Any]) -> Arrays:
    """A layer's saved variables in ``get_weights()`` order. They are alike but for a quantized
    Dense's or EinsumDense's: ``save_own_variables`` writes them in Keras'
    ``variable_serialization_spec`` order, the kernel before the bias (int8, int4) and float8's
    scales after both, where ``get_weights()`` lists the weights made trainable first (the
    bias before the int8 or int4 kernel; float8's scales before the kernel and bias)."""
    if class_name not in ("Dense", "EinsumDense"):
        return own
    mode = quantization_mode(config.get("dtype"))
    biased = (config.get("use_bias", True) if class_name == "Dense"
              else config.get("bias_axes") is not None)
    if mode in ("int8", "int4") and biased and len(own) > 1:
        return [own[1], own[0], *own[2:]]
    if mode == "float8":
        kernel_and_bias = 2 if biased else 1
        return [*own[kernel_and_bias:], *own[:kernel_and_bias]]
    return own


def variables(group: Group) -> list[Group]:
    """A layer's own variables, ``vars/0``, ``vars/1``, ... in that order."""
    if "vars" not in group:
        return []
    members = group["vars"].keys()
    if sorted(members) != sorted(str(i) for i in range(len(members))):
        raise ValueError(f"{group.path}/vars holds {members}, not variables 0 to "
                         f"{len(members) - 1}")
    return [group["vars"][str(i)] for i in range(len(members))]


def holds_weights(group: Group) -> bool:
    return group.is_dataset or any(
        node.is_dataset and not NOT_WEIGHTS & set(node.path.split("/"))
        for node in group.walk())


def check_all_read(layers: Group, weights: Mapping[str, Arrays], source: str) -> None:
    """Every saved variable (but random seeds) went to some layer: one left over means the
    file's layout is not the one its ``config.json`` describes."""
    read = {path for values in weights.values() for path, _ in values}
    for node in layers.walk():
        if node.is_dataset and node.path not in read and not NOT_WEIGHTS & set(
                node.path.split("/")):
            raise ValueError(f"{source}: {node.path} belongs to no layer of config.json; "
                             "was the archive written by another program than Keras?")


def keras_snake_case(name: str) -> str:
    """``keras.src.utils.naming.to_snake_case``, as Keras 3 keys a list's objects."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def tf_keras_snake_case(name: str) -> str:
    """``tf_keras``' ``generic_utils.to_snake_case``: ``ConvLSTM2D`` is ``conv_lst_m2d``."""
    name = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name if not name.startswith("_") else "private" + name


# -- legacy .h5 --------------------------------------------------------------------------------
def legacy_weights(root: Group, source: str) -> dict[str, Arrays]:
    """The weights of a legacy ``.h5`` model file: ``model_weights/<layer>/<weight name>``,
    in the order of the ``layer_names`` and ``weight_names`` attributes."""
    config = root.attrs.get("model_config")
    if config is None or "model_weights" not in root:
        raise ValueError(f"{source} holds no model_config and model_weights: not a "
                         "model saved with model.save('model.h5')")
    layers = {layer_name(layer): layer
              for layer in layer_configs(json.loads(config), source)}
    group = root["model_weights"]
    weights = {}
    for name in chunked_attribute(group, "layer_names"):
        values = [(f"{name}/{weight}", group[name][weight].array())
                  for weight in chunked_attribute(group[name], "weight_names")]
        if values:
            layer = layers.get(name) or {}
            if quantization_mode((layer.get("config") or {}).get("dtype")) is None:
                values = adapted_first(values)  # a quantized kernel was made frozen: in place
            weights[name] = by_inner_layer(values, layer)
    return weights


def adapted_first(values: Arrays) -> Arrays:
    """Weights in trainable-first order with each LoRA layer's frozen kernel (or embeddings)
    put back first, where ``get_weights()`` has it: the weight that a layer's
    ``lora_<name>_a`` adapts is ``<name>`` of the same layer."""
    adapted = set()
    for path, _ in values:
        layer, _, weight = path.rpartition("/")
        if weight.startswith("lora_") and weight.endswith("_a"):
            adapted.add(f"{layer}/{weight[len('lora_'):-len('_a')]}")
    return sorted(values, key=lambda value: value[0] not in adapted) if adapted else values


def chunked_attribute(group: Group, name: str) -> list[str]:
    """A list attribute that Keras splits into ``name0``, ``name1``, ... when it is too long
    for an object header (``save_attributes_to_hdf5_group``)."""
    attrs = group.attrs
    if name in attrs:
        return list(as_list(attrs[name]))
    chunks = []
    while f"{name}{len(chunks)}" in attrs:
        chunks += as_list(attrs[f"{name}{len(chunks)}"])
    return chunks


def as_list(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def by_inner_layer(values: Arrays, layer: Mapping[str, Any]) -> Arrays:
    """A nested model's weights, from trainable-first order to its layers' order (each
    layer's own order kept): each weight is put with the deepest layer its name names."""
    if layer.get("class_name") not in MODEL_CLASSES:
        return values
    positions = inner_positions(layer)

    def position(weight: tuple[str, Array]) -> tuple[int, ...]:
        found = [positions[part] for part in weight[0].split("/")[1:-1] if part in positions]
        if not found:
            raise ValueError(f"the weight {weight[0]} names no layer of model "
                             f"'{layer_name(layer)}'")
        return max(found, key=len)

    return sorted(values, key=position)


def inner_positions(model: Mapping[str, Any],
                    prefix: tuple[int, ...] = ()) -> dict[str, tuple[int, ...]]:
    """Each layer inside a model, nested models' layers too, by name: its position, the
    indices of the layers that lead to it."""
    positions = {}
    for index, layer in enumerate((model.get("config") or {}).get("layers") or []):
        positions[layer_name(layer)] = (*prefix, index)
        if layer.get("class_name") in MODEL_CLASSES:
            positions.update(inner_positions(layer, (*prefix, index)))
    return positions


# -- the model's configuration -----------------------------------------------------------------
def layer_configs(document: Any, source: Any) -> list[dict[str, Any]]:
    """The top-level layers of a model document (``to_json()``), in its order."""
    layers = document.get("config", {}).get("layers") if isinstance(document, dict) else None
    if not isinstance(layers, list):
        raise ValueError(f"{source}: the model's config lists no layers")
    return [layer for layer in layers if isinstance(layer, dict)]


def layer_name(layer: Mapping[str, Any]) -> str:
    return str(layer.get("name") or (layer.get("config") or {}).get("name"))

