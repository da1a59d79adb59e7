"""Keras masks in the forward pass: created by Embedding(mask_zero=True) and Masking, passed on
by the layers that support masking, followed by the recurrent layers (masked steps skipped),
GlobalAveragePooling1D, the attention layers and the merges, dropped by the others.

The inputs hold masked steps: ``int_inputs`` draws indices in [0, N), so about 1/N of them are
the padding index 0; ``masked_steps`` fills about a third of the time steps with the mask value.
No sample is padded on every step (GlobalAveragePooling1D would divide by zero).
"""

from build import case, seq, tf_keras_2_cases

IDS = 4
"""Token indices 0..3: a quarter of the steps are padding."""


def embedding(name: str = "embedding", output_dim: int = 4, **args: object) -> dict:
    return {"type": "Embedding", "name": name, "input_dim": IDS, "output_dim": output_dim,
            "mask_zero": True, **args}


def tokens(case_id: str, *layers: dict, steps: int = 6, **extra: object) -> dict:
    """A Sequential over token ids: a masking Embedding, then ``layers``."""
    return seq(case_id, [steps], embedding(), *layers, int_inputs=IDS, batch=3, **extra)


def padded(case_id: str, *layers: dict, mask_value: float = 0.0, **extra: object) -> dict:
    """A Sequential over (6, 3) float sequences: Masking(mask_value), then ``layers``."""
    return seq(case_id, [6, 3], {"type": "Masking", "mask_value": mask_value}, *layers,
               masked_steps=mask_value, batch=3, **extra)


def lstm(units: int = 3, **args: object) -> dict:
    return {"type": "LSTM", "units": units, **args}


def gru(units: int = 3, **args: object) -> dict:
    return {"type": "GRU", "units": units, **args}


def two_token_inputs(case_id: str, layers: list, outputs: list | None = None,
                     steps: tuple[int, int] = (6, 6)) -> dict:
    """Two token inputs ``a`` and ``b``, each through a masking Embedding (``emb_a``,
    ``emb_b``); ``layers`` read them."""
    return case(case_id, {"a": [steps[0]], "b": [steps[1]]},
                [embedding("emb_a", inputs="a"), embedding("emb_b", inputs="b"), *layers],
                outputs=outputs, forward=True, int_inputs=IDS, batch=3)


def masked_and_plain(case_id: str, layers: list, outputs: list | None = None) -> dict:
    """A masked branch ``emb`` (tokens ``a``) and an unmasked one ``dense`` (Dense of ``b``),
    both (6, 4)."""
    return case(case_id, {"a": [6], "b": [6, 2]},
                [embedding("emb", inputs="a"),
                 {"type": "Dense", "units": 4, "name": "dense", "inputs": "b"}, *layers],
                outputs=outputs, forward=True, int_inputs=IDS, batch=3)


def merged(case_id: str, merge: dict, maker=two_token_inputs) -> dict:
    """A merge of two branches, returned itself and through an LSTM that follows its mask."""
    return maker(case_id, [{"name": "merge", **merge},
                           lstm(return_sequences=True, name="after", inputs="merge")],
                 outputs=["merge", "after"])


MHA = {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3}

CASES = [
    # Recurrent layers skip the masked steps: states carried over, outputs repeated (or zeros
    # with zero_output_for_mask, which unroll ignores).
    tokens("lstm_last", lstm()),
    tokens("lstm_sequences", lstm(return_sequences=True)),
    tokens("lstm_sequences_then_dense", lstm(return_sequences=True), {"type": "Dense",
                                                                      "units": 2}),
    tokens("lstm_backwards", lstm(return_sequences=True, go_backwards=True)),
    tokens("lstm_backwards_last", lstm(go_backwards=True)),
    tokens("lstm_unroll", lstm(return_sequences=True, unroll=True)),
    tokens("lstm_zero_output", lstm(return_sequences=True, zero_output_for_mask=True)),
    tokens("lstm_zero_output_unroll", lstm(return_sequences=True, zero_output_for_mask=True,
                                           unroll=True)),
    tokens("lstm_zero_output_backwards", lstm(return_sequences=True, zero_output_for_mask=True,
                                              go_backwards=True)),
    case("lstm_return_state", [6], [embedding(), lstm(return_sequences=True,
                                                      return_state=True, name="lstm")],
         outputs=["lstm:0", "lstm:1", "lstm:2"], forward=True, int_inputs=IDS, batch=3),
    tokens("lstm_stacked", lstm(return_sequences=True), lstm(units=2)),
    case("lstm_initial_state_ignores_the_mask", {"ids": [6], "h": [3], "c": [3]},
         [embedding(inputs="ids"), lstm(return_sequences=True, inputs=["embedding", "h", "c"])],
         forward=True, int_inputs=IDS, batch=3),
    tokens("gru_last", gru()),
    tokens("gru_sequences", gru(return_sequences=True)),
    tokens("gru_reset_before", gru(return_sequences=True, reset_after=False)),
    tokens("gru_backwards", gru(return_sequences=True, go_backwards=True)),
    tokens("simple_rnn_sequences", {"type": "SimpleRNN", "units": 3, "return_sequences": True}),
    tokens("simple_rnn_last", {"type": "SimpleRNN", "units": 3}),
    # Bidirectional gives both directions the mask and forces zero_output_for_mask to
    # return_sequences.
    tokens("bidirectional_concat_last", {"type": "Bidirectional", "layer": lstm()}),
    tokens("bidirectional_concat_sequences",
           {"type": "Bidirectional", "layer": lstm(return_sequences=True)}),
    tokens("bidirectional_sum_sequences_gru",
           {"type": "Bidirectional", "layer": gru(return_sequences=True), "merge_mode": "sum"},
           lstm(units=2)),
    case("bidirectional_no_merge", [6],
         [embedding(), {"type": "Bidirectional", "name": "bi", "merge_mode": None,
                        "layer": lstm(return_sequences=True)}],
         outputs=["bi:0", "bi:1"], forward=True, int_inputs=IDS, batch=3),
    case("bidirectional_return_state", [6],
         [embedding(), {"type": "Bidirectional", "name": "bi",
                        "layer": gru(return_sequences=True, return_state=True)}],
         outputs=["bi:0", "bi:1", "bi:2"], forward=True, int_inputs=IDS, batch=3),
    tokens("bidirectional_backward_layer",
           {"type": "Bidirectional", "layer": lstm(return_sequences=True),
            "backward_layer": gru(return_sequences=True, go_backwards=True)}),
    tokens("bidirectional_unroll", {"type": "Bidirectional",
                                    "layer": lstm(return_sequences=True, unroll=True)}),
    # Without a mask, each direction runs its own kernel (ConvLSTM's channels_first layout).
    seq("bidirectional_conv_lstm_unmasked", [3, 2, 5], {
        "type": "Bidirectional", "layer": {"type": "ConvLSTM1D", "filters": 2, "kernel_size": 2,
                                           "data_format": "channels_first",
                                           "return_sequences": True}}),
    # Layers that support masking pass it on; the others drop it.
    tokens("mask_through_regularization_and_normalization",
           {"type": "Dropout", "rate": 0.5}, {"type": "SpatialDropout1D", "rate": 0.5},
           {"type": "GaussianNoise", "stddev": 1.0}, {"type": "LayerNormalization"},
           {"type": "BatchNormalization"}, {"type": "Activation", "activation": "tanh"},
           {"type": "ReLU"}, {"type": "Dense", "units": 5}, lstm(return_sequences=True)),
    tokens("mask_through_time_distributed",
           {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 5}}, gru()),
    tokens("mask_dropped_by_conv1d", {"type": "Conv1D", "filters": 4, "kernel_size": 3,
                                      "padding": "same"}, lstm(return_sequences=True)),
    # (A Reshape to the same shape keeps the mask in Keras' predict: JAX returns the same
    # array, and Keras finds its mask by the array's identity.)
    tokens("mask_dropped_by_reshape", {"type": "Reshape", "target_shape": [3, 8]}, lstm()),
    tokens("fold_into_dense_keeps_the_mask", {"type": "Dense", "units": 4},
           {"type": "BatchNormalization"}, {"type": "ReLU"}, lstm(return_sequences=True)),
    # Masking: masked steps are zeroed and skipped.
    padded("masking_lstm", lstm(return_sequences=True)),
    padded("masking_value_lstm_last", lstm(), mask_value=-1.0),
    padded("masking_dense_gru", {"type": "Dense", "units": 4}, gru(return_sequences=True)),
    padded("masking_bidirectional", {"type": "Bidirectional", "layer": gru(return_sequences=True),
                                     "merge_mode": "ave"}),
    padded("masking_global_average", {"type": "GlobalAveragePooling1D"}),
    padded("masking_value_output", {"type": "Dense", "units": 2}, mask_value=2.0),
    # GlobalAveragePooling1D averages the unmasked steps; GlobalMaxPooling1D ignores masks.
    tokens("global_average", {"type": "GlobalAveragePooling1D"}),
    tokens("global_average_keepdims", {"type": "GlobalAveragePooling1D", "keepdims": True}),
    tokens("global_average_after_dense", {"type": "Dense", "units": 3},
           {"type": "GlobalAveragePooling1D"}, {"type": "Dense", "units": 2}),
    tokens("global_average_after_conv", {"type": "Conv1D", "filters": 3, "kernel_size": 2},
           {"type": "GlobalAveragePooling1D"}),
    tokens("global_max_ignores_the_mask", {"type": "GlobalMaxPooling1D"}),
    # TimeDistributed hands each step its slice of the mask.
    seq("time_distributed_lstm", [3, 5], embedding(),
        {"type": "TimeDistributed", "layer": lstm()}, gru(return_sequences=True),
        int_inputs=IDS, batch=3),
    seq("time_distributed_global_average", [3, 5], embedding(),
        {"type": "TimeDistributed", "layer": {"type": "GlobalAveragePooling1D"}},
        int_inputs=IDS, batch=3),
    # Attention: value masks exclude keys, query masks zero (Attention) or mark the outputs.
    tokens("attention_self", {"type": "Attention", "inputs": ["embedding", "embedding"]}),
    tokens("attention_self_concat", {"type": "Attention", "score_mode": "concat",
                                     "use_scale": True,
                                     "inputs": ["embedding", "embedding"]}),
    tokens("additive_attention_self", {"type": "AdditiveAttention",
                                       "inputs": ["embedding", "embedding"]}),
    two_token_inputs("attention_query_and_value_masks",
                     [{"type": "Attention", "inputs": ["emb_a", "emb_b"]}], steps=(4, 6)),
    two_token_inputs("attention_with_key", [
        embedding("emb_c", inputs="a"),
        {"type": "Attention", "inputs": ["emb_c", "emb_a", "emb_b"]}]),
    masked_and_plain("attention_plain_query_masked_value",
                     [{"type": "Attention", "inputs": ["dense", "emb"]}]),
    masked_and_plain("attention_masked_query_plain_value",
                     [{"type": "Attention", "inputs": ["emb", "dense"], "name": "att"},
                      {"type": "GlobalAveragePooling1D", "inputs": "att"}]),
    tokens("mha_self", {**MHA, "inputs": ["embedding", "embedding"]}),
    tokens("mha_self_einsum_path", {**MHA, "dropout": 0.1, "inputs": ["embedding", "embedding"]}),
    tokens("mha_self_then_average", {**MHA, "name": "mha", "inputs": ["embedding", "embedding"]},
           {"type": "GlobalAveragePooling1D", "inputs": "mha"}),
    tokens("mha_sliding_window", {**MHA, "sliding_window": 2,
                                  "inputs": ["embedding", "embedding"]}),
    two_token_inputs("mha_cross", [{**MHA, "inputs": ["emb_a", "emb_b"]}], steps=(4, 6)),
    two_token_inputs("mha_cross_key", [embedding("emb_c", inputs="b"),
                                       {**MHA, "inputs": ["emb_a", "emb_b", "emb_c"]}],
                     steps=(4, 6)),
    masked_and_plain("mha_plain_query", [{**MHA, "inputs": ["dense", "emb"]}]),
    tokens("gqa_self", {"type": "GroupQueryAttention", "head_dim": 2, "num_query_heads": 2,
                        "num_key_value_heads": 1, "inputs": ["embedding", "embedding"]}),
    two_token_inputs("gqa_cross_einsum_path", [
        {"type": "GroupQueryAttention", "head_dim": 2, "num_query_heads": 2,
         "num_key_value_heads": 2, "dropout": 0.2, "inputs": ["emb_a", "emb_b"]}],
        steps=(4, 6)),
    case("transformer_block", [6], [
        embedding(), {**MHA, "name": "mha", "inputs": ["embedding", "embedding"]},
        {"type": "Add", "name": "residual", "inputs": ["embedding", "mha"]},
        {"type": "LayerNormalization", "name": "norm", "inputs": "residual"},
        {"type": "GlobalAveragePooling1D", "name": "pooled", "inputs": "norm"},
        lstm(name="lstm", inputs="embedding")],
        outputs=["pooled", "lstm"], forward=True, int_inputs=IDS, batch=3),
    # Merges: Add, Subtract, Average OR the masks when every input has one; Maximum, Minimum
    # and Multiply also read them; Concatenate joins them; Dot drops them.
    merged("add_two_masked", {"type": "Add", "inputs": ["emb_a", "emb_b"]}),
    merged("add_masked_and_plain", {"type": "Add", "inputs": ["emb", "dense"]},
           masked_and_plain),
    merged("subtract_two_masked", {"type": "Subtract", "inputs": ["emb_a", "emb_b"]}),
    merged("average_two_masked", {"type": "Average", "inputs": ["emb_a", "emb_b"]}),
    merged("multiply_two_masked", {"type": "Multiply", "inputs": ["emb_a", "emb_b"]}),
    merged("multiply_masked_and_plain", {"type": "Multiply", "inputs": ["emb", "dense"]},
           masked_and_plain),
    merged("maximum_two_masked", {"type": "Maximum", "inputs": ["emb_a", "emb_b"]}),
    merged("maximum_plain_and_masked", {"type": "Maximum", "inputs": ["dense", "emb"]},
           masked_and_plain),
    merged("minimum_masked_and_plain", {"type": "Minimum", "inputs": ["emb", "dense"]},
           masked_and_plain),
    two_token_inputs("maximum_three_masked", [
        embedding("emb_c", inputs="a"),
        {"type": "Maximum", "name": "merge", "inputs": ["emb_a", "emb_b", "emb_c"]},
        lstm(return_sequences=True, name="after", inputs="merge")],
        outputs=["merge", "after"]),
    merged("concatenate_features", {"type": "Concatenate", "inputs": ["emb_a", "emb_b"]}),
    merged("concatenate_features_masked_and_plain",
           {"type": "Concatenate", "inputs": ["emb", "dense"]}, masked_and_plain),
    two_token_inputs("concatenate_time", [
        {"type": "Concatenate", "axis": 1, "name": "merge", "inputs": ["emb_a", "emb_b"]},
        lstm(return_sequences=True, name="after", inputs="merge")],
        outputs=["merge", "after"], steps=(4, 6)),
    merged("dot_drops_the_masks", {"type": "Dot", "axes": 2, "inputs": ["emb_a", "emb_b"]}),
]

# Where tf.keras 2 masks otherwise than Keras 3 (recorded with both): its Rescaling,
# Normalization and Identity do not support masking, so the LSTM after them reads every step;
# and a query step its mask drops has nothing to attend to: Keras 3's MultiHeadAttention
# averages every value on its fused path (rank 3, no dropout) and gives it zero weights on its
# einsum path, where tf.keras 2's softmax adds -1e9 to each of its scores and normalises them.
# On scores as large as a Dense of 64 units gives, -1e9 added keeps them apart in float32, so
# tf.keras 2 weighs them unevenly; with softmax_robust_masking (which Keras 3 refuses) it sets
# them to -1e9, so evenly.
TF_KERAS_2 = [
    padded("masking_rescaling_lstm", {"type": "Rescaling", "scale": 2.0},
           lstm(return_sequences=True)),
    padded("masking_normalization_lstm", {"type": "Normalization", "mean": 0.5, "variance": 4.0},
           lstm(return_sequences=True)),
    padded("masking_identity_lstm", {"type": "Identity"}, lstm(return_sequences=True)),
    padded("masking_mha_self", {**MHA, "inputs": ["masking", "masking"]}),
    padded("masking_mha_self_einsum_path", {**MHA, "dropout": 0.1,
                                            "inputs": ["masking", "masking"]}),
    *(seq(case_id, [6], embedding(output_dim=64), {"type": "Dense", "name": "dense", "units": 64},
          {**MHA, **robust, "inputs": ["dense", "dense"]}, int_inputs=IDS, batch=3)
      for case_id, robust in [("mha_large_scores_masked_query", {}),
                              ("mha_robust_masking", {"softmax_robust_masking": True})]),
]

# Masks of fractions, which the model computes (a ReLU of a Dense): Keras 3's MultiHeadAttention
# keeps every nonzero position and its Softmax the positions over 0.5; tf.keras 2 adds
# (1 - mask) * -1e9 to the scores, where no mask of its own making is ANDed with it, so that 0.3
# is as good as masked and 1.7 outweighs every other position.
FRACTIONS = [
    case(f"{kind}_mask_of_fractions", [6, 4], [
        {"type": "Dense", "units": units, "name": "pattern", "inputs": "input"},
        {"type": "ReLU", "name": "relu"}, {**layer, "inputs": inputs, "call": call}],
        forward=True)
    for kind, units, layer, inputs, call in [
        ("mha", 6, MHA, ["input", "input"], {"attention_mask": "relu"}),
        ("mha_causal", 6, MHA, ["input", "input"],
         {"attention_mask": "relu", "use_causal_mask": True}),
        ("softmax", 4, {"type": "Softmax"}, "input", {"mask": "relu"})]]

CASES = tf_keras_2_cases([*CASES, *TF_KERAS_2, *FRACTIONS],
                         ["masking_lstm", *(c["id"] for c in [*TF_KERAS_2, *FRACTIONS])])
