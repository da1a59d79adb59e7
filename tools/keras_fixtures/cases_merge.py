"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot."""

from build import case, tf_keras_2_cases


def merge(case_id: str, shapes: list[list], layer: dict, *, forward: bool = True,
          **extra: object) -> dict:
    """One merge layer over model inputs named a, b, c, ... of the given shapes."""
    names = "abcdefgh"[: len(shapes)]
    return case(case_id, dict(zip(names, shapes, strict=True)),
                [{**layer, "inputs": list(names)}], forward=forward, **extra)


ELEMENTWISE = [
    merge(f"{name.lower()}_{suffix}", shapes, {"type": name})
    for name in ("Add", "Multiply", "Average", "Maximum", "Minimum")
    for suffix, shapes in (("same", [[3, 4], [3, 4]]),
                           ("three", [[2, 3], [2, 3], [2, 3]]),
                           ("broadcast_one", [[3, 4], [1, 4]]),
                           ("lower_rank", [[3, 4], [4]]))
]

ELEMENTWISE_MORE = [
    merge("subtract", [[3, 4], [3, 4]], {"type": "Subtract"}),
    merge("subtract_broadcast", [[2, 3, 4], [3, 1]], {"type": "Subtract"}),
    merge("subtract_three_refused", [[3], [3], [3]], {"type": "Subtract"}, forward=False),
    merge("subtract_one_refused", [[3]], {"type": "Subtract"}, forward=False),
    merge("add_single_input", [[3, 4]], {"type": "Add"}),
    merge("add_images", [[4, 4, 2], [4, 4, 2]], {"type": "Add"}),
    merge("add_broadcast_both", [[3, 1], [1, 4]], {"type": "Add"}),
    merge("add_rank_gap", [[2, 3, 4], [4]], {"type": "Multiply"}),
    merge("add_unknown", [[None, 4], [5, 4]], {"type": "Add"}, forward=False),
    merge("add_unknown_and_one", [[None, 4], [1, 4]], {"type": "Add"}, forward=False),
    merge("add_mismatch", [[32, 32, 16], [30, 30, 8]], {"type": "Add"}, forward=False),
    merge("add_mismatch_channels", [[8, 8, 16], [8, 8, 32]], {"type": "Add"}, forward=False),
    merge("multiply_mismatch_three", [[4], [4], [5]], {"type": "Multiply"}, forward=False),
    merge("maximum_mismatch_lower_rank", [[3, 4], [5]], {"type": "Maximum"}, forward=False),
]

CONCATENATE = [
    merge("concat_last", [[3, 4], [3, 2]], {"type": "Concatenate"}),
    merge("concat_axis1", [[3, 4], [2, 4]], {"type": "Concatenate", "axis": 1}),
    merge("concat_three", [[2, 1], [2, 3], [2, 2]], {"type": "Concatenate", "axis": -1}),
    merge("concat_neg2", [[2, 3, 4], [5, 3, 4]], {"type": "Concatenate", "axis": -3}),
    merge("concat_images_channels", [[4, 4, 2], [4, 4, 3]], {"type": "Concatenate"}),
    merge("concat_middle", [[4, 2, 2], [4, 3, 2]], {"type": "Concatenate", "axis": 2}),
    merge("concat_single", [[3, 4]], {"type": "Concatenate"}),
    merge("concat_unknown_axis", [[None, 4], [3, 4]], {"type": "Concatenate", "axis": 1},
          forward=False),
    merge("concat_unknown_other", [[None, 4], [3, 2]], {"type": "Concatenate"}, forward=False),
    merge("concat_unknown_first_known_second", [[None, 4], [5, 2]], {"type": "Concatenate"},
          forward=False),
    merge("concat_mismatch_spatial", [[32, 32, 16], [30, 30, 8]], {"type": "Concatenate"},
          forward=False),
    merge("concat_mismatch_features", [[3, 4], [2, 4]], {"type": "Concatenate"},
          forward=False),
    merge("concat_mismatch_rank", [[3, 4], [4]], {"type": "Concatenate"}, forward=False),
    merge("concat_axis_out_of_range", [[3, 4], [3, 4]], {"type": "Concatenate", "axis": 3},
          forward=False),
    merge("concat_negative_out_of_range", [[3, 4], [3, 4]],
          {"type": "Concatenate", "axis": -4}, forward=False),
    merge("concat_mismatch_three", [[2, 3], [2, 3], [4, 3]], {"type": "Concatenate"},
          forward=False),
]

DOT = [
    merge("dot_vectors", [[4], [4]], {"type": "Dot", "axes": 1}),
    merge("dot_vectors_neg", [[4], [4]], {"type": "Dot", "axes": -1}),
    merge("dot_normalize", [[5], [5]], {"type": "Dot", "axes": 1, "normalize": True}),
    merge("dot_matmul", [[3, 4], [4, 5]], {"type": "Dot", "axes": [2, 1]}),
    merge("dot_last_axes", [[3, 4], [5, 4]], {"type": "Dot", "axes": -1}),
    merge("dot_pair_negative", [[3, 4], [4, 5]], {"type": "Dot", "axes": [-1, 1]}),
    merge("dot_first_axes", [[3, 4], [3, 5]], {"type": "Dot", "axes": 1}),
    merge("dot_seq_vector", [[3, 4], [4]], {"type": "Dot", "axes": [2, 1]}),
    merge("dot_vector_seq", [[4], [3, 4]], {"type": "Dot", "axes": [1, 2]}),
    merge("dot_rank4", [[2, 3, 4], [4, 5]], {"type": "Dot", "axes": [3, 1]}),
    merge("dot_rank4_middle", [[2, 3, 4], [3, 2, 5]], {"type": "Dot", "axes": [2, 1],
                                                        "normalize": True}),
    merge("dot_unknown_both", [[None, 4], [None, 4]], {"type": "Dot", "axes": 2},
          forward=False),
    merge("dot_unknown_contracted_both", [[3, None], [5, None]], {"type": "Dot", "axes": 2},
          forward=False),
    merge("dot_unknown_vs_known", [[3, None], [5, 4]], {"type": "Dot", "axes": 2},
          forward=False),
    merge("dot_mismatch", [[3, 4], [3, 5]], {"type": "Dot", "axes": -1}, forward=False),
    merge("dot_axis_out_of_range", [[3, 4], [3, 4]], {"type": "Dot", "axes": 3},
          forward=False),
    merge("dot_three_inputs", [[4], [4], [4]], {"type": "Dot", "axes": 1}, forward=False),
    merge("dot_axes_three", [[3, 4], [3, 4]], {"type": "Dot", "axes": [1, 1, 1]},
          forward=False),
]

PIPELINES = [
    case("residual_block", [4, 4, 2],
         [{"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": "same", "name": "c1"},
          {"type": "Conv2D", "filters": 2, "kernel_size": 1, "name": "c2"},
          {"type": "Add", "inputs": ["input", "c2"]},
          {"type": "Concatenate", "inputs": ["add", "c1"]},
          {"type": "Flatten"}, {"type": "Dense", "units": 2}], forward=True),
    case("residual_valid_padding_refused", [6, 6, 2],
         [{"type": "Conv2D", "filters": 2, "kernel_size": 3, "name": "c1"},
          {"type": "Add", "inputs": ["input", "c1"]}]),
]

# tf.keras 2's merges take their shapes from TensorFlow's ops: an unknown axis gets a known
# length above 1 of another input (broadcast, or joined by Concatenate).
TF_KERAS_2 = [
    merge("minimum_unknown_axes_on_both_sides", [[2, 2, None], [1, None, 4]],
          {"type": "Minimum"}, forward=False),
    merge("subtract_lower_rank_unknown", [[2], [4, None]], {"type": "Subtract"}, forward=False),
    merge("maximum_three_unknown", [[5, None], [None, 1], [1, 7]], {"type": "Maximum"},
          forward=False),
    merge("average_unknown_both", [[None, 3], [None, 3]], {"type": "Average"}, forward=False),
    case("subtract_unknown_then_dense", {"a": [None, 2], "b": [4, None]},
         [{"type": "Subtract", "inputs": ["a", "b"]}, {"type": "Dense", "units": 3}]),
    merge("concat_unknown_on_both_sides", [[None, 4, 2], [3, None, 1]], {"type": "Concatenate"},
          forward=False),
]

# Masked sequences: Keras 3's Maximum, Minimum and Multiply leave the masked elements of an
# input out of the result, tf.keras 2's merges compute on the values as they are; the masks
# then reach the GRU after the merge (Keras 3: their OR where every input has one; tf.keras 2:
# the AND of those present). About a third of the steps of each input are padding.
MASKED = [
    case(f"{kind.lower()}_masked_and_unmasked", {"a": [6, 3], "b": [6, 3]},
         [{"type": "Masking", "mask_value": 0.0, "inputs": "a"},
          {"type": "Dense", "units": 3, "inputs": "b"},
          {"type": kind, "inputs": ["masking", "dense"]},
          {"type": "GRU", "units": 2}], forward=True, masked_steps=0.0, batch=3)
    for kind in ("Maximum", "Minimum", "Multiply", "Add")
] + [
    case("maximum_both_masked", {"a": [6, 3], "b": [6, 3]},
         [{"type": "Masking", "mask_value": 0.0, "inputs": "a"},
          {"type": "Masking", "mask_value": 0.0, "inputs": "b"},
          {"type": "Maximum", "inputs": ["masking", "masking_1"]},
          {"type": "GRU", "units": 2}], forward=True, masked_steps=0.0, batch=3),
]

CASES = tf_keras_2_cases(
    [*ELEMENTWISE, *ELEMENTWISE_MORE, *CONCATENATE, *DOT, *PIPELINES, *TF_KERAS_2, *MASKED],
    ["add_unknown", "add_unknown_and_one", "concat_unknown_axis", "concat_unknown_other",
     "concat_unknown_first_known_second", *(c["id"] for c in TF_KERAS_2),
     *(c["id"] for c in MASKED)])
