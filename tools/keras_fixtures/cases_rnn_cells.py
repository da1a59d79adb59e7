"""Keras 3's generic RNN layer with SimpleRNNCell, LSTMCell, GRUCell and StackedRNNCells."""

from build import case, seq

EMBEDDING = {"type": "Embedding", "input_dim": 6, "output_dim": 3, "mask_zero": True}


def rnn(cell: object, **args: object) -> dict:
    return {"type": "RNN", "cell": cell, **args}


def simple(units: int = 3, **args: object) -> dict:
    return {"type": "SimpleRNNCell", "units": units, **args}


def lstm(units: int = 3, **args: object) -> dict:
    return {"type": "LSTMCell", "units": units, **args}


def gru(units: int = 3, **args: object) -> dict:
    return {"type": "GRUCell", "units": units, **args}


def tokens(case_id: str, *layers: dict) -> dict:
    """Padded token ids through an Embedding with mask_zero: the RNN sees the mask."""
    return seq(case_id, [6], EMBEDDING, *layers, int_inputs=6, batch=3)


CASES = [
    seq("simple_last", [5, 4], rnn(simple(4))),
    seq("simple_relu_no_bias_sequences", [5, 4],
        rnn(simple(3, activation="relu", use_bias=False), return_sequences=True)),
    seq("lstm_sequences", [5, 4], rnn(lstm(4), return_sequences=True)),
    seq("lstm_no_unit_forget_bias_backwards", [5, 4],
        rnn(lstm(2, unit_forget_bias=False, recurrent_activation="hard_sigmoid"),
            go_backwards=True)),
    seq("gru_reset_after", [5, 4], rnn(gru(4), return_sequences=True)),
    seq("gru_reset_before_unroll", [5, 4], rnn(gru(3, reset_after=False), unroll=True)),
    seq("unknown_steps", [None, 4], rnn(gru(2), return_sequences=True), forward=False),
    case("lstm_return_state", [5, 4], [rnn(lstm(3), name="r", return_state=True)],
         outputs=["r:0", "r:1", "r:2"], forward=True),
    case("gru_return_state_sequences", [5, 4],
         [rnn(gru(3), name="r", return_state=True, return_sequences=True)],
         outputs=["r:0", "r:1"], forward=True),
    # A list of cells is stacked: each reads the previous one's output at every step.
    seq("list_stack", [5, 4], rnn([simple(3), lstm(2), gru(5)], return_sequences=True)),
    seq("stacked_cells", [5, 4],
        rnn({"type": "StackedRNNCells", "cells": [lstm(4), gru(2, use_bias=False)]})),
    case("stack_return_state", [5, 4],
         [rnn([lstm(3), simple(2), gru(4)], name="r", return_state=True, go_backwards=True)],
         outputs=["r:0", "r:1", "r:2", "r:3", "r:4"], forward=True),
    case("stateful", None, [{"type": "InputLayer", "batch_shape": [2, 5, 4]},
                            rnn([lstm(3), gru(2)], stateful=True, return_sequences=True)],
         forward=True),
    case("initial_state", {"x": [5, 4], "h": [3]},
         [rnn(gru(3), name="r", inputs=["x", "h"], return_sequences=True)],
         outputs="r", forward=True),
    case("initial_state_lstm", {"x": [5, 4], "h": [3], "c": [3]},
         [rnn(lstm(3), name="r", inputs=["x", "h", "c"])], outputs="r", forward=True),
    seq("frozen", [5, 4], rnn([gru(3), simple(2)], trainable=False)),
    # Masked steps: the states carry over and the output repeats (or zeros).
    tokens("masked_lstm_sequences", rnn(lstm(4), return_sequences=True)),
    tokens("masked_gru_last", rnn(gru(3))),
    tokens("masked_zero_output", rnn(simple(3), return_sequences=True,
                                     zero_output_for_mask=True)),
    tokens("masked_stack_lstm_first", rnn([lstm(3), gru(2)], return_sequences=True)),
    tokens("masked_stack_same_units", rnn([gru(3), simple(3)], return_sequences=True)),
    tokens("masked_stack_unroll", rnn([gru(3), lstm(2)], return_sequences=True, unroll=True)),
    # Refused by Keras.
    seq("rank_2_input", [4], rnn(lstm(3)), forward=False),
    seq("cell_alone", [5, 4], lstm(3), forward=False),
]
