"""Pooling: Max/AveragePooling1D/2D/3D, GlobalMax/GlobalAveragePooling1D/2D/3D and
AdaptiveMax/AdaptiveAveragePooling1D/2D/3D. With tf.keras 2, only the 'same' windows that the
strides step past (``STRIDES_PAST_WINDOWS``), where its 3-D pooling places them otherwise."""

from build import seq, tf_keras_2_cases


def pool(kind: str, **args) -> dict:
    return {"type": kind, **args}


WINDOWED = [
    # MaxPooling: default pool_size, strides default to pool_size, both paddings and formats.
    seq("max1d_default", [9, 3], pool("MaxPooling1D")),
    seq("max1d_pool3_stride2_same", [9, 3], pool("MaxPooling1D", pool_size=3, strides=2,
                                                 padding="same")),
    seq("max1d_stride1", [6, 2], pool("MaxPooling1D", pool_size=3, strides=1)),
    seq("max1d_channels_first", [3, 9], pool("MaxPooling1D", data_format="channels_first")),
    seq("max1d_unknown_steps", [None, 3], pool("MaxPooling1D"), forward=False),
    seq("max2d_default", [7, 8, 3], pool("MaxPooling2D")),
    seq("max2d_pool3_stride2_same", [7, 8, 2],
        pool("MaxPooling2D", pool_size=3, strides=2, padding="same")),
    seq("max2d_same_even_pool", [5, 5, 2], pool("MaxPooling2D", pool_size=2, strides=1,
                                                padding="same")),
    seq("max2d_rectangular", [6, 9, 2], pool("MaxPooling2D", pool_size=(2, 3),
                                             strides=(1, 2))),
    seq("max2d_strides_over_pool", [9, 9, 1], pool("MaxPooling2D", pool_size=2, strides=3)),
    seq("max2d_channels_first_same", [3, 7, 5],
        pool("MaxPooling2D", pool_size=3, padding="same", data_format="channels_first")),
    seq("max2d_synonym", [6, 6, 2], pool("MaxPool2D", name="synonym", pool_size=3)),
    seq("max2d_unknown_channels", [6, 6, None], pool("MaxPooling2D"), forward=False),
    seq("max2d_unknown_height", [None, 6, 3], pool("MaxPooling2D", padding="same"),
        forward=False),
    seq("max2d_after_conv", [10, 10, 3], {"type": "Conv2D", "filters": 4, "kernel_size": 3},
        pool("MaxPooling2D"), {"type": "Conv2D", "filters": 2, "kernel_size": 3,
                               "padding": "same"}, pool("MaxPooling2D")),
    seq("max3d_default", [4, 5, 6, 2], pool("MaxPooling3D")),
    seq("max3d_same_channels_first", [2, 5, 4, 3],
        pool("MaxPooling3D", pool_size=(3, 2, 2), strides=(2, 1, 2), padding="same",
             data_format="channels_first")),
    seq("max3d_synonym", [4, 4, 4, 1], pool("MaxPool3D", name="synonym")),
    seq("max1d_synonym", [6, 2], pool("MaxPool1D", name="synonym", pool_size=3)),
    # AveragePooling: 'same' divides by the number of unpadded elements.
    seq("avg1d_valid", [9, 3], pool("AveragePooling1D", pool_size=2)),
    seq("avg1d_same_stride1", [5, 2], pool("AveragePooling1D", pool_size=3, strides=1,
                                            padding="same")),
    seq("avg1d_channels_first_same", [2, 7], pool("AveragePooling1D", pool_size=4, strides=2,
                                                 padding="same",
                                                 data_format="channels_first")),
    seq("avg2d_valid", [6, 7, 3], pool("AveragePooling2D", pool_size=2)),
    seq("avg2d_same_pool3_stride2", [7, 6, 2],
        pool("AveragePooling2D", pool_size=3, strides=2, padding="same")),
    seq("avg2d_same_even_pool_stride1", [4, 5, 2],
        pool("AveragePooling2D", pool_size=(2, 4), strides=1, padding="same")),
    seq("avg2d_channels_first", [3, 6, 6], pool("AveragePooling2D", pool_size=(3, 2),
                                                data_format="channels_first")),
    seq("avg2d_synonym", [6, 6, 2], pool("AvgPool2D", name="synonym", pool_size=2,
                                        padding="same")),
    seq("avg1d_synonym", [6, 2], pool("AvgPool1D", name="synonym", pool_size=2)),
    seq("avg3d_valid", [4, 4, 5, 2], pool("AveragePooling3D", pool_size=2)),
    seq("avg3d_same_channels_first", [2, 5, 3, 4],
        pool("AveragePooling3D", pool_size=3, strides=(2, 1, 2), padding="same",
             data_format="channels_first")),
    seq("avg3d_synonym", [4, 4, 4, 1], pool("AvgPool3D", name="synonym", pool_size=2)),
    # Refused by Keras.
    seq("max2d_pool_larger_than_input", [1, 4, 3], pool("MaxPooling2D")),
    seq("max1d_pool_larger_after_conv", [5, 2], {"type": "Conv1D", "filters": 2,
                                                 "kernel_size": 3}, pool("MaxPooling1D",
                                                                         pool_size=4)),
    seq("avg3d_pool_larger_than_input", [4, 1, 4, 2], pool("AveragePooling3D", pool_size=2)),
    seq("max2d_padding_upper_case", [8, 8, 3], pool("MaxPooling2D", padding="SAME")),
    seq("max1d_padding_causal", [8, 3], pool("MaxPooling1D", padding="causal")),
    seq("max2d_rank_too_high", [4, 4, 4, 3], pool("MaxPooling2D")),
    seq("avg1d_rank_too_low", [8], pool("AveragePooling1D", pool_size=2)),
    seq("avg2d_no_pool_size", [8, 8, 3], pool("AveragePooling2D")),
    seq("max2d_pool_size_wrong_length", [8, 8, 3], pool("MaxPooling2D", pool_size=[2, 2, 2])),
    seq("max2d_data_format_upper_case", [3, 8, 8], pool("MaxPooling2D",
                                                        data_format="CHANNELS_FIRST")),
]

GLOBAL = [
    seq("global_max1d", [6, 3], pool("GlobalMaxPooling1D")),
    seq("global_max1d_channels_first_keepdims", [3, 6],
        pool("GlobalMaxPooling1D", data_format="channels_first", keepdims=True)),
    seq("global_avg1d", [6, 3], pool("GlobalAveragePooling1D")),
    seq("global_avg1d_keepdims", [6, 3], pool("GlobalAveragePooling1D", keepdims=True)),
    seq("global_max2d", [5, 4, 3], pool("GlobalMaxPooling2D")),
    seq("global_max2d_channels_first", [3, 5, 4], pool("GlobalMaxPooling2D",
                                                       data_format="channels_first")),
    seq("global_avg2d_keepdims", [5, 4, 3], pool("GlobalAveragePooling2D", keepdims=True)),
    seq("global_avg2d_channels_first_keepdims", [3, 5, 4],
        pool("GlobalAveragePooling2D", data_format="channels_first", keepdims=True)),
    seq("global_max3d_keepdims", [3, 4, 2, 3], pool("GlobalMaxPooling3D", keepdims=True)),
    seq("global_avg3d_channels_first", [2, 3, 4, 3], pool("GlobalAveragePooling3D",
                                                          data_format="channels_first")),
    seq("global_max2d_synonym", [4, 4, 2], pool("GlobalMaxPool2D", name="synonym")),
    seq("global_avg2d_synonym", [4, 4, 2], pool("GlobalAvgPool2D", name="synonym")),
    seq("global_max1d_synonym", [4, 2], pool("GlobalMaxPool1D", name="synonym")),
    seq("global_avg1d_synonym", [4, 2], pool("GlobalAvgPool1D", name="synonym")),
    seq("global_max3d_synonym", [2, 2, 2, 2], pool("GlobalMaxPool3D", name="synonym")),
    seq("global_avg3d_synonym", [2, 2, 2, 2], pool("GlobalAvgPool3D", name="synonym")),
    seq("global_avg2d_unknown_spatial", [None, None, 3], pool("GlobalAveragePooling2D"),
        forward=False),
    seq("global_max2d_unknown_channels", [4, 4, None], pool("GlobalMaxPooling2D"),
        forward=False),
    seq("global_avg2d_classifier_head", [6, 6, 3],
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "activation": "relu"},
        pool("GlobalAveragePooling2D"), {"type": "Dense", "units": 2, "activation": "softmax"}),
    seq("global_avg2d_rank_too_high", [4, 4, 4, 3], pool("GlobalAveragePooling2D")),
    seq("global_max1d_rank_too_low", [4], pool("GlobalMaxPooling1D")),
]

ADAPTIVE = [
    # Output sizes dividing the input, not dividing it (small and big windows), and larger
    # than the input (windows overlap); both data formats; unknown spatial lengths.
    seq("adaptive_avg1d_divides", [8, 3], pool("AdaptiveAveragePooling1D", output_size=4)),
    seq("adaptive_avg1d_uneven", [7, 2], pool("AdaptiveAveragePooling1D", output_size=3)),
    seq("adaptive_max1d_upsample", [3, 2], pool("AdaptiveMaxPooling1D", output_size=5)),
    seq("adaptive_max1d_channels_first", [2, 10],
        pool("AdaptiveMaxPooling1D", output_size=(4,), data_format="channels_first")),
    seq("adaptive_avg2d_uneven", [7, 5, 3], pool("AdaptiveAveragePooling2D", output_size=(3, 2))),
    seq("adaptive_avg2d_channels_first", [2, 9, 6],
        pool("AdaptiveAveragePooling2D", output_size=4, data_format="channels_first")),
    seq("adaptive_max2d_uneven", [6, 7, 2], pool("AdaptiveMaxPooling2D", output_size=(4, 3))),
    seq("adaptive_max2d_to_one", [5, 4, 3], pool("AdaptiveMaxPooling2D", output_size=1)),
    seq("adaptive_avg3d", [5, 4, 6, 2], pool("AdaptiveAveragePooling3D", output_size=(2, 3, 4))),
    seq("adaptive_max3d_channels_first", [2, 4, 5, 3],
        pool("AdaptiveMaxPooling3D", output_size=2, data_format="channels_first")),
    seq("adaptive_avg2d_unknown_spatial", [None, None, 3],
        pool("AdaptiveAveragePooling2D", output_size=2), forward=False),
    seq("adaptive_avg2d_head", [8, 8, 3], {"type": "Conv2D", "filters": 4, "kernel_size": 3},
        pool("AdaptiveAveragePooling2D", output_size=(2, 2)), {"type": "Flatten"},
        {"type": "Dense", "units": 2}),
    seq("adaptive_max2d_output_size_triple", [6, 6, 2],
        pool("AdaptiveMaxPooling2D", output_size=(2, 2, 2))),
]

# An axis of length 0 with padding 'same': Keras builds it, 0 positions.
EMPTY_AXIS = [
    seq("max2d_same_empty_axis", [0, 4, 3], pool("MaxPooling2D", padding="same"),
        forward=False),
    seq("average1d_same_empty_axis_channels_first", [9, 0],
        pool("AveragePooling1D", pool_size=2, padding="same", data_format="channels_first"),
        forward=False),
]

# 'same' padding where the strides step past the windows, so that no padding is needed and
# the windows could start anywhere in a stride: tf.keras 2's 3-D pooling starts them
# trunc(-total/2) in (its 1-D and 2-D pooling, and Keras 3, at 0).
STRIDES_PAST_WINDOWS = [
    seq("max3d_same_strides_past_windows", [6, 6, 6, 2],
        pool("MaxPooling3D", pool_size=1, strides=3, padding="same")),
    seq("average3d_same_strides_past_windows", [10, 7, 10, 1],
        pool("AveragePooling3D", pool_size=2, strides=(5, 4, 5), padding="same")),
    seq("max3d_same_strides_past_windows_channels_first", [2, 7, 7, 7],
        pool("MaxPooling3D", pool_size=1, strides=4, padding="same",
             data_format="channels_first")),
    seq("max2d_same_strides_past_windows", [6, 10, 2],
        pool("MaxPooling2D", pool_size=(1, 2), strides=(3, 5), padding="same")),
    seq("average1d_same_strides_past_windows", [10, 2],
        pool("AveragePooling1D", pool_size=2, strides=5, padding="same")),
]

CASES = tf_keras_2_cases([*WINDOWED, *GLOBAL, *ADAPTIVE, *EMPTY_AXIS, *STRIDES_PAST_WINDOWS],
                         [c["id"] for c in STRIDES_PAST_WINDOWS])
