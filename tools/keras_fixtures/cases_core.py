"""Core layers: Dense, Activation, Embedding, Identity."""

from build import case, seq

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
]
