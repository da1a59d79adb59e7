"""Recurrent layers and wrappers: SimpleRNN, LSTM, GRU, ConvLSTM1D/2D/3D, Bidirectional,
TimeDistributed. The tf.keras 2 cases also hold RNNs of cells (cases_rnn_cells.py has RNN's
own cases)."""

from build import case, seq, tf_keras_2_cases
from cases_rnn_cells import gru as gru_cell
from cases_rnn_cells import lstm as lstm_cell
from cases_rnn_cells import rnn


def lstm(units: int = 4, **kw: object) -> dict:
    return {"type": "LSTM", "units": units, **kw}


def gru(units: int = 4, **kw: object) -> dict:
    return {"type": "GRU", "units": units, **kw}


def bidi(layer: dict, **kw: object) -> dict:
    return {"type": "Bidirectional", "layer": layer, **kw}


def time_distributed(layer: dict) -> dict:
    return {"type": "TimeDistributed", "layer": layer}


def stateful(case_id: str, shape: list, layer: dict) -> dict:
    """A stateful layer needs a fixed batch: an InputLayer with batch_shape (batch 2)."""
    return case(case_id, None, [{"type": "InputLayer", "batch_shape": [2, *shape]}, layer],
                forward=True)


SIMPLE_RNN = [
    seq("simple_rnn_last", [5, 3], {"type": "SimpleRNN", "units": 4}),
    seq("simple_rnn_sequences_relu", [5, 3],
        {"type": "SimpleRNN", "units": 6, "activation": "relu", "return_sequences": True}),
    case("simple_rnn_return_state", [4, 2],
         [{"type": "SimpleRNN", "units": 3, "return_state": True}],
         outputs=["simple_rnn:0", "simple_rnn:1"], forward=True),
    seq("simple_rnn_backwards_sequences", [6, 2],
        {"type": "SimpleRNN", "units": 3, "go_backwards": True, "return_sequences": True}),
    seq("simple_rnn_no_bias_unroll", [4, 3],
        {"type": "SimpleRNN", "units": 5, "use_bias": False, "unroll": True}),
    seq("simple_rnn_unknown_timesteps", [None, 3], {"type": "SimpleRNN", "units": 2},
        forward=False),
    seq("simple_rnn_2d_refused", [8], {"type": "SimpleRNN", "units": 2}),
]

LSTM = [
    seq("lstm_last", [5, 3], lstm()),
    seq("lstm_sequences", [5, 3], lstm(6, return_sequences=True)),
    case("lstm_return_state", [4, 3], [lstm(3, return_state=True)],
         outputs=["lstm:0", "lstm:1", "lstm:2"], forward=True),
    case("lstm_backwards_sequences_state", [5, 2],
         [lstm(3, go_backwards=True, return_sequences=True, return_state=True)],
         outputs=["lstm:0", "lstm:1", "lstm:2"], forward=True),
    seq("lstm_backwards_last", [5, 2], lstm(3, go_backwards=True)),
    seq("lstm_no_bias", [4, 3], lstm(5, use_bias=False)),
    seq("lstm_no_unit_forget_bias", [4, 3], lstm(2, unit_forget_bias=False)),
    seq("lstm_activations", [5, 3],
        lstm(4, activation="relu", recurrent_activation="hard_sigmoid",
             return_sequences=True)),
    seq("lstm_linear_activation", [3, 2], lstm(2, activation=None)),
    seq("lstm_unroll", [4, 3], lstm(3, unroll=True)),
    seq("lstm_dropout_is_off_at_inference", [5, 3],
        lstm(4, dropout=0.3, recurrent_dropout=0.2, return_sequences=True)),
    seq("lstm_stacked_then_dense", [6, 4], lstm(8, return_sequences=True), lstm(5),
        {"type": "Dense", "units": 2}),
    seq("lstm_frozen", [4, 3], lstm(3, trainable=False)),
    seq("lstm_unknown_timesteps_sequences", [None, 3], lstm(2, return_sequences=True),
        forward=False),
    stateful("lstm_stateful", [4, 3], lstm(3, stateful=True, return_sequences=True)),
    seq("lstm_stateful_unknown_batch_refused", [4, 3], lstm(3, stateful=True)),
    seq("lstm_2d_refused", [8], lstm(4)),
    seq("lstm_after_dense_2d_refused", [10], {"type": "Dense", "units": 8}, lstm(4)),
    seq("lstm_4d_refused", [3, 4, 5], lstm(4)),
    seq("lstm_unknown_features_refused", [4, None], lstm(4), forward=False),
    seq("lstm_zero_units_refused", [4, 3], lstm(0)),
    case("lstm_initial_state", {"seq": [5, 3], "h": [4], "c": [4]},
         [lstm(4, inputs=["seq", "h", "c"], return_sequences=True)], forward=True),
    case("lstm_encoder_decoder", {"enc": [6, 3], "dec": [4, 2]},
         [lstm(5, name="encoder", inputs="enc", return_state=True),
          lstm(5, name="decoder", inputs=["dec", "encoder:1", "encoder:2"],
               return_sequences=True),
          {"type": "Dense", "units": 3, "activation": "softmax"}], forward=True),
]

GRU = [
    seq("gru_reset_after", [5, 3], gru()),
    seq("gru_reset_before", [5, 3], gru(4, reset_after=False)),
    seq("gru_reset_before_sequences_backwards", [5, 3],
        gru(3, reset_after=False, return_sequences=True, go_backwards=True)),
    seq("gru_reset_after_no_bias", [4, 2], gru(3, use_bias=False)),
    seq("gru_reset_before_no_bias", [4, 2], gru(3, reset_after=False, use_bias=False)),
    case("gru_return_state", [4, 3], [gru(3, return_state=True, return_sequences=True)],
         outputs=["gru:0", "gru:1"], forward=True),
    seq("gru_activations", [4, 3], gru(4, activation="softsign", recurrent_activation="relu")),
    case("gru_initial_state", {"seq": [5, 2], "h": [3]},
         [gru(3, inputs=["seq", "h"])], forward=True),
    stateful("gru_stateful", [3, 2], gru(2, stateful=True)),
    seq("gru_2d_refused", [6], gru(2)),
]


def convlstm(rank: int, filters: int, kernel_size: object, **kw: object) -> dict:
    return {"type": f"ConvLSTM{rank}D", "filters": filters, "kernel_size": kernel_size, **kw}


CONV_LSTM = [
    seq("convlstm1d_valid", [3, 8, 2], convlstm(1, 3, 3)),
    seq("convlstm1d_same_strides_sequences", [3, 9, 2],
        convlstm(1, 2, 3, padding="same", strides=2, return_sequences=True)),
    seq("convlstm1d_dilation", [3, 9, 2], convlstm(1, 2, 3, dilation_rate=2)),
    seq("convlstm1d_channels_first", [3, 2, 8],
        convlstm(1, 2, 3, data_format="channels_first", return_sequences=True)),
    seq("convlstm2d_valid", [3, 6, 6, 2], convlstm(2, 3, 3)),
    case("convlstm2d_same_sequences_state", [3, 5, 5, 2],
         [convlstm(2, 2, [3, 3], padding="same", return_sequences=True, return_state=True)],
         outputs=["conv_lstm2d:0", "conv_lstm2d:1", "conv_lstm2d:2"], forward=True),
    case("convlstm2d_channels_first_state", [3, 2, 6, 5],
         [convlstm(2, 2, [3, 2], data_format="channels_first", return_state=True)],
         outputs=["conv_lstm2d:0", "conv_lstm2d:1", "conv_lstm2d:2"], forward=True),
    seq("convlstm2d_strides_backwards", [3, 7, 6, 2],
        convlstm(2, 2, 3, strides=[2, 1], go_backwards=True, return_sequences=True)),
    seq("convlstm2d_no_bias_activations", [2, 5, 5, 1],
        convlstm(2, 2, 2, use_bias=False, activation="relu", recurrent_activation="hard_sigmoid")),
    seq("convlstm2d_frozen", [2, 5, 5, 1], convlstm(2, 2, 3, trainable=False)),
    seq("convlstm2d_unknown_time", [None, 5, 5, 1], convlstm(2, 2, 3), forward=False),
    case("convlstm1d_backwards_state", [4, 7, 2],
         [convlstm(1, 3, 2, padding="same", go_backwards=True, return_state=True)],
         outputs=["conv_lstm1d:0", "conv_lstm1d:1", "conv_lstm1d:2"], forward=True),
    seq("convlstm3d", [2, 4, 4, 4, 1], convlstm(3, 2, 2, return_sequences=True)),
    seq("convlstm3d_same", [2, 3, 4, 3, 2], convlstm(3, 2, 3, padding="same")),
    case("convlstm2d_initial_state", {"x": [3, 5, 5, 2], "h": [5, 5, 4], "c": [5, 5, 4]},
         [convlstm(2, 4, 3, padding="same", inputs=["x", "h", "c"])], forward=True),
    seq("convlstm2d_then_flatten_dense", [3, 6, 6, 1], convlstm(2, 2, 3),
        {"type": "Flatten"}, {"type": "Dense", "units": 2}),
    seq("convlstm1d_causal_refused", [3, 8, 2], convlstm(1, 2, 3, padding="causal")),
    seq("convlstm2d_strides_and_dilation_refused", [3, 9, 9, 2],
        convlstm(2, 2, 3, strides=2, dilation_rate=2)),
    seq("convlstm2d_unknown_spatial_refused", [3, None, 6, 2], convlstm(2, 2, 3),
        forward=False),
    seq("convlstm2d_window_too_large_refused", [3, 2, 6, 2], convlstm(2, 2, 3)),
    seq("convlstm2d_on_images_refused", [6, 6, 2], convlstm(2, 2, 3)),
]

BIDIRECTIONAL = [
    seq("bidi_lstm_concat", [5, 3], bidi(lstm(4))),
    seq("bidi_lstm_concat_sequences", [5, 3], bidi(lstm(3, return_sequences=True))),
    seq("bidi_gru_sum_sequences", [5, 3], bidi(gru(3, return_sequences=True), merge_mode="sum")),
    seq("bidi_simple_rnn_mul", [4, 2], bidi({"type": "SimpleRNN", "units": 3},
                                            merge_mode="mul")),
    seq("bidi_lstm_ave_sequences", [4, 2], bidi(lstm(3, return_sequences=True),
                                                merge_mode="ave")),
    case("bidi_lstm_merge_none", [4, 2], [bidi(lstm(3, return_sequences=True), merge_mode=None)],
         outputs=["bidirectional:0", "bidirectional:1"], forward=True),
    case("bidi_lstm_return_state", [4, 2], [bidi(lstm(3, return_state=True))],
         outputs=[f"bidirectional:{i}" for i in range(5)], forward=True),
    case("bidi_gru_return_state_merge_none", [4, 2],
         [bidi(gru(3, return_state=True, return_sequences=True), merge_mode=None)],
         outputs=[f"bidirectional:{i}" for i in range(4)], forward=True),
    seq("bidi_backward_layer", [5, 3],
        bidi(gru(3, return_sequences=True),
             backward_layer=gru(3, go_backwards=True, return_sequences=True,
                                activation="relu", reset_after=False))),
    seq("bidi_frozen_inner", [4, 3], bidi(lstm(3, trainable=False))),
    seq("bidi_frozen_wrapper", [4, 3], bidi(gru(2), trainable=False)),
    seq("bidi_stacked_then_dense", [6, 3], bidi(lstm(4, return_sequences=True)),
        bidi(lstm(3)), {"type": "Dense", "units": 2}),
    seq("bidi_convlstm2d", [3, 5, 5, 2],
        bidi(convlstm(2, 2, 3, padding="same", return_sequences=True))),
    case("bidi_lstm_initial_state", {"seq": [5, 3], "h": [3], "c": [3]},
         [bidi(lstm(3), inputs=["seq", "h", "c", "h", "c"])], forward=True),
    stateful("bidi_stateful_gru", [4, 3],
             bidi(gru(2, stateful=True, return_sequences=True, reset_after=False))),
    case("bidi_convlstm1d_return_state", [3, 6, 2],
         [bidi(convlstm(1, 2, 3, return_state=True), merge_mode="ave")],
         outputs=[f"bidirectional:{i}" for i in range(5)], forward=True),
    seq("bidi_unknown_timesteps", [None, 3], bidi(lstm(2, return_sequences=True)),
        forward=False),
    seq("bidi_2d_refused", [7], bidi(lstm(3))),
    seq("bidi_go_backwards_refused", [5, 3], bidi(lstm(3, go_backwards=True))),
    seq("bidi_dense_refused", [5, 3], bidi({"type": "Dense", "units": 3})),
    seq("bidi_backward_same_direction_refused", [5, 3],
        bidi(lstm(3), backward_layer=lstm(3))),
    seq("bidi_backward_return_sequences_refused", [5, 3],
        bidi(lstm(3), backward_layer=lstm(3, go_backwards=True, return_sequences=True))),
]

TIME_DISTRIBUTED = [
    seq("td_dense", [4, 6], {"type": "TimeDistributed",
                             "layer": {"type": "Dense", "units": 3, "activation": "relu"}}),
    seq("td_conv_flatten_lstm", [3, 8, 8, 2],
        {"type": "TimeDistributed", "layer": {"type": "Conv2D", "filters": 4,
                                              "kernel_size": 3}},
        {"type": "TimeDistributed", "layer": {"type": "Flatten"}},
        lstm(5), {"type": "Dense", "units": 2}),
    seq("td_dense_frozen_inner", [4, 6],
        {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 3, "trainable": False}}),
    seq("td_lstm", [2, 5, 4], {"type": "TimeDistributed", "layer": lstm(3)}),
    seq("td_lstm_sequences", [3, 5, 4],
        {"type": "TimeDistributed", "layer": lstm(3, return_sequences=True)}),
    seq("td_after_lstm_sequences", [5, 3], lstm(4, return_sequences=True),
        {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2,
                                              "activation": "softmax"}}),
    seq("td_bidirectional_lstm", [2, 5, 3],
        {"type": "TimeDistributed", "layer": bidi(lstm(2), merge_mode="mul")}),
    seq("td_convlstm1d", [2, 3, 6, 2],
        {"type": "TimeDistributed", "layer": convlstm(1, 2, 3, go_backwards=True)}),
    seq("td_unknown_time", [None, 6], {"type": "TimeDistributed",
                                       "layer": {"type": "Dense", "units": 3}}, forward=False),
    seq("td_2d_refused", [6], {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 3}}),
    seq("td_return_state_refused", [2, 5, 4],
        {"type": "TimeDistributed", "layer": lstm(3, return_state=True)}),
    seq("td_kernel_too_large_refused", [3, 2, 2, 1],
        {"type": "TimeDistributed", "layer": {"type": "Conv2D", "filters": 2,
                                              "kernel_size": 3}}),
]

# tf.keras 2's Bidirectional pairs a forward layer with go_backwards=True with a copy reading
# first to last (Keras 3 refuses it).
TF_KERAS_2 = [
    seq("bidi_go_backwards_lstm_sequences", [5, 3],
        bidi(lstm(3, go_backwards=True, return_sequences=True))),
    seq("bidi_go_backwards_gru_sum", [5, 3], bidi(gru(3, go_backwards=True), merge_mode="sum")),
    seq("bidi_go_backwards_masked", [6, 2], {"type": "Masking", "mask_value": 0.0},
        bidi({"type": "SimpleRNN", "units": 3, "go_backwards": True, "return_sequences": True}),
        masked_steps=0.0),
    # tf.keras 2's ConvLSTM takes unknown spatial sizes (Keras 3 refuses them).
    seq("convlstm1d_unknown_steps_sequences", [4, None, 2],
        convlstm(1, 2, 2, return_sequences=True), forward=False),
    seq("convlstm2d_unknown_width_same", [6, 3, None, 1],
        convlstm(2, 3, [3, 4], padding="same"), forward=False),
    seq("convlstm3d_unknown_depth", [2, None, 4, 4, 1], convlstm(3, 2, 2), forward=False),
]

# The layers that wrappers, RNNs and stacks hold are tf.keras 2's too, down to a wrapper in a
# wrapper: tf.keras 2's hard_sigmoid (clip(0.2x + 0.5)) is not Keras 3's (clip(x / 6 + 0.5)).
HARD_SIGMOID = {"recurrent_activation": "hard_sigmoid"}
TF_KERAS_2_WRAPPED = [
    seq("bidi_lstm_hard_sigmoid", [5, 3],
        bidi(lstm(3, return_sequences=True, **HARD_SIGMOID))),
    seq("bidi_gru_hard_sigmoid_backward_layer", [5, 3],
        bidi(gru(3, **HARD_SIGMOID),
             backward_layer=gru(3, go_backwards=True, activation="hard_sigmoid"))),
    seq("td_dense_hard_sigmoid", [4, 6],
        time_distributed({"type": "Dense", "units": 3, "activation": "hard_sigmoid"})),
    seq("rnn_lstm_cell_hard_sigmoid", [5, 4],
        rnn(lstm_cell(3, **HARD_SIGMOID), return_sequences=True)),
    seq("rnn_stacked_cells_hard_sigmoid", [5, 4],
        rnn({"type": "StackedRNNCells",
             "cells": [lstm_cell(3, **HARD_SIGMOID), gru_cell(2, **HARD_SIGMOID)]})),
    seq("rnn_cell_list_hard_sigmoid", [5, 4],
        rnn([gru_cell(3, **HARD_SIGMOID), lstm_cell(2, **HARD_SIGMOID)],
            return_sequences=True)),
    seq("bidi_convlstm2d_hard_sigmoid", [3, 5, 5, 2],
        bidi(convlstm(2, 2, 3, padding="same", return_sequences=True, **HARD_SIGMOID))),
    seq("td_convlstm1d_hard_sigmoid", [2, 3, 6, 2],
        time_distributed(convlstm(1, 2, 3, **HARD_SIGMOID))),
    seq("td_bidi_lstm_hard_sigmoid", [2, 5, 3],
        time_distributed(bidi(lstm(2, **HARD_SIGMOID), merge_mode="sum"))),
    seq("bidi_rnn_lstm_cell_hard_sigmoid", [5, 3],
        bidi(rnn(lstm_cell(3, **HARD_SIGMOID), return_sequences=True))),
]

CASES = tf_keras_2_cases(
    [*SIMPLE_RNN, *LSTM, *GRU, *CONV_LSTM, *BIDIRECTIONAL, *TIME_DISTRIBUTED, *TF_KERAS_2,
     *TF_KERAS_2_WRAPPED],
    ["bidi_go_backwards_refused", *(c["id"] for c in [*TF_KERAS_2, *TF_KERAS_2_WRAPPED])])
