"""Model inputs of integer and boolean dtypes: predict converts the float data it is given
(toward zero; nonzero is True), layers that keep integers give them back in the input's dtype
(Keras 3 on JAX holds int64 as int32), and Keras 3's normalisations and SpectralNormalization
cast what they compute to it, where tf.keras 2 computes on floats. ``x_range`` draws floats
with fractions, which the conversion truncates; ``output_dtypes`` records predict's dtypes.

Mixed precision: a layer whose dtype policy is ``mixed_float16`` (or ``mixed_bfloat16``) casts
its floating inputs and weights to float16 and computes in it; its outputs are float16. A
float64 policy computes in float64 in tf.keras 2 only."""

from build import case, seq, tf_keras_2_cases


def typed(case_id: str, shape: list, dtype: str, *layers: dict, **extra: object) -> dict:
    """A Sequential case whose input is an InputLayer of ``dtype``."""
    entry = {"type": "InputLayer", "name": "x", "shape": shape, "dtype": dtype}
    return case(case_id, None, [entry, *layers], forward=True, **extra)


SIGNED = {"x_range": [-5.0, 5.0]}
PIXELS = {"x_range": [0.0, 255.9]}

CASES = [
    typed("int32_dense", [4], "int32", {"type": "Dense", "units": 3}, **SIGNED),
    typed("int64_reshape", [4], "int64", {"type": "Reshape", "target_shape": [2, 2]}, **SIGNED),
    typed("int8_relu", [6], "int8", {"type": "ReLU"}, x_range=[-100.0, 100.0]),
    typed("int32_layer_norm", [6], "int32", {"type": "LayerNormalization"}, **SIGNED),
    typed("int32_rms_norm", [6], "int32", {"type": "RMSNormalization"}, **SIGNED),
    typed("int32_max_pool_sn", [4, 3], "int32", {"type": "MaxPooling1D", "pool_size": 2},
          {"type": "Flatten"},
          {"type": "SpectralNormalization", "layer": {"type": "Dense", "units": 3}}, **SIGNED),
    typed("uint8_rescaling_conv", [5, 5, 2], "uint8", {"type": "Rescaling", "scale": 1 / 255},
          {"type": "Conv2D", "filters": 3, "kernel_size": 2}, **PIXELS),
    typed("uint8_upsample_bilinear", [3, 3, 1], "uint8",
          {"type": "UpSampling2D", "size": 2, "interpolation": "bilinear"}, **PIXELS),
    typed("int16_embedding", [5], "int16", {"type": "Embedding", "input_dim": 20,
                                            "output_dim": 3}, int_inputs=20),
    typed("bool_dense", [4], "bool", {"type": "Dense", "units": 2}, int_inputs=2),
    typed("bool_reshape", [4], "bool", {"type": "Reshape", "target_shape": [2, 2]},
          int_inputs=2),
    case("float_and_int32_concatenated", None, [
        {"type": "InputLayer", "name": "a", "shape": [3]},
        {"type": "InputLayer", "name": "b", "shape": [3], "dtype": "int32"},
        {"type": "Concatenate", "inputs": ["a", "b"]}, {"type": "Dense", "units": 2}],
        forward=True, **SIGNED),
]

MIXED = "mixed_float16"

CASES += [
    seq("mixed_dense_softmax", [8], {"type": "Dense", "units": 16, "activation": "relu",
                                     "dtype": MIXED},
        {"type": "Dense", "units": 4, "activation": "softmax", "dtype": MIXED}),
    seq("mixed_conv_bn_float32_head", [6, 6, 2],
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "dtype": MIXED},
        {"type": "BatchNormalization", "dtype": MIXED}, {"type": "ReLU", "dtype": MIXED},
        {"type": "GlobalAveragePooling2D", "dtype": MIXED},
        {"type": "Dense", "units": 3, "dtype": "float32"}),
    seq("mixed_lstm", [5, 3], {"type": "LSTM", "units": 4, "dtype": MIXED}),
    seq("mixed_layer_norm_dense", [6], {"type": "LayerNormalization", "dtype": MIXED},
        {"type": "Dense", "units": 3, "dtype": MIXED}),
    seq("mixed_flatten_after_float32", [3, 2], {"type": "Dense", "units": 3},
        {"type": "Flatten", "dtype": MIXED}),
    seq("mixed_bfloat16_dense", [8], {"type": "Dense", "units": 8, "activation": "gelu",
                                      "dtype": "mixed_bfloat16"},
        {"type": "Dense", "units": 2, "dtype": "mixed_bfloat16"}),
    seq("mixed_embedding", [5], {"type": "Embedding", "input_dim": 10, "output_dim": 3,
                                 "dtype": MIXED}, int_inputs=10),
    typed("float16_input_reshape", [4], "float16", {"type": "Reshape", "target_shape": [2, 2]},
          **SIGNED),
    typed("float16_input_mixed_dense", [4], "float16",
          {"type": "Dense", "units": 2, "dtype": MIXED}, **SIGNED),
]

# TimeDistributed does on each step what the layer it wraps does with integers.
CASES += [
    typed("td_int32_reshape", [2, 4], "int32",
          {"type": "TimeDistributed", "layer": {"type": "Reshape", "target_shape": [2, 2]}},
          **SIGNED),
    typed("td_int32_layer_norm", [2, 4], "int32",
          {"type": "TimeDistributed", "layer": {"type": "LayerNormalization"}}, **SIGNED),
]

# Keras 3 truncates the normalised integers; tf.keras 2 cannot build the layer on them.
CASES += [typed("int32_group_norm", [4], "int32", {"type": "GroupNormalization", "groups": 2},
                **SIGNED)]

# float64: Keras 3 on JAX computes in float32 whatever the policy (JAX's 64-bit types are off);
# tf.keras 2 computes a float64 layer in float64 and casts float64 inputs to a float32 layer's
# float32 (``tf.keras.backend.set_floatx("float64")`` makes every layer float64).
F64 = "float64"
CASES += [
    typed("float64_input_reshape", [4], F64, {"type": "Reshape", "target_shape": [2, 2]},
          **SIGNED),
    seq("float64_dense", [4], {"type": "Dense", "units": 3, "dtype": F64}),
    seq("float64_dense_then_float32_dense", [4], {"type": "Dense", "units": 3, "dtype": F64},
        {"type": "Dense", "units": 2}),
    seq("float64_activation", [4], {"type": "Dense", "units": 3},
        {"type": "Activation", "activation": "tanh", "dtype": F64}),
    typed("float64_everywhere", [4], F64, {"type": "Dense", "units": 3, "dtype": F64},
          {"type": "Dense", "units": 2, "activation": "softmax", "dtype": F64}, **SIGNED),
]

# tf.keras 2 does not concatenate float32 with int32 tensors.
CASES = tf_keras_2_cases(CASES, [c["id"] for c in CASES
                                 if c["id"] != "float_and_int32_concatenated"])
