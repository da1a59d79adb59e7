"""Layers called with options: the attention layers (``return_attention_scores``,
``use_causal_mask``), alone and with Keras masks, and ReversibleEmbedding's ``reverse=True``,
mostly as the second call of the layer that embedded the tokens (shared weights).

A native document gives call options as an entry's ``call``, but cannot call a layer twice, so
every case is replayed from its ``keras_json`` (tests/test_forward_options.py); the
ReversibleEmbedding cases also from their native document where it has no ``again`` entry
(tests/layers/test_core.py).
"""

from typing import Any

from build import case

FIXTURE_KIND = "calls"
IDS = 4

QV = {"q": [4, 8], "v": [6, 8]}
QQ = {"q": [5, 8], "v": [5, 8]}
SCORES = {"return_attention_scores": True}
CAUSAL = {"use_causal_mask": True}


def called(case_id: str, shapes: dict, layer: dict, call: dict, **extra: object) -> dict:
    """One attention layer over the named inputs, called with ``call``; every output returned."""
    outputs = ["att:0", "att:1"] if call.get("return_attention_scores") else ["att"]
    return case(case_id, shapes, [{**layer, "name": "att", "inputs": list(shapes), "call": call}],
                outputs=outputs, forward=True, **extra)


def masked(case_id: str, steps: tuple[int, int], layer: dict, call: dict) -> dict:
    """The attention layer over two masking Embeddings of token inputs ``q`` and ``v``."""
    embeddings = [{"type": "Embedding", "name": f"emb_{n}", "input_dim": IDS, "output_dim": 8,
                   "mask_zero": True, "inputs": n} for n in ("q", "v")]
    outputs = ["att:0", "att:1"] if call.get("return_attention_scores") else ["att"]
    return case(case_id, {"q": [steps[0]], "v": [steps[1]]},
                [*embeddings, {**layer, "name": "att", "inputs": ["emb_q", "emb_v"],
                               "call": call}],
                outputs=outputs, forward=True, int_inputs=IDS, batch=3)


MHA = {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3}
GQA = {"type": "GroupQueryAttention", "head_dim": 2, "num_query_heads": 4,
       "num_key_value_heads": 2}
ATTENTION = {"type": "Attention"}

CASES = [
    # Keras declares MultiHeadAttention's scores (batch, heads, Tq, Tq) but computes
    # (batch, heads, Tq, Tv): the model output has the computed shape.
    called("mha_scores_with_key", {"q": [4, 8], "v": [6, 8], "k": [6, 8]}, MHA, SCORES),
    called("mha_scores_self", QQ, MHA, SCORES),
    called("mha_scores_rank4", {"q": [2, 3, 4], "v": [2, 5, 4]}, MHA, SCORES),
    called("mha_causal", QQ, MHA, CAUSAL),
    called("mha_causal_cross", QV, MHA, CAUSAL),
    called("mha_causal_scores", QV, MHA, {**CAUSAL, **SCORES}),
    called("mha_causal_einsum_path", QQ, {**MHA, "dropout": 0.1}, CAUSAL),
    called("mha_causal_sliding_window", QQ, {**MHA, "sliding_window": 2}, CAUSAL),
    masked("mha_masked_causal", (5, 5), MHA, CAUSAL),
    masked("mha_masked_scores", (4, 6), MHA, SCORES),
    called("gqa_scores", QV, GQA, SCORES),
    called("gqa_causal", QQ, GQA, CAUSAL),
    masked("gqa_masked_causal_scores", (5, 5), GQA, {**CAUSAL, **SCORES}),
    called("attention_scores", QV, ATTENTION, SCORES),
    called("attention_causal", QQ, {**ATTENTION, "use_scale": True}, CAUSAL),
    called("attention_causal_cross", QV, ATTENTION, CAUSAL),
    masked("attention_masked_causal_scores", (5, 5), ATTENTION, {**CAUSAL, **SCORES}),
    masked("additive_attention_masked_scores", (4, 6), {"type": "AdditiveAttention"}, SCORES),
    called("additive_attention_causal", QQ, {"type": "AdditiveAttention"}, CAUSAL),
]


TOKENS = 10
"""The vocabulary (input_dim) of the ReversibleEmbedding cases."""
EMB = {"type": "ReversibleEmbedding", "name": "emb", "input_dim": TOKENS, "output_dim": 4}
REVERSE = {"reverse": True}


def tied_lm(case_id: str, steps: list, embedding: dict, *middle: dict) -> dict:
    """Tokens embedded by ReversibleEmbedding ``emb``, the ``middle`` layers, then ``emb``
    again in reverse: logits over the vocabulary."""
    layers: list[dict[str, Any]] = [{**EMB, **embedding}, *middle,
                                    {"again": "emb", "name": "logits", "call": REVERSE}]
    return case(case_id, steps, layers, outputs=["logits"], forward=True, int_inputs=TOKENS)


HIDDEN = {"type": "Dense", "units": 4}

CASES += [
    tied_lm("reversible_tied", [5], {}, HIDDEN),
    tied_lm("reversible_tied_soft_cap", [5], {"logit_soft_cap": 1.5},
            {**HIDDEN, "activation": "relu"}),
    tied_lm("reversible_untied", [5], {"tie_weights": False}, HIDDEN),
    tied_lm("reversible_untied_soft_cap_frozen", [5],
            {"tie_weights": False, "logit_soft_cap": 2.0, "trainable": False}, HIDDEN),
    tied_lm("reversible_reverse_dtype", [5], {"reverse_dtype": "float32"}, HIDDEN),
    tied_lm("reversible_pooled_rank2", [6], {}, {"type": "GlobalAveragePooling1D"}),
    tied_lm("reversible_rank4", [2, 3], {}),
    # The lookup's padding mask reaches the reverse call (Dense keeps it); the logits have none.
    tied_lm("reversible_mask_zero", [5], {"mask_zero": True}, HIDDEN),
    tied_lm("reversible_mask_zero_direct", [5], {"mask_zero": True, "logit_soft_cap": 3.0}),
    # Three calls: two lookups (the second says reverse=False) and the reverse projection.
    case("reversible_two_lookups_then_reverse", {"a": [5], "b": [5]}, [
        {**EMB, "inputs": "a"},
        {"again": "emb", "name": "emb_b", "inputs": "b", "call": {"reverse": False}},
        {"type": "Add", "name": "sum", "inputs": ["emb", "emb_b"]},
        {"again": "emb", "name": "logits", "inputs": "sum", "call": REVERSE}],
        outputs=["logits"], forward=True, int_inputs=TOKENS),
    # The reverse call comes first: Keras builds the weights from it.
    case("reversible_reverse_call_first", {"hidden": [3, 4], "tokens": [3]}, [
        {**EMB, "inputs": "hidden", "call": REVERSE},
        {"again": "emb", "name": "vectors", "inputs": "tokens"}],
        outputs=["emb", "vectors"], forward=True, int_inputs=TOKENS),
    # One call, in reverse: a native document says it too.
    case("reversible_reverse_only", [3, 4], [{**EMB, "call": REVERSE}], forward=True),
    case("reversible_reverse_only_untied_capped", [2, 4],
         [{**EMB, "tie_weights": False, "logit_soft_cap": 0.5, "call": REVERSE},
          {"type": "Dense", "units": 3}], forward=True),
]

# Keras 3's causal mask (1, Tq, Tv) gives the scores of vectors (batch, features) a leading axis.
CASES += [
    called("attention_vectors_causal", {"q": [4], "v": [4]}, {"type": "Attention"}, CAUSAL),
    called("additive_attention_vectors_scores", {"q": [4], "v": [4]},
           {"type": "AdditiveAttention"}, SCORES),
]

# int8 (``model.quantize("int8")``): the lookup and the reverse projection as Keras 3 computes
# them, inputs quantized per vector.
INT8 = {"dtype": "int8_from_float32"}
CASES += [
    tied_lm("reversible_int8_tied", [5], INT8, HIDDEN),
    tied_lm("reversible_int8_untied_soft_cap", [5],
            {**INT8, "tie_weights": False, "logit_soft_cap": 2.0}, HIDDEN),
]
