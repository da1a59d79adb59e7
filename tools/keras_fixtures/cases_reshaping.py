"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, ZeroPadding, Cropping, UpSampling."""

from build import seq, tf_keras_2_cases

FLATTEN = [
    seq("flatten_2d", [4, 3], {"type": "Flatten"}),
    seq("flatten_4d", [2, 3, 4], {"type": "Flatten"}, {"type": "Dense", "units": 3}),
    seq("flatten_channels_first", [3, 2, 4], {"type": "Flatten", "data_format": "channels_first"}),
    seq("flatten_channels_first_3d", [3, 5], {"type": "Flatten", "data_format": "channels_first"}),
    seq("flatten_already_flat", [6], {"type": "Flatten"}),
    seq("flatten_rank1", [], {"type": "Flatten"}),
    seq("flatten_unknown_axis", [None, 3], {"type": "Flatten"}, forward=False),
    seq("flatten_unknown_then_dense_refused", [None, 3], {"type": "Flatten"},
        {"type": "Dense", "units": 2}, forward=False),
]

RESHAPE = [
    seq("reshape_2d_to_3d", [12], {"type": "Reshape", "target_shape": [3, 4]}),
    seq("reshape_infer", [3, 4], {"type": "Reshape", "target_shape": [-1, 2]}),
    seq("reshape_infer_first", [2, 3, 4], {"type": "Reshape", "target_shape": [6, -1]}),
    seq("reshape_flatten_like", [2, 3, 4], {"type": "Reshape", "target_shape": [-1]}),
    seq("reshape_to_rank1_sample", [1], {"type": "Reshape", "target_shape": []}),
    seq("reshape_unknown_input", [None, 4], {"type": "Reshape", "target_shape": [-1, 2]},
        forward=False),
    seq("reshape_unknown_input_fixed_target", [None, 4], {"type": "Reshape",
                                                          "target_shape": [8, 3]},
        forward=False),
    seq("reshape_size_mismatch", [3, 5], {"type": "Reshape", "target_shape": [4, 4]},
        forward=False),
    seq("reshape_not_divisible", [3, 5], {"type": "Reshape", "target_shape": [-1, 4]},
        forward=False),
    seq("reshape_two_minus_one", [12], {"type": "Reshape", "target_shape": [-1, -1]},
        forward=False),
    seq("reshape_below_minus_one", [12], {"type": "Reshape", "target_shape": [-2, -6]},
        forward=False),
]

PERMUTE = [
    seq("permute_swap", [3, 4], {"type": "Permute", "dims": [2, 1]}),
    seq("permute_3d", [2, 3, 4], {"type": "Permute", "dims": [3, 1, 2]}),
    seq("permute_identity", [2, 3], {"type": "Permute", "dims": [1, 2]}),
    seq("permute_unknown", [None, 4], {"type": "Permute", "dims": [2, 1]}, forward=False),
    seq("permute_wrong_rank", [2, 3, 4], {"type": "Permute", "dims": [2, 1]}, forward=False),
    seq("permute_zero_based", [3, 4], {"type": "Permute", "dims": [1, 0]}, forward=False),
    seq("permute_repeated", [3, 4], {"type": "Permute", "dims": [1, 1]}, forward=False),
]

REPEAT = [
    seq("repeat_vector", [5], {"type": "RepeatVector", "n": 3}),
    seq("repeat_vector_then_lstm_like_dense", [4], {"type": "RepeatVector", "n": 2},
        {"type": "Dense", "units": 3}),
    seq("repeat_vector_rank3_refused", [2, 5], {"type": "RepeatVector", "n": 3}, forward=False),
    seq("repeat_vector_zero", [5], {"type": "RepeatVector", "n": 0}, forward=False),
]

PADDING = [
    seq("zeropad1d_default", [5, 2], {"type": "ZeroPadding1D"}),
    seq("zeropad1d_int", [5, 2], {"type": "ZeroPadding1D", "padding": 3}),
    seq("zeropad1d_pair", [5, 2], {"type": "ZeroPadding1D", "padding": [1, 2]}),
    seq("zeropad1d_channels_first", [2, 5],
        {"type": "ZeroPadding1D", "padding": [2, 0], "data_format": "channels_first"}),
    seq("zeropad1d_unknown", [None, 2], {"type": "ZeroPadding1D", "padding": 2}, forward=False),
    seq("zeropad1d_rank4_refused", [5, 5, 2], {"type": "ZeroPadding1D"}, forward=False),
    seq("zeropad2d_default", [3, 4, 2], {"type": "ZeroPadding2D"}),
    seq("zeropad2d_int", [3, 4, 2], {"type": "ZeroPadding2D", "padding": 2}),
    seq("zeropad2d_symmetric_pair", [3, 4, 2], {"type": "ZeroPadding2D", "padding": [1, 2]}),
    seq("zeropad2d_pairs", [3, 4, 2], {"type": "ZeroPadding2D", "padding": [[0, 1], [2, 3]]}),
    seq("zeropad2d_mixed", [3, 4, 2], {"type": "ZeroPadding2D", "padding": [1, [0, 2]]}),
    seq("zeropad2d_channels_first", [2, 3, 4],
        {"type": "ZeroPadding2D", "padding": [[1, 0], [0, 2]], "data_format": "channels_first"}),
    seq("zeropad2d_unknown", [None, 4, 2], {"type": "ZeroPadding2D", "padding": 1},
        forward=False),
    seq("zeropad2d_three_entries", [3, 4, 2], {"type": "ZeroPadding2D", "padding": [1, 2, 3]},
        forward=False),
    seq("zeropad2d_rank3_refused", [3, 4], {"type": "ZeroPadding2D"}, forward=False),
    seq("zeropad3d_default", [2, 3, 2, 2], {"type": "ZeroPadding3D"}),
    seq("zeropad3d_pairs", [2, 3, 2, 2],
        {"type": "ZeroPadding3D", "padding": [[0, 1], 2, [1, 0]]}),
    seq("zeropad3d_channels_first", [2, 2, 3, 2],
        {"type": "ZeroPadding3D", "padding": [1, 0, 2], "data_format": "channels_first"}),
]

CROPPING = [
    seq("crop1d_default", [5, 2], {"type": "Cropping1D"}),
    seq("crop1d_pair", [6, 2], {"type": "Cropping1D", "cropping": [2, 0]}),
    seq("crop1d_unknown", [None, 2], {"type": "Cropping1D", "cropping": 3}, forward=False),
    seq("crop1d_too_much", [4, 2], {"type": "Cropping1D", "cropping": [2, 2]}, forward=False),
    seq("crop2d_default", [3, 4, 2], {"type": "Cropping2D"}),
    seq("crop2d_int", [5, 6, 2], {"type": "Cropping2D", "cropping": 1}),
    seq("crop2d_symmetric_pair", [5, 6, 2], {"type": "Cropping2D", "cropping": [2, 1]}),
    seq("crop2d_pairs", [5, 6, 2], {"type": "Cropping2D", "cropping": [[0, 1], [2, 0]]}),
    seq("crop2d_channels_first", [2, 5, 6],
        {"type": "Cropping2D", "cropping": [[1, 2], [0, 3]], "data_format": "channels_first"}),
    seq("crop2d_unknown", [None, 6, 2], {"type": "Cropping2D", "cropping": 2}, forward=False),
    seq("crop2d_too_much_height", [4, 6, 2], {"type": "Cropping2D", "cropping": [[2, 2], 1]},
        forward=False),
    seq("crop2d_too_much_width_cf", [2, 6, 3],
        {"type": "Cropping2D", "cropping": [0, [1, 2]], "data_format": "channels_first"},
        forward=False),
    seq("crop2d_rank5_refused", [3, 4, 5, 2], {"type": "Cropping2D"}, forward=False),
    seq("crop3d_default", [3, 4, 5, 2], {"type": "Cropping3D"}),
    seq("crop3d_pairs", [3, 4, 5, 2], {"type": "Cropping3D", "cropping": [[1, 0], 0, [2, 1]]}),
    seq("crop3d_channels_first", [2, 3, 4, 5],
        {"type": "Cropping3D", "cropping": [0, 1, [1, 2]], "data_format": "channels_first"}),
    seq("crop3d_too_much", [3, 4, 5, 2], {"type": "Cropping3D", "cropping": [1, 2, 1]},
        forward=False),
]

UPSAMPLING = [
    seq("upsample1d_default", [3, 2], {"type": "UpSampling1D"}),
    seq("upsample1d_size3", [3, 2], {"type": "UpSampling1D", "size": 3}),
    seq("upsample1d_unknown", [None, 2], {"type": "UpSampling1D"}, forward=False),
    seq("upsample1d_rank4_refused", [3, 3, 2], {"type": "UpSampling1D"}, forward=False),
    seq("upsample2d_default", [2, 3, 2], {"type": "UpSampling2D"}),
    seq("upsample2d_pair", [2, 3, 2], {"type": "UpSampling2D", "size": [3, 1]}),
    seq("upsample2d_channels_first", [2, 3, 2],
        {"type": "UpSampling2D", "size": [2, 3], "data_format": "channels_first"}),
    seq("upsample2d_bilinear", [3, 4, 2], {"type": "UpSampling2D", "interpolation": "bilinear"}),
    seq("upsample2d_bilinear_uneven", [3, 4, 2],
        {"type": "UpSampling2D", "size": [3, 1], "interpolation": "bilinear"}),
    seq("upsample2d_bilinear_channels_first", [2, 3, 4],
        {"type": "UpSampling2D", "size": [2, 3], "interpolation": "bilinear",
         "data_format": "channels_first"}),
    seq("upsample2d_bicubic", [4, 3, 2],
        {"type": "UpSampling2D", "size": [2, 3], "interpolation": "bicubic"}),
    seq("upsample2d_lanczos3", [4, 5, 1], {"type": "UpSampling2D", "interpolation": "lanczos3"}),
    seq("upsample2d_lanczos5", [6, 3, 1],
        {"type": "UpSampling2D", "size": [3, 2], "interpolation": "lanczos5"}),
    seq("upsample2d_unknown", [None, 3, 2], {"type": "UpSampling2D"}, forward=False),
    seq("upsample2d_zero_size", [2, 3, 2], {"type": "UpSampling2D", "size": 0}, forward=False),
    seq("upsample3d_default", [2, 2, 3, 1], {"type": "UpSampling3D"}),
    seq("upsample3d_sizes", [2, 2, 3, 2], {"type": "UpSampling3D", "size": [1, 2, 3]}),
    seq("upsample3d_channels_first", [2, 2, 3, 2],
        {"type": "UpSampling3D", "size": [2, 1, 2], "data_format": "channels_first"}),
    seq("upsample3d_rank4_refused", [2, 3, 2], {"type": "UpSampling3D"}, forward=False),
]

PIPELINES = [
    seq("pad_conv_crop_upsample", [6, 6, 2], {"type": "ZeroPadding2D", "padding": 1},
        {"type": "Conv2D", "filters": 3, "kernel_size": 3},
        {"type": "UpSampling2D", "interpolation": "bilinear"},
        {"type": "Cropping2D", "cropping": [[1, 1], [2, 2]]},
        {"type": "Flatten"}, {"type": "Dense", "units": 2}),
    seq("reshape_permute_flatten", [12], {"type": "Reshape", "target_shape": [3, 4]},
        {"type": "Permute", "dims": [2, 1]}, {"type": "Flatten"}),
]

# tf.keras 2's UpSampling2D loses both sizes when one is unknown; UpSampling1D/3D keep them.
DISCRETIZE = {"type": "Discretization", "bin_boundaries": [-1.0, -0.3, 0.3, 1.0]}

TF_KERAS_2 = [
    seq("upsample2d_bilinear_unknown_height", [None, 4, 3],
        {"type": "UpSampling2D", "size": [2, 3], "interpolation": "bilinear"}, forward=False),
    seq("upsample2d_channels_first_unknown_width", [3, 4, None],
        {"type": "UpSampling2D", "data_format": "channels_first"}, forward=False),
    seq("upsample2d_unknown_channels", [4, 4, None], {"type": "UpSampling2D"}, forward=False),
    seq("upsample3d_unknown_depth", [None, 2, 3, 2], {"type": "UpSampling3D"}, forward=False),
    # tf.keras 2's bicubic is TensorFlow's resize_bicubic, not jax.image.resize's.
    seq("upsample2d_bicubic", [3, 4, 2], {"type": "UpSampling2D", "size": [2, 3],
                                          "interpolation": "bicubic"}),
    seq("upsample2d_bicubic_channels_first", [2, 3, 3],
        {"type": "UpSampling2D", "size": 2, "interpolation": "bicubic",
         "data_format": "channels_first"}),
    # Interpolated integers (Discretization's indices): Keras 3 rounds them, ties to even, and
    # keeps integers; tf.keras 2 gives floats.
    seq("upsample2d_bilinear_of_integers", [3, 4, 1], DISCRETIZE,
        {"type": "UpSampling2D", "size": [2, 4], "interpolation": "bilinear"}),
    seq("upsample2d_lanczos3_of_integers", [3, 4, 1], DISCRETIZE,
        {"type": "UpSampling2D", "size": 3, "interpolation": "lanczos3"}),
]

CASES = tf_keras_2_cases(
    [*FLATTEN, *RESHAPE, *PERMUTE, *REPEAT, *PADDING, *CROPPING, *UPSAMPLING, *PIPELINES,
     *TF_KERAS_2],
    ["upsample2d_unknown", *(c["id"] for c in TF_KERAS_2)])
