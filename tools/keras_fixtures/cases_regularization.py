"""Regularization layers (identity at inference) and Masking."""

from build import seq, tf_keras_2_cases

DROPOUT = [
    seq("dropout", [6], {"type": "Dropout", "rate": 0.5}),
    seq("dropout_zero", [6], {"type": "Dropout", "rate": 0.0}),
    seq("dropout_one", [6], {"type": "Dropout", "rate": 1.0}),
    seq("dropout_noise_shape", [3, 4], {"type": "Dropout", "rate": 0.3,
                                        "noise_shape": [None, 1, 4], "seed": 7}),
    seq("dropout_between_dense", [5], {"type": "Dense", "units": 4},
        {"type": "Dropout", "rate": 0.25}, {"type": "Dense", "units": 2}),
    seq("dropout_unknown", [None, 3], {"type": "Dropout", "rate": 0.2}, forward=False),
    seq("dropout_rate_above_one", [6], {"type": "Dropout", "rate": 1.5}, forward=False),
    seq("dropout_rate_negative", [6], {"type": "Dropout", "rate": -0.1}, forward=False),
    seq("dropout_noise_shape_zero", [6], {"type": "Dropout", "rate": 0.1,
                                          "noise_shape": [None, 0]}, forward=False),
]

NOISE = [
    seq("gaussian_noise", [3, 4], {"type": "GaussianNoise", "stddev": 0.5}),
    seq("gaussian_noise_seed", [4], {"type": "GaussianNoise", "stddev": 1.0, "seed": 3}),
    seq("gaussian_noise_too_large", [4], {"type": "GaussianNoise", "stddev": 2.0},
        forward=False),
    seq("gaussian_dropout", [3, 4], {"type": "GaussianDropout", "rate": 0.4}),
    seq("gaussian_dropout_refused", [4], {"type": "GaussianDropout", "rate": 1.2},
        forward=False),
    seq("alpha_dropout", [6], {"type": "AlphaDropout", "rate": 0.1}),
    seq("alpha_dropout_noise_shape", [2, 3], {"type": "AlphaDropout", "rate": 0.1,
                                              "noise_shape": [None, 2, 1]}),
    seq("alpha_dropout_refused", [6], {"type": "AlphaDropout", "rate": -0.5}, forward=False),
]

SPATIAL = [
    seq("spatial_dropout1d", [5, 3], {"type": "SpatialDropout1D", "rate": 0.3}),
    seq("spatial_dropout1d_rank2_refused", [5], {"type": "SpatialDropout1D", "rate": 0.3},
        forward=False),
    seq("spatial_dropout1d_rank4_refused", [5, 3, 2], {"type": "SpatialDropout1D",
                                                       "rate": 0.3}, forward=False),
    seq("spatial_dropout2d", [4, 4, 2], {"type": "SpatialDropout2D", "rate": 0.2}),
    seq("spatial_dropout2d_channels_first", [2, 4, 4],
        {"type": "SpatialDropout2D", "rate": 0.2, "data_format": "channels_first"}),
    seq("spatial_dropout2d_rank3_refused", [4, 4], {"type": "SpatialDropout2D", "rate": 0.2},
        forward=False),
    seq("spatial_dropout3d", [2, 3, 2, 2], {"type": "SpatialDropout3D", "rate": 0.2}),
    seq("spatial_dropout3d_rank4_refused", [3, 2, 2], {"type": "SpatialDropout3D",
                                                       "rate": 0.2}, forward=False),
    seq("spatial_dropout2d_unknown", [None, None, 3], {"type": "SpatialDropout2D",
                                                       "rate": 0.5}, forward=False),
    seq("spatial_dropout_refused_rate", [5, 3], {"type": "SpatialDropout1D", "rate": 3.0},
        forward=False),
]

ACTIVITY = [
    seq("activity_regularization", [4], {"type": "ActivityRegularization", "l1": 0.01,
                                         "l2": 0.02}),
    seq("activity_regularization_default", [2, 3], {"type": "ActivityRegularization"}),
    seq("activity_regularization_negative", [4], {"type": "ActivityRegularization",
                                                  "l1": -1.0}, forward=False),
]

MASKING = [
    seq("masking_default", [5, 3], {"type": "Masking"}),
    seq("masking_value", [5, 3], {"type": "Masking", "mask_value": 0.5},
        int_inputs=2),
    seq("masking_zeros", [4, 2], {"type": "Masking"}, int_inputs=2),
    seq("masking_then_dense", [4, 2], {"type": "Masking", "mask_value": 1.0},
        {"type": "Dense", "units": 3}, int_inputs=2),
]

# tf.keras 2 takes any GaussianNoise stddev (Keras 3: 0 to 1).
CASES = tf_keras_2_cases([*DROPOUT, *NOISE, *SPATIAL, *ACTIVITY, *MASKING],
                         ["gaussian_noise", "gaussian_noise_too_large"])
