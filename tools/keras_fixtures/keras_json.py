"""Dev-only: whole models built with real Keras, saved as ``model.to_json()`` with what Keras
computes for them, to prove the Keras JSON import.

    cd /work/main
    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/keras_json.py
    TF_USE_LEGACY_KERAS=1 /work/devenv/tfkeras/bin/python tools/keras_fixtures/keras_json.py

write ``tests/fixtures/keras3/models/<id>.json`` and ``tests/fixtures/tfkeras2/models/<id>.json``:
the document (and ``model.get_config()``, which people also send), every layer's output shapes
(every call of it in this model, in call order) and parameter counts, the model's output shapes
and totals. The same builders run on Keras 3 and
on tf.keras 2 (``tf_keras``), so both serialisations of one model are covered.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
from build import FIXTURES, LEGACY, ROOT, dims, flat, forward_record, int_size, keras, layer_record

layers = keras.layers
MODELS: dict[str, Callable[[], Any]] = {}
FORWARD: set[str] = set()
"""Models whose record also holds random weights, an input and Keras' ``predict`` output."""


def model(builder: Callable[[], Any]) -> Callable[[], Any]:
    MODELS[builder.__name__] = builder
    return builder


# tf.keras 2 models whose forward pass is not recorded, and why.
NO_TF_KERAS_FORWARD = {
    "nested_two_levels_frozen": "tf.keras names variances 'moving_variance:0', which "
                                "build.is_variance misses: the random variances go negative",
}


def forward(builder: Callable[[], Any]) -> Callable[[], Any]:
    FORWARD.add(builder.__name__)
    return builder


@model
def functional_mlp() -> Any:
    x = keras.Input((8,), name="features")
    h = layers.Dense(16, activation="relu", name="hidden")(x)
    h = layers.Dense(8, activation="tanh")(h)
    return keras.Model(x, layers.Dense(3, activation="softmax", name="probs")(h), name="mlp")


@model
def sequential_cnn() -> Any:
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.Conv2D(4, 5, strides=2, padding="same"),
        layers.Flatten(),
        layers.Dense(10),
    ], name="cnn")


@model
def sequential_input_shape_on_first_layer() -> Any:
    return keras.Sequential([layers.Dense(4, input_shape=(6,)), layers.Dense(2)])


@model
def sequential_built_later() -> Any:
    seq = keras.Sequential([layers.Dense(5), layers.Activation("relu"), layers.Dense(1)])
    seq.build((None, 7))
    return seq


@model
def functional_two_inputs_listed_out_of_order() -> Any:
    a = keras.Input((5,), name="a")
    b = keras.Input((3,), name="b")
    hb = layers.Dense(5, name="project_b")(b)
    merged = layers.Concatenate(name="merged")([hb, a])
    return keras.Model([b, a], layers.Dense(2)(merged))


@forward
@model
def shared_dense() -> Any:
    """One Dense called three times; its second call reads its own first output."""
    x = keras.Input((6,), name="x")
    y = keras.Input((6,), name="y")
    shared = layers.Dense(6, name="shared")
    first = shared(x)
    second = shared(first)
    third = shared(y)
    out = layers.Add(name="sum")([second, third])
    return keras.Model([x, y], [out, first], name="shared")


@forward
@model
def reads_one_tensor_twice() -> Any:
    """A merge that reads the same tensor twice and one computed later (ordering regression)."""
    x = keras.Input((4,), name="x")
    a = layers.Dense(4, name="a")(x)
    c = layers.Dense(4, name="c")(layers.Dense(4, name="b")(a))
    return keras.Model(x, layers.Concatenate(name="joined")([a, a, c]))


@forward
@model
def shared_layer_deep_call_first() -> Any:
    """A shared layer whose first call comes late in the graph: output_shapes in call order."""
    x = keras.Input((8,), name="x")
    shared = layers.Dense(3, name="shared")
    deep = layers.Reshape((2, 4), name="reshape")(layers.Dense(8, name="d1")(x))
    first = shared(deep)
    second = shared(layers.Dense(4, name="d2")(x))
    return keras.Model(x, [first, second])


@model
def shared_conv_siamese() -> Any:
    left = keras.Input((12, 12, 3), name="left")
    right = keras.Input((12, 12, 3), name="right")
    conv = layers.Conv2D(4, 3, name="tower")
    flat = layers.Flatten(name="flat")
    features = [flat(conv(left)), flat(conv(right))]
    distance = layers.Subtract(name="distance")(features)
    return keras.Model([left, right], layers.Dense(1, activation="sigmoid")(distance))


@forward
@model
def nested_sequential_called_twice() -> Any:
    encoder = keras.Sequential([keras.Input((10,)), layers.Dense(8, activation="relu"),
                                layers.Dense(4)], name="encoder")
    a = keras.Input((10,), name="a")
    b = keras.Input((10,), name="b")
    merged = layers.Concatenate()([encoder(a), encoder(b)])
    return keras.Model([a, b], layers.Dense(1)(merged), name="twins")


@forward
@model
def nested_functional_as_output() -> Any:
    """A nested Functional whose calls are model outputs (numbered from 1 in output_layers)."""
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, layers.Dense(4, name="inner_dense")(inner_in), name="block")
    x = keras.Input((4,), name="x")
    once = inner(x)
    twice = inner(layers.Dense(4, name="between")(once))
    return keras.Model(x, [once, twice], name="outer")


@forward
@model
def nested_two_levels_frozen() -> Any:
    """Sequential in Functional in Functional; the middle one frozen, with batch norm."""
    core = keras.Sequential([keras.Input((6,)), layers.Dense(6), layers.BatchNormalization()],
                            name="core")
    mid_in = keras.Input((6,))
    mid = keras.Model(mid_in, layers.Dense(3)(core(mid_in)), name="middle")
    mid.trainable = False
    x = keras.Input((6,), name="x")
    return keras.Model(x, layers.Dense(2)(mid(layers.Dense(6)(x))), name="outer_frozen")


@forward
@model
def nested_multi_input_model() -> Any:
    a_in, b_in = keras.Input((3,), name="inner_a"), keras.Input((5,), name="inner_b")
    joined = layers.Concatenate()([a_in, layers.Dense(3)(b_in)])
    pair = keras.Model([a_in, b_in], [joined, layers.Dense(2)(joined)], name="pair")
    a, b = keras.Input((3,), name="a"), keras.Input((5,), name="b")
    wide, narrow = pair([a, b])
    return keras.Model([a, b], layers.Concatenate()([wide, narrow]), name="uses_pair")


@forward
@model
def nested_sequential_without_input() -> Any:
    """A Sequential built by its first call, inside a Sequential inside a Functional."""
    head = keras.Sequential([layers.Dense(6, activation="relu"), layers.Dense(2)], name="head")
    wrapper = keras.Sequential([layers.Dense(6), head], name="wrapper")
    x = keras.Input((5,), name="x")
    return keras.Model(x, wrapper(layers.Dense(5)(x)), name="deferred")


@forward
@model
def nested_dtypes() -> Any:
    """Keras casts a nested model's inputs to the dtypes it declares: an int32 block truncates
    the float data it is given, and one computing under mixed_float16 gives float16."""
    ids_in = keras.Input((4,), dtype="int32")
    ids = keras.Model(ids_in, layers.Reshape((2, 2))(ids_in), name="ids")
    half_in = keras.Input((4,))
    half = keras.Model(half_in, layers.Dense(3, dtype="mixed_float16")(half_in), name="half")
    x = keras.Input((4,), name="x")
    return keras.Model(x, [ids(x), half(x)], name="nested_dtypes")


@forward
@model
def nested_outputs_of_two_dtypes() -> Any:
    """A nested model's outputs keep each its own dtype: a float Dense and the int32 ids it
    reads (Keras leaves a nested model's outputs as its layers give them)."""
    ids_in = keras.Input((4,), dtype="int32")
    pair = keras.Model(ids_in, [layers.Dense(3)(ids_in), layers.Reshape((2, 2))(ids_in)],
                       name="pair")
    x = keras.Input((4,), dtype="int32", name="x")
    return keras.Model(x, pair(x), name="nested_outputs_of_two_dtypes")


@forward
@model
def sequential_starting_with_a_model() -> Any:
    """Transfer learning's usual shape: Sequential([base_model, pooling, head])."""
    base_in = keras.Input((8, 8, 3))
    base = keras.Model(base_in, layers.Conv2D(4, 3, activation="relu")(base_in), name="base")
    return keras.Sequential([base, layers.GlobalAveragePooling2D(), layers.Dense(2)],
                            name="transfer")


@model
def weights_of_several_dtypes() -> Any:
    """The summary's bytes count each weight in its own dtype: a float64 layer's 8 bytes a
    value, a float16 one's 2, under a mixed policy 4; with Keras 3, LoRA's float32 factors on
    a bfloat16 layer, and int8 and packed int4 kernels with their scales."""
    x = keras.Input((6,), name="x")
    h = layers.Dense(4, dtype="float64", name="wide")(x)
    h = layers.BatchNormalization(dtype="float16", name="half_norm")(h)
    h = layers.Dense(5, dtype="mixed_float16", name="mixed")(h)
    if not LEGACY:
        h = layers.Dense(3, dtype="bfloat16", lora_rank=1, name="adapted")(h)
        h = layers.Dense(4, dtype="int8_from_bfloat16", name="int8")(h)
        h = layers.Dense(6, dtype="int4/2_from_float32", name="int4")(h)
    return keras.Model(x, layers.Dense(2, name="head")(h), name="weights_of_several_dtypes")


@model
def dict_inputs() -> Any:
    inputs = {"image": keras.Input((6, 6, 1), name="image"),
              "meta": keras.Input((3,), name="meta")}
    flat = layers.Flatten()(layers.Conv2D(2, 3)(inputs["image"]))
    merged = layers.Concatenate()([flat, inputs["meta"]])
    return keras.Model(inputs, layers.Dense(1)(merged), name="dict_inputs")


@forward
@model
def lstm_states() -> Any:
    """LSTM return_state outputs; a second LSTM takes them as initial_state."""
    seq = keras.Input((7, 5), name="seq")
    whole, h, c = layers.LSTM(6, return_sequences=True, return_state=True, name="encoder")(seq)
    decoded = layers.LSTM(6, name="decoder")(whole, initial_state=[h, c])
    return keras.Model(seq, [decoded, c], name="seq2seq")


@model
def gru_initial_state_from_input() -> Any:
    seq = keras.Input((4, 3), name="seq")
    state = keras.Input((5,), name="state")
    out = layers.GRU(5, name="gru")(seq, initial_state=state)
    return keras.Model([seq, state], out)


@model
def attention_with_key_and_scores() -> Any:
    query = keras.Input((4, 8), name="query")
    value = keras.Input((6, 8), name="value")
    key = keras.Input((6, 8), name="key")
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")
    out, scores = mha(query, value, key=key, return_attention_scores=True)
    return keras.Model([query, value, key], [out, scores], name="attention")


@model
def self_attention_block() -> Any:
    x = keras.Input((5, 8), name="tokens")
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    h = layers.LayerNormalization()(layers.Add()([x, attended]))
    return keras.Model(x, layers.Dense(8)(h), name="block")


@model
def embedding_mask_lstm() -> Any:
    """Embedding(mask_zero=True): Keras 3 computes the mask with a not_equal operation."""
    ids = keras.Input((9,), dtype="int32", name="ids")
    vectors = layers.Embedding(20, 4, mask_zero=True)(ids)
    return keras.Model(ids, layers.Dense(2)(layers.LSTM(3)(vectors)), name="masked")


@model
def multi_output_heads() -> Any:
    x = keras.Input((16,), name="x")
    trunk = layers.Dense(8, activation="relu", name="trunk")(x)
    kind = layers.Dense(3, activation="softmax", name="kind")(trunk)
    size = layers.Dense(1, name="size")(trunk)
    return keras.Model(x, {"kind": kind, "size": size} if not LEGACY else [kind, size])


@forward
@model
def operations_on_tensors() -> Any:
    """Arithmetic on tensors, as MobileNetV3's hard_sigmoid does: Keras 3 records operations
    (Add, Multiply), tf.keras 2 TFOpLambda layers naming TensorFlow functions."""
    x = keras.Input((5,), name="x")
    h = layers.Dense(4, name="h")(x)
    gate = layers.ReLU(6.0, name="relu6")(h + 3.0) * (1.0 / 6.0)
    return keras.Model(x, layers.Dense(2, name="after")(h * gate - h))


@model
def lambda_in_the_middle() -> Any:
    x = keras.Input((4,), name="x")
    doubled = layers.Lambda(lambda t: t * 2, name="double")(x)
    return keras.Model(x, layers.Dense(2, name="after")(doubled))


@keras.saving.register_keras_serializable(package="Custom")
class Scale(layers.Layer):
    def call(self, inputs: Any) -> Any:
        return inputs * 2.0


@model
def custom_layer() -> Any:
    x = keras.Input((4,), name="x")
    return keras.Model(x, layers.Dense(2, name="after")(Scale(name="scale")(x)))


# Masks that Keras 3 computes with operations, which its summary lists as rows: whose mask each
# layer reads ("Connected to"), and the shapes of the operations Keras writes for masks.
@model
def masked_embedding_read_twice() -> Any:
    """One not_equal feeds the masks of two layers."""
    ids = keras.Input((7,), dtype="int32", name="ids")
    vectors = layers.Embedding(10, 4, mask_zero=True, name="emb")(ids)
    both = layers.Concatenate(name="both")([layers.LSTM(3, name="lstm")(vectors),
                                            layers.GlobalAveragePooling1D(name="pool")(vectors)])
    return keras.Model(ids, layers.Dense(2, name="out")(both), name="read_twice")


@model
def masked_embedding_bidirectional() -> Any:
    """The mask passes through a Bidirectional that returns sequences to the next LSTM."""
    ids = keras.Input((7,), dtype="int32", name="ids")
    vectors = layers.Embedding(10, 4, mask_zero=True, name="emb")(ids)
    both_ways = layers.Bidirectional(layers.LSTM(3, return_sequences=True), name="bi")(vectors)
    return keras.Model(ids, layers.LSTM(2, name="last")(both_ways), name="bidirectional")


@model
def masking_lstm() -> Any:
    """Masking: Keras 3 computes its mask as any(not_equal(x, 0.0), axis=-1)."""
    x = keras.Input((5, 3), name="x")
    masked = layers.Masking(name="masking")(x)
    return keras.Model(x, layers.Dense(2, name="out")(layers.LSTM(4, name="lstm")(masked)),
                       name="masking")


@model
def masked_concatenation() -> Any:
    """Concatenate's mask: expand_dims, zeros_like, logical_or, concatenate and any."""
    a = keras.Input((6,), dtype="int32", name="a")
    b = keras.Input((6,), dtype="int32", name="b")
    joined = layers.Concatenate(name="joined")([layers.Embedding(10, 4, mask_zero=True,
                                                                  name="ea")(a),
                                                 layers.Embedding(10, 3, mask_zero=True,
                                                                  name="eb")(b)])
    return keras.Model([a, b], layers.LSTM(2, name="lstm")(joined), name="concatenation")


@model
def attention_called_with_keywords() -> Any:
    """Keras lists the tensors of keyword arguments by sorted keyword: key, query, value."""
    query = keras.Input((4, 8), name="q")
    value = keras.Input((5, 8), name="v")
    key = keras.Input((5, 8), name="k")
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(
        query=query, value=value, key=key)
    return keras.Model([query, value, key], attended, name="keywords")


@model
def lstm_given_a_mask_input() -> Any:
    """A mask passed as a call argument: both Keras list it in "Connected to"."""
    steps = keras.Input((5, 3), name="x")
    mask = keras.Input((5,), dtype="bool", name="m")
    last = layers.LSTM(4, name="lstm")(steps, mask=mask)
    return keras.Model([steps, mask], layers.Dense(2, name="out")(last), name="given_mask")


# -- recording -----------------------------------------------------------------------------------
def operations(model: Any) -> list[Any]:
    """The layers and, in Keras 3, the operations (``x + 3``) too, as ``summary()`` lists them."""
    return list(getattr(model, "operations", None) or model.layers)


def model_record(model_id: str, model: Any, with_config: bool = True) -> dict[str, Any]:
    """What Keras computes for ``model``, and its ``to_json()`` (and, ``with_config``, its
    ``get_config()``)."""
    trainable = int(sum(int_size(w.shape) for w in model.trainable_weights))
    params = int(model.count_params())
    record = {
        "id": model_id,
        "keras_version": keras.__version__,
        "keras_json": json.loads(model.to_json()),
        "layers": [layer_record(model, layer) for layer in operations(model)
                   if type(layer).__name__ != "InputLayer"],
        "outputs": [dims(t.shape) for t in flat(model.outputs)],
        "totals": {"params": params, "trainable_params": trainable,
                   "non_trainable_params": params - trainable},
    }
    if with_config:
        record["get_config"] = json.loads(json.dumps(model.get_config()))
    record["summary"] = printed_summary(model)
    return record


def printed_summary(model: Any) -> str:
    """What ``model.summary()`` prints in a terminal wide enough for Keras' own line lengths
    (88 and 108 columns)."""
    printed: list[str] = []
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "200"
    try:
        model.summary(print_fn=lambda text, line_break=True: printed.append(text))
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    # Keras 3 prints the table in one call, tf.keras 2 one line per call.
    return "\n".join(printed) if LEGACY else "".join(printed).rstrip("\n")


def main(names: list[str]) -> None:
    out_dir = FIXTURES / "models"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names or MODELS:
        built = MODELS[name]()
        record = model_record(name, built)
        if name in FORWARD and not (LEGACY and name in NO_TF_KERAS_FORWARD):
            record["forward"] = forward_record(built, {}, np.random.default_rng(0))
        path = out_dir / f"{name}.json"
        path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"{path.relative_to(ROOT)}: {len(record['layers'])} layers", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
