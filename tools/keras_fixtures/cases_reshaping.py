"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, ZeroPadding, Cropping, UpSampling."""

from build import seq

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

CASES = [*FLATTEN]
