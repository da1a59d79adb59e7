"""Hashing, HashedCrossing, StringLookup, IntegerLookup and TextVectorization, which need
TensorFlow in Keras: shapes, and IntegerLookup's kernel (``ran``). Generated twice with the
TensorFlow virtualenv, which also holds JAX (``pip install jax``) for Keras 3, whose backend
shapecheck follows (its predict gives IntegerLookup's indices as int32):

    KERAS_BACKEND=jax /work/devenv/tfkeras/bin/python \
        tools/keras_fixtures/generate.py preprocessing_tf   # Keras 3 -> tests/fixtures/keras3/
    TF_USE_LEGACY_KERAS=1 /work/devenv/tfkeras/bin/python \
        tools/keras_fixtures/generate.py preprocessing_tf   # tf.keras 2 -> tests/fixtures/tfkeras2/

The two disagree on inputs that are not one value per sample ((batch,) or (batch, 1)): Keras 3
encodes each value, tf.keras 2 encodes the values of each sample into one vector and refuses
outputs above rank 2; the ``*_rows``, ``*_scalar`` and ``*_3d`` cases show it.

A ragged TextVectorization builds on the TensorFlow backend only: its cases are
``cases_text_ragged.py``.
"""

from build import case, seq

NEEDS_TENSORFLOW = True

STR = {"input_dtype": "string", "forward": False}
INT = {"input_dtype": "int64", "forward": False}
ABC = ["a", "b", "c"]


def strings(case_id: str, shape: list, *after: dict, **layer: object) -> dict:
    """A StringLookup with ``layer`` arguments on string inputs, then the ``after`` layers."""
    return seq(case_id, shape, {"type": "StringLookup", **layer}, *after, **STR)


def integers(case_id: str, shape: list, **layer: object) -> dict:
    return seq(case_id, shape, {"type": "IntegerLookup", **layer}, **INT)


RUN = {"input_dtype": "int64", "int_inputs": 8}


def ran(case_id: str, shape: list | None = None, **layer: object) -> dict:
    """An IntegerLookup run by predict on integers below 8 (3 per sample by default)."""
    return seq(case_id, shape or [3], {"type": "IntegerLookup", **layer}, **RUN)


def text(case_id: str, shape: list, *after: dict, **layer: object) -> dict:
    return seq(case_id, shape, {"type": "TextVectorization", **layer}, *after, **STR)


CASES = [
    # Hashing
    seq("hashing_int", [3], {"type": "Hashing", "num_bins": 5}, **INT),
    seq("hashing_strings", [3], {"type": "Hashing", "num_bins": 5, "salt": 7}, **STR),
    seq("hashing_one_hot_column", [1], {"type": "Hashing", "num_bins": 5,
                                        "output_mode": "one_hot"}, **INT),
    seq("hashing_one_hot_row", [3], {"type": "Hashing", "num_bins": 5,
                                     "output_mode": "one_hot"}, **INT),
    seq("hashing_multi_hot", [3], {"type": "Hashing", "num_bins": 4,
                                   "output_mode": "multi_hot"}, **INT),
    seq("hashing_count_3d", [2, 3], {"type": "Hashing", "num_bins": 4,
                                     "output_mode": "count"}, **STR),
    seq("hashing_then_embedding", [3], {"type": "Hashing", "num_bins": 10},
        {"type": "Embedding", "input_dim": 10, "output_dim": 2}, **STR),
    seq("hashing_zero_bins", [3], {"type": "Hashing", "num_bins": 0}, **INT),
    seq("hashing_one_hot_scalar", [], {"type": "Hashing", "num_bins": 5,
                                       "output_mode": "one_hot"}, **INT),
    seq("hashing_multi_hot_scalar", [], {"type": "Hashing", "num_bins": 4,
                                         "output_mode": "multi_hot"}, **INT),
    seq("hashing_count_rows", [3], {"type": "Hashing", "num_bins": 4, "output_mode": "count"},
        **STR),
    seq("hashing_int_3d", [2, 3], {"type": "Hashing", "num_bins": 4}, **INT),
    seq("hashing_bad_mode", [3], {"type": "Hashing", "num_bins": 3, "output_mode": "tf_idf"},
        **INT),
    # HashedCrossing: a list of two features.
    case("hashed_crossing_int", {"a": [1], "b": [1]},
         [{"type": "HashedCrossing", "num_bins": 5, "inputs": ["a", "b"]}], **INT),
    case("hashed_crossing_one_hot_column", {"a": [1], "b": [1]},
         [{"type": "HashedCrossing", "num_bins": 5, "output_mode": "one_hot",
           "inputs": ["a", "b"]}], **STR),
    case("hashed_crossing_one_hot_rows", {"a": [3], "b": [3]},
         [{"type": "HashedCrossing", "num_bins": 4, "output_mode": "one_hot",
           "inputs": ["a", "b"]}], **INT),
    case("hashed_crossing_scalars", {"a": [], "b": []},
         [{"type": "HashedCrossing", "num_bins": 4, "output_mode": "one_hot",
           "inputs": ["a", "b"]}], **INT),
    case("hashed_crossing_int_rows", {"a": [3], "b": [3]},
         [{"type": "HashedCrossing", "num_bins": 4, "inputs": ["a", "b"]}], **INT),
    case("hashed_crossing_sizes_differ", {"a": [3], "b": [2]},
         [{"type": "HashedCrossing", "num_bins": 4, "inputs": ["a", "b"]}], **INT),
    case("hashed_crossing_bad_mode", {"a": [1], "b": [1]},
         [{"type": "HashedCrossing", "num_bins": 4, "output_mode": "multi_hot",
           "inputs": ["a", "b"]}], **INT),
    # StringLookup
    strings("string_lookup_int", [4], vocabulary=ABC),
    strings("string_lookup_int_3d", [2, 4], vocabulary=ABC, mask_token=""),
    strings("string_lookup_one_hot", [4], vocabulary=ABC, output_mode="one_hot"),
    strings("string_lookup_one_hot_column", [1], vocabulary=ABC, output_mode="one_hot"),
    strings("string_lookup_multi_hot", [4], vocabulary=ABC, output_mode="multi_hot"),
    strings("string_lookup_multi_hot_scalar", [], vocabulary=ABC, output_mode="multi_hot"),
    strings("string_lookup_one_hot_scalar", [], vocabulary=ABC, output_mode="one_hot"),
    strings("string_lookup_one_hot_3d", [2, 1], vocabulary=ABC, output_mode="one_hot"),
    strings("string_lookup_tf_idf_3d", [2, 4], vocabulary=ABC, output_mode="tf_idf",
            idf_weights=[1.0, 2.0, 3.0]),
    strings("string_lookup_count_3d", [2, 4], vocabulary=ABC, output_mode="count"),
    strings("string_lookup_tf_idf", [4], vocabulary=ABC, output_mode="tf_idf",
            idf_weights=[1.0, 2.0, 3.0]),
    strings("string_lookup_mask_not_counted", [4], vocabulary=ABC, mask_token="",
            output_mode="multi_hot"),
    strings("string_lookup_two_oov", [4], vocabulary=ABC, num_oov_indices=2,
            output_mode="count"),
    strings("string_lookup_no_oov", [4], vocabulary=ABC, num_oov_indices=0,
            output_mode="multi_hot"),
    strings("string_lookup_vocab_with_oov_token", [4], vocabulary=["[UNK]", *ABC],
            output_mode="multi_hot"),
    strings("string_lookup_vocab_with_mask_and_oov", [4], vocabulary=["", "[UNK]", *ABC],
            mask_token=""),
    strings("string_lookup_padded", [4], max_tokens=10, pad_to_max_tokens=True,
            output_mode="multi_hot"),
    strings("string_lookup_no_vocabulary", [4], output_mode="multi_hot"),
    strings("string_lookup_no_vocabulary_int", [4]),
    strings("string_lookup_binary_alias", [4], vocabulary=ABC, output_mode="binary"),
    strings("string_lookup_then_dense", [4], {"type": "Dense", "units": 2}, vocabulary=ABC,
            output_mode="multi_hot"),
    seq("string_lookup_invert", [4], {"type": "StringLookup", "vocabulary": ABC,
                                      "invert": True}, **INT),
    strings("string_lookup_pad_without_max", [4], pad_to_max_tokens=True,
            output_mode="count"),
    strings("string_lookup_invert_multi_hot", [4], vocabulary=ABC, invert=True,
            output_mode="multi_hot"),
    strings("string_lookup_vocab_over_max", [4], vocabulary=ABC, max_tokens=3),
    strings("string_lookup_empty_vocab", [4], vocabulary=[]),
    strings("string_lookup_repeated_tokens", [4], vocabulary=["a", "b", "a"]),
    strings("string_lookup_idf_without_tf_idf", [4], vocabulary=ABC,
            idf_weights=[1.0, 1.0, 1.0]),
    strings("string_lookup_tf_idf_without_idf", [4], vocabulary=ABC, output_mode="tf_idf"),
    strings("string_lookup_max_tokens_one", [4], max_tokens=1),
    strings("string_lookup_negative_oov", [4], vocabulary=ABC, num_oov_indices=-1),
    # IntegerLookup
    integers("integer_lookup_int", [3], vocabulary=[4, 5, 6]),
    integers("integer_lookup_count", [3], vocabulary=[4, 5, 6], output_mode="count"),
    integers("integer_lookup_one_hot", [3], vocabulary=[4, 5, 6], output_mode="one_hot"),
    integers("integer_lookup_one_hot_column", [1], vocabulary=[4, 5, 6], output_mode="one_hot"),
    integers("integer_lookup_multi_hot_3d", [2, 3], vocabulary=[4, 5, 6],
             output_mode="multi_hot"),
    integers("integer_lookup_int_3d", [2, 3], vocabulary=[4, 5, 6]),
    integers("integer_lookup_mask", [3], vocabulary=[4, 5, 6], mask_token=0,
             output_mode="multi_hot"),
    integers("integer_lookup_vocab_with_oov", [3], vocabulary=[-1, 4, 5],
             output_mode="multi_hot"),
    integers("integer_lookup_padded", [3], max_tokens=8, pad_to_max_tokens=True,
             output_mode="one_hot"),
    # TextVectorization
    text("text_int_sequence", [1], max_tokens=10, output_sequence_length=5),
    text("text_int_scalar_input", [], vocabulary=ABC, output_sequence_length=4),
    text("text_int_ragged_length", [1], max_tokens=10),
    text("text_multi_hot", [1], vocabulary=ABC, output_mode="multi_hot"),
    text("text_multi_hot_scalar_input", [], vocabulary=ABC, output_mode="multi_hot"),
    text("text_count_padded", [1], max_tokens=12, output_mode="count", pad_to_max_tokens=True),
    text("text_tf_idf", [], vocabulary=ABC, output_mode="tf_idf", idf_weights=[1.0, 1.0, 2.0]),
    text("text_no_split", [1], vocabulary=ABC, split=None, output_mode="multi_hot"),
    text("text_no_split_scalar", [], vocabulary=ABC, split=None, output_mode="count"),
    text("text_no_vocabulary_multi_hot", [1], max_tokens=10, output_mode="multi_hot"),
    text("text_then_embedding", [1], {"type": "Embedding", "input_dim": 20, "output_dim": 3},
         max_tokens=20, output_sequence_length=6),
    text("text_sequence_length_with_multi_hot", [1], max_tokens=10, output_mode="multi_hot",
         output_sequence_length=5),
    text("text_one_hot", [1], max_tokens=10, output_mode="one_hot"),
    # TextVectorization on every input rank: split strings need one string per sample in
    # tf.keras 2, whose int sequences keep the axes before the strings.
    text("text_multi_hot_rows", [3], vocabulary=ABC, output_mode="multi_hot"),
    text("text_multi_hot_3d", [2, 1], vocabulary=ABC, output_mode="multi_hot"),
    text("text_count_column", [1], vocabulary=ABC, output_mode="count"),
    text("text_count_scalar_input", [], vocabulary=ABC, output_mode="count"),
    text("text_tf_idf_column", [1], vocabulary=ABC, output_mode="tf_idf",
         idf_weights=[1.0, 1.0, 2.0]),
    text("text_int_rows", [3], vocabulary=ABC, output_sequence_length=4),
    text("text_int_3d", [2, 1], vocabulary=ABC, output_sequence_length=4),
    text("text_int_3d_ragged_length", [2, 1], vocabulary=ABC),
    text("text_no_split_rows", [3], vocabulary=ABC, split=None, output_mode="multi_hot"),
    text("text_no_split_3d", [2, 3], vocabulary=ABC, split=None, output_mode="count"),
    text("text_no_split_tf_idf_scalar", [], vocabulary=ABC, split=None, output_mode="tf_idf",
         idf_weights=[1.0, 1.0, 2.0]),
    text("text_no_split_int", [3], vocabulary=ABC, split=None),
    text("text_no_split_int_3d", [2, 3], vocabulary=ABC, split=None),
    text("text_no_split_int_length", [3], vocabulary=ABC, split=None, output_sequence_length=4),
    text("text_no_split_int_length_scalar", [], vocabulary=ABC, split=None,
         output_sequence_length=4),
    text("text_no_split_int_length_3d", [2, 3], vocabulary=ABC, split=None,
         output_sequence_length=4),
    text("text_bad_mode", [1], max_tokens=10, output_mode="tf-idf-ish"),
    # IntegerLookup's kernel: integers below 8, of which the vocabulary holds 4, 5 and 6.
    ran("integer_lookup_int_run", vocabulary=[4, 5, 6]),
    ran("integer_lookup_two_oov_run", vocabulary=[4, 5, 6], num_oov_indices=2),
    ran("integer_lookup_no_oov_run", vocabulary=list(range(-8, 8)), num_oov_indices=0),
    ran("integer_lookup_mask_run", vocabulary=[4, 5, 6], mask_token=0),
    ran("integer_lookup_invert_run", vocabulary=[4, 5, 6], invert=True),
    ran("integer_lookup_invert_mask_run", vocabulary=[4, 5, 6], invert=True, mask_token=0),
    ran("integer_lookup_one_hot_run", shape=[1], vocabulary=[4, 5, 6], output_mode="one_hot"),
    ran("integer_lookup_multi_hot_run", vocabulary=[4, 5, 6], output_mode="multi_hot"),
    ran("integer_lookup_count_run", vocabulary=[4, 5, 6], output_mode="count",
        num_oov_indices=2),
    ran("integer_lookup_multi_hot_mask_run", vocabulary=[4, 5, 6], mask_token=0,
        output_mode="multi_hot"),
    ran("integer_lookup_tf_idf_run", vocabulary=[4, 5, 6], output_mode="tf_idf",
        idf_weights=[0.5, 1.0, 2.0]),
    ran("integer_lookup_padded_run", vocabulary=[4, 5, 6], max_tokens=6,
        pad_to_max_tokens=True, output_mode="multi_hot"),
    seq("integer_lookup_then_embedding", [3], {"type": "IntegerLookup", "vocabulary": [4, 5, 6]},
        {"type": "Embedding", "input_dim": 4, "output_dim": 2}, **RUN),
]
