"""Normalization layers: BatchNormalization, LayerNormalization, RMSNormalization,
GroupNormalization, UnitNormalization, SpectralNormalization."""

from build import case, seq

BN = "BatchNormalization"
LN = "LayerNormalization"

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
]
