"""Attention layers: what the Keras fixtures do not show (422 paths, call options, explanations,
error hints, MACs)."""

from __future__ import annotations

import pytest
from keras_fixtures import family_cases, recorded
from layer_checks import codes, error_of, only_diagnostic, only_row
from shapecheck import check
from shapecheck.analysis import analyse
from shapecheck.errors import LayerInputIncompatible, RequestInvalid
from shapecheck.layers import REGISTRY
from shapecheck.layers.tf_keras import TF_KERAS_VARIANTS


def run(inputs: dict, layer: dict) -> dict:
    return check({"model": {"inputs": inputs, "layers": [{**layer, "inputs": list(inputs)}]}})


QV = {"q": [3, 4], "v": [5, 6]}


@pytest.mark.parametrize(("layer", "path"), [
    ({"type": "MultiHeadAttention", "num_heads": 0, "key_dim": 2}, "model.layers.0.num_heads"),
    ({"type": "MultiHeadAttention", "num_heads": 2}, "model.layers.0.key_dim"),
    ({"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "value_dim": 0},
     "model.layers.0.value_dim"),
    ({"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "dropout": 1.5},
     "model.layers.0.dropout"),
    ({"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "output_shape": [[1, 2]]},
     "model.layers.0.output_shape"),
    ({"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "attention_axes": "time"},
     "model.layers.0.attention_axes"),
    ({"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "flash_attention": True,
      "dropout": 0.1}, "model.layers.0.dropout"),
    ({"type": "Attention", "score_mode": "general"}, "model.layers.0.score_mode"),
    ({"type": "AdditiveAttention", "dropout": -0.1}, "model.layers.0.dropout"),
])
def test_invalid_arguments_are_refused_with_their_path(layer: dict, path: str) -> None:
    with pytest.raises(RequestInvalid) as exc:
        run(QV, layer)
    assert list(exc.value.errors) == [path]


def mha(**args: object):
    return REGISTRY["MultiHeadAttention"].from_config("mha", {"num_heads": 2, "key_dim": 3,
                                                             **args})


def test_multi_head_attention_scores_follow_keras_declared_shape() -> None:
    layer = mha()
    shapes = [(None, 3, 4), (None, 5, 6)]
    assert layer.output_shapes_for_call(shapes, {"return_attention_scores": True}) == [
        (None, 3, 4), (None, 2, 3, 3)]
    assert layer.output_shapes_for_call(shapes, {"return_attention_scores": False}) == [
        (None, 3, 4)]


def test_attention_scores_are_query_steps_by_key_steps() -> None:
    layer = REGISTRY["Attention"].from_config("att", {})
    shapes = [(None, 3, 4), (None, 5, 6), (None, 5, 4)]
    assert layer.output_shapes_for_call(shapes, {"return_attention_scores": True}) == [
        (None, 3, 6), (None, 3, 5)]


def test_multi_head_attention_lists_projections_in_keras_order() -> None:
    weights = mha(use_gate=True, value_dim=5).build([(None, 3, 4), (None, 5, 6), (None, 5, 7)])
    assert [(w.name, w.shape) for w in weights] == [
        ("query/kernel", (4, 2, 3)), ("query/bias", (2, 3)),
        ("key/kernel", (7, 2, 3)), ("key/bias", (2, 3)),
        ("gate/kernel", (4, 2, 5)), ("gate/bias", (2, 5)),
        ("value/kernel", (6, 2, 5)), ("value/bias", (2, 5)),
        ("attention_output/kernel", (2, 5, 4)), ("attention_output/bias", (4,)),
    ]


def test_multi_head_attention_macs_count_the_four_projections() -> None:
    row = only_row(run(QV, {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3}))
    query, key, value, output = 3 * 4 * 6, 5 * 6 * 6, 5 * 6 * 6, 3 * 6 * 4
    assert row["macs"] == query + key + value + output


def test_multi_head_attention_explains_heads_and_projections() -> None:
    row = only_row(run(QV, {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3,
                            "value_dim": 5, "output_shape": 8}))
    assert "2 heads" in row["explain"]
    assert "query and key projected to 2×3, value to 2×5" in row["explain"]
    assert "output_shape [8]" in row["explain"]
    assert "query/kernel (4, 2, 3)" in row["explain"]


def test_multi_head_attention_needs_query_and_value() -> None:
    result = check({"model": {"inputs": [3, 4], "layers": [
        {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3}]}})
    error = error_of(result)
    assert "received 1 tensor(s)" in error["message"]
    assert "list the same tensor twice" in error["hint"]


def test_key_and_value_must_share_their_leading_axes() -> None:
    error = error_of(run({"q": [3, 4], "v": [5, 6], "k": [4, 6]},
                         {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3}))
    assert "(None, 5, 6)" in error["message"] and "(None, 4, 6)" in error["message"]


def test_attention_axis_outside_the_query_is_refused_with_the_valid_range() -> None:
    error = error_of(run({"q": [2, 3, 4], "v": [2, 5, 4]},
                         {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3,
                          "attention_axes": 5}))
    assert "axis 5" in error["message"]
    assert "between 1 and 2" in error["hint"]


def test_attention_explains_steps_and_features() -> None:
    row = only_row(run({"q": [3, 4], "v": [5, 4]}, {"type": "Attention", "use_scale": True}))
    assert "each query step (3 in all) scores every key step (5 in all)" in row["explain"]
    assert "scale ()" in row["explain"]
    assert row["macs"] == 0


def test_attention_takes_two_or_three_tensors() -> None:
    error = error_of(run({"q": [3, 4], "v": [5, 4], "k": [5, 4], "x": [5, 4]},
                         {"type": "Attention"}))
    assert "received 4 tensor(s)" in error["message"]


def test_multi_head_attention_needs_a_steps_axis_or_attention_axes() -> None:
    """Keras builds MultiHeadAttention on (batch, features) inputs, but with no attention axes
    (the default) its predict fails (fixture attention:mha_vectors); given some, it attends
    over the projected (batch, heads, key_dim) (attention:mha_vectors_axis_1)."""
    error = error_of(run({"q": [4], "v": [6]},
                         {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3}))
    assert error["message"].endswith(
        "the query (None, 4) has no steps axis, and no attention_axes are given: Keras builds "
        "the layer, but its predict fails.")
    assert "Reshape((1, features))" in error["hint"]
    assert run({"q": [4], "v": [6]}, {"type": "MultiHeadAttention", "num_heads": 2,
                                      "key_dim": 3, "attention_axes": 1})["ok"]


@pytest.mark.parametrize(("query", "axis", "call", "fails"), [
    ([4], 2, {}, True),  # the einsum path: fixture attention:mha_vectors_channel_axis
    ([3, 4], 3, {}, False),  # the fused path ignores the axes: attention:mha_axis_3
    ([3, 4], 3, {"return_attention_scores": True}, True),  # the einsum path again
])
def test_multi_head_attention_cannot_attend_over_the_key_dim_channels(
        query: list, axis: int, call: dict, fails: bool) -> None:
    layer = {"type": "MultiHeadAttention", "name": "mha", "num_heads": 2, "key_dim": 3,
             "attention_axes": axis, "inputs": ["q", "v"], "call": call}
    result = check({"model": {"inputs": {"q": query, "v": query}, "layers": [layer],
                              "outputs": ["mha:0"]}})
    assert result["ok"] is not fails
    if fails:
        assert error_of(result)["message"].startswith(
            "MultiHeadAttention attends over the last axis of its projected query (batch, ..., "
            "heads, key_dim), whose key_dim channels its scores contract")


def test_attention_query_and_key_need_one_size() -> None:
    """Keras builds these, but its predict fails on the query-key product."""
    error = error_of(run({"q": [3, 4], "v": [5, 6]}, {"type": "Attention"}))
    assert "has 4 features and the key (None, 5, 6) 6 (the value serves as key)" in (
        error["message"])
    assert "Dense" in error["hint"]
    error = error_of(run({"q": [3, 4], "v": [5, 6]}, {"type": "AdditiveAttention"}))
    assert "AdditiveAttention compares each query vector" in error["message"]
    error = error_of(run({"q": [3, 4], "v": [5, 4], "k": [6, 4]}, {"type": "Attention"}))
    assert "key (None, 6, 4) has 6 steps and the value (None, 5, 4) 5" in error["message"]


def test_grouped_query_attention_takes_sequences_only() -> None:
    """Keras builds GroupQueryAttention on rank-4 inputs, but predict fails."""
    error = error_of(run({"q": [2, 3, 4], "v": [2, 5, 4]},
                         {"type": "GroupQueryAttention", "head_dim": 2, "num_query_heads": 2,
                          "num_key_value_heads": 1}))
    assert "sequences (batch, steps, features)" in error["message"]


def test_grouped_query_attention_shares_key_value_heads() -> None:
    row = only_row(run({"q": [3, 4], "v": [5, 4]},
                       {"type": "GroupQueryAttention", "head_dim": 2, "num_query_heads": 4,
                        "num_key_value_heads": 2}))
    assert row["type"] == "GroupedQueryAttention"
    assert "4 query heads share 2 key/value heads (2 query heads each)" in row["explain"]
    assert "key/kernel (4, 2, 2)" in row["explain"]
    query, key, value, output = 3 * 4 * 8, 5 * 4 * 4, 5 * 4 * 4, 3 * 8 * 4
    assert row["macs"] == query + key + value + output
    layer = REGISTRY["GroupedQueryAttention"].from_config(
        "gqa", {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2})
    assert layer.output_shapes_for_call([(None, 3, 4), (None, 5, 4)],
                                        {"return_attention_scores": True})[1] == (None, 4, 3, 5)


def test_attention_score_mode_is_case_sensitive_as_in_keras() -> None:
    # Keras 3: "Invalid value for argument score_mode. ... Received: score_mode=DOT".
    layer = {"type": "Attention", "score_mode": "DOT", "inputs": ["q", "v"]}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": {"inputs": {"q": [4, 3], "v": [4, 3]}, "layers": [layer]}})
    assert list(exc.value.errors) == ["model.layers.0.score_mode"]


def test_multi_head_attention_query_and_value_need_one_rank() -> None:
    """Keras builds its einsum equations for the query's rank: its call fails."""
    error = error_of(run({"q": [2, 3, 4], "v": [5, 4]},
                         {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3}))
    assert error["code"] == "layer_input_incompatible" and error["layer"] == "multi_head_attention"
    assert error["message"] == ("MultiHeadAttention needs the query (None, 2, 3, 4) and the "
                                "value (None, 5, 4) to have the same number of axes: Keras "
                                "builds the layer, but its predict fails.")


@pytest.mark.parametrize("inputs", [{"q": [4, 8], "v": []}, {"q": [], "v": [4, 8]}])
def test_attention_needs_a_feature_axis(inputs: dict) -> None:
    """Keras' Attention call fails on a tensor of the batch axis alone."""
    result = check({"model": {"inputs": inputs, "layers": [
        {"type": "Attention", "name": "att", "inputs": list(inputs),
         "call": {"return_attention_scores": True}}], "outputs": ["att:0", "att:1"]}})
    error = error_of(result)
    assert error["code"] == "layer_input_incompatible" and error["layer"] == "att"
    assert "has only its batch axis" in error["message"]


# -- Attention and AdditiveAttention across the batch ---------------------------------------------
# Keras' shapes and predict outputs on vectors and on tensors of different ranks are recorded
# (tests/fixtures/{keras3,tfkeras2}/layers/attention.json, "vectors" and "rank" cases); these
# tests check the warning, its fix, and the forward pass where Keras 3 declares another shape.
def test_attention_over_vectors_warns_that_samples_attend_over_the_batch() -> None:
    result = run({"q": [4], "v": [4]}, {"type": "Attention", "name": "att"})
    assert result["layers"][0]["output_shapes"] == [[None, 4]]
    note = only_diagnostic(
        result, "attention_across_batch", severity="warning", layer="att", message=(
            "'att' attends across the batch: the query (None, 4) and the value (None, 4) have "
            "no steps axis, so Keras' matmuls take the batch axis as the steps: each sample's "
            "query vector attends over the key vectors of every sample of the batch. A sample's "
            "result depends on the other samples in its batch, and on the batch size."))
    assert note["hint"].startswith("Give the query, value and key a steps axis")
    assert note["fixes"] == []


def test_a_vector_query_over_sequences_gets_a_steps_axis_as_its_fix() -> None:
    """Keras 3 declares (None, 4) and its predict gives (batch, batch, 4) (fixture
    attention:attention_vector_query_sequence_value)."""
    result = run({"q": [4], "v": [5, 4]}, {"type": "AdditiveAttention", "name": "att"})
    note = only_diagnostic(result, "attention_across_batch")
    assert note["message"].endswith(
        "the query (None, 4) and the value (None, 5, 4) differ in rank, so Keras' matmuls line "
        "the batch axis of one up with another axis of the others: each sample's query attends "
        "over the key vectors of other samples of the batch. A sample's result depends on the "
        "other samples in its batch, and on the batch size. Keras declares (None, 4), but its "
        "predict gives (None, None, 4).")
    assert note["hint"] == ("Give the query a steps axis with Reshape((1, 4)) before 'att', so "
                            "that each sample's query attends over its own 5 key steps.")
    (fix,) = note["fixes"]
    assert fix["title"] == "Insert Reshape(target_shape=(1, 4)) before 'att'"
    assert fix["result"]["output_shape"] == [None, 1, 4]


def test_tf_keras_2_warns_too_with_the_shape_it_computes() -> None:
    doc = recorded("tfkeras2", "attention:additive_attention_vector_query_one_feature_value")
    result = check({"model": doc["keras_json"]})
    note = only_diagnostic(result, "attention_across_batch")
    assert "differ in rank" in note["message"] and "Keras declares" not in note["message"]
    assert result["layers"][0]["output_shapes"] == [[None, None, 1]]


def test_a_dense_after_attention_of_another_declared_shape_runs_on_the_computed_one() -> None:
    """Keras 3 declares (None, 4) where its matmuls compute (batch, batch, 4): predict runs the
    Dense after it on that shape, whose last axis its kernel fits, and so does the forward pass
    (fixture attention_vector_query_then_dense_predict records predict's numbers)."""
    case = recorded("keras3", "attention:attention_vector_query_then_dense_predict")
    assert [out["shape"] for out in case["forward"]["outputs"]] == [[2, 2, 2]]
    forward = check({"model": case["native"], "forward": {"batch_size": 3}})["forward"]
    assert [row["output_shape"] for row in forward["layers"]] == [[3, 3, 4], [3, 3, 2]]
    assert forward["outputs"][0]["shape"] == [3, 3, 2]


def test_additive_attention_broadcasts_a_query_of_one_feature() -> None:
    """Keras adds the query to the key before the tanh, so a size of 1 broadcasts (its scale
    then has 1 value); a dot product needs one size."""
    assert only_row(run({"q": [3, 1], "v": [5, 4]}, {"type": "AdditiveAttention"}))[
        "params"] == 1
    error = error_of(run({"q": [3, 1], "v": [5, 4]}, {"type": "Attention"}))
    assert "has 1 features and the key (None, 5, 4) 4" in error["message"]


def test_tf_keras_2_additive_scale_needs_the_value_features() -> None:
    """tf.keras 2 gives the scale the value's features and refuses a model where they differ
    from the query's and key's ("Dimensions must be equal, but are 6 and 4"; fixture
    attention:additive_attention_vectors_with_key)."""
    assert "Dimensions must be equal" in recorded(
        "tfkeras2", "attention:additive_attention_vectors_with_key")["error"]["message"]
    tf_keras = TF_KERAS_VARIANTS["AdditiveAttention"].from_config("att", {})
    with pytest.raises(LayerInputIncompatible) as exc:
        tf_keras.output_shapes([(None, 4), (None, 6), (None, 4)])
    assert exc.value.message == (
        "AdditiveAttention weighs the sums of query and key vectors of 4 features by its scale "
        "of 6 values (the value's features), so Keras cannot multiply them.")
    assert REGISTRY["AdditiveAttention"].from_config("att", {}).output_shapes(
        [(None, 4), (None, 6), (None, 4)]) == [(None, 6)]  # Keras 3: the query's features


def test_rank_2_attention_scores_count_the_pairs_of_samples() -> None:
    from shapecheck.budget import attention_cost

    layer = analyse({"inputs": {"q": [8], "v": [8]}, "layers": [
        {"type": "Attention", "inputs": ["q", "v"]}]}, {}).graph.layers["attention"]
    score_bytes, macs = attention_cost(layer, [(1000, 8), (1000, 8)])
    assert macs == 1000 * 1000 * (8 + 8) and score_bytes == 4 * 1000 * 1000


def test_multi_head_attention_warns_where_a_query_axis_of_1_broadcasts() -> None:
    """Keras 3 declares (None, 9, 1, 3) and its predict computes (N, 9, 7, 3): the query's 1 on
    the axis it does not attend over broadcasts against the value's 7. (A mutation of a random
    model found the forward pass failing on it with an internal error.)"""
    case = recorded("keras3", "attention:mha_query_broadcasts_unattended_axis")
    result = check({"model": case["native"]})
    assert result["layers"][0]["output_shapes"] == case["layers"][0]["output_shapes"]
    note = only_diagnostic(result, "declared_shape_differs")
    assert "computes (None, 9, 7, 3), but Keras 3 declares (None, 9, 1, 3)" in note["message"]
    assert case["forward"]["outputs"][0]["shape"] == [2, 9, 7, 3]
    aligned = recorded("keras3", "attention:mha_rank4_axis_2")
    assert "declared_shape_differs" not in codes(check({"model": aligned["native"]}))


# -- tf.keras 2 MultiHeadAttention: einsums only, computed as it builds ---------------------------
def tf_keras_mha_document(native: dict) -> dict:
    """The tf.keras 2 to_json() of a native case of one MultiHeadAttention over inputs q and v,
    edited from the recorded attention:mha_cross: tf.keras 2 writes none for the models it
    refuses to build."""
    doc = recorded("tfkeras2", "attention:mha_cross")["keras_json"]
    query, value, mha = doc["config"]["layers"]
    for entry in (query, value):
        entry["config"]["batch_input_shape"] = [None, *native["inputs"][entry["name"]]]
    layer = next(e for e in native["layers"] if e["type"] == "MultiHeadAttention")
    mha["config"].update({"value_dim": None, "attention_axes": None},  # mha_cross' own
                         **{k: v for k, v in layer.items() if k not in ("type", "inputs", "name")})
    for shape in ("query_shape", "key_shape", "value_shape"):
        del mha["config"][shape]
    return doc


TF_KERAS_MHA_REFUSALS = [
    pytest.param(case, id=case["id"]) for case in family_cases("tfkeras2", "layers", "attention")
    if case["id"].startswith("mha_") and "error" in case
    and list(case["native"]["inputs"]) == ["q", "v"]]


@pytest.mark.parametrize("case", TF_KERAS_MHA_REFUSALS)
def test_tf_keras_2_refuses_to_build_the_attention_its_einsums_cannot_compute(case: dict) -> None:
    """tf.keras 2 refuses these models as it builds them (where Keras 3 builds some, and only
    its predict fails); the same document without the tf.keras 2 edits is checked in
    test_tf_keras_2_mha_template_builds."""
    error = error_of(check({"model": tf_keras_mha_document(case["native"])}))
    assert error["layer"] == "multi_head_attention"
    assert "predict" not in error["message"]


def test_tf_keras_2_mha_template_builds() -> None:
    """The template of the refusals above checks as tf.keras 2 built it."""
    case = recorded("tfkeras2", "attention:mha_cross")
    assert check({"model": tf_keras_mha_document(case["native"])})["ok"]


def test_tf_keras_2_declares_the_scores_it_computes() -> None:
    """tf.keras 2: (batch, heads, T_query, T_key); Keras 3 declares (batch, heads, T_query,
    T_query) (model fixtures attention_with_key_and_scores)."""
    layer = TF_KERAS_VARIANTS["MultiHeadAttention"].from_config(
        "mha", {"num_heads": 2, "key_dim": 3, "attention_axes": [1, 2]})
    assert layer.output_shapes_for_call([(None, 3, 4, 5), (None, 6, 7, 5)],
                                        {"return_attention_scores": True}) == [
        (None, 3, 4, 5), (None, 2, 3, 4, 6, 7)]
