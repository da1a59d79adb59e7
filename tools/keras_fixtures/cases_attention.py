"""Attention layers: MultiHeadAttention, GroupQueryAttention, Attention, AdditiveAttention."""

from build import case, seq, tf_keras_2_cases

MHA = "MultiHeadAttention"


def mha(case_id: str, shapes: dict, forward: bool = True, **args: object) -> dict:
    """One MultiHeadAttention over the named inputs, called in their order (query, value, key)."""
    return case(case_id, shapes, [{"type": MHA, "inputs": list(shapes), **args}],
                forward=forward)


def gqa(case_id: str, shapes: dict, forward: bool = True, **args: object) -> dict:
    """One GroupQueryAttention, named, over the named inputs (query, value, key)."""
    return case(case_id, shapes, [{"type": "GroupQueryAttention", "name": "gqa",
                                   "inputs": list(shapes), **args}], forward=forward)


def listed(case_id: str, layer: str, shapes: dict, forward: bool = True, **args: object) -> dict:
    """Attention or AdditiveAttention called on the list of the named inputs."""
    return case(case_id, shapes, [{"type": layer, "inputs": list(shapes), **args}],
                forward=forward)


# Keras builds GroupQueryAttention on rank-4 inputs and Attention on a query and key of
# different sizes, but predict fails: shapecheck refuses them (tests/layers/test_attention.py).


def mha_then_dense(case_id: str, shapes: dict, **args: object) -> dict:
    """A MultiHeadAttention Keras builds but cannot predict, and a Dense built after it on the
    shape Keras declares."""
    return case(case_id, shapes, [{"type": MHA, "name": "mha", "inputs": list(shapes), **args},
                                  {"type": "Dense", "units": 3, "inputs": "mha"}], forward=True)


QV = {"q": [3, 4], "v": [5, 6]}
QVK = {"q": [3, 4], "v": [5, 6], "k": [5, 7]}

CASES = [
    # MultiHeadAttention
    seq("mha_self_attention", [4, 8], {"type": "Dense", "units": 8, "name": "x"},
        {"type": MHA, "num_heads": 2, "key_dim": 4, "inputs": ["x", "x"]}),
    mha("mha_cross", QV, num_heads=2, key_dim=3),
    mha("mha_with_key", QVK, num_heads=2, key_dim=3),
    # Keras 3.15's JAX dot_product_attention path (rank-3 inputs, no dropout) fails at predict
    # when value_dim != key_dim; the einsum path (dropout > 0, other ranks) computes it.
    mha("mha_value_dim_shape_only", QV, forward=False, num_heads=3, key_dim=2, value_dim=5),
    mha("mha_value_dim_einsum_path", QV, num_heads=3, key_dim=2, value_dim=5, dropout=0.1),
    mha("mha_value_dim_rank4", {"q": [2, 3, 4], "v": [2, 5, 4]}, num_heads=2, key_dim=2,
        value_dim=3),
    mha("mha_no_bias", QVK, num_heads=2, key_dim=3, use_bias=False),
    mha("mha_output_shape_int", QV, num_heads=2, key_dim=3, output_shape=7),
    mha("mha_output_shape_list", QV, num_heads=2, key_dim=3, value_dim=4, output_shape=[2, 5],
        dropout=0.2),
    mha("mha_use_gate", QVK, num_heads=2, key_dim=3, use_gate=True),
    mha("mha_use_gate_no_bias", QV, num_heads=2, key_dim=2, use_gate=True, use_bias=False),
    mha("mha_dropout_off_at_inference", QV, num_heads=2, key_dim=3, dropout=0.5),
    mha("mha_sliding_window", {"q": [6, 4], "v": [6, 4]}, num_heads=2, key_dim=3,
        sliding_window=2),
    mha("mha_sliding_window_cross", {"q": [3, 4], "v": [5, 4]}, num_heads=1, key_dim=2,
        sliding_window=3),
    mha("mha_rank4_default_axes", {"q": [2, 3, 4], "v": [2, 5, 4]}, num_heads=2, key_dim=3),
    mha("mha_rank4_axis_2", {"q": [2, 3, 4], "v": [2, 5, 4]}, num_heads=2, key_dim=3,
        attention_axes=2),
    mha("mha_rank4_axes_1_2", {"q": [3, 2, 4], "v": [2, 5, 4]}, num_heads=2, key_dim=3,
        attention_axes=[1, 2]),
    mha("mha_rank4_axis_negative", {"q": [2, 3, 4], "v": [2, 5, 4]}, num_heads=2, key_dim=2,
        attention_axes=-2),
    mha("mha_rank4_axes_dropout", {"q": [2, 3, 4], "v": [2, 5, 4]}, num_heads=2, key_dim=3,
        attention_axes=[2], dropout=0.1),
    mha("mha_axis_0", QV, num_heads=2, key_dim=3, attention_axes=0),
    # On an axis it does not attend over, a query size of 1 broadcasts against the value's:
    # Keras declares the query's size and computes the value's.
    mha("mha_query_broadcasts_unattended_axis", {"q": [9, 1, 3], "v": [5, 7, 4]}, num_heads=1,
        key_dim=2, value_dim=2, attention_axes=[1]),
    mha("mha_batch_axis_attended", {"q": [9, 1, 1], "v": [9, 7, 4]}, num_heads=1, key_dim=2,
        attention_axes=[0]),
    mha("mha_axis_3", {"q": [3, 4], "v": [3, 4]}, num_heads=2, key_dim=3, attention_axes=3),
    mha("mha_axis_minus_1", {"q": [3, 4], "v": [3, 4]}, num_heads=2, key_dim=3,
        attention_axes=-1),
    # Vectors (no steps axis): Keras builds MultiHeadAttention on the projected (batch, heads,
    # channels). Given attention axes, it attends over them (axis 1: across the heads); with
    # none (the default, which leaves no axis) or the channel axis, its predict fails.
    mha_then_dense("mha_vectors", {"q": [6], "v": [6]}, num_heads=2, key_dim=4),
    mha("mha_vectors_axis_1", {"q": [6], "v": [5]}, num_heads=2, key_dim=4, attention_axes=1),
    mha("mha_vectors_axis_0", {"q": [6], "v": [6]}, num_heads=2, key_dim=4, attention_axes=0),
    mha("mha_vectors_axis_minus_1", {"q": [6], "v": [6]}, num_heads=2, key_dim=3,
        attention_axes=-1),
    mha_then_dense("mha_vectors_channel_axis", {"q": [6], "v": [6]}, num_heads=2, key_dim=3,
                   attention_axes=2),
    mha("mha_vectors_output_shape", {"q": [6], "v": [7], "k": [5]}, num_heads=3, key_dim=2,
        value_dim=4, attention_axes=[1], output_shape=5),
    # A query and a value of different ranks: Keras builds the layer for the query's rank.
    mha_then_dense("mha_query_rank3_value_rank4", {"q": [5, 6], "v": [4, 5, 6]}, num_heads=2,
                   key_dim=4),
    mha_then_dense("mha_vector_query_sequence_value", {"q": [6], "v": [5, 6]}, num_heads=2,
                   key_dim=4),
    mha_then_dense("mha_sequence_query_vector_value", {"q": [5, 6], "v": [6]}, num_heads=2,
                   key_dim=4),
    mha_then_dense("mha_rank4_channel_axis", {"q": [2, 3, 4], "v": [2, 5, 4]}, num_heads=2,
                   key_dim=2, attention_axes=4),
    mha("mha_rank5_volume", {"q": [2, 2, 3, 3], "v": [2, 2, 3, 3]}, num_heads=1, key_dim=2),
    case("mha_frozen", {"q": [3, 4], "v": [5, 6]},
         [{"type": MHA, "num_heads": 2, "key_dim": 3, "trainable": False,
           "inputs": ["q", "v"]}], forward=True),
    mha("mha_unknown_lengths", {"q": [None, 4], "v": [None, 6]}, forward=False, num_heads=2,
        key_dim=3),
    mha("mha_key_value_mismatch", {"q": [3, 4], "v": [5, 6], "k": [4, 6]}, num_heads=2,
        key_dim=3),
    mha("mha_unknown_query_features", {"q": [3, None], "v": [5, 6]}, num_heads=2, key_dim=3),
    mha("mha_unknown_value_features", {"q": [3, 4], "v": [5, None]}, num_heads=2, key_dim=3),
    mha("mha_attention_axis_out_of_range", {"q": [2, 3, 4], "v": [2, 5, 4]}, num_heads=2,
        key_dim=3, attention_axes=5),
    mha("mha_num_heads_zero", QV, num_heads=0, key_dim=3),
    mha("mha_key_dim_zero", QV, num_heads=2, key_dim=0),
    seq("mha_one_input", [3, 4], {"type": MHA, "num_heads": 2, "key_dim": 3}),
    # GroupedQueryAttention (keras.layers.GroupQueryAttention)
    gqa("gqa_cross", {"q": [3, 4], "v": [5, 4]}, head_dim=2, num_query_heads=4,
        num_key_value_heads=2),
    gqa("gqa_self_one_group", {"q": [4, 6], "v": [4, 6]}, head_dim=3, num_query_heads=2,
        num_key_value_heads=1),
    gqa("gqa_with_key", {"q": [3, 4], "v": [5, 4], "k": [5, 7]}, head_dim=2,
        num_query_heads=2, num_key_value_heads=2),
    gqa("gqa_no_bias_gate", {"q": [3, 4], "v": [5, 4]}, head_dim=2, num_query_heads=4,
        num_key_value_heads=2, use_bias=False, use_gate=True),
    gqa("gqa_gate_dropout", {"q": [3, 4], "v": [5, 4]}, head_dim=2, num_query_heads=2,
        num_key_value_heads=1, use_gate=True, dropout=0.2),
    gqa("gqa_sliding_window", {"q": [6, 4], "v": [6, 4]}, head_dim=2, num_query_heads=2,
        num_key_value_heads=2, sliding_window=2),
    gqa("gqa_unknown_lengths", {"q": [None, 4], "v": [None, 4]}, forward=False, head_dim=2,
        num_query_heads=2, num_key_value_heads=1),
    case("gqa_automatic_name", {"q": [3, 4], "v": [5, 4]},
         [{"type": "GroupQueryAttention", "head_dim": 2, "num_query_heads": 2,
           "num_key_value_heads": 1, "inputs": ["q", "v"]}], forward=True),
    gqa("gqa_heads_not_divisible", {"q": [3, 4], "v": [5, 4]}, head_dim=2,
        num_query_heads=3, num_key_value_heads=2),
    gqa("gqa_query_value_features_differ", {"q": [3, 4], "v": [5, 6]}, head_dim=2,
        num_query_heads=2, num_key_value_heads=1),
    gqa("gqa_key_value_steps_differ", {"q": [3, 4], "v": [5, 4], "k": [6, 4]}, head_dim=2,
        num_query_heads=2, num_key_value_heads=1),
    # Attention
    listed("attention_dot", "Attention", {"q": [3, 4], "v": [5, 4]}),
    listed("attention_dot_scaled", "Attention", {"q": [3, 4], "v": [5, 4]}, use_scale=True),
    listed("attention_with_key", "Attention", {"q": [3, 4], "v": [5, 6], "k": [5, 4]}),
    listed("attention_concat", "Attention", {"q": [3, 4], "v": [5, 4]}, score_mode="concat"),
    listed("attention_concat_scaled", "Attention", {"q": [3, 4], "v": [5, 4], "k": [5, 4]},
           score_mode="concat", use_scale=True),
    listed("attention_batch_dims", "Attention", {"q": [2, 3, 4], "v": [2, 5, 4]}),
    listed("attention_dropout_off", "Attention", {"q": [3, 4], "v": [5, 4]}, dropout=0.3),
    listed("attention_unknown_steps", "Attention", {"q": [None, 4], "v": [None, 4]},
           forward=False),
    listed("attention_bad_score_mode", "Attention", {"q": [3, 4], "v": [5, 4]},
           score_mode="general"),
    seq("attention_one_input", [3, 4], {"type": "Attention"}),
    listed("attention_four_inputs", "Attention",
           {"q": [3, 4], "v": [5, 4], "k": [5, 4], "x": [5, 4]}),
    case("attention_frozen_scale", {"q": [3, 4], "v": [5, 4]},
         [{"type": "Attention", "use_scale": True, "trainable": False, "inputs": ["q", "v"]}],
         forward=True),
    # AdditiveAttention
    listed("additive_attention", "AdditiveAttention", {"q": [3, 4], "v": [5, 4]}),
    listed("additive_attention_no_scale", "AdditiveAttention", {"q": [3, 4], "v": [5, 4]},
           use_scale=False),
    listed("additive_attention_with_key", "AdditiveAttention",
           {"q": [3, 4], "v": [5, 6], "k": [5, 4]}),
    listed("additive_attention_batch_dims", "AdditiveAttention",
           {"q": [2, 3, 4], "v": [2, 5, 4]}),
    listed("additive_attention_unknown_query_features", "AdditiveAttention",
           {"q": [3, None], "v": [5, 4]}),
    seq("additive_attention_one_input", [3, 4], {"type": "AdditiveAttention"}),
]

# Attention and AdditiveAttention on vectors (batch, features), or on tensors of different ranks:
# Keras' matmuls broadcast the batch axis of one against an axis of another, so each sample
# attends over the batch. Keras 3 declares (*query[:-1], value[-1]), and its predict computes
# the matmuls' shape; tf.keras 2 takes its shapes from the operations (and its additive scale
# has the value's features).
BATCH_AS_STEPS = [
    listed("attention_vectors", "Attention", {"q": [4], "v": [4]}),
    listed("attention_vectors_with_key", "Attention", {"q": [4], "v": [6], "k": [4]},
           use_scale=True),
    listed("attention_concat_vectors", "Attention", {"q": [4], "v": [4]}, score_mode="concat",
           use_scale=True),
    listed("additive_attention_vectors", "AdditiveAttention", {"q": [4], "v": [4]}),
    listed("additive_attention_vectors_with_key", "AdditiveAttention",
           {"q": [4], "v": [6], "k": [4]}),
    listed("additive_attention_query_feature_one", "AdditiveAttention", {"q": [1], "v": [4]}),
    listed("attention_vector_query_sequence_value", "Attention", {"q": [4], "v": [5, 4]}),
    listed("attention_sequence_query_vector_value", "Attention", {"q": [5, 4], "v": [4]}),
    listed("additive_attention_vector_query_one_feature_value", "AdditiveAttention",
           {"q": [4], "v": [2, 1]}),
    listed("attention_concat_vector_query", "Attention", {"q": [5], "v": [5, 1]},
           score_mode="concat"),
    listed("additive_attention_rank4_query", "AdditiveAttention", {"q": [1, 5, 4], "v": [6, 4]}),
    listed("attention_concat_unknown_query_rank4_value", "Attention",
           {"q": [None], "v": [6, None, 2]}, forward=False, score_mode="concat", use_scale=True),
    case("attention_vectors_then_dense", {"q": [4], "v": [4]},
         [{"type": "Attention", "inputs": ["q", "v"]}, {"type": "Dense", "units": 2}],
         forward=True),
    case("attention_vector_query_then_dense", {"q": [4], "v": [5, 4]},
         [{"type": "Attention", "inputs": ["q", "v"]}, {"type": "Dense", "units": 2}]),
]

MHA_RANKS = ["mha_vectors", "mha_vectors_axis_1", "mha_vectors_axis_0", "mha_vectors_axis_minus_1",
             "mha_vectors_channel_axis", "mha_vectors_output_shape",
             "mha_query_rank3_value_rank4", "mha_vector_query_sequence_value",
             "mha_sequence_query_vector_value", "mha_rank4_channel_axis", "mha_cross",
             "mha_axis_0", "mha_axis_3", "mha_axis_minus_1", "mha_rank4_axis_negative",
             "mha_rank4_axis_2", "mha_rank4_axes_1_2", "mha_batch_axis_attended",
             "mha_query_broadcasts_unattended_axis", "mha_rank5_volume"]
"""MultiHeadAttention on vectors, on ranks that differ and over given axes, recorded with
tf.keras 2 too: it always computes by einsums (Keras 3 fuses rank-3 inputs) and counts negative
attention axes from the end of the projected rank."""

# Attention axes that name one axis twice (Keras 3 counts a negative one from the projected
# rank less one, tf.keras 2 from the projected rank): Keras 3 builds the layer, and its predict
# fails unless it takes the fused path (rank 3, no scores); tf.keras 2 refuses the model.
REPEATED_AXES = [
    mha_then_dense(f"mha_axes_repeated_{i}", {"q": [4, 5, 6], "v": [4, 5, 6]}, num_heads=2,
                   key_dim=3, attention_axes=axes)
    for i, axes in enumerate([[1, 1], [1, -3], [2, -2]])] + [
    mha("mha_axes_repeated_fused", {"q": [4, 6], "v": [4, 6]}, num_heads=2, key_dim=3,
        attention_axes=[1, 1])]

# Keras 3 declares (None, 4) where Attention over a vector query computes (batch, batch, 4):
# predict runs the Dense after it on the computed shape, whose last axis its kernel fits.
COMPUTED_SHAPES = [
    case("attention_vector_query_then_dense_predict", {"q": [4], "v": [5, 4]},
         [{"type": "Attention", "inputs": ["q", "v"]}, {"type": "Dense", "units": 2}],
         forward=True)]

CASES = tf_keras_2_cases([*CASES, *BATCH_AS_STEPS, *REPEATED_AXES, *COMPUTED_SHAPES],
                         [*MHA_RANKS, *(c["id"] for c in [*BATCH_AS_STEPS, *REPEATED_AXES])])
