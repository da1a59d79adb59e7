"""Recurrent layers and their wrappers: SimpleRNN, LSTM, GRU, ConvLSTM1D/2D/3D, Bidirectional,
TimeDistributed.

Shapes follow Keras 3's ``keras/src/layers/rnn/``. A recurrent layer reads (batch, timesteps,
features) and returns the last output, or every step's with ``return_sequences``, followed by
its final states with ``return_state``. Tensors after the sequence are its ``initial_state``.
The forward kernel projects the inputs of every step at once, then loops over time steps as
Keras' ``backend.rnn`` does.

Masks: a recurrent layer skips the masked steps of its sequence (its states carried over, its
output repeated, or zeros with ``zero_output_for_mask``) and passes the mask on with
``return_sequences``. Keras fills no mask into a call with initial states; one the call gives
as its ``mask`` argument (``options["mask"]``) applies all the same. Bidirectional runs both
directions on the mask, with ``zero_output_for_mask`` forced to ``return_sequences``;
TimeDistributed hands the wrapped layer each step's slice of the mask and passes it on.

tf.keras 2 documents get tf.keras 2's Bidirectional (``TfKerasBidirectional``), whose default
backward layer reads the other way from the forward layer. There the wrappers (Bidirectional,
TimeDistributed, RNN, StackedRNNCells) build the layers they hold as tf.keras 2 does too
(``inner_variants``): an LSTM's ``hard_sigmoid`` is tf.keras 2's, inside a wrapper in a wrapper.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
from marshmallow import fields

from .. import activations
from ..arrays import float32_bytes
from ..errors import ArgumentError, LayerInputIncompatible
from ..fields import Choice, Float, IntTuple, PositiveInt
from ..shapes import (
    DATA_FORMATS,
    PADDINGS,
    Shape,
    channel_axis,
    conv_output_length,
    format_shape,
    num_elements,
    same_padding_amounts,
    shapes_text,
    spatial_axes,
)
from .base import (
    Array,
    Layer,
    LayerArgs,
    Mask,
    Shapes,
    Weight,
    activation_field,
    explain_params,
    inner_layer,
    register,
)
from .conv import SPATIAL_NAMES, convolve, length_formula
from .tf_keras import TF_KERAS_VARIANTS, WrappedLayersPolicy, tf_keras_variant

MERGE_MODES = ("concat", "sum", "mul", "ave")
LAYER_TYPE = 'layer: {"type": "LSTM", ...} or Keras {"class_name": ..., "config": ...}'
Variants = Mapping[str, type[Layer]] | None
"""Classes that build the layers a wrapper holds in place of the Keras 3 ones, by Keras name
(``TF_KERAS_VARIANTS`` in a tf.keras 2 document); None for Keras 3's."""


class RNNArgs(LayerArgs):
    """What ``keras.layers.RNN`` accepts besides its cell."""

    return_sequences = fields.Boolean(load_default=False)
    return_state = fields.Boolean(load_default=False)
    go_backwards = fields.Boolean(load_default=False)
    stateful = fields.Boolean(load_default=False)
    unroll = fields.Boolean(load_default=False)
    zero_output_for_mask = fields.Boolean(load_default=False)


class RecurrentArgs(RNNArgs):
    """What every recurrent layer accepts: ``keras.layers.RNN``'s and its cell's."""

    activation = activation_field(load_default="tanh")
    use_bias = fields.Boolean(load_default=True)
    dropout = Float(min_value=0.0, max_value=1.0, load_default=0.0)
    recurrent_dropout = Float(min_value=0.0, max_value=1.0, load_default=0.0)


def runs_masked(inputs: Sequence[Array], masks: Sequence[Mask],
                options: Mapping[str, Any]) -> bool:
    """Whether a recurrent call follows the mask of its sequence. Keras fills in the mask
    argument of a call with one tensor argument only: a call with initial states runs
    unmasked, unless the call gives its mask argument."""
    return masks[0] is not None and (len(inputs) == 1 or "mask" in options)


class Recurrent(Layer):
    """Shared by every recurrent layer: the time loop, ``return_*`` and initial states.

    A subclass says how many ``gates`` stack in its kernels, names its ``states``, and
    implements ``check_input``, ``state_shape``, ``weights_for``, ``project`` (the input
    contribution of every step at once) and ``step`` (one time step).
    """

    family = "recurrent"
    arity = None  # the sequence, then optional initial states
    supports_masking = True
    gates: ClassVar[int]

    def mask_of_list(self, given: list[Any]) -> Mask:
        return first_mask(given)
    states: ClassVar[tuple[str, ...]] = ("h",)

    @property
    def units(self) -> int:
        return self.args.units

    # -- shape rule ---------------------------------------------------------------------------
    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        sequence = inputs[0]
        self.check_input(sequence)
        state = self.state_shape(sequence)
        self.check_initial_states(inputs[1:], [state] * len(self.states))
        sequences = (sequence[0], sequence[1], *state[1:])
        output = sequences if self.args.return_sequences else state
        if self.args.return_state:
            return [output, *(state for _ in self.states)]
        return [output]

    def check_input(self, shape: Shape) -> None:
        raise NotImplementedError

    def state_shape(self, sequence: Shape) -> Shape:
        raise NotImplementedError

    def check_batch(self, sequence: Shape) -> None:
        if self.args.stateful and sequence[0] is None:
            raise LayerInputIncompatible(
                f"{self.keras_name} with stateful=True keeps its states from one batch to the "
                f"next, so it needs a fixed batch size, but the input {format_shape(sequence)} "
                "has an unknown (None) batch axis.",
                "Declare the batch size on the model input (keras.Input(batch_shape=(32, T, F)) "
                "or an InputLayer with batch_shape), or set stateful=False.")

    def check_initial_states(self, given: Shapes, expected: Shapes) -> None:
        """``expected``: the shape of each state."""
        if not given:
            return
        names = ", ".join(self.states)
        if len(given) != len(self.states):
            raise LayerInputIncompatible(
                f"{self.keras_name} takes the sequence followed by {len(self.states)} initial "
                f"state(s) ({names}), but received {len(given)} tensor(s) after the sequence.",
                f"Pass exactly the states {names}, shaped "
                f"{shapes_text(expected)}, e.g. "
                "the states another layer returned with return_state=True.")
        for name, shape, want in zip(self.states, given, expected, strict=True):
            if len(shape) != len(want) or any(
                    a is not None and b is not None and a != b
                    for a, b in zip(shape, want, strict=True)):
                raise LayerInputIncompatible(
                    f"The initial state {name} of {self.keras_name} must be shaped "
                    f"{format_shape(want)}, but received {format_shape(shape)}.",
                    "An initial state has the shape of the state this layer returns: give the "
                    "layer that produces it the same number of units.")

    # -- weights ------------------------------------------------------------------------------
    def build(self, inputs: Shapes) -> list[Weight]:
        self.check_input(inputs[0])
        return self.weights_for(inputs[0])

    # -- forward kernel -----------------------------------------------------------------------
    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        return self.run(inputs, weights)

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        if not runs_masked(inputs, masks, options):
            return self.forward(inputs, weights)
        return self.run(inputs, weights, self.step_mask(masks[0], inputs[0].shape[:2]))

    def run(self, inputs: Sequence[Array], weights: Sequence[Array],
            kept: Array | None = None) -> list[Array]:
        """The time loop; a step masked out (``kept[:, t]`` False) keeps the states and gives
        the previous output (zeros with ``zero_output_for_mask``)."""
        projected = self.project(inputs[0], weights)
        states = list(inputs[1:]) or self.zero_states(projected)
        steps = range(projected.shape[1])
        outputs = []
        for t in reversed(steps) if self.args.go_backwards else steps:
            output, new_states = self.step(projected[:, t], states, weights)
            if kept is not None:
                previous = (np.zeros_like(output) if self.zeroes_masked_outputs
                            else self.previous_output(states))
                output = np.where(kept[:, t], output, previous)
                new_states = [np.where(kept[:, t], new, old)
                              for new, old in zip(new_states, states, strict=True)]
            states = new_states
            outputs.append(output)
        # Like Keras, go_backwards returns the outputs in the order they were computed.
        output = np.stack(outputs, axis=1) if self.args.return_sequences else outputs[-1]
        return [output, *states] if self.args.return_state else [output]

    def previous_output(self, states: list[Array]) -> Array:
        """What a masked step outputs: the first state, the previous output."""
        return states[0]

    @property
    def zeroes_masked_outputs(self) -> bool:
        """Keras' unrolled loop ignores ``zero_output_for_mask``."""
        return self.args.zero_output_for_mask and not self.args.unroll

    def step_mask(self, mask: Array, steps: tuple[int, int]) -> Array:
        """(batch, steps, 1): a step is masked when its mask is False everywhere, as Keras'
        ``backend.rnn`` reads a mask (batch, steps) or (batch, steps, n)."""
        if mask.shape[:2] != steps or mask.ndim > 3:
            raise NotImplementedError(
                f"{self.keras_name} reads a mask (batch, steps) of its sequence, "
                f"{format_shape(steps)} here, but its input's mask is "
                f"{format_shape(mask.shape)}; Keras cannot apply it either.")
        return mask.reshape(*steps, -1).any(axis=-1, keepdims=True)

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        """Keras' ``RNN.compute_mask``: the sequence's mask goes with the sequences it
        returns; the last output and the states have none."""
        return [masks[0]] if self.args.return_sequences else []

    def zero_states(self, projected: Array) -> list[Array]:
        shape = (projected.shape[0], *projected.shape[2:-1], self.units)
        return [np.zeros(shape, dtype=np.float32) for _ in self.states]

    def project(self, x: Array, weights: Sequence[Array]) -> Array:
        raise NotImplementedError

    def step(self, projected: Array, states: list[Array],
             weights: Sequence[Array]) -> tuple[Array, list[Array]]:
        raise NotImplementedError

    @property
    def activation(self) -> Callable[[Array], Array]:
        return activations.get(self.args.activation)

    @property
    def recurrent_activation(self) -> Callable[[Array], Array]:
        return activations.get(self.args.recurrent_activation)

    # -- explanation --------------------------------------------------------------------------
    def explain_outputs(self, outputs: Shapes, what: str) -> str:
        """``returns the last output (None, 16)`` (+ the final states with return_state)."""
        if self.args.return_sequences:
            text = f"returns the {what} at every step {format_shape(outputs[0])}"
        else:
            text = f"returns the last {what} {format_shape(outputs[0])}"
        if self.args.return_state:
            states = " and ".join(f"{n} {format_shape(s)}"
                                  for n, s in zip(self.states, outputs[1:], strict=True))
            text += f", then the final states {states}"
        if self.args.go_backwards:
            text += "; go_backwards reads the steps last to first"
        return text


class SequenceLayer(Recurrent):
    """SimpleRNN, LSTM and GRU: a dense cell applied to (batch, timesteps, features)."""

    bias_initializer: ClassVar[str] = "zeros"

    class Args(RecurrentArgs):
        units = PositiveInt(required=True)

    def check_input(self, shape: Shape) -> None:
        if len(shape) != 3:
            raise LayerInputIncompatible(self.rank_message(shape), self.rank_hint(shape))
        self.check_batch(shape)

    def rank_message(self, shape: Shape) -> str:
        text = (f"{self.keras_name} reads sequences shaped (batch, timesteps, features), but "
                f"received {format_shape(shape)} of rank {len(shape)}")
        if len(shape) == 2:
            return text + ": one flat vector per sample, with no time axis."
        if len(shape) > 3:
            return text + ": each time step is not a flat vector of features."
        return text + "."

    def rank_hint(self, shape: Shape) -> str:
        if len(shape) == 2:
            features = "F" if shape[1] is None else shape[1]
            return (f"Add a timestep axis: reshape the data to (N, T, F), e.g. x.reshape(N, 1, "
                    f"{features}) for one step of {features} features, or put "
                    f"Reshape((1, {features})) before this layer (Reshape(({features}, 1)) reads "
                    "the values as that many steps of one feature).")
        if len(shape) > 3:
            steps = "T" if shape[1] is None else shape[1]
            return (f"Flatten each time step first: TimeDistributed(Flatten()) or "
                    f"Reshape(({steps}, -1)) before this layer; for sequences of images, "
                    f"ConvLSTM{len(shape) - 3}D keeps the spatial layout.")
        return "Give the model input a time axis and a feature axis: shape (timesteps, features)."

    def state_shape(self, sequence: Shape) -> Shape:
        return (sequence[0], self.units)

    def weights_for(self, shape: Shape) -> list[Weight]:
        features = self.require_known(shape[-1], "the number of features per time step")
        width = self.gates * self.units
        weights = [Weight("kernel", (features, width), initializer="glorot_uniform"),
                   Weight("recurrent_kernel", (self.units, width), initializer="orthogonal")]
        if self.args.use_bias:
            weights.append(Weight("bias", self.bias_shape(), initializer=self.bias_initializer))
        return weights

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        steps, features = inputs[0][1] or 0, inputs[0][-1] or 0
        return steps * (features + self.units) * self.gates * self.units

    def kernel_steps(self, inputs: Shapes, outputs: Shapes) -> int:
        """The time loop."""
        return inputs[0][1] or 0

    def project(self, x: Array, weights: Sequence[Array]) -> Array:
        projected = x @ weights[0]
        if self.args.use_bias:
            projected = projected + self.input_bias(weights[2])
        return projected

    def input_bias(self, bias: Array) -> Array:
        return bias

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        steps, features = inputs[0][1], inputs[0][-1]
        shape_text = (f"reads {time_steps(steps)} of {features} features and "
                      f"{self.explain_outputs(outputs, f'hidden state of {self.units} units')}")
        biases = self.bias_shape()[0] if len(self.bias_shape()) > 1 else 1
        bias = f" + {biases}" if self.args.use_bias else ""
        gates = f"{self.gates}·" if self.gates > 1 else ""
        total = sum(w.size for w in weights)
        return (f"{shape_text}; params {gates}({features} + {self.units}{bias})·{self.units} = "
                f"{total:,}{self.gate_names()}")

    def gate_names(self) -> str:
        return ""


@register
class SimpleRNN(SequenceLayer):
    """Fully connected RNN: ``h = activation(x·kernel + h·recurrent_kernel + bias)``."""

    keras_name = "SimpleRNN"
    gates = 1

    def step(self, projected: Array, states: list[Array],
             weights: Sequence[Array]) -> tuple[Array, list[Array]]:
        h = self.activation(projected + states[0] @ weights[1])
        return h, [h]


def lstm_update(z: Array, c: Array, activation: Callable[[Array], Array],
                recurrent_activation: Callable[[Array], Array]) -> tuple[Array, Array]:
    """One LSTM update from the gate pre-activations ``z`` (gates i, f, c, o on the last axis)."""
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    c = recurrent_activation(z_f) * c + recurrent_activation(z_i) * activation(z_c)
    h = recurrent_activation(z_o) * activation(c)
    return h, c


@register
class LSTM(SequenceLayer):
    """Long short-term memory; kernels stack the gates i, f, c, o; states h and c."""

    keras_name = "LSTM"
    gates = 4
    states = ("h", "c")

    class Args(SequenceLayer.Args):
        recurrent_activation = activation_field(load_default="sigmoid")
        unit_forget_bias = fields.Boolean(load_default=True)

    @property
    def bias_initializer(self) -> str:  # type: ignore[override]
        return "unit_forget_bias" if self.args.unit_forget_bias else "zeros"

    def step(self, projected: Array, states: list[Array],
             weights: Sequence[Array]) -> tuple[Array, list[Array]]:
        h, c = states
        h, c = lstm_update(projected + h @ weights[1], c, self.activation,
                           self.recurrent_activation)
        return h, [h, c]

    def gate_names(self) -> str:
        return " (gates i, f, c, o)"


@register
class GRU(SequenceLayer):
    """Gated recurrent unit; kernels stack the gates z, r, h.

    With ``reset_after`` (the Keras 3 default, cuDNN-compatible) the reset gate multiplies
    the recurrent projection, which has its own bias: the bias is (2, 3·units).
    """

    keras_name = "GRU"
    gates = 3

    class Args(SequenceLayer.Args):
        recurrent_activation = activation_field(load_default="sigmoid")
        reset_after = fields.Boolean(load_default=True)

    def bias_shape(self) -> tuple[int, ...]:
        width = self.gates * self.units
        return (2, width) if self.args.reset_after else (width,)

    def input_bias(self, bias: Array) -> Array:
        return bias[0] if self.args.reset_after else bias

    def step(self, projected: Array, states: list[Array],
             weights: Sequence[Array]) -> tuple[Array, list[Array]]:
        h, recurrent_kernel, u = states[0], weights[1], self.units
        x_z, x_r, x_h = np.split(projected, 3, axis=-1)
        if self.args.reset_after:
            inner = h @ recurrent_kernel
            if self.args.use_bias:
                inner = inner + weights[2][1]
            z = self.recurrent_activation(x_z + inner[:, :u])
            r = self.recurrent_activation(x_r + inner[:, u:2 * u])
            candidate = self.activation(x_h + r * inner[:, 2 * u:])
        else:
            inner = h @ recurrent_kernel[:, :2 * u]
            z = self.recurrent_activation(x_z + inner[:, :u])
            r = self.recurrent_activation(x_r + inner[:, u:])
            candidate = self.activation(x_h + (r * h) @ recurrent_kernel[:, 2 * u:])
        h = z * h + (1 - z) * candidate
        return h, [h]

    def gate_names(self) -> str:
        if self.args.reset_after and self.args.use_bias:
            return " (gates z, r, h; reset_after adds a second, recurrent bias)"
        return " (gates z, r, h)"


class ConvLSTMArgs(RecurrentArgs):
    filters = PositiveInt(required=True)
    kernel_size = IntTuple(required=True)
    strides = IntTuple(load_default=1)
    padding = Choice(PADDINGS, load_default="valid")
    data_format = Choice(DATA_FORMATS, load_default="channels_last", allow_none=True)
    dilation_rate = IntTuple(load_default=1)
    recurrent_activation = activation_field(load_default="sigmoid")
    unit_forget_bias = fields.Boolean(load_default=True)


class ConvLSTM(Recurrent):
    """Shared by ConvLSTM1D/2D/3D: an LSTM whose kernels are convolutions.

    The input convolution follows ``strides``, ``padding`` and ``dilation_rate``; the
    recurrent one always has stride 1 and 'same' padding, so the states keep the output's
    spatial size.
    """

    rank: ClassVar[int]
    gates = 4
    states = ("h", "c")
    Args = ConvLSTMArgs
    fixed_spatial_sizes: ClassVar[bool] = True
    """Keras 3 builds its states from the spatial sizes; tf.keras 2 takes unknown ones."""

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        args["data_format"] = args.get("data_format") or "channels_last"
        super().__init__(name, args)
        self.kernel_size = self.expand_tuple(args["kernel_size"], self.rank, "kernel_size")
        self.strides = self.expand_tuple(args["strides"], self.rank, "strides")
        self.dilation = self.expand_tuple(args["dilation_rate"], self.rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation) > 1:
            raise ArgumentError("dilation_rate", "strides > 1 cannot be combined with "
                                                 "dilation_rate > 1")

    @property
    def units(self) -> int:
        return self.args.filters

    @property
    def data_format(self) -> str:
        return self.args.data_format

    def layout(self) -> str:
        spatial = SPATIAL_NAMES[self.rank]
        if self.data_format == "channels_last":
            return f"(batch, time, {spatial}, channels)"
        return f"(batch, time, channels, {spatial})"

    def check_input(self, shape: Shape) -> None:
        if len(shape) != self.rank + 3:
            raise LayerInputIncompatible(
                f"{self.keras_name} reads sequences of {self.rank}-D feature maps shaped "
                f"{self.layout()}, but received {format_shape(shape)} of rank {len(shape)}.",
                self.rank_hint(shape))
        step = self.step_shape(shape)
        if self.fixed_spatial_sizes and any(
                step[axis] is None for axis in spatial_axes(self.rank, self.data_format)):
            raise LayerInputIncompatible(
                f"{self.keras_name} needs fixed spatial sizes, but the input "
                f"{format_shape(shape)} has an unknown (None) spatial axis.",
                "Give the model input fixed spatial sizes; only the time axis may be None.")
        self.require_known(self.channels(shape), "the number of input channels")
        self.check_batch(shape)

    def rank_hint(self, shape: Shape) -> str:
        if len(shape) == self.rank + 2:
            return (f"The input has no time axis: reshape the data to {self.layout()} (a time "
                    f"axis of 1 for single samples), or use Conv{self.rank}D for single "
                    "feature maps.")
        return rank_difference_hint(len(shape), self.rank + 3)

    def step_shape(self, sequence: Shape) -> Shape:
        return (sequence[0], *sequence[2:])

    def channels(self, sequence: Shape) -> int | None:
        return self.step_shape(sequence)[channel_axis(self.data_format)]

    def state_shape(self, sequence: Shape) -> Shape:
        step = self.step_shape(sequence)
        lengths = []
        for axis, k, s, d in zip(spatial_axes(self.rank, self.data_format), self.kernel_size,
                                 self.strides, self.dilation, strict=True):
            length = conv_output_length(step[axis], k, self.args.padding, s, d)
            if length is not None and length <= 0 and self.args.padding == "valid":
                raise LayerInputIncompatible(
                    f"{self.keras_name} slides a window of {k} (dilation {d}) over a spatial "
                    f"axis of length {step[axis]} (input {format_shape(sequence)}) with "
                    "padding='valid': the window does not fit, so there is no output position.",
                    "Use padding='same' or a smaller kernel_size.")
            lengths.append(length)
        if self.data_format == "channels_last":
            return (sequence[0], *lengths, self.units)
        return (sequence[0], self.units, *lengths)

    def weights_for(self, shape: Shape) -> list[Weight]:
        channels = self.channels(shape)
        width = self.gates * self.units
        weights = [Weight("kernel", (*self.kernel_size, channels, width),
                          initializer="glorot_uniform"),
                   Weight("recurrent_kernel", (*self.kernel_size, self.units, width),
                          initializer="orthogonal")]
        if self.args.use_bias:
            initializer = "unit_forget_bias" if self.args.unit_forget_bias else "zeros"
            weights.append(Weight("bias", (width,), initializer=initializer))
        return weights

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        steps = inputs[0][1] or 0
        channels = self.channels(inputs[0]) or 0
        positions = (num_elements(self.state_shape(inputs[0])[1:]) or 0) // self.units
        per_position = math.prod(self.kernel_size) * (channels + self.units)
        return steps * positions * per_position * self.gates * self.units

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        if self.data_format == "channels_last":
            return super().forward(inputs, weights)
        sequence, *states = inputs
        outputs = super().forward([np.moveaxis(sequence, 2, -1),
                                   *(np.moveaxis(s, 1, -1) for s in states)], weights)
        first = 2 if self.args.return_sequences else 1
        return [np.moveaxis(outputs[0], -1, first), *(np.moveaxis(s, -1, 1)
                                                      for s in outputs[1:])]

    def step_mask(self, mask: Array, steps: tuple[int, int]) -> Array:
        raise NotImplementedError(
            f"{self.keras_name} receives a masked sequence; Keras' time loop broadcasts each "
            "step's mask against the feature maps, which the forward pass does not reproduce. "
            "Drop the mask before it (a layer that does not support masking, e.g. a Conv3D).")

    def scratch_bytes(self, inputs: Shapes, outputs: Shapes) -> int:
        """The input convolution of every step at once (``project``): its padded frames and
        its patch matrix, an upper bound."""
        sequence = inputs[0]
        step = self.step_shape(sequence)
        frames = (step[0] or 1) * (sequence[1] or 0)
        channels = step[channel_axis(self.data_format)] or 0
        lengths = [step[axis] or 0 for axis in spatial_axes(self.rank, self.data_format)]
        windows = list(zip(lengths, self.kernel_size, self.strides, self.dilation, strict=True))
        padded = [n + (sum(same_padding_amounts(n, k, s, d)) if self.args.padding == "same"
                       else 0) for n, k, s, d in windows]
        positions = math.prod(max(conv_output_length(n, k, self.args.padding, s, d), 0)
                              for n, k, s, d in windows)
        return float32_bytes((frames, math.prod(padded) + positions * math.prod(
            self.kernel_size), channels))

    def project(self, x: Array, weights: Sequence[Array]) -> Array:
        """The input convolution of every step at once, channels_last: (N, T, *out, 4·f)."""
        batch, steps = x.shape[:2]
        frames = x.reshape(batch * steps, *x.shape[2:])
        projected = convolve(frames, weights[0], self.strides, self.dilation, self.args.padding)
        if self.args.use_bias:
            projected = projected + weights[2]
        return projected.reshape(batch, steps, *projected.shape[1:])

    def step(self, projected: Array, states: list[Array],
             weights: Sequence[Array]) -> tuple[Array, list[Array]]:
        h, c = states
        ones = (1,) * self.rank
        recurrent = convolve(h, weights[1], ones, ones, "same")
        h, c = lstm_update(projected + recurrent, c, self.activation, self.recurrent_activation)
        return h, [h, c]

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        sequence, state = inputs[0], self.state_shape(inputs[0])
        step = self.step_shape(sequence)
        parts = [length_formula(step[axis], state[axis], k, self.args.padding, s, d)
                 for axis, k, s, d in zip(spatial_axes(self.rank, self.data_format),
                                          self.kernel_size, self.strides, self.dilation,
                                          strict=True)]
        distinct = list(dict.fromkeys(parts))
        where = "on each spatial axis" if len(distinct) == 1 else "on the spatial axes"
        channels = self.channels(sequence)
        window = "·".join(str(k) for k in self.kernel_size)
        bias = " + 1" if self.args.use_bias else ""
        total = sum(w.size for w in weights)
        what = f"{self.units}-filter state"
        return (f"{'; '.join(distinct)} {where} of each of {time_steps(sequence[1])}; "
                f"{self.explain_outputs(outputs, what)}; params 4·({window}·{channels} + "
                f"{window}·{self.units}{bias})·{self.units} = {total:,} (gates i, f, c, o)")


def time_steps(length: int | None) -> str:
    """``the 10 time steps``, or ``the time steps`` when the length is unknown (None)."""
    return "the time steps (any number)" if length is None else f"the {length} time steps"


def rank_difference_hint(received: int, expected: int) -> str:
    if received < expected:
        return (f"The input has {expected - received} axis(es) too few: add them to the data "
                "or insert a Reshape before this layer.")
    return "The input has too many axes: insert a Reshape before this layer."


@register
class ConvLSTM1D(ConvLSTM):
    """1-D convolutional LSTM over (batch, time, steps, channels)."""

    keras_name = "ConvLSTM1D"
    rank = 1


@register
class ConvLSTM2D(ConvLSTM):
    """2-D convolutional LSTM over sequences of images (batch, time, height, width, channels)."""

    keras_name = "ConvLSTM2D"
    rank = 2


@register
class ConvLSTM3D(ConvLSTM):
    """3-D convolutional LSTM over sequences of (depth, height, width, channels) volumes."""

    keras_name = "ConvLSTM3D"
    rank = 3


@tf_keras_variant
class TfKerasConvLSTM1D(ConvLSTM1D):
    """tf.keras 2's ConvLSTM1D, which takes unknown spatial sizes."""

    fixed_spatial_sizes = False


@tf_keras_variant
class TfKerasConvLSTM2D(ConvLSTM2D):
    """tf.keras 2's ConvLSTM2D, which takes unknown spatial sizes."""

    fixed_spatial_sizes = False


@tf_keras_variant
class TfKerasConvLSTM3D(ConvLSTM3D):
    """tf.keras 2's ConvLSTM3D, which takes unknown spatial sizes."""

    fixed_spatial_sizes = False


# -- the generic RNN and its cells ------------------------------------------------------------
CELL_TYPE = ('cell: {"type": "LSTMCell", "units": 8}, a list of cells, or Keras '
             '{"class_name": ..., "config": ...}')


class Cell:
    """A cell computes one time step; Keras runs it over a sequence only inside ``RNN``."""

    supports_masking = False
    keras_name: ClassVar[str]

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        raise LayerInputIncompatible(
            f"{self.keras_name} computes one time step from an input and the previous states; "
            "Keras cannot call it on a tensor alone.",
            f'Wrap it in an RNN layer: {{"type": "RNN", "cell": {{"type": "{self.keras_name}", '
            '...}}, or use the matching layer (SimpleRNN, LSTM, GRU).')


@register
class SimpleRNNCell(Cell, SimpleRNN):
    """The step of SimpleRNN, for ``RNN``."""

    keras_name = "SimpleRNNCell"


@register
class LSTMCell(Cell, LSTM):
    """The step of LSTM, for ``RNN``."""

    keras_name = "LSTMCell"


@register
class GRUCell(Cell, GRU):
    """The step of GRU, for ``RNN``."""

    keras_name = "GRUCell"


@register
class StackedRNNCells(Cell, Layer):
    """Cells run one after the other at each step: a cell reads the previous cell's output."""

    keras_name = "StackedRNNCells"
    nested_layers = ("cells",)
    family = "recurrent"
    inner_variants: ClassVar[Variants] = None

    class Args(LayerArgs):
        cells = fields.List(fields.Dict(), required=True, metadata={"type": CELL_TYPE})

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.cells = cell_list(args["cells"], "cells", self.inner_variants)


@tf_keras_variant
class TfKerasStackedRNNCells(StackedRNNCells):
    """StackedRNNCells in a tf.keras 2 document: its cells are tf.keras 2's."""

    inner_variants = TF_KERAS_VARIANTS


def cell_list(specs: Sequence[Any], field: str, variants: Variants) -> list[SequenceLayer]:
    if not specs:
        raise ArgumentError(field, "give at least one cell")
    return [rnn_cell(spec, f"{field}.{index}", variants) for index, spec in enumerate(specs)]


def rnn_cell(spec: Any, field: str, variants: Variants) -> SequenceLayer:
    if not isinstance(spec, Mapping):
        raise ArgumentError(field, f"a cell is a dict ({CELL_TYPE}), not {spec!r}")
    cell = inner_layer(spec, field, variants)
    if not isinstance(cell, (SimpleRNNCell, LSTMCell, GRUCell)):
        raise ArgumentError(field, "a cell is SimpleRNNCell, LSTMCell or GRUCell, not "
                                   f"{cell.keras_name}")
    return cell


@register
class RNN(Recurrent):
    """Runs a cell, or a stack of cells, over the time steps of a sequence.

    ``cell`` is one cell, a StackedRNNCells or a list of cells (Keras stacks them). Each step
    runs the cells in order, each reading the previous one's output; the output is the last
    cell's. The states, initial states and the weights are every cell's, in order.
    """

    keras_name = "RNN"
    nested_layers = ("cell",)
    inner_variants: ClassVar[Variants] = None

    class Args(RNNArgs):
        cell = fields.Raw(required=True, metadata={"type": CELL_TYPE})

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        cell, variants = args["cell"], self.inner_variants
        if isinstance(cell, list):
            self.cells = cell_list(cell, "cell", variants)
        else:
            stack = (inner_layer(cell, "cell", variants) if is_stack(cell)
                     else rnn_cell(cell, "cell", variants))
            self.cells = stack.cells if isinstance(stack, StackedRNNCells) else [stack]
        self.states = tuple(f"{state}{index}" if len(self.cells) > 1 else state
                            for index, cell in enumerate(self.cells, 1) for state in cell.states)

    @property
    def units(self) -> int:
        return self.cells[-1].units

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        sequence = inputs[0]
        self.check_input(sequence)
        states = [(sequence[0], cell.units) for cell in self.cells for _ in cell.states]
        self.check_initial_states(inputs[1:], states)
        output = (*sequence[:2], self.units) if self.args.return_sequences else states[-1]
        return [output, *states] if self.args.return_state else [output]

    def check_input(self, shape: Shape) -> None:
        self.cells[0].check_input(shape)
        self.check_batch(shape)

    def cell_inputs(self, sequence: Shape) -> list[Shape]:
        """The sequence each cell reads: the input, then the previous cell's outputs."""
        return [sequence, *((*sequence[:2], cell.units) for cell in self.cells[:-1])]

    def weights_for(self, shape: Shape) -> list[Weight]:
        return [weight for cell, sequence in zip(self.cells, self.cell_inputs(shape), strict=True)
                for weight in cell.weights_for(sequence)]

    def cell_weights(self, weights: Sequence[Array]) -> Iterator[Sequence[Array]]:
        """Each cell's weights: kernel, recurrent kernel and (with use_bias) bias."""
        start = 0
        for cell in self.cells:
            count = 3 if cell.args.use_bias else 2
            yield weights[start:start + count]
            start += count

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        return sum(cell.macs([sequence], []) for cell, sequence
                   in zip(self.cells, self.cell_inputs(inputs[0]), strict=True))

    def zero_states(self, projected: Array) -> list[Array]:
        return [np.zeros((projected.shape[0], cell.units), dtype=np.float32)
                for cell in self.cells for _ in cell.states]

    def project(self, x: Array, weights: Sequence[Array]) -> Array:
        return self.cells[0].project(x, weights)

    def step(self, projected: Array, states: list[Array],
             weights: Sequence[Array]) -> tuple[Array, list[Array]]:
        x, new_states = projected, []
        for index, (cell, own) in enumerate(zip(self.cells, self.cell_weights(weights),
                                                strict=True)):
            if index:  # the first cell's input is projected already
                x = cell.project(x, own)
            cell_states, states = states[:len(cell.states)], states[len(cell.states):]
            x, cell_states = cell.step(x, cell_states, own)
            new_states += cell_states
        return x, new_states

    def previous_output(self, states: list[Array]) -> Array:
        """The last cell's first state (its output)."""
        return states[-len(self.cells[-1].states)]

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        cells = " → ".join(f"{cell.keras_name}({cell.units})" for cell in self.cells)
        what = f"output of {self.units} units"
        return (f"runs {cells} at each of {time_steps(inputs[0][1])} and "
                f"{self.explain_outputs(outputs, what)}; {explain_params(weights)}")


@tf_keras_variant
class TfKerasRNN(RNN):
    """RNN in a tf.keras 2 document: its cells (or stack of cells) are tf.keras 2's."""

    inner_variants = TF_KERAS_VARIANTS


def is_stack(spec: Any) -> bool:
    """A StackedRNNCells spec, native or Keras JSON."""
    if not isinstance(spec, Mapping):
        return False
    return (spec.get("class_name") or spec.get("type")) == StackedRNNCells.keras_name


# -- wrappers ---------------------------------------------------------------------------------
def scoped(weights: Sequence[Weight], prefix: str, trainable: bool) -> list[Weight]:
    """A wrapped layer's weights under the wrapper: renamed, frozen with the wrapped layer."""
    return [dataclasses.replace(w, name=f"{prefix}{w.name}", trainable=w.trainable and trainable)
            for w in weights]


@register
class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy backwards over the sequence and merges them.

    ``merge_mode`` concat (default) joins the last axes, sum/mul/ave combine them element by
    element, and null returns both outputs. With ``return_state`` the forward states, then the
    backward states follow. Initial states are the forward layer's, then the backward layer's.
    """

    keras_name = "Bidirectional"
    nested_layers = ("layer", "backward_layer")
    family = "recurrent"
    arity = None
    supports_masking = True
    inner_variants: ClassVar[Variants] = None

    def mask_of_list(self, given: list[Any]) -> Mask:
        return first_mask(given)

    class Args(LayerArgs):
        layer = fields.Dict(required=True, metadata={"type": LAYER_TYPE})
        merge_mode = Choice(MERGE_MODES, load_default="concat", allow_none=True,
                            case_sensitive=True,
                            metadata={"type": " | ".join(MERGE_MODES) + " | null"})
        backward_layer = fields.Dict(load_default=None, allow_none=True,
                                     metadata={"type": LAYER_TYPE})

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.forward_layer = recurrent_layer(args["layer"], "layer", self.inner_variants)
        if args["backward_layer"] is None:
            self.backward_layer = backwards_copy(self.forward_layer, self.default_go_backwards())
        else:
            self.backward_layer = recurrent_layer(args["backward_layer"], "backward_layer",
                                                  self.inner_variants)
        self.verify_pair()
        for layer in self.pair:  # Keras' force_zero_output_for_mask
            layer.args.zero_output_for_mask = layer.args.return_sequences

    def default_go_backwards(self) -> bool:
        """``go_backwards`` of the copy of the forward layer that runs backwards when no
        ``backward_layer`` is given: Keras 3 sets it (and then refuses a forward layer that
        has it too)."""
        return True

    def verify_pair(self) -> None:
        """Keras' ``_verify_layer_config``."""
        forward, backward = self.forward_layer.args, self.backward_layer.args
        if forward.go_backwards == backward.go_backwards:
            field = "layer.go_backwards" if self.args.backward_layer is None else "backward_layer"
            raise ArgumentError(field, "the forward and backward layers must differ in "
                                       f"go_backwards, but both have {forward.go_backwards}")
        for attribute in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ArgumentError("backward_layer", f"{attribute} must equal the forward "
                                                      f"layer's ({getattr(forward, attribute)})")

    @property
    def pair(self) -> tuple[Recurrent, Recurrent]:
        return self.forward_layer, self.backward_layer

    def split_states(self, inputs: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        """(forward inputs, backward inputs): the sequence, then each half of the states."""
        sequence, states = inputs[0], list(inputs[1:])
        half = len(states) // 2
        return [sequence, *states[:half]], [sequence, *states[half:]]

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        forward_in, backward_in = self.split_states(inputs)
        forward = self.forward_layer.output_shapes(forward_in)
        backward = self.backward_layer.output_shapes(backward_in)
        return [*self.merged_shapes(forward[0], backward[0]), *forward[1:], *backward[1:]]

    def merged_shapes(self, y: Shape, y_rev: Shape) -> list[Shape]:
        mode = self.args.merge_mode
        if mode is None:
            return [y, y_rev]
        if mode == "concat":
            return [(*y[:-1], y[-1] + y_rev[-1])]
        if y != y_rev:
            raise LayerInputIncompatible(
                f"Bidirectional with merge_mode='{mode}' combines the forward output "
                f"{format_shape(y)} and the backward output {format_shape(y_rev)} element by "
                "element, so they must have the same shape.",
                "Give backward_layer the same number of units as the forward layer, or use "
                "merge_mode='concat'.")
        return [y]

    def build(self, inputs: Shapes) -> list[Weight]:
        forward_in, backward_in = self.split_states(inputs)
        return [*scoped(self.forward_layer.build(forward_in), "forward_",
                        self.forward_layer.trainable),
                *scoped(self.backward_layer.build(backward_in), "backward_",
                        self.backward_layer.trainable)]

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        return sum(layer.macs(part, layer.output_shapes(part))
                   for layer, part in zip(self.pair, self.split_states(inputs), strict=True))

    def kernel_steps(self, inputs: Shapes, outputs: Shapes) -> int:
        return 2 * (inputs[0][1] or 0)  # forwards, then backwards

    def scratch_bytes(self, inputs: Shapes, outputs: Shapes) -> int:
        """Each direction's (a ConvLSTM's padded frames), one after the other: the larger."""
        sequence = [inputs[0]]
        return max(layer.scratch_bytes(sequence, layer.output_shapes(sequence))
                   for layer in self.pair)

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        return self.run(inputs, weights)

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        if not runs_masked(inputs, masks, options):
            return self.forward(inputs, weights)
        return self.run(inputs, weights, masks[0])

    def run(self, inputs: Sequence[Array], weights: Sequence[Array],
            mask: Array | None = None) -> list[Array]:
        forward_in, backward_in = self.split_states(inputs)
        count = len(self.forward_layer.build([tuple(forward_in[0].shape)]))
        masks = [mask, *[None] * (len(forward_in) - 1)]
        given = {"mask": mask}  # Keras' Bidirectional calls each direction with mask=mask
        forward = self.forward_layer.forward_masked(forward_in, weights[:count], masks, given)
        backward = self.backward_layer.forward_masked(backward_in, weights[count:], masks, given)
        y, y_rev = forward[0], backward[0]
        if self.forward_layer.args.return_sequences:
            y_rev = np.flip(y_rev, axis=1)
        return [*self.merge(y, y_rev), *forward[1:], *backward[1:]]

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Mask]) -> list[Mask]:
        """The sequence's mask goes with each sequence output (two without ``merge_mode``)."""
        if not self.forward_layer.args.return_sequences:
            return []
        return [masks[0]] * (1 if self.args.merge_mode else 2)

    def merge(self, y: Array, y_rev: Array) -> list[Array]:
        mode = self.args.merge_mode
        if mode is None:
            return [y, y_rev]
        if mode == "concat":
            return [np.concatenate([y, y_rev], axis=-1)]
        return [{"sum": y + y_rev, "mul": y * y_rev, "ave": (y + y_rev) / 2}[mode]]

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        forward, backward = self.pair
        forward_in, _ = self.split_states(inputs)
        y = forward.output_shapes(forward_in)[0]
        mode = self.args.merge_mode
        merged = {
            None: "returns both outputs",
            "concat": f"concatenates them on the last axis ({y[-1]} + "
                      f"{outputs[0][-1] - y[-1]} = {outputs[0][-1]})",
            "sum": "adds them", "mul": "multiplies them", "ave": "averages them",
        }[mode]
        partner = ("a copy of it" if self.args.backward_layer is None
                   else f"backward_layer {backward.keras_name}")
        return (f"runs {forward.keras_name} {direction(forward)} and {partner} "
                f"{direction(backward)} over the sequence, each giving {format_shape(y)}, and "
                f"{merged}; {explain_params(weights)}")


@tf_keras_variant
class TfKerasBidirectional(WrappedLayersPolicy, Bidirectional):
    """Bidirectional as tf.keras 2 builds it: its layers are tf.keras 2's, and the default
    backward layer reads the sequence the other way from the forward layer (``go_backwards``
    negated), so that a forward layer with go_backwards=True is paired with a copy reading
    first to last. Its outputs are then merged as any pair's: the copy's sequence reversed."""

    inner_variants = TF_KERAS_VARIANTS

    def default_go_backwards(self) -> bool:
        return not self.forward_layer.args.go_backwards


def first_mask(given: list[Any]) -> Mask:
    """The mask of a list given for the sequence: Keras' recurrent layers and Bidirectional
    take its first item (``mask[0]``; an empty list fails there with an IndexError)."""
    if not given:
        raise NotImplementedError("its mask argument is an empty list, whose first item Keras' "
                                  "call reads (IndexError: its predict fails)")
    mask = given[0]
    if mask is not None and not isinstance(mask, np.ndarray):
        raise NotImplementedError(
            f"its mask argument gives a {type(mask).__name__} where the sequence's mask goes")
    return mask


def direction(layer: Recurrent) -> str:
    return "backwards" if layer.args.go_backwards else "forwards"


def recurrent_layer(spec: Any, field: str, variants: Variants) -> Recurrent:
    layer = inner_layer(spec, field, variants)
    if not isinstance(layer, Recurrent):
        raise ArgumentError(field, f"Bidirectional wraps a recurrent layer (LSTM, GRU, "
                                   f"SimpleRNN, ConvLSTM2D, ...), not {layer.keras_name}")
    return layer


def backwards_copy(layer: Recurrent, go_backwards: bool) -> Recurrent:
    """Keras' default backward layer: the forward layer's config with ``go_backwards``."""
    twin = type(layer).__new__(type(layer))
    twin.__dict__.update(layer.__dict__)
    twin.name = f"backward_{layer.name}"
    twin.args = SimpleNamespace(**{**vars(layer.args), "go_backwards": go_backwards})
    return twin


@register
class TimeDistributed(Layer):
    """Applies a layer to every time step, one set of weights shared by all steps.

    (batch, time, ...) → (batch, time, ...'): the wrapped layer's rule on (batch, ...).
    """

    keras_name = "TimeDistributed"
    nested_layers = ("layer",)
    family = "recurrent"
    supports_masking = True
    inner_variants: ClassVar[Variants] = None

    class Args(LayerArgs):
        layer = fields.Dict(required=True, metadata={"type": LAYER_TYPE})

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        super().__init__(name, args)
        self.layer = inner_layer(args["layer"], "layer", self.inner_variants)

    def step_shape(self, shape: Shape) -> Shape:
        """The input of the wrapped layer: one time step, (batch, *shape[2:])."""
        if len(shape) < 3:
            raise LayerInputIncompatible(
                f"TimeDistributed applies {self.layer.keras_name} to each step of a time axis "
                f"(batch, time, ...), so it needs at least 3 axes, but received "
                f"{format_shape(shape)}.",
                f"Use {self.layer.keras_name} without TimeDistributed, or give the data a time "
                "axis (Reshape((T, -1)) or x.reshape(N, T, ...)).")
        return (shape[0], *shape[2:])

    @contextlib.contextmanager
    def per_step(self, step: Shape) -> Iterator[None]:
        """Say that the wrapped layer's problem is with one time step of the input."""
        try:
            yield
        except LayerInputIncompatible as exc:
            raise LayerInputIncompatible(
                f"TimeDistributed gives {self.layer.keras_name} one time step at a time, shaped "
                f"{format_shape(step)}: {exc.message}", exc.hint) from None

    def output_shape(self, shape: Shape) -> Shape:
        step = self.step_shape(shape)
        with self.per_step(step):
            outputs = self.layer.output_shapes([step])
        if len(outputs) != 1:
            raise LayerInputIncompatible(
                f"TimeDistributed can only wrap a layer with one output, but "
                f"{self.layer.keras_name} returns {len(outputs)} here.",
                "Set return_state=False on the wrapped layer.")
        out = outputs[0]
        return (out[0], shape[1], *out[1:])

    def weights_for(self, shape: Shape) -> list[Weight]:
        step = self.step_shape(shape)
        with self.per_step(step):
            return scoped(self.layer.build([step]), "", self.layer.trainable)

    def merged_adapters(self, arrays: Sequence[Array]) -> Sequence[Array]:
        return self.layer.merged_adapters(arrays)

    def computed_output_shape(self, inputs: Shapes) -> Shape | None:
        """The steps as the wrapped layer computes them (a RandomCrop's, uncropped)."""
        shape = inputs[0]
        out = self.layer.computed_output_shape([self.step_shape(shape)])
        return None if out is None else (out[0], shape[1], *out[1:])

    def undeclared_shape(self, index: int, options: Mapping[str, Any],
                         inputs: Shapes) -> str | None:
        return self.layer.undeclared_shape(index, {}, [self.step_shape(inputs[0])])

    # Integers: what the wrapped layer does with them, on each step (probed in both Keras).
    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        return self.layer.output_dtype(dtypes)

    def on_integer_inputs(self, inputs: Sequence[Array], weights: Sequence[Array],
                          outputs: list[Array], dtype: str) -> list[Array]:
        """The wrapped layer's, on the steps as one batch."""
        steps = [x.reshape(-1, *x.shape[2:]) for x in inputs]
        merged = [y.reshape(-1, *y.shape[2:]) for y in outputs]
        done = self.layer.on_integer_inputs(steps, weights, merged, dtype)
        return [y.reshape(*out.shape[:2], *y.shape[1:]) for y, out in zip(done, outputs,
                                                                          strict=True)]

    def integer_caveat(self, dtype: str) -> str | None:
        return self.layer.integer_caveat(dtype)

    def macs(self, inputs: Shapes, outputs: Shapes) -> int:
        shape = inputs[0]
        step, step_out = self.step_shape(shape), (outputs[0][0], *outputs[0][2:])
        return (shape[1] or 0) * self.layer.macs([step], [step_out])

    def scratch_bytes(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.layer.scratch_bytes(*self.merged_steps(inputs[0], outputs[0]))

    def kernel_steps(self, inputs: Shapes, outputs: Shapes) -> int:
        return self.layer.kernel_steps(*self.merged_steps(inputs[0], outputs[0]))

    @staticmethod
    def merged_steps(shape: Shape, out: Shape) -> tuple[Shapes, Shapes]:
        """The wrapped layer's input and output as the kernel runs it: the batch·time steps
        as one batch."""
        steps = shape[1] or 0
        return [((shape[0] or 1) * steps, *shape[2:])], [((out[0] or 1) * steps, *out[2:])]

    def apply(self, x: Array, weights: Sequence[Array]) -> Array:
        return self.run(x, weights)

    def forward_masked(self, inputs: Sequence[Array], weights: Sequence[Array],
                       masks: Sequence[Mask], options: Mapping[str, Any]) -> list[Array]:
        return [self.run(inputs[0], weights, masks[0])]

    def run(self, x: Array, weights: Sequence[Array], mask: Array | None = None) -> Array:
        """The wrapped layer on every step at once (batch · time samples), each with its
        slice of the mask."""
        batch, steps = x.shape[:2]
        frames = x.reshape(batch * steps, *x.shape[2:])
        if mask is None:
            y = self.layer.forward([frames], weights)[0]
        else:
            if mask.shape[:2] != (batch, steps):
                raise NotImplementedError(
                    f"TimeDistributed reads a mask (batch, time, ...) of its input "
                    f"{format_shape(x.shape)}, but its input's mask is "
                    f"{format_shape(mask.shape)}; Keras refuses it too.")
            frame_mask = mask.reshape(batch * steps, *mask.shape[2:])
            y = self.layer.forward_masked([frames], weights, [frame_mask], {})[0]
        return y.reshape(batch, steps, *y.shape[1:])

    def explain(self, inputs: Shapes, outputs: Shapes, weights: Sequence[Weight]) -> str:
        shape, out = inputs[0], outputs[0]
        step, step_out = self.step_shape(shape), (out[0], *out[2:])
        inner = self.layer.explain([step], [step_out], weights)
        return (f"applies {self.layer.keras_name} to each of {time_steps(shape[1])}, "
                f"{format_shape(step)} → {format_shape(step_out)} per step, with one set of "
                f"weights shared by all steps: {inner}")


@tf_keras_variant
class TfKerasTimeDistributed(WrappedLayersPolicy, TimeDistributed):
    """TimeDistributed in a tf.keras 2 document: the layer it applies is tf.keras 2's."""

    inner_variants = TF_KERAS_VARIANTS
