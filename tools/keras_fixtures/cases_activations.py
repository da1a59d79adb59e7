"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax; and activations given as a layer's
argument: Keras 3's newer functions by name, glu (which halves the last axis), and activation
layers given by their config (tf.keras 2 recorded too: its own hard_sigmoid and class names)."""

from build import seq, tf_keras_2_cases

RELU = [
    seq("relu_default", [6], {"type": "ReLU"}),
    seq("relu_max_value", [3, 4], {"type": "ReLU", "max_value": 0.5}),
    seq("relu_max_value_six", [8], {"type": "ReLU", "max_value": 6.0}),
    seq("relu_negative_slope", [8], {"type": "ReLU", "negative_slope": 0.1}),
    seq("relu_threshold", [8], {"type": "ReLU", "threshold": 0.5}),
    seq("relu_all_options", [2, 4], {"type": "ReLU", "max_value": 1.0, "negative_slope": 0.2,
                                     "threshold": 0.3}),
    seq("relu_slope_and_max", [8], {"type": "ReLU", "max_value": 0.8, "negative_slope": 0.5}),
    seq("relu_slope_and_threshold", [8], {"type": "ReLU", "negative_slope": 0.5,
                                          "threshold": 0.25}),
    seq("relu_max_zero", [8], {"type": "ReLU", "max_value": 0.0}),
    seq("relu_unknown", [None, 3], {"type": "ReLU"}, forward=False),
    seq("relu_negative_max", [4], {"type": "ReLU", "max_value": -1.0}, forward=False),
    seq("relu_negative_slope_refused", [4], {"type": "ReLU", "negative_slope": -0.1},
        forward=False),
    seq("relu_negative_threshold", [4], {"type": "ReLU", "threshold": -0.1}, forward=False),
]

LEAKY = [
    seq("leaky_relu_default", [8], {"type": "LeakyReLU"}),
    seq("leaky_relu_slope", [2, 3, 4], {"type": "LeakyReLU", "negative_slope": 0.05}),
    seq("leaky_relu_zero", [8], {"type": "LeakyReLU", "negative_slope": 0.0}),
    seq("leaky_relu_negative", [8], {"type": "LeakyReLU", "negative_slope": -0.1},
        forward=False),
]

ELU = [
    seq("elu_default", [8], {"type": "ELU"}),
    seq("elu_alpha", [2, 4], {"type": "ELU", "alpha": 0.5}),
    seq("elu_negative_alpha", [8], {"type": "ELU", "alpha": -1.5}),
]

PRELU = [
    seq("prelu_vector", [6], {"type": "PReLU"}),
    seq("prelu_sequence", [3, 4], {"type": "PReLU"}),
    seq("prelu_image_shared", [3, 4, 2], {"type": "PReLU", "shared_axes": [1, 2]}),
    seq("prelu_shared_int", [3, 4], {"type": "PReLU", "shared_axes": 1}),
    seq("prelu_shared_all", [3, 4], {"type": "PReLU", "shared_axes": [1, 2]}),
    seq("prelu_after_dense", [5], {"type": "Dense", "units": 4}, {"type": "PReLU"}),
    seq("prelu_frozen", [4], {"type": "PReLU", "trainable": False}),
    seq("prelu_unknown_shared", [None, 3], {"type": "PReLU", "shared_axes": [1]},
        forward=False),
    seq("prelu_unknown_not_shared", [None, 3], {"type": "PReLU"}, forward=False),
    seq("prelu_shared_out_of_range", [3, 4], {"type": "PReLU", "shared_axes": [3]},
        forward=False),
]

SOFTMAX = [
    seq("softmax_default", [5], {"type": "Softmax"}),
    seq("softmax_axis1", [3, 4], {"type": "Softmax", "axis": 1}),
    seq("softmax_axis_neg2", [2, 3, 4], {"type": "Softmax", "axis": -2}),
    seq("softmax_axis_list_one", [3, 4], {"type": "Softmax", "axis": [1]}),
    seq("softmax_axis_list", [2, 3, 4], {"type": "Softmax", "axis": [1, 2]}),
    seq("softmax_axis_list_neg", [2, 3, 4], {"type": "Softmax", "axis": [-1, -3]}),
    seq("softmax_unknown", [None, 4], {"type": "Softmax"}, forward=False),
]



def layer(class_name: str, **config: object) -> dict:
    """An activation layer's config, as Keras writes an activation that is a layer (Keras 3
    finds the class in its ``module``)."""
    return {"module": "keras.layers", "class_name": class_name, "config": config}


def dense(units: int, activation: object) -> dict:
    return {"type": "Dense", "units": units, "activation": activation}


NEWER = ("celu", "sparsemax", "squareplus", "soft_shrink", "hard_shrink", "sparse_plus",
         "sparse_sigmoid")

# Keras declares the input's shape for glu, which halves the last axis: predict gives the
# halved shape, and fails on an odd size and at a layer built after it for the declared one.
GLU = [
    seq("dense_glu", [3, 5], dense(4, "glu")),
    seq("activation_glu", [3, 4], {"type": "Activation", "activation": "glu"}),
    seq("conv1d_glu", [3, 5], {"type": "Conv1D", "filters": 6, "kernel_size": 2,
                               "activation": "glu"}),
    seq("dense_glu_odd", [5], dense(5, "glu")),
    seq("dense_glu_then_dense", [5], dense(4, "glu"), {"type": "Dense", "units": 3}),
]

ARGUMENTS = [
    *(seq(f"dense_{name}", [6], dense(8, name)) for name in NEWER),
    seq("activation_sparsemax_rows", [3, 5], {"type": "Activation", "activation": "sparsemax"}),
    *GLU,
    seq("dense_hard_sigmoid", [6], dense(8, "hard_sigmoid")),
    seq("dense_elu_layer", [6], dense(8, layer("ELU", alpha=0.5))),
    seq("dense_elu_layer_without_module", [6],
        dense(8, {"class_name": "ELU", "config": {"alpha": 0.5}})),
    seq("dense_leaky_relu_layer_alpha", [6], dense(8, layer("LeakyReLU", alpha=0.1))),
    seq("conv2d_relu_layer", [5, 5, 2], {"type": "Conv2D", "filters": 3, "kernel_size": 2,
                                         "activation": layer("ReLU", max_value=1.0,
                                                             negative_slope=0.2)}),
    seq("dense_softmax_layer_axis", [3, 4], dense(5, layer("Softmax", axis=1))),
    seq("lstm_elu_layer_hard_sigmoid", [3, 4],
        {"type": "LSTM", "units": 3, "activation": layer("ELU"),
         "recurrent_activation": "hard_sigmoid"}),
    seq("dense_thresholded_relu_layer", [6], dense(8, layer("ThresholdedReLU", theta=0.5))),
    seq("dense_elu_by_class_name", [6], dense(8, "ELU")),
    seq("activation_leaky_relu_by_class_name", [6],
        {"type": "Activation", "activation": "LeakyReLU"}),
]

# tf.keras 2 refuses Keras 3's newer names; it computes its own hard_sigmoid, and takes an
# activation layer's class name for the layer with its defaults.
TF_KERAS_2 = ["dense_hard_sigmoid", "dense_elu_layer", "dense_elu_layer_without_module",
              "dense_leaky_relu_layer_alpha",
              "conv2d_relu_layer", "dense_softmax_layer_axis", "lstm_elu_layer_hard_sigmoid",
              "dense_thresholded_relu_layer", "dense_elu_by_class_name",
              "activation_leaky_relu_by_class_name"]

# A Softmax after a masking Embedding whose mask (batch, steps) broadcasts against its vectors
# (3 samples of 3 steps of 3 features), of ids all 0: every position is masked. Keras 3 gives
# zeros; tf.keras 2 adds -1e9 to every input and normalises what it gets (about uniform).
# Three Dense layers, which pass the mask on, scale the values up to about 100: -1e9 added keeps
# them apart in float32, so tf.keras 2 normalises them unevenly; with robust_masking (which
# Keras 3 refuses) it sets them to -1e9, so evenly.
MASKED = [
    seq("softmax_every_position_masked", [3],
        {"type": "Embedding", "input_dim": 4, "output_dim": 3, "mask_zero": True},
        {"type": "Softmax"}, int_inputs=1, batch=3),
    *(seq(case_id, [3],
          {"type": "Embedding", "input_dim": 4, "output_dim": 64, "mask_zero": True},
          {"type": "Dense", "units": 64}, {"type": "Dense", "units": 64},
          {"type": "Dense", "units": 3},
          {"type": "Softmax", **robust}, int_inputs=1, batch=3)
      for case_id, robust in [("softmax_large_values_every_position_masked", {}),
                              ("softmax_robust_masking", {"robust_masking": True})]),
]

CASES = tf_keras_2_cases([*RELU, *LEAKY, *ELU, *PRELU, *SOFTMAX, *ARGUMENTS, *MASKED],
                         [*TF_KERAS_2, *(c["id"] for c in MASKED)])
