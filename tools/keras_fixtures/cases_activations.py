"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax."""

from build import seq

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

CASES = [*RELU, *LEAKY, *ELU, *PRELU, *SOFTMAX]
