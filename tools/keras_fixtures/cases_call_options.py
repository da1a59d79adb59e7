"""Attention layers called with options (``return_attention_scores``, ``use_causal_mask``),
alone and with Keras masks.

Only a Keras JSON document carries call options, so these cases are replayed from their
``keras_json`` (tests/test_forward_options.py), not from the native document.
"""

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
