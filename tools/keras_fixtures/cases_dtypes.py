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

# A Bidirectional RNN casts integer sequences to floats, as the RNN it wraps does.
CASES += [
    typed("int32_bidirectional_lstm", [4, 3], "int32",
          {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 2}}, **SIGNED),
    typed("uint8_bidirectional_gru_sequences", [4, 3], "uint8",
          {"type": "Bidirectional", "layer": {"type": "GRU", "units": 2,
                                              "return_sequences": True}}, **PIXELS),
]

# Every layer family on integers: what predict gives (dtype and values), or where it fails.
# Keras 3 on JAX cannot convolve integers with float kernels by a transposed, depthwise or
# separable convolution, nor take their inverse square root (UnitNormalization); tf.keras 2
# cannot build most layers with weights on them.
I32, U8 = "int32", "uint8"
SEQUENCE, IMAGE, VOLUME = [6, 3], [6, 6, 2], [4, 4, 4, 2]


def on_int(case_id: str, shape: list, layer: dict, dtype: str = I32) -> dict:
    """``layer`` on an integer input of ``shape``: SIGNED data, or PIXELS for uint8."""
    return typed(f"{dtype}_{case_id}", shape, dtype, layer,
                 **(PIXELS if dtype == U8 else SIGNED))


def pair(case_id: str, shape: list, merge: dict, dtype: str = I32) -> dict:
    """``merge`` of two integer inputs: SIGNED data, or PIXELS for uint8 (whose sums wrap)."""
    return case(f"{dtype}_{case_id}", None, [
        {"type": "InputLayer", "name": "a", "shape": shape, "dtype": dtype},
        {"type": "InputLayer", "name": "b", "shape": shape, "dtype": dtype},
        {**merge, "inputs": ["a", "b"]}], forward=True, **(PIXELS if dtype == U8 else SIGNED))


INTEGER_LAYERS = [
    on_int("conv1d", SEQUENCE, {"type": "Conv1D", "filters": 2, "kernel_size": 2}),
    on_int("conv3d", VOLUME, {"type": "Conv3D", "filters": 2, "kernel_size": 2}),
    on_int("conv1d_transpose", SEQUENCE, {"type": "Conv1DTranspose", "filters": 2,
                                          "kernel_size": 2}),
    on_int("conv2d_transpose", IMAGE, {"type": "Conv2DTranspose", "filters": 2,
                                       "kernel_size": 2}, U8),
    on_int("conv3d_transpose", VOLUME, {"type": "Conv3DTranspose", "filters": 2,
                                        "kernel_size": 2}),
    on_int("depthwise_conv1d", SEQUENCE, {"type": "DepthwiseConv1D", "kernel_size": 2}),
    on_int("depthwise_conv2d", IMAGE, {"type": "DepthwiseConv2D", "kernel_size": 2}, U8),
    on_int("separable_conv1d", SEQUENCE, {"type": "SeparableConv1D", "filters": 2,
                                          "kernel_size": 2}),
    on_int("separable_conv2d", IMAGE, {"type": "SeparableConv2D", "filters": 2,
                                       "kernel_size": 2}, U8),
    on_int("unit_normalization", [5], {"type": "UnitNormalization"}),
    on_int("batch_normalization", [5], {"type": "BatchNormalization"}),
    on_int("normalization", [5], {"type": "Normalization", "mean": 1.0, "variance": 2.0}),
    on_int("einsum_dense", [5], {"type": "EinsumDense", "equation": "ab,bc->ac",
                                 "output_shape": 2}),
    on_int("lstm", SEQUENCE, {"type": "LSTM", "units": 2}),
    on_int("simple_rnn_sequences", SEQUENCE, {"type": "SimpleRNN", "units": 2,
                                              "return_sequences": True}),
    on_int("conv_lstm1d", [3, 5, 2], {"type": "ConvLSTM1D", "filters": 2, "kernel_size": 2}),
    on_int("softmax", [5], {"type": "Softmax"}),
    on_int("tanh", [5], {"type": "Activation", "activation": "tanh"}),
    on_int("elu", [5], {"type": "ELU"}),
    on_int("leaky_relu", [5], {"type": "LeakyReLU"}),
    on_int("prelu", [5], {"type": "PReLU"}),
    on_int("average_pooling2d", IMAGE, {"type": "AveragePooling2D", "pool_size": 2}, U8),
    on_int("global_average_pooling1d", SEQUENCE, {"type": "GlobalAveragePooling1D"}),
    on_int("global_max_pooling2d", IMAGE, {"type": "GlobalMaxPooling2D"}, U8),
    on_int("cropping2d", IMAGE, {"type": "Cropping2D", "cropping": 1}, U8),
    on_int("zero_padding2d", IMAGE, {"type": "ZeroPadding2D", "padding": 1}, U8),
    on_int("upsampling3d", VOLUME, {"type": "UpSampling3D", "size": 2}),
    on_int("resizing_bilinear_down", IMAGE, {"type": "Resizing", "height": 4, "width": 3}, U8),
    on_int("resizing_bilinear_up", IMAGE, {"type": "Resizing", "height": 12, "width": 8}),
    on_int("resizing_bicubic", IMAGE, {"type": "Resizing", "height": 8, "width": 5,
                                       "interpolation": "bicubic"}, U8),
    on_int("resizing_nearest", IMAGE, {"type": "Resizing", "height": 4, "width": 9,
                                       "interpolation": "nearest"}, U8),
    on_int("resizing_lanczos3", IMAGE, {"type": "Resizing", "height": 5, "width": 5,
                                        "interpolation": "lanczos3"}),
    on_int("resizing_crop_to_aspect_ratio", IMAGE, {"type": "Resizing", "height": 3,
                                                    "width": 5, "crop_to_aspect_ratio": True},
           U8),
    on_int("center_crop", IMAGE, {"type": "CenterCrop", "height": 4, "width": 4}, U8),
    on_int("random_flip", IMAGE, {"type": "RandomFlip"}, U8),
    on_int("random_rotation", IMAGE, {"type": "RandomRotation", "factor": 0.2}, U8),
    on_int("random_zoom", IMAGE, {"type": "RandomZoom", "height_factor": 0.2}, U8),
    on_int("random_crop", IMAGE, {"type": "RandomCrop", "height": 4, "width": 4}, U8),
    on_int("random_contrast", IMAGE, {"type": "RandomContrast", "factor": 0.3}, U8),
    on_int("random_brightness", IMAGE, {"type": "RandomBrightness", "factor": 0.3}, U8),
    on_int("random_translation", IMAGE, {"type": "RandomTranslation", "height_factor": 0.2,
                                         "width_factor": 0.2}, U8),
    on_int("gaussian_dropout", [5], {"type": "GaussianDropout", "rate": 0.3}),
    on_int("spatial_dropout1d", SEQUENCE, {"type": "SpatialDropout1D", "rate": 0.3}),
    on_int("activity_regularization", [5], {"type": "ActivityRegularization", "l1": 0.1}),
    on_int("masking", SEQUENCE, {"type": "Masking", "mask_value": 1.0}),
    on_int("permute", SEQUENCE, {"type": "Permute", "dims": [2, 1]}),
    on_int("repeat_vector", [5], {"type": "RepeatVector", "n": 2}),
    typed("uint8_category_encoding", [3], U8, {"type": "CategoryEncoding", "num_tokens": 8,
                                               "output_mode": "multi_hot"}, int_inputs=8),
    on_int("time_distributed_dense", SEQUENCE,
           {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}}),
    pair("dot", [5], {"type": "Dot", "axes": 1}),
    pair("average", [5], {"type": "Average"}),
    pair("minimum", [5], {"type": "Minimum"}),
    pair("subtract", [5], {"type": "Subtract"}),
    pair("concatenate", [5], {"type": "Concatenate"}),
    pair("multi_head_attention", SEQUENCE, {"type": "MultiHeadAttention", "num_heads": 2,
                                            "key_dim": 2}),
    pair("attention", SEQUENCE, {"type": "Attention"}),
    pair("dot_normalize", [5], {"type": "Dot", "axes": 1, "normalize": True}),
    pair("add", [5], {"type": "Add"}),
    pair("add", [5], {"type": "Add"}, U8),
    pair("average", [5], {"type": "Average"}, U8),
    on_int("average_pooling2d_same", IMAGE, {"type": "AveragePooling2D", "pool_size": 3,
                                             "strides": 2, "padding": "same"}, U8),
    on_int("adaptive_average_pooling2d", IMAGE, {"type": "AdaptiveAveragePooling2D",
                                                 "output_size": [4, 3]}, U8),
    on_int("adaptive_max_pooling1d", SEQUENCE, {"type": "AdaptiveMaxPooling1D",
                                                "output_size": 4}),
    on_int("global_average_pooling2d", IMAGE, {"type": "GlobalAveragePooling2D"}, U8),
]

# Keras 3's CategoryEncoding encodes in its variable dtype: float32 under mixed precision.
INTEGER_LAYERS += [seq("mixed_category_encoding", [3], {
    "type": "CategoryEncoding", "num_tokens": 4, "output_mode": "count", "dtype": MIXED},
    int_inputs=4)]
CASES += INTEGER_LAYERS

# A wrapper's outputs under mixed precision: Keras 3 follows the wrapper's policy, tf.keras 2
# the wrapped layer's.
LSTM2 = {"type": "LSTM", "units": 2}
DENSE2 = {"type": "Dense", "units": 2}
CASES += [
    seq(f"mixed_{name}_{where}", shape,
        {"type": wrapper, "layer": {**inner, "dtype": MIXED}} if where == "inner"
        else {"type": wrapper, "layer": inner, "dtype": MIXED})
    for name, wrapper, inner, shape in (
        ("time_distributed", "TimeDistributed", DENSE2, [4, 3]),
        ("bidirectional", "Bidirectional", LSTM2, [4, 3]),
        ("spectral_normalization", "SpectralNormalization", DENSE2, [3]))
    for where in ("inner", "outer")]

# Keras 3's PReLU negates unsigned integers in their dtype, where -x wraps around.
CASES += [on_int("prelu", IMAGE, {"type": "PReLU", "shared_axes": [1, 2]}, U8)]

# Activations on integers: relu, linear and hard_tanh keep them, a ReLU clipped at a float
# max_value does not, the sigmoid family refuses them, and those that negate their input do
# it in uint8 (recorded without predict: the forward pass refuses what it does not follow).
CASES += [
    on_int("activation_hard_tanh", [5], {"type": "Activation", "activation": "hard_tanh"}),
    on_int("activation_sigmoid", [5], {"type": "Activation", "activation": "sigmoid"}),
    on_int("relu_max_value", [5], {"type": "ReLU", "max_value": 6.0}),
    on_int("relu_max_value", [5], {"type": "ReLU", "max_value": 6.0}, U8),
    on_int("relu_threshold", [5], {"type": "ReLU", "threshold": 2.0}, U8),
    {**on_int("activation_softmax", [5], {"type": "Activation", "activation": "softmax"}, U8),
     "forward": False},
    {**on_int("softmax", [5], {"type": "Softmax"}, U8), "forward": False},
]

# Past float16's largest value, 65,504, a mixed-precision layer's values are infinite: its
# float32 inputs are cast to float16 (the first case: inputs to 90,000, infinite before the
# Dense multiplies, whose mixed signs give NaN), or its outputs overflow (the second: inputs
# to 48,000, some of the Dense's sums past the limit); the float32 Dense after it carries them.
CASES += [
    seq("mixed_dense_overflows_its_inputs", [4], {"type": "Rescaling", "scale": 30_000.0},
        {"type": "Dense", "units": 3, "dtype": MIXED}, {"type": "Dense", "units": 2},
        x_range=[1.0, 3.0]),
    seq("mixed_dense_overflows_its_outputs", [4], {"type": "Rescaling", "scale": 16_000.0},
        {"type": "Dense", "units": 6, "dtype": MIXED}, {"type": "Dense", "units": 2},
        x_range=[2.0, 3.0]),
]

# tf.keras 2 does not concatenate float32 with int32 tensors.
CASES = tf_keras_2_cases(CASES, [c["id"] for c in CASES
                                 if c["id"] != "float_and_int32_concatenated"])
