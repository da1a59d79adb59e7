"""Core layers: Dense, EinsumDense, Activation, Embedding, ReversibleEmbedding, Identity."""

from build import case, seq, tf_keras_2_cases


def einsum(equation: str, output_shape, **args) -> dict:
    return {"type": "EinsumDense", "equation": equation, "output_shape": output_shape, **args}


EINSUM = [
    seq("einsum_dense_like", [5], einsum("ab,bc->ac", 4, bias_axes="c", activation="relu")),
    seq("einsum_3d_no_bias", [3, 4], einsum("abc,cd->abd", [3, 6])),
    seq("einsum_3d_output_none", [3, 4], einsum("abc,cd->abd", [None, 6], bias_axes="d")),
    seq("einsum_heads", [3, 4], einsum("abc,cde->abde", [3, 2, 5], bias_axes="de")),
    seq("einsum_bias_middle_axis", [3, 4], einsum("abc,cde->abde", [3, 5, 6], bias_axes="b")),
    seq("einsum_two_axes_in", [3, 4, 5], einsum("abcd,cde->abe", [3, 6], bias_axes="e")),
    seq("einsum_left_ellipsis", [3, 4], einsum("...b,bc->...c", 6, bias_axes="c")),
    seq("einsum_left_ellipsis_same_sizes", [3, 3, 4], einsum("...b,bc->...c", 2)),
    # Keras 3 declares the axes a left '...' elides in reverse order, and computes them in
    # order (tf.keras 2 declares them in order); a layer built after it for the declared shape
    # runs where it reads only the last axis. Named axes are declared as computed.
    seq("einsum_left_ellipsis_reversed", [2, 3, 4], einsum("...b,bc->...c", 2)),
    seq("einsum_left_ellipsis_reversed_4d", [4, 3, 2, 3], einsum("...b,bc->...c", 5,
                                                              bias_axes="c")),
    seq("einsum_left_ellipsis_reversed_then_dense", [2, 3, 4], einsum("...b,bc->...c", 2),
        {"type": "Dense", "units": 3}, forward=False),
    seq("einsum_left_ellipsis_named_axes", [2, 3, 4], einsum("adeb,bc->adec", [2, 3, 2])),
    seq("einsum_right_ellipsis", [3, 4, 5], einsum("ab...,bc->ac...", 6, bias_axes="c")),
    seq("einsum_unknown_kept_axis", [None, 4], einsum("abc,cd->abd", [None, 6],
                                                    bias_axes="d"), forward=False),
    seq("einsum_kernel_axis_unknown", [3, None], einsum("abc,dc->abd", [3, 6])),
    seq("einsum_output_mismatch", [3, 4], einsum("abc,cd->abd", [5, 6])),
    seq("einsum_bad_equation", [3], einsum("ab,bc", 6)),
    seq("einsum_output_letter_unknown", [3], einsum("ab,bd->ac", 6)),
    seq("einsum_bias_not_in_output", [3], einsum("ab,bc->ac", 6, bias_axes="x")),
    seq("einsum_rank_too_low", [4], einsum("abc,cd->abd", [3, 6])),
    seq("einsum_frozen_then_dense", [4, 3], einsum("abc,cd->abd", [4, 2], trainable=False),
        {"type": "Dense", "units": 2}),
]

REVERSIBLE = [
    seq("reversible_embedding_tied", [5], {"type": "ReversibleEmbedding", "input_dim": 20,
                                           "output_dim": 4}, int_inputs=20),
    seq("reversible_embedding_untied", [2, 3],
        {"type": "ReversibleEmbedding", "input_dim": 12, "output_dim": 3,
         "tie_weights": False}, int_inputs=12),
    seq("reversible_embedding_mask_zero_then_lstm", [6],
        {"type": "ReversibleEmbedding", "input_dim": 10, "output_dim": 3, "mask_zero": True},
        {"type": "LSTM", "units": 2}, int_inputs=10),
]

LEFT_ELLIPSIS = ("einsum_left_ellipsis", "einsum_left_ellipsis_same_sizes",
                 "einsum_left_ellipsis_reversed", "einsum_left_ellipsis_reversed_4d",
                 "einsum_left_ellipsis_reversed_then_dense", "einsum_left_ellipsis_named_axes")

CASES = [
    seq("dense_2d", [8], {"type": "Dense", "units": 4, "activation": "relu"}),
    seq("dense_3d", [3, 2], {"type": "Dense", "units": 16}),
    seq("dense_4d_no_bias", [2, 3, 5], {"type": "Dense", "units": 7, "use_bias": False}),
    seq("dense_tanh_softmax", [6], {"type": "Dense", "units": 5, "activation": "tanh"},
        {"type": "Dense", "units": 3, "activation": "softmax"}),
    seq("dense_frozen", [4], {"type": "Dense", "units": 3, "trainable": False}),
    seq("activation_each", [5],
        *[{"type": "Activation", "activation": a} for a in
          ("relu", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "swish", "gelu",
           "hard_sigmoid", "relu6", "exponential", "linear", "leaky_relu", "mish")]),
    seq("activation_softmax_3d", [3, 4], {"type": "Activation", "activation": "softmax"}),
    seq("identity", [3, 2], {"type": "Identity"}),
    seq("embedding", [7], {"type": "Embedding", "input_dim": 50, "output_dim": 8},
        int_inputs=50),
    seq("embedding_2d_then_dense", [3, 4], {"type": "Embedding", "input_dim": 10,
                                            "output_dim": 2}, {"type": "Dense", "units": 3},
        int_inputs=10),
    case("dense_two_inputs_refused", {"a": [4], "b": [4]},
         [{"type": "Dense", "units": 2, "inputs": ["a", "b"]}]),
    seq("dense_unknown_last_axis", [None], {"type": "Dense", "units": 2}, forward=False),
    *EINSUM,
    *REVERSIBLE,
    # Predict runs the Dense on the axes the einsum computes in order, which Keras 3 declares
    # reversed: the Dense reads only the last axis.
    seq("einsum_left_ellipsis_reversed_then_dense_predict", [2, 3, 4],
        einsum("...b,bc->...c", 2), {"type": "Dense", "units": 3}),
]
CASES = tf_keras_2_cases(CASES, LEFT_ELLIPSIS)
