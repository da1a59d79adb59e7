"""Recurrent layers and wrappers: what the Keras fixtures do not show (422 paths, explanations,
error messages and hints, MACs, weight layouts, initial states, legacy names, and the places
where Keras' static shapes are laxer than its own predict)."""

from __future__ import annotations

import numpy as np
import pytest
from keras_fixtures import check_as_read_back, recorded
from layer_checks import error_of, only_row, refused_paths, run
from shapecheck import check
from shapecheck.analysis import analyse
from shapecheck.errors import RequestInvalid
from shapecheck.layers import REGISTRY, Layer
from shapecheck.layers.tf_keras import TF_KERAS_VARIANTS


def lstm(units: int = 4, **kw: object) -> dict:
    return {"type": "LSTM", "units": units, **kw}


def bidi(layer: dict, **kw: object) -> dict:
    return {"type": "Bidirectional", "layer": layer, **kw}


# -- arguments ------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "path"), [
    ({"type": "LSTM"}, "model.layers.0.units"),
    (lstm(0), "model.layers.0.units"),
    (lstm(4, dropout=1.5), "model.layers.0.dropout"),
    (lstm(4, recurrent_dropout=-0.1), "model.layers.0.recurrent_dropout"),
    (lstm(4, recurrent_activation="nope"), "model.layers.0.recurrent_activation"),
    (lstm(4, return_sequences="sometimes"), "model.layers.0.return_sequences"),
    ({"type": "GRU", "units": 4, "reset_after": "sometimes"}, "model.layers.0.reset_after"),
    ({"type": "SimpleRNN", "units": 2.5}, "model.layers.0.units"),
    ({"type": "ConvLSTM2D", "filters": 2, "kernel_size": 3, "padding": "causal"},
     "model.layers.0.padding"),
    ({"type": "ConvLSTM2D", "filters": 2, "kernel_size": [3, 3, 3]},
     "model.layers.0.kernel_size"),
    ({"type": "ConvLSTM2D", "filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
     "model.layers.0.dilation_rate"),
    ({"type": "ConvLSTM1D", "kernel_size": 3}, "model.layers.0.filters"),
    ({"type": "Bidirectional"}, "model.layers.0.layer"),
    (bidi(lstm(), merge_mode="concatenate"), "model.layers.0.merge_mode"),
    (bidi({"type": "Dense", "units": 3}), "model.layers.0.layer"),
    (bidi({"type": "Nope", "units": 3}), "model.layers.0.layer"),
    (bidi(lstm(0)), "model.layers.0.layer.units"),
    (bidi(lstm(go_backwards=True)), "model.layers.0.layer.go_backwards"),
    (bidi(lstm(), backward_layer=lstm()), "model.layers.0.backward_layer"),
    (bidi(lstm(), backward_layer=lstm(go_backwards=True, stateful=True)),
     "model.layers.0.backward_layer"),
    ({"type": "TimeDistributed"}, "model.layers.0.layer"),
    ({"type": "TimeDistributed", "layer": {"type": "Dense"}}, "model.layers.0.layer.units"),
])
def test_invalid_arguments_are_refused_with_their_path(spec: dict, path: str) -> None:
    assert refused_paths([5, 3], spec) == [path]


def test_wrappers_take_the_keras_json_form_of_the_inner_layer() -> None:
    inner = {"class_name": "GRU", "config": {"name": "g", "units": 3, "reset_after": False}}
    row = only_row(run([5, 2], bidi(inner, merge_mode="sum")))
    assert row["output_shapes"] == [[None, 3]]
    assert row["params"] == 2 * 3 * (2 + 3 + 1) * 3


def test_keras_1_names_are_translated_with_a_warning() -> None:
    result = run([5, 3], {"type": "LSTM", "output_dim": 6, "inner_activation": "hard_sigmoid",
                          "dropout_W": 0.2})
    row = only_row(result)
    assert row["output_shapes"] == [[None, 6]]
    warned = {d["message"].split("'")[1] for d in result["diagnostics"]
              if d["code"] == "legacy_argument"}
    assert warned == {"output_dim", "inner_activation", "dropout_W"}


# -- incompatible inputs ----------------------------------------------------------------------
def test_lstm_on_flat_vectors_says_to_add_a_timestep_axis() -> None:
    error = error_of(run([8], lstm(4)))
    assert error["code"] == "layer_input_incompatible" and error["layer"] == "lstm"
    assert error["message"] == (
        "LSTM reads sequences shaped (batch, timesteps, features), but received (None, 8) of "
        "rank 2: one flat vector per sample, with no time axis.")
    assert "reshape the data to (N, T, F)" in error["hint"]
    assert "x.reshape(N, 1, 8)" in error["hint"] and "Reshape((1, 8))" in error["hint"]


def test_lstm_on_sequences_of_images_suggests_flattening_each_step_or_convlstm() -> None:
    error = error_of(run([10, 32, 32, 3], lstm(4)))
    assert "each time step is not a flat vector" in error["message"]
    assert "TimeDistributed(Flatten())" in error["hint"] and "Reshape((10, -1))" in error["hint"]
    assert "ConvLSTM2D" in error["hint"]


def test_convlstm_on_single_images_suggests_a_time_axis_or_conv() -> None:
    error = error_of(run([32, 32, 3], {"type": "ConvLSTM2D", "filters": 2, "kernel_size": 3}))
    assert "(batch, time, height, width, channels)" in error["message"]
    assert "no time axis" in error["hint"] and "Conv2D" in error["hint"]


def test_stateful_needs_a_fixed_batch_size() -> None:
    error = error_of(run([4, 3], lstm(3, stateful=True)))
    assert "fixed batch size" in error["message"] and "(None, 4, 3)" in error["message"]
    assert "batch_shape" in error["hint"]
    fixed = check({"model": {"layers": [{"type": "InputLayer", "batch_shape": [8, 4, 3]},
                                        lstm(3, stateful=True)]}})
    assert only_row(fixed)["output_shapes"] == [[8, 3]]


def test_unknown_features_cannot_build_the_kernel() -> None:
    error = error_of(run([4, None], lstm(3)))
    assert "number of features per time step" in error["message"]


def test_time_distributed_says_which_step_the_inner_layer_received() -> None:
    error = error_of(run([7, 3], {"type": "TimeDistributed", "layer": lstm(4)}))
    assert error["message"].startswith(
        "TimeDistributed gives LSTM one time step at a time, shaped (None, 3): LSTM reads")
    assert "Add a timestep axis" in error["hint"]


def test_time_distributed_needs_a_time_axis() -> None:
    error = error_of(run([7], {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}}))
    assert "at least 3 axes" in error["message"] and "(None, 7)" in error["message"]


def test_time_distributed_refuses_a_layer_with_several_outputs() -> None:
    error = error_of(run([2, 5, 4], {"type": "TimeDistributed",
                                     "layer": lstm(3, return_state=True)}))
    assert "one output" in error["message"] and "returns 3" in error["message"]
    assert "return_state=False" in error["hint"]


# -- initial states -------------------------------------------------------------------------
def test_initial_states_follow_the_sequence() -> None:
    result = run({"x": [5, 3], "h": [4], "c": [4]}, lstm(4, inputs=["x", "h", "c"]))
    assert only_row(result)["output_shapes"] == [[None, 4]]


def test_initial_states_must_be_as_many_as_the_layer_has() -> None:
    # Keras builds this (its static shapes ignore initial states) and fails in predict.
    error = error_of(run({"x": [5, 3], "h": [4]}, lstm(4, inputs=["x", "h"])))
    assert "2 initial state(s) (h, c)" in error["message"] and "received 1" in error["message"]


def test_initial_states_must_have_the_state_shape() -> None:
    error = error_of(run({"x": [5, 3], "h": [4], "c": [4]}, lstm(5, inputs=["x", "h", "c"])))
    assert error["message"] == ("The initial state h of LSTM must be shaped (None, 5), but "
                                "received (None, 4).")


def test_bidirectional_splits_initial_states_between_directions() -> None:
    result = run({"x": [5, 3], "h": [2]}, bidi({"type": "GRU", "units": 2},
                                               inputs=["x", "h", "h"]))
    assert only_row(result)["output_shapes"] == [[None, 4]]


# -- weights ----------------------------------------------------------------------------------
def weights_of(spec: dict, shape: tuple) -> list:
    layer = REGISTRY[spec["type"]].from_config("x", {k: v for k, v in spec.items()
                                                      if k != "type"})
    return layer.build([shape])


def test_gru_bias_has_two_rows_with_reset_after() -> None:
    after = weights_of({"type": "GRU", "units": 4}, (None, 5, 3))
    before = weights_of({"type": "GRU", "units": 4, "reset_after": False}, (None, 5, 3))
    assert [w.shape for w in after] == [(3, 12), (4, 12), (2, 12)]
    assert [w.shape for w in before] == [(3, 12), (4, 12), (12,)]


def test_lstm_weights_and_their_initializers() -> None:
    weights = weights_of(lstm(4), (None, 5, 3))
    assert [(w.name, w.shape, w.initializer) for w in weights] == [
        ("kernel", (3, 16), "glorot_uniform"), ("recurrent_kernel", (4, 16), "orthogonal"),
        ("bias", (16,), "unit_forget_bias")]
    plain = weights_of(lstm(4, unit_forget_bias=False), (None, 5, 3))
    assert plain[2].initializer == "zeros"


def test_convlstm_kernels_stack_four_gates() -> None:
    weights = weights_of({"type": "ConvLSTM2D", "filters": 2, "kernel_size": [3, 1]},
                         (None, 4, 6, 6, 5))
    assert [w.shape for w in weights] == [(3, 1, 5, 8), (3, 1, 2, 8), (8,)]


def test_bidirectional_weights_are_forward_then_backward_and_freeze_with_the_inner_layer() -> None:
    weights = weights_of(bidi(lstm(3, trainable=False)), (None, 5, 2))
    assert [w.name for w in weights] == [
        "forward_kernel", "forward_recurrent_kernel", "forward_bias",
        "backward_kernel", "backward_recurrent_kernel", "backward_bias"]
    assert not any(w.trainable for w in weights)


# -- explanations -----------------------------------------------------------------------------
def test_lstm_explains_steps_outputs_and_parameters() -> None:
    row = only_row(run([10, 8], lstm(16)))
    assert row["explain"] == (
        "reads the 10 time steps of 8 features and returns the last hidden state of 16 units "
        "(None, 16); params 4·(8 + 16 + 1)·16 = 1,600 (gates i, f, c, o)")


def test_explanations_of_sequences_of_unknown_length() -> None:
    row = only_row(run([None, 8], {"type": "SimpleRNN", "units": 2, "return_sequences": True}))
    assert row["explain"].startswith("reads the time steps (any number) of 8 features and "
                                     "returns the hidden state of 2 units at every step "
                                     "(None, None, 2)")
    row = only_row(run([None, 8], {"type": "TimeDistributed",
                                   "layer": {"type": "Dense", "units": 4}}))
    assert row["explain"].startswith("applies Dense to each of the time steps (any number),")


def test_gru_explains_return_state_and_the_second_bias() -> None:
    row = only_row(run([10, 8], {"type": "GRU", "units": 16, "return_sequences": True,
                                 "return_state": True}, outputs=["gru:0", "gru:1"]))
    assert "every step (None, 10, 16), then the final states h (None, 16)" in row["explain"]
    assert "params 3·(8 + 16 + 2)·16 = 1,248" in row["explain"]


def test_convlstm_explains_the_window_arithmetic() -> None:
    row = only_row(run([5, 8, 8, 3], {"type": "ConvLSTM2D", "filters": 4, "kernel_size": 3}))
    assert row["explain"].startswith(
        "6 = floor((8 − 3) / 1) + 1 on each spatial axis of each of the 5 time steps")
    assert "params 4·(3·3·3 + 3·3·4 + 1)·4 = 1,024" in row["explain"]


def test_bidirectional_explains_the_merge() -> None:
    row = only_row(run([10, 8], bidi(lstm(16, return_sequences=True))))
    assert ("runs LSTM forwards and a copy of it backwards over the sequence, each giving "
            "(None, 10, 16), and concatenates them on the last axis (16 + 16 = 32)"
            in row["explain"])
    assert row["explain"].endswith("= 3,200")


def test_time_distributed_explains_the_inner_layer_per_step() -> None:
    row = only_row(run([10, 8], {"type": "TimeDistributed",
                                 "layer": {"type": "Dense", "units": 4}}))
    assert row["explain"] == (
        "applies Dense to each of the 10 time steps, (None, 8) → (None, 4) per step, with one "
        "set of weights shared by all steps: 8 input features → 4 units; params (8 + 1)·4 = 36")


# -- MACs -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "shape", "macs"), [
    (lstm(16), [10, 8], 10 * (8 * 4 * 16 + 16 * 4 * 16)),
    ({"type": "GRU", "units": 16, "return_sequences": True}, [10, 8], 10 * (8 + 16) * 3 * 16),
    ({"type": "SimpleRNN", "units": 5}, [7, 3], 7 * (3 + 5) * 5),
    (lstm(4), [None, 3], 0),
    ({"type": "ConvLSTM2D", "filters": 4, "kernel_size": 3}, [5, 8, 8, 3],
     5 * 6 * 6 * 3 * 3 * (3 + 4) * 4 * 4),
    (bidi(lstm(16)), [10, 8], 2 * 10 * (8 * 4 * 16 + 16 * 4 * 16)),
    ({"type": "TimeDistributed", "layer": {"type": "Dense", "units": 4}}, [10, 8], 10 * 8 * 4),
])
def test_macs_count_every_time_step(spec: dict, shape: list, macs: int) -> None:
    assert only_row(run(shape, spec))["macs"] == macs


# -- where Keras' static shapes are laxer than its predict --------------------------------------
def test_bidirectional_with_a_wider_backward_layer_concatenates_both_widths() -> None:
    # Keras' compute_output_shape doubles the forward width (None, 8); its predict gives 4 + 6.
    result = run([5, 3], bidi(lstm(4), backward_layer={"type": "GRU", "units": 6,
                                                       "go_backwards": True}),
                 forward={"batch_size": 2})
    assert only_row(result)["output_shapes"] == [[None, 10]]
    assert result["forward"]["outputs"][0]["shape"] == [2, 10]


def test_bidirectional_elementwise_merge_needs_equal_widths() -> None:
    error = error_of(run([5, 3], bidi(lstm(4), merge_mode="ave",
                                      backward_layer=lstm(6, go_backwards=True))))
    assert "(None, 4)" in error["message"] and "(None, 6)" in error["message"]
    assert "merge_mode='concat'" in error["hint"]


# -- forward ----------------------------------------------------------------------------------
def test_simple_rnn_forward_is_the_recurrence() -> None:
    kernel, recurrent, bias = np.float32([[0.5]]), np.float32([[0.25]]), np.float32([0.1])
    x = [[[1.0], [2.0], [-1.0]]]
    result = run([3, 1], {"type": "SimpleRNN", "units": 1, "activation": "linear",
                          "return_sequences": True},
                 forward={"x": x, "return": "values",
                          "weights": {"simple_rnn": [kernel.tolist(), recurrent.tolist(),
                                                     bias.tolist()]}})
    h, expected = 0.0, []
    for (value,) in x[0]:
        h = 0.5 * value + 0.25 * h + 0.1
        expected.append([h])
    assert np.allclose(result["forward"]["outputs"][0]["values"], [expected], atol=1e-6)


def test_bidirectional_merge_mode_is_case_sensitive_as_in_keras() -> None:
    # Keras 3: "Invalid merge mode. Received: CONCAT".
    layer = {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 2}, "merge_mode": "CONCAT"}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": {"inputs": [4, 3], "layers": [layer]}})
    assert list(exc.value.errors) == ["model.layers.0.merge_mode"]


# -- tf.keras 2 documents ---------------------------------------------------------------------
@pytest.mark.parametrize("case_id", ["bidi_go_backwards_refused",
                                     "bidi_go_backwards_lstm_sequences",
                                     "bidi_go_backwards_gru_sum", "bidi_go_backwards_masked"])
def test_tf_keras_2_pairs_a_go_backwards_layer_with_a_copy_reading_forwards(case_id: str) -> None:
    """Keras 3 gives the copy go_backwards=True as well, and refuses the pair; tf.keras 2
    negates it (its shapes and predict numbers are replayed by tests/test_keras_import.py)."""
    keras3 = recorded("keras3", f"recurrent:{case_id}")
    assert keras3["error"]["layer"] == "bidirectional"
    with pytest.raises(RequestInvalid) as exc:
        check({"model": keras3["native"]})
    assert [path.endswith(".layer.go_backwards") for path in exc.value.errors] == [True]
    tf_keras = recorded("tfkeras2", f"recurrent:{case_id}")
    assert check_as_read_back(tf_keras)["layers"][-1]["name"] == "bidirectional"


def test_tf_keras_2_bidirectional_explains_which_way_each_layer_reads() -> None:
    doc = recorded("tfkeras2", "recurrent:bidi_go_backwards_lstm_sequences")["keras_json"]
    assert only_row(check({"model": doc}))["explain"].startswith(
        "runs LSTM backwards and a copy of it forwards over the sequence, each giving "
        "(None, 5, 3), and concatenates them on the last axis (3 + 3 = 6)")


def held_layers(layer: Layer) -> list[Layer]:
    """``layer`` and every layer it holds, down to the cells: TimeDistributed's layer,
    Bidirectional's pair, an RNN's or a StackedRNNCells' cells."""
    children = [getattr(layer, attribute) for attribute in ("layer", "forward_layer",
                                                             "backward_layer")
                if hasattr(layer, attribute)]
    return [layer, *(held for child in [*children, *getattr(layer, "cells", [])]
                     for held in held_layers(child))]


@pytest.mark.parametrize("case_id", ["td_bidi_lstm_hard_sigmoid",
                                     "bidi_rnn_lstm_cell_hard_sigmoid",
                                     "rnn_stacked_cells_hard_sigmoid"])
def test_tf_keras_2_wrappers_hold_tf_keras_2_layers_down_to_the_cells(case_id: str) -> None:
    """Each wrapper of a tf.keras 2 document builds what it holds with tf.keras 2's classes
    (their hard_sigmoid and predict numbers are replayed by tests/test_keras_import.py); the
    same model in a native document keeps Keras 3's."""
    case = recorded("tfkeras2", f"recurrent:{case_id}")
    (tf_keras,) = analyse(case["keras_json"], {}).graph.layers.values()
    (keras3,) = analyse(case["native"], {}).graph.layers.values()
    assert [type(layer) for layer in held_layers(tf_keras)] == [
        TF_KERAS_VARIANTS[layer.keras_name] for layer in held_layers(keras3)]
    assert all(type(layer) is REGISTRY[layer.keras_name] for layer in held_layers(keras3))
