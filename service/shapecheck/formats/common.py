"""What every model format shares: turning one layer's config into a Layer, or a stand-in."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from .. import diagnostics as diag
from .. import legacy
from ..diagnostics import Diagnostic
from ..errors import ArgumentError, RequestInvalid, prefixed
from ..graph import Unresolved
from ..layers import ALIASES, LEGACY_ALIASES, REGISTRY
from ..layers.adapters import HeldWeights
from ..layers.base import EXACT_DTYPES, FLOAT_DTYPES, Layer
from ..layers.core import Opaque
from ..layers.quantized import Quantization, quantization
from ..layers.tf_keras import TF_KERAS_VARIANTS

# Layers that would run code from the request: never evaluated.
CODE_LAYERS = {
    "Lambda": "runs a Python function",
    "TFOpLambda": "runs a TensorFlow operation",
    "SlicingOpLambda": "runs a TensorFlow slicing operation",
    "TorchModuleWrapper": "runs a PyTorch module",
    "JaxLayer": "runs a JAX function",
    "FlaxLayer": "runs a Flax module",
    "TFSMLayer": "runs a TensorFlow SavedModel",
}

JAX_DTYPES = {"int64": "int32", "uint64": "uint32"}
"""Keras 3 on JAX (with JAX's 64-bit types off, its default) holds these in 32 bits."""


POLICY_COMPUTE_DTYPES = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16",
                         "float16": "float16", "bfloat16": "bfloat16"}
"""Keras dtype policies that compute in a low-precision float, by name."""


def dtype_name(declared: Any) -> str | None:
    """A Keras ``dtype`` argument's name: a string, or the name in a Keras 3 DTypePolicy's or
    a tf.keras 2 Policy's config; of a quantized policy (``int8_from_mixed_bfloat16``), the
    policy it computes in (``mixed_bfloat16``)."""
    if isinstance(declared, dict):  # parsed JSON
        config = declared.get("config")
        declared = config.get("name") if isinstance(config, dict) else None
        if declared is None and isinstance(config, dict):
            declared = config.get("source_name")
    if not isinstance(declared, str):
        return None
    return declared.rpartition("_from_")[2] if "_from_" in declared else declared


def input_dtype(declared: Any, flavour: str) -> str | None:
    """The integer, boolean or float dtype other than float32 that predict gives a model input
    declared with Keras' ``dtype``: Keras 3 on JAX holds 64-bit integers in 32 bits and float64
    in float32, tf.keras 2 (flavour ``keras2``) keeps them. None for float32, strings and the
    rest."""
    name = dtype_name(declared)
    if name not in EXACT_DTYPES and name not in FLOAT_DTYPES:
        return None
    if flavour == "keras2":
        return name
    return None if name == "float64" else JAX_DTYPES.get(name, name)


def compute_dtype(policy: Any, flavour: str) -> str | None:
    """The float other than float32 a layer computes in under the dtype policy ``policy``
    (``Layer.compute_dtype``): float16 or bfloat16 (mixed precision), or float64 in tf.keras 2
    (flavour ``keras2``; Keras 3 on JAX computes it in float32). None for float32, quantised
    policies and the rest."""
    name = dtype_name(policy)
    if name == "float64":
        return name if flavour == "keras2" else None
    return POLICY_COMPUTE_DTYPES.get(name)


def variable_dtype(policy: Any, flavour: str) -> str | None:
    """The dtype of a layer's weights under ``policy``, where it is not float32: that of the
    computation, but float32 under a mixed-precision policy (``mixed_float16``)."""
    name = dtype_name(policy)
    return None if name is None or name.startswith("mixed_") else compute_dtype(policy, flavour)


def resolve_class(class_name: str, layer: str, notes: list[Diagnostic]) -> type[Layer] | None:
    """The layer class for a Keras class name; reports legacy names and unknown types."""
    if class_name in REGISTRY:
        return REGISTRY[class_name]
    if class_name in ALIASES:
        return REGISTRY[ALIASES[class_name]]
    if class_name in LEGACY_ALIASES:
        new = LEGACY_ALIASES[class_name]
        notes.append(legacy.renamed_class(layer, class_name, new))
        return REGISTRY[new]
    if class_name in CODE_LAYERS:
        notes.append(diag.error(
            diag.UNSUPPORTED_LAYER, layer,
            f"'{layer}' is a {class_name}, which {CODE_LAYERS[class_name]}: shapecheck never "
            "evaluates code from a request, so its output shape is unknown and the layers "
            "after it cannot be checked.",
            f'Declare what it does: "overrides": {{"{layer}": {{"output_shape": [null, ...], '
            '"params": 0}}, or replace it by a built-in layer (Reshape, Permute, ...).'))
        return None
    notes.append(unknown_layer(class_name, layer))
    return None


def canonical_name(class_name: str) -> str:
    """``Convolution2D`` and ``MaxPool2D`` are ``Conv2D`` and ``MaxPooling2D`` in Keras 3."""
    return ALIASES.get(class_name) or LEGACY_ALIASES.get(class_name) or class_name


def declared_args(class_name: str) -> set[str]:
    """The argument names a layer type declares (empty for unknown types)."""
    cls = REGISTRY.get(canonical_name(class_name))
    return set(cls.schema().fields) if cls else set()


def unknown_layer(class_name: str, layer: str) -> Diagnostic:
    names = [*REGISTRY, *ALIASES, *LEGACY_ALIASES]
    close = difflib.get_close_matches(class_name, names, n=3, cutoff=0.6)
    suggestion = f" Did you mean {' or '.join(close)}?" if close else ""
    return diag.error(
        diag.UNKNOWN_LAYER, layer,
        f"'{layer}' has type {class_name}, which is not a built-in Keras layer that shapecheck "
        f"knows.{suggestion}",
        f'If it is a custom layer, declare what it does: "overrides": {{"{layer}": '
        '{"output_shape": [null, ...], "params": 0}}. GET /v1/layers lists the known types.')


def make_layer(
    class_name: str,
    name: str,
    config: Mapping[str, Any],
    path: str,
    overrides: Mapping[str, Any],
    notes: list[Diagnostic],
    built: dict[tuple, Layer] | None = None,
    flavour: str = "keras3",
) -> Layer:
    """A Layer for one config (Keras 1/2 names translated, in a copy), an override, or a
    stand-in. ``built``: the layers of the document so far (``Layer.from_config``);
    ``flavour``: the document's Keras (``keras2``: tf.keras 2's classes, ``TF_KERAS_VARIANTS``,
    replace the Keras 3 ones of the same name).

    Invalid arguments raise RequestInvalid with paths under ``path``.
    """
    if name in overrides:
        stand_in = load(Opaque, name, overrides[name], f"overrides.{name}", built, flavour)
        stand_in.class_name = class_name  # its row and the summary name the document's class
        return stand_in
    cls = REGISTRY.get(class_name) or resolve_class(class_name, name, notes)
    if cls is None:
        return Unresolved(name, class_name)
    if cls is Opaque:
        return load(Opaque, name, config, path, built, flavour)
    if flavour == "keras2":
        cls = TF_KERAS_VARIANTS.get(cls.keras_name, cls)
    if cls.nested_layers:
        config = with_nested_translated(cls, config, name, notes)
    if legacy.has_legacy_args(cls, config):
        config = dict(config)
        notes.extend(legacy.translate(cls, config, name))
    return load(cls, name, config, path, built, flavour)


def with_nested_translated(cls: type[Layer], config: Mapping[str, Any], layer: str,
                           notes: list[Diagnostic]) -> Mapping[str, Any]:
    """``config`` with the Keras 1/2 spellings of the layers nested in it (``nested_layers``)
    translated in copies, each with a warning at ``layer``, the outer layer."""
    changed: dict[str, Any] = {}
    for argument in cls.nested_layers:
        value = config.get(argument)
        specs = value if isinstance(value, list) else [value]
        translated = [translated_spec(spec, layer, notes) for spec in specs]
        if any(new is not old for new, old in zip(translated, specs, strict=True)):
            changed[argument] = translated if isinstance(value, list) else translated[0]
    return {**config, **changed} if changed else config


def translated_spec(spec: Any, layer: str, notes: list[Diagnostic]) -> Any:
    """A nested layer, native (``{"type": ...}``) or Keras JSON (``{"class_name": ...,
    "config": ...}``), with its Keras 1/2 class and argument names translated; the spec itself
    when it has none (or is not a layer the engine knows: the outer layer refuses it)."""
    if not isinstance(spec, Mapping):
        return spec
    keras_json = "class_name" in spec
    class_name = spec.get("class_name") if keras_json else spec.get("type")
    config = spec.get("config") if keras_json else spec
    cls = REGISTRY.get(canonical_name(class_name)) if isinstance(class_name, str) else None
    if cls is None or not isinstance(config, Mapping):
        return spec
    new = dict(config)
    if class_name in LEGACY_ALIASES:
        notes.append(legacy.renamed_class(layer, class_name, cls.keras_name))
        new["class_name" if keras_json else "type"] = cls.keras_name
    if cls.nested_layers:
        new = dict(with_nested_translated(cls, new, layer, notes))
    notes.extend(legacy.translate(cls, new, layer))
    if new == config:
        return spec
    return {**spec, "config": new} if keras_json else new


def load(cls: type[Layer], name: str, config: Mapping[str, Any], path: str,
         built: dict[tuple, Layer] | None, flavour: str) -> Layer:
    try:
        layer = cls.from_config(name, config, built)
    except RequestInvalid as exc:
        raise RequestInvalid(prefixed(exc.errors, path)) from None
    # A copy of a built twin may differ from it in its policy: its own, every time.
    policy = cls.dtype_policy(config)
    if policy is None or policy in (FLOAT32, KERAS3_FLOAT32):  # the usual layer
        layer.compute_dtype = layer.variable_dtype = None
        if isinstance(layer, HeldWeights):
            layer.quantization = None
        key = layer.config_key
        if key is not None and len(key) > 2:  # a twin's copy: its original's, with its policy
            layer.config_key = key[:2]
        return layer
    layer.compute_dtype = (variable_dtype if cls.outputs_variable_dtype else compute_dtype)(
        policy, flavour)
    layer.variable_dtype = cls.weights_dtype(declared_variable_dtype(policy), flavour)
    quantized = None
    if isinstance(layer, HeldWeights):
        try:
            quantized = quantization(policy)
            if quantized is not None or layer.quantization is not None:  # (a twin's copy)
                layer.quantize(quantized)
        except ArgumentError as exc:
            raise RequestInvalid({f"{path}.{exc.field}": [exc.message]}) from None
        quantized = layer.quantization  # None where Keras builds the layer in float
    keyed_by_policy(layer, quantized)
    return layer


FLOAT32 = "float32"
KERAS3_FLOAT32 = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                  "registered_name": None}
"""The policy of most layers, as Keras 3 writes it: nothing to read in it."""


def keyed_by_policy(layer: Layer, quantized: Quantization | None) -> None:
    """``layer.config_key`` with what its policy changes in its weights: their dtype, or its
    quantization. Two layers of equal arguments share their weights, costs and rows
    (``graph.compute``, ``engine.layer_json``) only where their policies agree on those."""
    key = layer.config_key
    if key is None or (len(key) == 2 and layer.variable_dtype is None and quantized is None):
        return
    base = key[:2]  # a twin's copy has its original's, which may be longer
    extra = tuple(x for x in (layer.variable_dtype, quantized) if x is not None)
    layer.config_key = (*base, *extra) if extra else base


def declared_variable_dtype(policy: Any) -> str | None:
    """The dtype of a layer's variables under ``policy`` where it is not float32: a float16,
    bfloat16 or float64 policy's own (Keras 3 on JAX computes float64 in float32, but declares
    the variables float64), float32 under a mixed one; a quantized policy's, its source's."""
    name = dtype_name(policy)
    return name if name in ("float16", "bfloat16", "float64") else None
