"""Dev-only: models whose Keras masks the native builder cannot express, built with real Keras
and saved with what Keras computes for them.

    cd /work/main
    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/masked_models.py

writes ``tests/fixtures/keras3/masked/masked_models.json``: per case the ``model.to_json()``
document, every layer's output shapes and parameters (``keras_json.model_record``), random
weights, an input and Keras' ``predict`` output (or why ``predict`` fails), and, where a native
document can say the same model, that document (``native``). The cases:

- masks through nested models (a Sequential or Functional called as a layer): a mask made
  outside reaches the layers inside, and the mask of the nested model's output (made inside)
  reaches the layers after it;
- masks passed explicitly as call arguments: ``mask=`` of recurrent layers, pooling, Softmax,
  wrappers and nested models, Attention's ``mask=[query_mask, value_mask]``, and the
  ``query_mask``/``value_mask``/``key_mask``/``attention_mask`` of MultiHeadAttention and
  GroupedQueryAttention, from boolean model inputs, from other tensors, or computed by Keras
  operations (``keras.ops.not_equal``, ``logical_and``, ...);
- a masking Embedding before Softmax, which Keras builds but whose ``predict`` fails unless the
  mask happens to broadcast against the input;
- a GlobalAveragePooling1D whose mask has one step, or whose input has one step, which Keras
  broadcasts;
- a SpectralNormalization, which passes on the mask the layer it wraps sets.

Token inputs (``ids``, ``a``, ``b``, ``q`` of rank 2) hold indices in [0, ``IDS``), a quarter of
them the padding 0 (never the first), and a padded end of up to half the steps; boolean inputs
hold random masks, True at the first step of every sample; the others standard normal values,
a third of the steps of a sequence all zeros (what Masking masks) but the first: no sample is
padding everywhere (an average over no step is NaN).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
from build import FIXTURES, ROOT, draw_weights, encode, keras
from keras_json import model_record

layers = keras.layers
ops = keras.ops
IDS = 4
STEPS, FEATURES = 6, 4
CASES: dict[str, Callable[[], Any]] = {}
NATIVE: dict[str, dict[str, Any]] = {}
"""Case id -> the native document of the same model (same layer names, same weights)."""
BATCH: dict[str, int] = {}
"""Case id -> batch size, where it is not 3."""


def case(builder: Callable[[], Any]) -> Callable[[], Any]:
    CASES[builder.__name__] = builder
    return builder


def ids(name: str = "ids", steps: int = STEPS) -> Any:
    return keras.Input((steps,), name=name)


def floats(name: str = "x", steps: int = STEPS, features: int = FEATURES) -> Any:
    return keras.Input((steps, features), name=name)


def boolean(name: str = "m", *shape: int) -> Any:
    return keras.Input(shape or (STEPS,), name=name, dtype="bool")


def embedding(name: str = "emb", output_dim: int = FEATURES) -> Any:
    return layers.Embedding(IDS, output_dim, mask_zero=True, name=name)


def lstm(name: str = "lstm", units: int = 3, **args: Any) -> Any:
    return layers.LSTM(units, return_sequences=True, name=name, **args)


# -- (a) masks through nested models ----------------------------------------------------------
@case
def outside_mask_into_nested_sequential() -> Any:
    inner = keras.Sequential([keras.Input((STEPS, FEATURES)), lstm()], name="inner")
    x = ids()
    return keras.Model(x, inner(embedding()(x)))


@case
def outside_mask_into_nested_functional() -> Any:
    """Inside: an LSTM and an average over the unmasked steps, both reading the mask."""
    inside = keras.Input((STEPS, FEATURES), name="inside")
    pooled = layers.GlobalAveragePooling1D(name="pooled")(inside)
    last = layers.LSTM(3, name="last")(inside)
    inner = keras.Model(inside, layers.Concatenate(name="joined")([pooled, last]), name="inner")
    x = ids()
    return keras.Model(x, inner(embedding()(x)))


@case
def outside_mask_through_nested_dense_to_lstm_inside() -> Any:
    inner = keras.Sequential([keras.Input((STEPS, FEATURES)), layers.Dense(5, name="dense"),
                              layers.GRU(3, name="gru")], name="inner")
    x = floats()
    return keras.Model(x, inner(layers.Masking(name="masking")(x)))


@case
def inside_mask_out_of_nested_sequential() -> Any:
    inner = keras.Sequential([keras.Input((STEPS,)), embedding(), layers.Dense(4, name="dense")],
                             name="inner")
    x = ids()
    return keras.Model(x, lstm("after")(inner(x)))


@case
def inside_mask_out_of_nested_functional() -> Any:
    """The inner Functional's own JSON carries the masks Keras filled in (not_equal)."""
    inside = ids("inside")
    hidden = lstm("inner_lstm")(embedding()(inside))
    inner = keras.Model(inside, layers.Dense(3, name="dense")(hidden), name="inner")
    x = ids()
    return keras.Model(x, layers.GlobalAveragePooling1D(name="after")(inner(x)))


@case
def inside_mask_out_of_nested_masking() -> Any:
    inside = floats("inside")
    inner = keras.Model(inside, layers.Masking(name="masking")(inside), name="inner")
    x = floats()
    return keras.Model(x, layers.GRU(3, name="after")(inner(x)))


@case
def nested_mask_dropped_inside() -> Any:
    """A Conv1D inside drops the mask: the layers after the nested model see none."""
    inner = keras.Sequential([keras.Input((STEPS, FEATURES)),
                              layers.Conv1D(4, 3, padding="same", name="conv")], name="inner")
    x = ids()
    return keras.Model(x, lstm("after")(inner(embedding()(x))))


@case
def nested_two_levels() -> Any:
    core = keras.Sequential([keras.Input((STEPS, FEATURES)), lstm("deep")], name="core")
    middle = keras.Sequential([keras.Input((STEPS, FEATURES)), layers.Dense(4, name="dense"),
                               core], name="middle")
    x = ids()
    return keras.Model(x, layers.GlobalAveragePooling1D(name="after")(middle(embedding()(x))))


@case
def nested_two_inputs_with_masks() -> Any:
    """The nested model takes two masked tensors; its Add ORs their masks, its LSTM follows
    the result, and so does the average after it."""
    a_in, b_in = floats("a_in"), floats("b_in")
    summed = layers.Add(name="sum")([a_in, b_in])
    inner = keras.Model([a_in, b_in], lstm("inner_lstm")(summed), name="inner")
    a, b = ids("a"), ids("b")
    merged = inner([embedding("emb_a")(a), embedding("emb_b")(b)])
    return keras.Model([a, b], layers.GlobalAveragePooling1D(name="after")(merged))


@case
def nested_called_twice_with_different_masks() -> Any:
    inner = keras.Sequential([keras.Input((STEPS, FEATURES)), lstm()], name="inner")
    a, b = ids("a"), floats("b")
    first = inner(embedding()(a))
    second = inner(layers.Masking(name="masking")(b))
    return keras.Model([a, b], [first, second])


@case
def nested_with_two_outputs() -> Any:
    """Outputs of a nested model keep their own masks: the sequence its LSTM returns keeps
    the mask, the last output has none."""
    inside = floats("inside")
    hidden = layers.LSTM(3, return_sequences=True, return_state=True, name="inner_lstm")(inside)
    inner = keras.Model(inside, [hidden[0], hidden[1]], name="inner")
    x = ids()
    sequence, state = inner(embedding()(x))
    pooled = layers.GlobalAveragePooling1D(name="pooled")(sequence)
    return keras.Model(x, [pooled, layers.Dense(2, name="dense")(state)])


@case
def explicit_mask_into_nested_model() -> Any:
    inner = keras.Sequential([keras.Input((STEPS, FEATURES)), lstm()], name="inner")
    x, m = floats(), boolean()
    return keras.Model([x, m], inner(x, mask=m))


@case
def explicit_mask_list_into_nested_model() -> Any:
    """mask=[m, None]: the second input's Embedding mask is replaced by None."""
    a_in, b_in = floats("a_in"), floats("b_in")
    inner = keras.Model([a_in, b_in], lstm("inner_lstm")(layers.Add(name="sum")([a_in, b_in])),
                        name="inner")
    x, b, m = floats(), ids("b"), boolean()
    return keras.Model([x, b, m], inner([x, embedding()(b)], mask=[m, None]))


# -- (b) explicit mask arguments --------------------------------------------------------------
def native(case_id: str, inputs: dict[str, list], layer_list: list[dict], outputs: Any = None,
           ) -> None:
    NATIVE[case_id] = {"name": case_id, "inputs": inputs, "layers": layer_list,
                       **({"outputs": outputs} if outputs else {})}


X, M = {"x": [STEPS, FEATURES]}, {"m": [STEPS]}


@case
def lstm_mask_from_boolean_input() -> Any:
    """The explicit mask is the call's mask, and the LSTM passes it on to the next one."""
    x, m = floats(), boolean()
    first = lstm("first")(x, mask=m)
    return keras.Model([x, m], layers.LSTM(2, name="second")(first))


native("lstm_mask_from_boolean_input", {**X, **M}, [
    {"type": "LSTM", "units": 3, "return_sequences": True, "name": "first", "inputs": "x",
     "call": {"mask": "m"}},
    {"type": "LSTM", "units": 2, "name": "second"}])


@case
def explicit_mask_wins_over_the_embedding_mask() -> Any:
    x, m = ids(), boolean()
    return keras.Model([x, m], lstm()(embedding()(x), mask=m))


native("explicit_mask_wins_over_the_embedding_mask", {"ids": [STEPS], **M}, [
    {"type": "Embedding", "name": "emb", "input_dim": IDS, "output_dim": FEATURES,
     "mask_zero": True, "inputs": "ids"},
    {"type": "LSTM", "units": 3, "return_sequences": True, "name": "lstm", "call": {"mask": "m"}}])


@case
def lstm_initial_state_and_mask() -> Any:
    """Keras fills no mask into a call with initial states, but an explicit one is used."""
    x, m = floats(), boolean()
    h, c = keras.Input((3,), name="h"), keras.Input((3,), name="c")
    return keras.Model([x, h, c, m], lstm()(x, initial_state=[h, c], mask=m))


native("lstm_initial_state_and_mask", {**X, "h": [3], "c": [3], **M}, [
    {"type": "LSTM", "units": 3, "return_sequences": True, "name": "lstm",
     "inputs": ["x", "h", "c"], "call": {"mask": "m"}}])


@case
def gru_backwards_mask_from_float_ids() -> Any:
    """A float tensor as the mask: nonzero is kept."""
    x = ids()
    vectors = layers.Embedding(IDS, FEATURES, name="emb")(x)
    return keras.Model(x, layers.GRU(3, go_backwards=True, return_sequences=True,
                                     name="gru")(vectors, mask=x))


@case
def simple_rnn_last_output_mask() -> Any:
    x, m = floats(), boolean()
    return keras.Model([x, m], layers.SimpleRNN(3, name="rnn")(x, mask=m))


@case
def bidirectional_mask() -> Any:
    x, m = floats(), boolean()
    return keras.Model([x, m], layers.Bidirectional(layers.LSTM(2, return_sequences=True),
                                                    name="bi")(x, mask=m))


native("bidirectional_mask", {**X, **M}, [
    {"type": "Bidirectional", "name": "bi", "inputs": "x", "call": {"mask": "m"},
     "layer": {"type": "LSTM", "units": 2, "return_sequences": True}}])


@case
def bidirectional_initial_state_and_mask() -> Any:
    x, m = floats(), boolean()
    states = [keras.Input((2,), name=n) for n in ("h", "c", "h_back", "c_back")]
    return keras.Model([x, *states, m], layers.Bidirectional(
        layers.LSTM(2, return_sequences=True), name="bi")(x, initial_state=states, mask=m))


@case
def time_distributed_mask_then_lstm() -> Any:
    x, m = floats(), boolean()
    spread = layers.TimeDistributed(layers.Dense(3), name="spread")(x, mask=m)
    return keras.Model([x, m], lstm()(spread))


@case
def global_average_mask() -> Any:
    x, m = floats(), boolean()
    return keras.Model([x, m], layers.GlobalAveragePooling1D(name="pooled")(x, mask=m))


@case
def global_average_channels_first_mask() -> Any:
    x, m = floats(features=STEPS, steps=FEATURES), boolean()
    return keras.Model([x, m], layers.GlobalAveragePooling1D(
        data_format="channels_first", name="pooled")(x, mask=m))


native("global_average_mask", {**X, **M}, [
    {"type": "GlobalAveragePooling1D", "name": "pooled", "inputs": "x", "call": {"mask": "m"}}])


@case
def softmax_mask_per_element() -> Any:
    x, m = floats(), boolean("m", STEPS, FEATURES)
    return keras.Model([x, m], layers.Softmax(name="soft")(x, mask=m))


native("softmax_mask_per_element", {**X, "m": [STEPS, FEATURES]}, [
    {"type": "Softmax", "name": "soft", "inputs": "x", "call": {"mask": "m"}}])


@case
def batch_norm_passes_its_explicit_mask_on() -> Any:
    x, m = floats(), boolean()
    normed = layers.BatchNormalization(name="norm")(x, mask=m)
    return keras.Model([x, m], lstm()(normed))


@case
def attention_mask_list() -> Any:
    q, v = floats("q", 4), floats("v")
    qm, vm = boolean("qm", 4), boolean("vm")
    return keras.Model([q, v, qm, vm], layers.Attention(name="att")([q, v], mask=[qm, vm]))


native("attention_mask_list", {"q": [4, FEATURES], "v": [STEPS, FEATURES], "qm": [4],
                               "vm": [STEPS]}, [
    {"type": "Attention", "name": "att", "inputs": ["q", "v"], "call": {"mask": ["qm", "vm"]}}])


@case
def attention_value_mask_only_over_masked_query() -> Any:
    """mask=[None, vm]: the query's own Embedding mask is replaced by None."""
    q, v, vm = ids("q"), floats("v"), boolean("vm")
    attended = layers.Attention(name="att")([embedding()(q), v], mask=[None, vm])
    return keras.Model([q, v, vm], layers.GlobalAveragePooling1D(name="pooled")(attended))


@case
def additive_attention_mask_list_with_key() -> Any:
    q, v, k = floats("q", 4), floats("v"), floats("k")
    qm, vm = boolean("qm", 4), boolean("vm")
    return keras.Model([q, v, k, qm, vm],
                       layers.AdditiveAttention(name="att")([q, v, k], mask=[qm, vm]))


MHA = {"num_heads": 2, "key_dim": 3}


@case
def mha_value_mask() -> Any:
    q, v, vm = floats("q", 4), floats("v"), boolean("vm")
    return keras.Model([q, v, vm], layers.MultiHeadAttention(**MHA, name="mha")(
        q, v, value_mask=vm))


native("mha_value_mask", {"q": [4, FEATURES], "v": [STEPS, FEATURES], "vm": [STEPS]}, [
    {"type": "MultiHeadAttention", **MHA, "name": "mha", "inputs": ["q", "v"],
     "call": {"value_mask": "vm"}}])


@case
def mha_value_mask_replaces_the_embedding_mask() -> Any:
    q, v, vm = ids("q"), ids("ids"), boolean("vm")
    query, value = embedding("emb_q")(q), embedding("emb_v")(v)
    return keras.Model([q, v, vm], layers.MultiHeadAttention(**MHA, name="mha")(
        query, value, value_mask=vm))


@case
def mha_query_mask_is_ignored() -> Any:
    """MultiHeadAttention reads the query's own Keras mask and ignores ``query_mask``."""
    q, qm = floats("q"), boolean("qm")
    return keras.Model([q, qm], layers.MultiHeadAttention(**MHA, name="mha")(
        q, q, query_mask=qm))


native("mha_query_mask_is_ignored", {"q": [STEPS, FEATURES], "qm": [STEPS]}, [
    {"type": "MultiHeadAttention", **MHA, "name": "mha", "inputs": ["q", "q"],
     "call": {"query_mask": "qm"}}])


@case
def mha_key_and_attention_masks() -> Any:
    q, v, k = floats("q", 4), floats("v"), floats("k")
    km, am = boolean("km"), boolean("am", 4, STEPS)
    return keras.Model([q, v, k, km, am], layers.MultiHeadAttention(**MHA, name="mha")(
        q, v, key=k, key_mask=km, attention_mask=am))


native("mha_key_and_attention_masks", {"q": [4, FEATURES], "v": [STEPS, FEATURES],
                                       "k": [STEPS, FEATURES], "km": [STEPS],
                                       "am": [4, STEPS]}, [
    {"type": "MultiHeadAttention", **MHA, "name": "mha", "inputs": ["q", "v", "k"],
     "call": {"key_mask": "km", "attention_mask": "am"}}])


@case
def mha_attention_mask_causal_and_embedding_masks() -> Any:
    """The attention mask ANDed with the Embedding masks and the causal mask; the scores too."""
    x, am = ids(), boolean("am", STEPS, STEPS)
    vectors = embedding()(x)
    out, scores = layers.MultiHeadAttention(**MHA, name="mha")(
        vectors, vectors, attention_mask=am, use_causal_mask=True, return_attention_scores=True)
    return keras.Model([x, am], [layers.GlobalAveragePooling1D(name="pooled")(out), scores])


@case
def mha_attention_mask_from_a_layer() -> Any:
    """An attention mask (batch, T, S) computed by layers of the model: nonzero is kept."""
    x = floats()
    pattern = layers.Dense(STEPS, name="pattern")(x)
    return keras.Model(x, layers.MultiHeadAttention(**MHA, name="mha")(
        x, x, attention_mask=layers.ReLU(name="relu")(pattern)))


@case
def gqa_query_value_and_attention_masks() -> Any:
    """GroupedQueryAttention, unlike MultiHeadAttention, follows ``query_mask``."""
    q, v = floats("q", 4), floats("v")
    qm, vm, am = boolean("qm", 4), boolean("vm"), boolean("am", 4, STEPS)
    return keras.Model([q, v, qm, vm, am], layers.GroupQueryAttention(
        head_dim=2, num_query_heads=2, num_key_value_heads=1, name="gqa")(
        q, v, query_mask=qm, value_mask=vm, attention_mask=am))


@case
def mask_from_ops_not_equal() -> Any:
    """A mask computed by keras.ops from the token ids, over an Embedding without mask_zero."""
    x = ids()
    vectors = layers.Embedding(IDS, FEATURES, name="emb")(x)
    return keras.Model(x, lstm()(vectors, mask=ops.not_equal(x, 0)))


@case
def mask_from_ops_logic() -> Any:
    """Masks combined by keras.ops: the AND of two token masks, the NOT of a comparison."""
    a, b = ids("a"), ids("b")
    both = ops.logical_and(ops.not_equal(a, 0), ops.greater(b, 1))
    vectors = layers.Embedding(IDS, FEATURES, name="emb")(a)
    sequences = lstm()(vectors, mask=both)
    pooled = layers.GlobalAveragePooling1D(name="pooled")(
        vectors, mask=ops.logical_not(ops.equal(b, 3)))
    return keras.Model([a, b], [sequences, pooled])


@case
def mask_from_ops_any_over_features() -> Any:
    """Masking's rule written by hand: a step is kept where any feature is nonzero."""
    x = floats()
    return keras.Model(x, layers.GRU(3, name="gru")(x, mask=ops.any(ops.not_equal(x, 0.0),
                                                                    axis=-1)))


# -- (c) a masking Embedding before Softmax ---------------------------------------------------
@case
def softmax_after_masking_embedding() -> Any:
    """Keras builds it; predict fails: the mask (batch, steps) does not broadcast against
    (batch, steps, features) from the last axis."""
    x = ids()
    return keras.Model(x, layers.Softmax(name="soft")(embedding()(x)))


@case
def softmax_after_masking_embedding_square() -> Any:
    """batch = steps = features: the mask (4, 4) broadcasts against (4, 4, 4) from the last
    axis, so predict runs, masking along the wrong axes as Keras does."""
    x = ids(steps=4)
    return keras.Model(x, layers.Softmax(name="soft")(embedding()(x)))


BATCH["softmax_after_masking_embedding_square"] = 4
NATIVE["softmax_after_masking_embedding_square"] = {
    "name": "square", "inputs": {"ids": [4]}, "layers": [
        {"type": "Embedding", "name": "emb", "input_dim": IDS, "output_dim": FEATURES,
         "mask_zero": True, "inputs": "ids"},
        {"type": "Softmax", "name": "soft"}]}
NATIVE["softmax_after_masking_embedding"] = {
    **NATIVE["softmax_after_masking_embedding_square"], "inputs": {"ids": [STEPS]}}


# -- (d) a GlobalAveragePooling1D mask broadcast over the steps ---------------------------------
@case
def global_average_channels_first_mask_of_one_step() -> Any:
    """Masking of (1, 4), pooled channels_first: 4 steps of one channel, whose mask (batch, 1)
    Keras broadcasts over the steps."""
    x = floats(steps=1)
    return keras.Model(x, layers.GlobalAveragePooling1D(
        data_format="channels_first", name="pooled")(layers.Masking(name="masking")(x)))


@case
def global_average_channels_first_one_step_of_a_longer_mask() -> Any:
    """Masking of (6, 1), pooled channels_first: one step of 6 channels against the mask
    (batch, 6), which Keras broadcasts to 6×6: each channel's mean is its one value."""
    x = floats(features=1)
    return keras.Model(x, layers.GlobalAveragePooling1D(
        data_format="channels_first", name="pooled")(layers.Masking(name="masking")(x)))


# -- (e) a SpectralNormalization passes on the mask its wrapped layer sets --------------------
@case
def spectral_normalization_of_a_dense_keeps_the_mask() -> Any:
    """The wrapper does not support masking, but the Dense it calls on its inputs does, and
    the mask that call sets on its outputs reaches the GRU."""
    x = floats()
    wrapped = layers.SpectralNormalization(layers.Dense(5), name="normalized")
    return keras.Model(x, layers.GRU(3, name="gru")(wrapped(layers.Masking(name="masking")(x))))


@case
def spectral_normalization_of_a_conv_drops_the_mask() -> Any:
    """A Conv1D does not support masking: the GRU after it reads every step."""
    x = floats()
    wrapped = layers.SpectralNormalization(layers.Conv1D(5, 1), name="normalized")
    return keras.Model(x, layers.GRU(3, name="gru")(wrapped(layers.Masking(name="masking")(x))))


# -- recording --------------------------------------------------------------------------------
def input_data(tensor: Any, batch: int, rng: np.random.Generator) -> np.ndarray:
    shape = (batch, *tensor.shape[1:])
    name = tensor.name.split(":")[0]
    if tensor.dtype == "bool":
        mask = rng.random(shape) < 0.6
        mask[:, 0] = True
        return mask
    if name in ("ids", "a", "b", "q") and len(shape) == 2:
        tokens = rng.integers(0, IDS, size=shape).astype(np.float32)
        padded = np.arange(shape[1]) >= shape[1] - rng.integers(0, shape[1] // 2 + 1, (batch, 1))
        tokens[padded] = 0  # and a padded end, of up to half the steps
        tokens[:, 0] = rng.integers(1, IDS, size=batch)
        return tokens
    x = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 3:
        zeros = rng.random(shape[:2]) < 1 / 3
        zeros[:, 0] = False
        x[zeros] = 0.0  # steps a Masking layer masks
    return x


def forward_record(model: Any, batch: int, rng: np.random.Generator) -> dict[str, Any]:
    """As build.forward_record, with boolean inputs (recorded as 0/1)."""
    weights = draw_weights(model, rng)
    xs = [input_data(t, batch, rng) for t in model.inputs]
    out = {"x": {t.name.split(":")[0]: encode(x) for t, x in zip(model.inputs, xs, strict=True)},
           "weights": weights}
    try:
        ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    except Exception as exc:  # Keras builds the model, but its predict fails
        reasons = [line.strip() for line in str(exc).split("\n")
                   if line.strip() and not line.startswith("Exception encountered")]
        return {**out, "predict_refused": re.sub(r"\x1b\[[0-9;]*m", "", reasons[0])[:400]}
    ys = ys if isinstance(ys, list) else [ys]
    return {**out, "outputs": [encode(y) for y in ys]}


def main(names: list[str]) -> None:
    rng = np.random.default_rng(0)
    records = []
    for name in names or CASES:
        model = CASES[name]()
        record = model_record(name, model, with_config=False)
        record["forward"] = forward_record(model, BATCH.get(name, 3), rng)
        if name in NATIVE:
            record["native"] = NATIVE[name]
        records.append(record)
    path = FIXTURES / "masked" / "masked_models.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"keras_version": keras.__version__, "cases": records},
                               indent=1) + "\n")
    print(f"{path.relative_to(ROOT)}: {len(records)} cases", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
