"""Dev-only: documents from older Keras versions, with what that Keras computes for them.

People paste what *their* Keras writes, and Colab and older environments run Keras 3.0 to 3.14
and tf.keras 2.15 to 2.20, whose ``to_json()`` differs from today's in small ways (a dtype as
a plain string or as a ``DTypePolicy``, ``batch_input_shape`` or ``batch_shape``,
``build_config``, the InputLayer's ``optional`` and ``ragged``, ``registered_name``,
``module``, the form of the nodes, operations Keras inserts). Run under one virtualenv per
version, this records, for that version, several ``keras.applications`` models
(``weights=None``, small inputs where allowed), every model of ``keras_json.py`` that version
can build, and the models of ``VERSION_MODELS`` below, each as ``keras_json.model_record``
makes it (``keras_json``, per-layer output shapes of every call, parameter counts, outputs,
totals, Keras' version) and, for the small ones (``FORWARD``), with random weights, an input
and ``predict``'s output (``build.forward_record``). It writes
``tests/fixtures/versions/<keras|tf_keras>-<version>.json.gz``, which
``tests/test_keras_versions.py`` replays without Keras. A model a version cannot build is
listed under ``skipped`` with Keras' message.

Keras 3 runs on the JAX of its time: in 3.0 to 3.12 the numpy backend imports JAX (or torch,
or scipy) anyway, and it ignores masks, so that its ``to_json()`` lacks the mask arguments and
the ``not_equal`` operations of users' documents. The virtualenvs (Python 3.11)::

    python3 -m venv /work/devenv/k3_3.0.5
    /work/devenv/k3_3.0.5/bin/pip install keras==3.0.5 "numpy<2" packaging \
        jax==0.4.23 jaxlib==0.4.23
    # likewise k3_3.3.3 (jax 0.4.26), k3_3.6.0 (jax 0.4.34), k3_3.9.2 (jax 0.5.3),
    # k3_3.12.0 (jax 0.7.2, which wants numpy 2)
    python3 -m venv /work/devenv/tf_2.15
    /work/devenv/tf_2.15/bin/pip install tensorflow-cpu==2.15.1 tf-keras==2.15.1
    python3 -m venv /work/devenv/tf_2.17
    /work/devenv/tf_2.17/bin/pip install "tensorflow-cpu==2.17.*" "tf-keras==2.17.*"

and the recording, from the repository's root (memory capped; a few minutes per version)::

    for v in 3.0.5 3.3.3 3.6.0 3.9.2 3.12.0; do
      (ulimit -v 13000000; KERAS_BACKEND=jax nice -n 10 /work/devenv/k3_$v/bin/python \
          tools/keras_fixtures/versions.py)
    done
    for v in 2.15 2.17; do
      (ulimit -v 13000000; TF_USE_LEGACY_KERAS=1 TF_ENABLE_ONEDNN_OPTS=0 \
          TF_CPP_MIN_LOG_LEVEL=3 nice -n 10 /work/devenv/tf_$v/bin/python \
          tools/keras_fixtures/versions.py)
    done

``versions.py NAME ...`` records only those models (into the same file: the others are kept).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import keras_json
import numpy as np
from build import LEGACY, ROOT, forward_record, keras, refusal

layers = keras.layers
OUT = ROOT / "tests" / "fixtures" / "versions"

APPLICATIONS: dict[str, tuple[int, int, int] | None] = {
    # name: input shape (None: the model's default)
    "ResNet50": (64, 64, 3),
    "MobileNetV2": (96, 96, 3),
    "DenseNet121": (64, 64, 3),
    "EfficientNetB0": (64, 64, 3),
    "NASNetMobile": (96, 96, 3),
    "InceptionV3": (75, 75, 3),
    "MobileNetV3Small": (96, 96, 3),
    "ConvNeXtTiny": (64, 64, 3),
    "EfficientNetV2B0": (64, 64, 3),
}

# keras_json.py models left out: a refusal only (a Lambda's bytecode differs by Python, not
# by Keras), and nothing of the format.
LEFT_OUT = {"lambda_in_the_middle"}

VERSION_MODELS: dict[str, Callable[[], Any]] = {}
FORWARD: dict[str, dict[str, Any]] = {}
"""Models whose record also holds random weights, an input and that Keras' ``predict`` output
(``build.forward_record``), with the options of their input: those of ``keras_json.py`` that
record it there, and the small models below (integers where an Embedding reads them)."""


def version_model(builder: Callable[[], Any], spec: dict[str, Any] | None = None,
                  ) -> Callable[[], Any]:
    VERSION_MODELS[f"v_{builder.__name__}"] = builder
    FORWARD[f"v_{builder.__name__}"] = spec or {}
    return builder


# keras_json.py's masked models, run too: each Keras version writes its own operations for
# the masks (``BroadcastTo``, ``ZerosLike``, ...), which the forward pass evaluates.
FORWARD.update({name: {"int_inputs": 10} for name in (
    "embedding_mask_lstm", "masked_embedding_read_twice", "masked_embedding_bidirectional",
    "masked_concatenation")})
FORWARD["masking_lstm"] = {"masked_steps": 0.0}


def with_integer_inputs(builder: Callable[[], Any]) -> Callable[[], Any]:
    """A model whose inputs include token ids: every input drawn as integers 0 to 9."""
    return version_model(builder, {"int_inputs": 10})


@version_model
def sequential_without_input_layer() -> Any:
    """The first layer declares the input (``input_shape``): Keras 3 makes an InputLayer of it,
    tf.keras 2 writes ``batch_input_shape`` on the layer."""
    return keras.Sequential([
        layers.Conv1D(8, 3, activation="relu", input_shape=(20, 4)),
        layers.BatchNormalization(),
        layers.MaxPooling1D(2),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ], name="no_input_layer")


@version_model
def sequential_with_input_layer() -> Any:
    return keras.Sequential([
        keras.Input((16, 16, 3)),
        layers.Conv2D(6, 3, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
        layers.Permute((3, 1, 2)),
        layers.Reshape((4, -1)),
        layers.GlobalAveragePooling1D(),
        layers.Dense(2),
    ], name="with_input_layer")


@version_model
def sequential_built_by_build() -> Any:
    """No input anywhere: the shape is in ``build_input_shape`` / ``build_config``."""
    seq = keras.Sequential([layers.Dense(6, activation="relu"), layers.Dropout(0.1),
                            layers.Dense(2)], name="built")
    seq.build((None, 9))
    return seq


@with_integer_inputs
def functional_several_inputs_and_outputs() -> Any:
    image = keras.Input((12, 12, 1), name="image")
    meta = keras.Input((5,), name="meta")
    ids = keras.Input((7,), dtype="int32", name="ids")
    conv = layers.Conv2D(4, 3, strides=2, name="conv")(image)
    flat = layers.Flatten(name="flat")(conv)
    text = layers.GlobalAveragePooling1D(name="text_pool")(layers.Embedding(20, 3, name="emb")(ids))
    joined = layers.Concatenate(name="joined")([flat, layers.Dense(4, name="meta_dense")(meta),
                                                text])
    trunk = layers.Dense(8, activation="relu", name="trunk")(joined)
    summed = layers.Add(name="summed")([trunk, layers.Dense(8, name="skip")(joined)])
    return keras.Model([image, meta, ids],
                       [layers.Dense(3, activation="softmax", name="cls")(summed),
                        layers.Dense(1, name="reg")(trunk)], name="several")


@version_model
def nested_sequential_and_functional() -> Any:
    """A Sequential and a Functional used as layers, the Functional twice (shared)."""
    block_in = keras.Input((6,))
    block = keras.Model(block_in, layers.Dense(6, activation="tanh")(
        layers.BatchNormalization()(block_in)), name="block")
    head = keras.Sequential([keras.Input((6,)), layers.Dense(4), layers.Dropout(0.2),
                             layers.Dense(2)], name="head")
    x = keras.Input((6,), name="x")
    once = block(x)
    twice = block(layers.Dense(6, name="between")(once))
    return keras.Model(x, [head(twice), once], name="nested")


@version_model
def shared_layer_called_twice() -> Any:
    a = keras.Input((10, 4), name="a")
    b = keras.Input((10, 4), name="b")
    shared = layers.Conv1D(5, 3, padding="causal", name="shared")
    both = layers.Concatenate(axis=-1, name="both")([shared(a), shared(b)])
    return keras.Model([a, b], layers.GlobalMaxPooling1D(name="pool")(both), name="shared")


@with_integer_inputs
def embedding_mask_recurrent() -> Any:
    ids = keras.Input((12,), dtype="int32", name="ids")
    vectors = layers.Embedding(50, 8, mask_zero=True, name="emb")(ids)
    seq = layers.Bidirectional(layers.LSTM(6, return_sequences=True), name="bi")(vectors)
    seq = layers.GRU(5, return_sequences=True, name="gru")(seq)
    last = layers.LSTM(4, name="lstm")(seq)
    return keras.Model(ids, layers.Dense(2, name="out")(last), name="mask_recurrent")


@version_model
def transformer_block() -> Any:
    x = keras.Input((10, 16), name="x")
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=8, name="mha")(x, x)
    h = layers.LayerNormalization(name="ln1")(layers.Add(name="res1")([x, attended]))
    ff = layers.Dense(16, name="ff2")(layers.Dense(32, activation="relu", name="ff1")(h))
    h = layers.LayerNormalization(name="ln2")(layers.Add(name="res2")(
        [h, layers.Dropout(0.1, name="drop")(ff)]))
    memory = keras.Input((6, 16), name="memory")
    cross = layers.MultiHeadAttention(num_heads=4, key_dim=4, name="cross")(
        h, memory)
    return keras.Model([x, memory], layers.GlobalAveragePooling1D(name="pool")(cross),
                       name="transformer")


@version_model
def cross_attention_of_another_width() -> Any:
    """A value of other features than the query's: Keras 3.0 refuses to build it (its
    ``compute_output_shape`` wants them equal), later versions project both."""
    query = keras.Input((10, 16), name="query")
    memory = keras.Input((6, 12), name="memory")
    cross = layers.MultiHeadAttention(num_heads=4, key_dim=4, name="cross")(
        query, memory)
    return keras.Model([query, memory], cross, name="cross_attention")


@with_integer_inputs
def operations_and_dtypes() -> Any:
    """Operations on tensors (Keras 3 ops, tf.keras 2 TFOpLambda), an int32 input, a
    mixed_float16 layer, a frozen layer."""
    x = keras.Input((6,), name="x")
    counts = keras.Input((6,), dtype="int32", name="counts")
    h = layers.Dense(6, name="h")(x)
    if LEGACY:
        import tensorflow as tf

        gated = tf.nn.relu(h) * tf.math.sigmoid(h) + 1.0
    else:
        gated = keras.ops.relu(h) * keras.ops.sigmoid(h) + 1.0
    frozen = layers.Dense(6, name="frozen", trainable=False)(gated)
    half = layers.Dense(4, dtype="mixed_float16", name="half")(frozen)
    ids = layers.Embedding(10, 4, name="emb")(counts)
    return keras.Model([x, counts], [half, layers.Flatten(name="flat")(ids)], name="ops_dtypes")


# -- recording -------------------------------------------------------------------------------------
def flavour() -> str:
    return "tf_keras" if LEGACY else "keras"


def application(name: str) -> Any:
    shape = APPLICATIONS[name]
    build = getattr(keras.applications, name)
    try:
        return build(weights=None, input_shape=shape)
    except ValueError:  # a size this model refuses: its default one
        return build(weights=None)


def forward_spec(name: str) -> dict[str, Any] | None:
    if name in FORWARD:
        return FORWARD[name]
    if name in keras_json.FORWARD and not (LEGACY and name in keras_json.NO_TF_KERAS_FORWARD):
        return {}
    return None


def builders() -> dict[str, Callable[[], Any]]:
    found: dict[str, Callable[[], Any]] = {}
    for name in APPLICATIONS:
        found[f"app_{name}"] = lambda name=name: application(name)
    found.update({name: builder for name, builder in keras_json.MODELS.items()
                  if name not in LEFT_OUT})
    found.update(VERSION_MODELS)
    return found


def main(names: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{flavour()}-{keras.__version__}.json.gz"
    kept: dict[str, Any] = {"records": [], "skipped": {}}
    if names and path.exists():
        with gzip.open(path, "rt") as f:
            kept = json.load(f)
    records = {r["id"]: r for r in kept["records"] if r["id"] not in names}
    skipped = {k: v for k, v in kept["skipped"].items() if k not in names}
    for name, builder in builders().items():
        if names and name not in names:
            continue
        try:
            model = builder()
            record = keras_json.model_record(name, model, with_config=False)
        except Exception as exc:  # this version cannot build it: say why
            skipped[name] = f"{type(exc).__name__}: {refusal(exc)}"
            print(f"  {name}: skipped ({skipped[name]})", file=sys.stderr)
            if os.environ.get("VERSIONS_DEBUG"):
                traceback.print_exc()
            keras.backend.clear_session()
            continue
        del record["summary"]  # each version prints its own; not what is checked here
        spec = forward_spec(name)
        if spec is not None:
            try:
                record["forward"] = forward_record(model, spec, np.random.default_rng(0))
            except Exception as exc:  # predict fails in this version
                record["predict_refused"] = refusal(exc)
        records[name] = record
        print(f"  {name}: {len(record['layers'])} layers, {record['totals']['params']:,} params",
              file=sys.stderr)
        keras.backend.clear_session()
    order = list(builders())
    document = {
        "keras_version": keras.__version__,
        "flavour": flavour(),
        "backend": None if LEGACY else keras.backend.backend(),
        "records": sorted(records.values(), key=lambda r: order.index(r["id"])
                          if r["id"] in order else len(order)),
        "skipped": skipped,
    }
    # mtime=0: the same models give the same bytes, so recording again leaves no diff.
    with gzip.GzipFile(path, "wb", mtime=0) as out:
        out.write(json.dumps(document, separators=(",", ":")).encode())
    print(f"{path.relative_to(ROOT)}: {len(records)} models, {len(skipped)} skipped",
          file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
