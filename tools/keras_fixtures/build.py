"""Dev-only: build native shapecheck documents in real Keras and record what Keras computes.

Runs in a virtualenv with Keras 3 + JAX (``make fixtures`` creates it); never imported by the
service or by CI. A case is a native document (``{"inputs": ..., "layers": [...]}``); the
builder makes the same model with ``keras.layers`` and records, per layer, the output shapes
of every call and the parameter counts, or the layer where Keras refuses the model and its
message. With ``forward=True`` it also records random weights, a random input and Keras'
``predict`` output, all float32, base64-encoded. Where the model Keras reads back from the
record's ``keras_json`` computes other shapes, ``keras_json_layers`` holds that model's layers.

A layer entry may carry ``call``: keyword arguments of its call (``return_attention_scores``,
``use_causal_mask``, ``reverse``, and tensors by name: ``{"attention_mask": "relu"}``), as
native documents give them; such cases belong in a
fixture kind of their own (``FIXTURE_KIND`` of the cases module). An entry
``{"again": "<layer>", "name": "<tensor>", "inputs": ..., "call": ...}`` calls an earlier
layer once more (shared weights) and names that call's output ``name``; only the case's
``keras_json`` can express such a model.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np

LEGACY = os.environ.get("TF_USE_LEGACY_KERAS") == "1"
if LEGACY:
    import tf_keras as keras
else:
    import keras

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / ("tfkeras2" if LEGACY else "keras3")

# Recurrent layers take the tensors after the sequence as ``initial_state``.
STATE_CALL = (keras.layers.RNN, keras.layers.Bidirectional)

# Layers called with a list of tensors rather than with positional tensors.
LIST_CALL = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
             "Dot", "Attention", "AdditiveAttention", "CustomScaleLayer", "HashedCrossing"}

# Layers of keras.applications models that are not in keras.layers: class name -> module.
APPLICATION_LAYERS = {"LayerScale": "keras.src.applications.convnext",
                      "StochasticDepth": "keras.src.applications.convnext",
                      "CustomScaleLayer": "keras.src.applications.inception_resnet_v2"}


def case(case_id: str, inputs: Any, layers: list[dict[str, Any]], *, outputs: Any = None,
         forward: bool = False, **extra: Any) -> dict[str, Any]:
    """A test case: a native document plus options."""
    doc: dict[str, Any] = {"name": case_id, "inputs": inputs, "layers": layers}
    if outputs is not None:
        doc["outputs"] = outputs
    return {"id": case_id, "native": doc, "forward": forward, **extra}


def seq(case_id: str, shape: list, *layers: dict[str, Any], forward: bool = True,
        **extra: Any) -> dict[str, Any]:
    """A Sequential case: one input, each layer after the previous."""
    return case(case_id, shape, list(layers), forward=forward, **extra)


def tf_keras_2_cases(cases: list[dict[str, Any]], ids: Iterable[str]) -> list[dict[str, Any]]:
    """``cases``; with tf.keras 2, only those named in ``ids``: a family recorded with tf.keras 2
    where it computes otherwise than Keras 3, and at the edges of those rules."""
    if not LEGACY:
        return cases
    wanted = set(ids)
    return [c for c in cases if c["id"] in wanted]


def encode(array: np.ndarray) -> dict[str, Any]:
    array = np.asarray(array, dtype="<f4")  # a scalar keeps its shape [] (not [1])
    return {"dtype": "float32", "shape": list(array.shape),
            "base64": base64.b64encode(array.tobytes()).decode()}


def build(doc: dict[str, Any], dtype: str | None = None) -> tuple[Any, dict[str, Any] | None]:
    """The Keras model of a native document, or (None, error) where Keras refuses it.
    ``dtype`` is the inputs' dtype (``"string"`` for the lookups), float32 by default."""
    tensors = input_tensors(doc, dtype)
    named = list(tensors)
    previous = next(iter(tensors)) if len(tensors) == 1 else None
    counts: dict[str, int] = {}
    built: dict[str, Any] = {}  # layer name -> layer, for the entries that call one again
    for entry in doc["layers"]:
        if entry.get("type") == "InputLayer":
            previous = entry.get("name") or "input"
            continue
        call_kwargs = {key: lookup(tensors, value) if isinstance(value, str) and value in tensors
                       else value for key, value in entry.get("call", {}).items()}
        if "again" in entry:  # a further call of an earlier layer: the weights are shared
            layer, name = built[entry["again"]], entry["again"]
        else:
            kwargs = {k: v for k, v in entry.items()
                      if k not in ("type", "name", "inputs", "call")}
            cls = layer_class(entry["type"])
            name = entry.get("name") or auto_name(getattr(cls, "__name__", entry["type"]), counts)
            layer = None
        try:
            if layer is None:
                if cls is None:  # a Keras 3 layer tf.keras 2 does not have
                    raise ValueError(f"this Keras has no layer {entry['type']}")
                kwargs = {k: wrap(k, v) for k, v in kwargs.items()}
                layer = built[name] = cls(name=name, **kwargs)
            refs = entry.get("inputs") or [previous]
            refs = refs if isinstance(refs, list) else [refs]
            args = [lookup(tensors, r) for r in refs]
            if type(layer).__name__ in LIST_CALL:
                out = layer(args, **call_kwargs)
            elif len(args) > 1 and isinstance(layer, STATE_CALL):
                out = layer(args[0], initial_state=args[1:], **call_kwargs)
            else:
                out = layer(*args, **call_kwargs)
        except Exception as exc:  # Keras refuses the model at this layer
            return None, {"layer": name, "message": refusal(exc)}
        name = entry["name"] if "again" in entry else name  # the name of this call's output
        outs = flat(out)
        tensors[name] = outs[0]
        for i, t in enumerate(outs):
            tensors[f"{name}:{i}"] = t
        previous = name
    out_refs = doc.get("outputs") or [previous]
    out_refs = out_refs if isinstance(out_refs, list) else [out_refs]
    inputs = list(tensors[n] for n in named)
    try:
        model = keras.Model(inputs, [lookup(tensors, r) for r in out_refs], name=doc.get("name"))
    except Exception as exc:  # every call ran, but Keras cannot make their graph a model
        named_layer = re.search(r"from operation '([^']+)'", str(exc))
        return None, {"layer": named_layer.group(1) if named_layer else previous,
                      "message": refusal(exc)}
    return model, None


def refusal(exc: Exception) -> str:
    """The first line of Keras' message that says why, not only where (tf.keras 2 and
    Keras 3 open with "Exception encountered when calling ...")."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # Keras 3 writes some in bold
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    reasons = [line for line in lines if not line.startswith("Exception encountered when")]
    return (reasons or lines or [""])[0][:400]


def flat(out: Any) -> list[Any]:
    """Output tensors in order (an RNN of stacked cells nests each cell's states; an
    operation may give a dict)."""
    if isinstance(out, (list, tuple)):
        return [t for part in out for t in flat(part)]
    if isinstance(out, dict):
        return [t for part in out.values() for t in flat(part)]
    return [out]


def int_size(shape: Any) -> int:
    size = 1
    for d in shape:
        size *= int(d)
    return size


def input_tensors(doc: dict[str, Any], dtype: str | None = None) -> dict[str, Any]:
    """``inputs`` (per-sample shapes), or InputLayer entries (``batch_shape`` fixes the batch
    size, as stateful RNNs need)."""
    spec = doc.get("inputs")
    if spec is None:
        return {e.get("name") or "input": keras.Input(
            shape=e.get("shape"), batch_shape=e.get("batch_shape"), name=e.get("name") or "input",
            dtype=e.get("dtype"))
            for e in doc["layers"] if e["type"] == "InputLayer"}
    named = spec if isinstance(spec, dict) else {"input": spec}
    return {name: keras.Input(shape=tuple(shape), name=name, dtype=dtype)
            for name, shape in named.items()}


def layer_class(class_name: str) -> Any:
    """``keras.layers.<class_name>``, a keras.applications helper layer, or None."""
    if class_name in APPLICATION_LAYERS:
        return getattr(importlib.import_module(APPLICATION_LAYERS[class_name]), class_name)
    return getattr(keras.layers, class_name, None)


def wrap(key: str, value: Any) -> Any:
    """Nested layers (``layer`` of wrappers, ``layers`` of a Pipeline, an RNN's ``cell`` or
    list of cells, StackedRNNCells' ``cells``) are given as native entries too."""
    if key in ("layers", "cell", "cells") and isinstance(value, list):
        return [wrap("layer", v) for v in value]
    if key in ("layer", "backward_layer", "cell") and isinstance(value, dict) and "type" in value:
        inner = {k: wrap(k, v) for k, v in value.items() if k != "type"}
        return getattr(keras.layers, value["type"])(**inner)
    return value


def lookup(tensors: dict[str, Any], ref: str) -> Any:
    return tensors[ref]


def auto_name(class_name: str, counts: dict[str, int]) -> str:
    base = re.sub("([a-z])([A-Z])", r"\1_\2", re.sub("(.)([A-Z][a-z]+)", r"\1_\2", class_name))
    base = base.lower()
    n = counts.get(base, 0)
    counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def nodes_in_model(model: Any, layer: Any) -> list[Any]:
    """The calls of ``layer`` that belong to ``model`` (a layer may be called elsewhere too)."""
    if LEGACY:
        keys = model._network_nodes
        return [n for i, n in enumerate(layer._inbound_nodes) if f"{layer.name}_ib-{i}" in keys]
    from keras.src.ops.function import make_node_key

    graph = getattr(model, "_functional", None) or model
    return [n for i, n in enumerate(layer._inbound_nodes)
            if make_node_key(layer, i) in graph._nodes]


def dims(shape: Any) -> list[int | None]:
    return [None if d is None else int(d) for d in shape]


def layer_record(model: Any, layer: Any) -> dict[str, Any]:
    shapes = [dims(t.shape) for node in nodes_in_model(model, layer)
              for t in flat(node.output_tensors)]
    params = int(layer.count_params()) if getattr(layer, "built", False) else 0
    trainable = int(sum(int_size(w.shape) for w in getattr(layer, "trainable_weights", ())))
    return {"name": layer.name, "type": type(layer).__name__, "output_shapes": shapes,
            "params": params, "trainable_params": trainable,
            "non_trainable_params": params - trainable}


def record(spec: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    model, error = build(spec["native"], spec.get("input_dtype"))
    out: dict[str, Any] = {"id": spec["id"], "native": spec["native"]}
    if error is not None:
        out["error"] = error
        return out
    return {**out, **model_record(model, spec, rng)}


def model_record(model: Any, spec: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """A built model's layers, totals and ``to_json()``, and ``predict`` where ``spec`` asks."""
    out: dict[str, Any] = {}
    layers = [layer_record(model, layer) for layer in model.layers
              if type(layer).__name__ != "InputLayer"]
    out["layers"] = layers
    out["totals"] = {"params": int(model.count_params())}
    out["keras_json"] = json.loads(model.to_json())
    reloaded = reloaded_layers(out["keras_json"])
    if reloaded is not None and reloaded != layers:
        out["keras_json_layers"] = reloaded
    if spec.get("forward"):
        try:
            out["forward"] = forward_record(model, spec, rng)
        except Exception as exc:  # tf.keras 2 checks values at run time (tokens in range)
            out["predict_refused"] = refusal(exc)
    return out


def reloaded_layers(keras_json: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The layer records of the model Keras reads back from its own ``to_json()``, or None
    where it cannot. They differ from the model's own where a config does not say the whole
    model: a TextVectorization saved before ``adapt()`` writes ``vocabulary_size`` 1, which
    the layer read back takes as its output depth."""
    try:
        model = keras.models.model_from_json(json.dumps(keras_json))
    except Exception:  # a class Keras does not deserialise by itself
        return None
    return [layer_record(model, layer) for layer in model.layers
            if type(layer).__name__ != "InputLayer"]


def forward_record(model: Any, spec: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    batch = spec.get("batch", 2)
    weights = draw_weights(model, rng)
    xs = [input_data(t, batch, rng, spec) for t in model.inputs]
    ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    ys = ys if isinstance(ys, list) else [ys]
    names = [t.name.split(":")[0] for t in model.inputs]
    out = {"x": {n: encode(x) for n, x in zip(names, xs, strict=True)},
           "weights": weights, "outputs": [encode(y) for y in ys]}
    dtypes = [str(np.asarray(y).dtype) for y in ys]
    if set(dtypes) != {"float32"}:  # integers or booleans: their values are kept as float32
        out["output_dtypes"] = dtypes
    return out


def draw_weights(model: Any, rng: np.random.Generator) -> dict[str, list[dict[str, Any]]]:
    """Random weights set on every layer (variances kept positive), encoded by layer name."""
    weights = {}
    for layer in model.layers:
        values = [random_weight(w, rng) for w in layer.get_weights()]
        values = [np.abs(v) if is_variance(w) else v
                  for w, v in zip(layer.weights, values, strict=True)]
        if values:
            layer.set_weights(values)
            if hasattr(layer, "finalize_state"):  # as loading saved weights does
                layer.finalize_state()
            weights[layer.name] = [encode(v) for v in values]
    return weights


def random_weight(w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if w.dtype.kind in "iu":  # a quantized kernel: integers of its dtype's range
        bounds = np.iinfo(w.dtype)
        return rng.integers(max(bounds.min, -127), bounds.max, size=w.shape, endpoint=True)
    # Positive values keep variances and scales valid; the spread exercises every term.
    magnitude = rng.uniform(0.2, 1.0, size=w.shape).astype(np.float32)
    return magnitude * rng.choice([-1, 1], size=w.shape)


def is_variance(variable: Any) -> bool:
    """Variances (``moving_variance``, Normalization's ``variance``) must stay positive: a
    negative one makes Keras' rsqrt NaN. tf.keras 2 names them ``.../variance:0``."""
    return variable.name.split(":")[0].endswith("variance")


def input_data(tensor: Any, batch: int, rng: np.random.Generator, spec: dict) -> np.ndarray:
    shape = (batch, *tensor.shape[1:])
    if spec.get("int_inputs"):
        return rng.integers(0, spec["int_inputs"], size=shape).astype(np.float32)
    if spec.get("x_range"):  # floats with fractions, which an integer input truncates
        return rng.uniform(*spec["x_range"], size=shape).astype(np.float32)
    x = rng.standard_normal(shape).astype(np.float32)
    if spec.get("masked_steps") is not None:
        # About a third of the time steps (axis 1) hold ``masked_steps`` in every feature: the
        # padding a Masking layer with that mask_value drops.
        padded = rng.random(shape[:2]) < 1 / 3
        x[padded] = spec["masked_steps"]
    return x


def write(family: str, cases: list[dict[str, Any]], kind: str = "layers") -> Path:
    rng = np.random.default_rng(0)
    records = [record(c, rng) for c in cases]
    version = keras.__version__
    FIXTURES.joinpath(kind).mkdir(parents=True, exist_ok=True)
    path = FIXTURES / kind / f"{family}.json"
    path.write_text(json.dumps({"keras_version": version, "backend":
                                os.environ.get("KERAS_BACKEND"), "cases": records}, indent=1))
    refused = sum(1 for r in records if "error" in r)
    print(f"{path.relative_to(ROOT)}: {len(records)} cases ({refused} refused by Keras)",
          file=sys.stderr)
    return path
