"""Normalization layers: BatchNormalization, LayerNormalization, RMSNormalization,
GroupNormalization, UnitNormalization, SpectralNormalization. tf.keras 2 records only the
SpectralNormalization cases (its wrapped layer is tf.keras 2's, and it lists its weights in
another order) and repeated axes (it refuses to build them)."""

from build import case, seq, tf_keras_2_cases

BN = "BatchNormalization"
LN = "LayerNormalization"
RMS = "RMSNormalization"
GN = "GroupNormalization"
UNIT = "UnitNormalization"
SN = "SpectralNormalization"

DISCRETIZE = {"type": "Discretization", "bin_boundaries": [-0.5, 0.5, 1.0]}
DENSE_3 = {"type": "Dense", "units": 3}

CASES = [
    # BatchNormalization: one axis, moving statistics at inference.
    seq("bn_dense_features", [6], {"type": BN}),
    seq("bn_last_axis_4d", [4, 4, 3], {"type": BN, "epsilon": 0.01}),
    seq("bn_channels_first_axis1", [3, 4, 4], {"type": BN, "axis": 1}),
    seq("bn_middle_axis_negative", [3, 4, 5], {"type": BN, "axis": -2}),
    seq("bn_no_center", [4, 5], {"type": BN, "center": False}),
    seq("bn_no_scale", [4, 5], {"type": BN, "scale": False}),
    seq("bn_no_center_no_scale", [5], {"type": BN, "center": False, "scale": False}),
    seq("bn_frozen", [2, 3], {"type": BN, "trainable": False}),
    seq("bn_renorm", [4], {"type": BN, "renorm": True, "momentum": 0.9}),
    seq("bn_after_conv", [5, 5, 2], {"type": "Conv2D", "filters": 4, "kernel_size": 3},
        {"type": BN}, {"type": "Dense", "units": 2}),
    seq("bn_unknown_steps", [None, 3], {"type": BN}, forward=False),
    seq("bn_axis_out_of_range", [4, 5], {"type": BN, "axis": 3}),
    seq("bn_axis_negative_out_of_range", [4, 5], {"type": BN, "axis": -4}),
    seq("bn_axis_is_batch", [4, 5], {"type": BN, "axis": 0}),
    seq("bn_unknown_channels", [None], {"type": BN}),
    seq("bn_axis_list_refused", [4, 5], {"type": BN, "axis": [1, 2]}),
    case("bn_in_graph_two_outputs", {"a": [3], "b": [3]},
         [{"type": BN, "name": "bn", "inputs": "a"}, {"type": "Dense", "units": 3, "inputs": "b",
                                                      "name": "d"}],
         outputs=["bn", "d"]),
    # LayerNormalization: per-sample statistics over one or several axes.
    seq("ln_last_axis", [3, 8], {"type": LN}),
    seq("ln_2d", [6], {"type": LN, "epsilon": 1e-5}),
    seq("ln_axis_list", [3, 4, 5], {"type": LN, "axis": [1, 2]}),
    seq("ln_axis_list_unsorted", [3, 4, 5], {"type": LN, "axis": [3, 1]}),
    seq("ln_axis_mixed_signs", [3, 4], {"type": LN, "axis": [-1, 1]}),
    seq("ln_axis_middle", [3, 4, 5], {"type": LN, "axis": 2}),
    seq("ln_all_feature_axes", [2, 3, 4], {"type": LN, "axis": [-3, -2, -1]}),
    seq("ln_no_center", [3, 4], {"type": LN, "center": False}),
    seq("ln_no_scale", [3, 4], {"type": LN, "scale": False}),
    seq("ln_no_center_no_scale", [3, 4], {"type": LN, "center": False, "scale": False}),
    seq("ln_rms_scaling", [3, 4], {"type": LN, "rms_scaling": True}),
    seq("ln_rms_scaling_no_scale", [3, 4], {"type": LN, "rms_scaling": True, "scale": False,
                                            "center": False}),
    seq("ln_frozen", [4], {"type": LN, "trainable": False}),
    seq("ln_unknown_steps", [None, 4], {"type": LN}, forward=False),
    seq("ln_unknown_normalised_axis", [4, None], {"type": LN}),
    seq("ln_axis_out_of_range", [4], {"type": LN, "axis": 2}),
    seq("ln_axis_list_out_of_range", [3, 4], {"type": LN, "axis": [1, 3]}),
    # Two axes naming the same one: Keras 3 builds the layer (its weights shaped by the axes
    # as listed) and the Dense after it, and only predict fails; tf.keras 2 refuses to build.
    seq("ln_axis_repeated", [4, 6], {"type": LN, "axis": [-1, 2]}, {"type": "Dense", "units": 3}),
    seq("ln_axis_repeated_negative_first", [4, 6], {"type": LN, "axis": [1, -2]},
        {"type": "Dense", "units": 3}),
    # RMSNormalization: root mean square over the axes, times scale. (Keras builds it on a
    # middle axis whose scale does not broadcast, but predict fails: shapecheck refuses it.)
    seq("rms_last_axis", [3, 6], {"type": RMS}),
    seq("rms_epsilon", [5], {"type": RMS, "epsilon": 0.1}),
    seq("rms_axis_list", [3, 4], {"type": RMS, "axis": [1, 2]}),
    seq("rms_axis_out_of_range", [3], {"type": RMS, "axis": 2}),
    seq("rms_axis_repeated", [4, 6], {"type": RMS, "axis": [1, -2]},
        {"type": "Dense", "units": 3}),
    # GroupNormalization: groups must divide the channels.
    seq("gn_two_groups", [4, 4, 6], {"type": GN, "groups": 2}),
    seq("gn_one_group", [3, 4], {"type": GN, "groups": 1}),
    seq("gn_instance", [3, 3, 4], {"type": GN, "groups": -1}),
    seq("gn_groups_equal_channels", [5, 4], {"type": GN, "groups": 4, "epsilon": 0.01}),
    seq("gn_channels_first", [6, 3, 3], {"type": GN, "groups": 3, "axis": 1}),
    seq("gn_middle_axis_negative", [3, 6, 2], {"type": GN, "groups": 2, "axis": -2}),
    seq("gn_no_center_no_scale", [2, 4], {"type": GN, "groups": 2, "center": False,
                                          "scale": False}),
    seq("gn_no_scale", [2, 4], {"type": GN, "groups": 2, "scale": False}),
    seq("gn_default_32_groups", [64], {"type": GN}),
    seq("gn_unknown_spatial", [None, 4], {"type": GN, "groups": 2}, forward=False),
    seq("gn_groups_not_dividing", [4, 6], {"type": GN, "groups": 4}),
    seq("gn_more_groups_than_channels", [4, 6], {"type": GN, "groups": 8}),
    seq("gn_default_groups_too_many", [16], {"type": GN}),
    seq("gn_groups_zero", [4, 6], {"type": GN, "groups": 0}),
    seq("gn_groups_below_minus_one", [4, 6], {"type": GN, "groups": -2}),
    seq("gn_unknown_channels", [None], {"type": GN, "groups": 1}),
    seq("gn_axis_out_of_range", [4], {"type": GN, "groups": 2, "axis": 3}),
    # UnitNormalization: L2 norm over the axes, no weights.
    seq("unit_last_axis", [3, 5], {"type": UNIT}),
    seq("unit_axis_list", [3, 5], {"type": UNIT, "axis": [1, 2]}),
    seq("unit_axis_first", [3, 5], {"type": UNIT, "axis": 1}),
    seq("unit_unknown_axis", [None], {"type": UNIT}, forward=False),
    seq("unit_axis_out_of_range", [3, 5], {"type": UNIT, "axis": 3}),
    seq("unit_axis_repeated", [4, 6], {"type": UNIT, "axis": [2, 2]},
        {"type": "Dense", "units": 3}),
    # SpectralNormalization: the wrapped layer runs unchanged at inference.
    seq("sn_dense", [4], {"type": SN, "layer": {"type": "Dense", "units": 3}}),
    seq("sn_dense_3d_no_bias", [2, 4], {"type": SN, "layer": {"type": "Dense", "units": 3,
                                                             "use_bias": False}}),
    seq("sn_conv2d", [5, 5, 2], {"type": SN, "power_iterations": 3,
                                 "layer": {"type": "Conv2D", "filters": 3, "kernel_size": 2,
                                           "activation": "relu"}}),
    seq("sn_embedding", [4], {"type": SN, "layer": {"type": "Embedding", "input_dim": 10,
                                                    "output_dim": 3}}, int_inputs=10),
    seq("sn_frozen", [4], {"type": SN, "trainable": False,
                           "layer": {"type": "Dense", "units": 2}}),
    seq("sn_inner_frozen", [4], {"type": SN, "layer": {"type": "Dense", "units": 2,
                                                       "trainable": False}}),
    seq("sn_without_kernel", [4], {"type": SN, "layer": {"type": BN}}),
    seq("sn_power_iterations_zero", [4], {"type": SN, "power_iterations": 0,
                                          "layer": {"type": "Dense", "units": 2}}),
    seq("sn_unknown_features", [None], {"type": SN, "layer": {"type": "Dense", "units": 2}}),
    # keras.applications helper layers (ConvNeXt, InceptionResNetV2).
    seq("layer_scale", [4, 4, 6], {"type": "LayerScale", "init_values": 1e-6,
                                   "projection_dim": 6}),
    seq("layer_scale_dense", [6], {"type": "Dense", "units": 8},
        {"type": "LayerScale", "init_values": 0.1, "projection_dim": 8}),
    seq("layer_scale_broadcasts_one_channel", [3, 1], {"type": "LayerScale", "init_values": 0.5,
                                                       "projection_dim": 4}),
    seq("layer_scale_wrong_channels", [3, 5], {"type": "LayerScale", "init_values": 0.5,
                                               "projection_dim": 4}),
    case("custom_scale_layer", {"shortcut": [4, 4, 3], "residual": [4, 4, 3]},
         [{"type": "CustomScaleLayer", "scale": 0.17, "inputs": ["shortcut", "residual"]}],
         forward=True),
    case("custom_scale_layer_broadcast", {"shortcut": [4, 4, 3], "residual": [4, 4, 1]},
         [{"type": "CustomScaleLayer", "scale": 1.0, "inputs": ["shortcut", "residual"]}],
         forward=True),
    case("custom_scale_layer_mismatch", {"shortcut": [4, 4, 3], "residual": [4, 4, 2]},
         [{"type": "CustomScaleLayer", "scale": 0.1, "inputs": ["shortcut", "residual"]}]),
    seq("stochastic_depth", [3, 4], {"type": "StochasticDepth", "drop_path_rate": 0.2}),
    # Keras 3 casts SpectralNormalization's output to its input's dtype: after Discretization's
    # integer indices, predict truncates the wrapped Dense's outputs, also where the indices
    # pass through layers that keep integers; not once a Dense made them floats. tf.keras 2
    # gives the floats.
    seq("sn_after_discretization", [4], DISCRETIZE, {"type": SN, "layer": DENSE_3}),
    seq("sn_after_integers_reshaped", [4], DISCRETIZE, {"type": "Reshape", "target_shape": [2, 2]},
        {"type": "MaxPooling1D", "pool_size": 1}, {"type": "Flatten"}, {"type": "ReLU"},
        {"type": "Dropout", "rate": 0.5}, {"type": SN, "layer": DENSE_3}),
    seq("sn_after_integers_made_floats", [4], DISCRETIZE, {"type": "Dense", "units": 4},
        {"type": SN, "layer": DENSE_3}),
    # Keras 3 also casts normalised values to an integer input's dtype: LayerNormalization and
    # GroupNormalization then give floats, RMSNormalization integers; UnitNormalization fails.
    # tf.keras 2 normalises integers as floats, and refuses to build a GroupNormalization on
    # them (its build traces the call): recorded in dtypes.json (int32_group_norm).
    seq("ln_after_discretization", [4], DISCRETIZE, {"type": LN}, DENSE_3),
    seq("rms_after_discretization", [4], DISCRETIZE, {"type": RMS}, DENSE_3),
    seq("gn_after_discretization", [4], DISCRETIZE, {"type": GN, "groups": 2}, DENSE_3),
    seq("unit_after_discretization", [4], DISCRETIZE, {"type": UNIT}, DENSE_3),
]

# tf.keras 2's get_weights() of SpectralNormalization lists the kernel, the wrapped layer's
# other weights, then vector_u (Keras 3: kernel, vector_u, the rest); and its hard_sigmoid
# (clip(0.2x + 0.5)) is not Keras 3's (clip(x / 6 + 0.5)), inside the wrapper too.
TF_KERAS_2 = [
    seq("sn_conv2d_no_bias", [5, 5, 2], {"type": SN, "layer": {"type": "Conv2D", "filters": 3,
                                                                "kernel_size": 2,
                                                                "use_bias": False}}),
    seq("sn_conv2d_transpose", [3, 3, 2], {"type": SN, "layer": {"type": "Conv2DTranspose",
                                                                  "filters": 4,
                                                                  "kernel_size": 2}}),
    seq("sn_dense_hard_sigmoid", [4], {"type": SN, "layer": {"type": "Dense", "units": 3,
                                                             "activation": "hard_sigmoid"}}),
    seq("td_sn_dense_hard_sigmoid", [3, 4],
        {"type": "TimeDistributed", "layer": {
            "type": SN, "layer": {"type": "Dense", "units": 2, "activation": "hard_sigmoid"}}}),
    # tf.keras 2 trains the kernel of a frozen wrapped layer (the wrapper tracks it), and its
    # get_weights() lists that kernel twice: no weights to replay, only the counts.
    seq("sn_conv2d_inner_frozen", [5, 5, 2],
        {"type": SN, "layer": {"type": "Conv2D", "filters": 3, "kernel_size": 2,
                               "trainable": False}}, forward=False),
    # tf.keras 2's DepthwiseConv2D calls its kernel depthwise_kernel: SpectralNormalization
    # refuses it there (Keras 3 wraps it).
    seq("sn_depthwise_conv2d", [5, 5, 2], {"type": SN, "layer": {"type": "DepthwiseConv2D",
                                                                  "kernel_size": 2}}),
]

# RMSNormalization over an axis that is not the last: Keras multiplies by a scale of that
# axis's size lined up with the last axis, which broadcasts (7, 1) to (7, 7) (found by
# tools/fuzz_engine.py: the forward pass gave a shape the shape rule did not).
RMS_SCALE_BROADCASTS = [
    seq("rms_axis_1_broadcasts", [7, 1], {"type": "RMSNormalization", "axis": 1}),
    seq("rms_axis_1_then_dropout", [7, 1], {"type": "RMSNormalization", "axis": -2,
                                            "epsilon": 1e-3},
        {"type": "SpatialDropout1D", "rate": 0.3}),
]

CASES = tf_keras_2_cases(
    [*CASES, *TF_KERAS_2, *RMS_SCALE_BROADCASTS],
    ["sn_dense", "sn_dense_3d_no_bias", "sn_conv2d", "sn_embedding", "sn_frozen",
     "ln_axis_repeated", "ln_axis_repeated_negative_first", "unit_axis_repeated",
     "sn_after_discretization", "sn_after_integers_reshaped", "sn_after_integers_made_floats",
     "ln_after_discretization", "unit_after_discretization",
     *(c["id"] for c in TF_KERAS_2)])
