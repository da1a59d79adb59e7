"""Dev-only: a seeded generator of random models, recorded with real Keras.

    cd /work/main
    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/random_models.py \
        [--count 560] [--seed 20261122] [--out tests/fixtures/keras3/random/random_models.json]

writes ``--count`` models drawn from ``--seed`` (the same seed draws the same models; only the
seeds Keras draws for its random augmentation layers' configs differ between runs). The
defaults write the committed fixture. Another seed and ``--out`` elsewhere make a
fresh differential sweep, which the test replays without committing it::

    SHAPECHECK_RANDOM_MODELS=/tmp/sweep.json .venv/bin/pytest tests/test_random_models.py

Under tf.keras 2 (``TF_USE_LEGACY_KERAS=1`` in the tf_keras virtualenv) it records the same kind
of sweep from tf.keras 2, whose ``keras_json`` documents the engine reads as tf.keras 2 ones.

Each is a Sequential chain (sometimes of tokens through an Embedding) or a small functional
graph: one or two inputs, two branches merged by Add, Subtract, Multiply, Average, Maximum,
Minimum, Dot or Concatenate on a random axis (an element-wise merge mostly after a Dense
projection where only the features differ) or attended to by the other (MultiHeadAttention,
Attention, AdditiveAttention), an optional second output. The layers are drawn from most of
the families the engine knows (dense, convolutions in 1 to 3 dimensions, pooling, reshaping,
recurrent and convolutional-recurrent, normalization, every Keras 3 activation, noise,
image preprocessing) with random but plausible arguments (with Keras 3, a share ``ADAPTED``
with LoRA and ``QUANTIZED`` of a quantized dtype policy; models quantized with GPTQ or AWQ
record no ``predict``: the forward pass refuses them), on random input shapes (vectors,
sequences, images, volumes), some with unknown (None) axes; a share ``INTEGER_INPUTS`` of the
Keras 3 models take int32 or uint8 inputs (InputLayer entries of that dtype). Where a model
has a Masking layer (of 0.0), about a third of the steps of its recorded inputs are zeros, so
that a Masking of an input masks them and the mask reaches the layers after it.

The generator builds each model layer by layer on Keras tensors, so it picks the next layer for
the shape Keras computed (a convolution for images, a recurrent layer for sequences...). A share
``WRONG_RANK`` of the layers is drawn for a tensor of any rank, arguments go past the input
(kernels larger than the image, groups that do not divide the channels, Reshape targets of
another size...), and a share ``MUTATED`` has one argument at an edge (0, negative, large, or in
capitals: Keras lower-cases ``padding`` and ``data_format`` but not activation names). Keras
refuses such models, and the first layer it refuses ends the model. Each record is
``build.record``'s: the native document, per-layer output shapes and parameters, the totals and
``model.to_json()``, or the layer where Keras refuses the model and its message; most valid
models with known input shapes and at most ``MAX_FORWARD_PARAMS`` parameters also record
random weights, an input and Keras' ``predict`` output. Where Keras builds a model but its
``predict`` fails (a Softmax axis the input lacks, an einsum equation of another rank...),
``predict_error`` names the first layer ``predict`` cannot compute; for a model Keras refuses,
the first such layer among those before the refusal. A share ``NESTED`` of the models Keras
builds is recorded again as a layer of an outer model (``nested``: called on new inputs, in a
Sequential, twice on its own output, on two inputs, or before a Dense), with its own
``predict``.
"""

from __future__ import annotations

import argparse
import base64
import inspect
import json
import math
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
from build import (
    FIXTURES,
    LEGACY,
    LIST_CALL,
    STATE_CALL,
    auto_name,
    build,
    case,
    flat,
    keras,
    layer_class,
    model_record,
    record,
    refusal,
    wrap,
)

SEED = 20261122
COUNT = 560
WRONG_RANK = 0.07  # chance that the next layer is drawn for any rank, not the tensor's
MUTATED = 0.04  # chance that one argument of the next layer takes an odd value
ADAPTED = 0.08  # chance that a Dense, EinsumDense, Embedding or convolution has LoRA
QUANTIZED = 0.06  # chance that a Dense, EinsumDense or Embedding has a quantized policy
QUANTIZED_POLICIES = ("int8_from_float32", "int4_from_float32", "int4/2_from_float32",
                      "float8_from_float32", "gptq/4/2_from_float32", "awq/4/2_from_float32",
                      "int8_from_mixed_bfloat16")
MAX_FORWARD_PARAMS = 2000
INTEGER_INPUTS = 0.15  # chance that a Keras 3 model's inputs are int32, or uint8 pixels
NESTED = 0.35  # chance that a model Keras builds is recorded again as a layer of another model
Shape = tuple[int | None, ...]
Entry = dict[str, Any]


class RandomModel:
    """One model being drawn: the native entries so far and the Keras tensor of each."""

    def __init__(self, rng: random.Random, inputs: dict[str, list[int | None]]) -> None:
        self.rng = rng
        self.inputs = inputs
        self.entries: list[Entry] = []
        self.tensors = {name: keras.Input(shape=tuple(shape), name=name)
                        for name, shape in inputs.items()}
        self.counts: dict[str, int] = {}
        self.refused = False
        self.outputs: list[str] | None = None

    def shape(self, name: str) -> Shape:
        return tuple(self.tensors[name].shape)

    def add(self, entry: Entry, sources: list[str]) -> str | None:
        """Append ``entry`` reading ``sources``; its output name, or None where Keras refuses
        it (the model ends there)."""
        if self.refused:
            return None
        cls = layer_class(entry["type"])  # None: a Keras 3 layer tf.keras 2 does not have
        name = auto_name(getattr(cls, "__name__", entry["type"]), self.counts)
        entry = {**entry, "inputs": sources if len(sources) > 1 else sources[0]}
        self.entries.append(entry)
        args = [self.tensors[s] for s in sources]
        try:
            kwargs = {k: wrap(k, v) for k, v in entry.items() if k not in ("type", "inputs")}
            layer = cls(name=name, **kwargs)  # type: ignore[misc]
            if entry["type"] in LIST_CALL:
                out = layer(args)
            elif len(args) > 1 and isinstance(layer, STATE_CALL):
                out = layer(args[0], initial_state=args[1:])
            else:
                out = layer(*args)
        except Exception:
            self.refused = True
            return None
        self.tensors[name] = out
        return name

    def chain(self, source: str, length: int) -> str | None:
        """``length`` random layers after ``source``; the last one's name."""
        for _ in range(length):
            source = self.add(self.next_layer(self.shape(source)), [source])
            if source is None:
                return None
        return source

    def next_layer(self, shape: Shape) -> Entry:
        rank = len(shape)
        if self.rng.random() < WRONG_RANK:
            rank = self.rng.choice(list(VOCABULARY))
        makers = VOCABULARY.get(rank, VOCABULARY[2])
        entry = self.rng.choice(makers)(self.rng, shape)
        while not drawable(entry):  # an older Keras 3 without it: another draw
            entry = self.rng.choice(makers)(self.rng, shape)
        return mutate(self.rng, entry) if self.rng.random() < MUTATED else entry


def drawable(entry: Entry) -> bool:
    """Whether this Keras has ``entry``'s layer class and activations, and those of the layers
    it wraps. Keras 3.15, which the generator follows, has all it draws, so that this never
    redraws there and a seed draws the models it always drew; an older Keras 3 (3.3 lacks
    Pipeline, STFTSpectrogram, RMSNormalization, the adaptive pooling, ReversibleEmbedding and
    ten activations, 3.9 the adaptive pooling, ReversibleEmbedding and sparse_sigmoid) draws
    again where it lacks one, asked of the Keras installed. tf.keras 2 draws Keras 3's layers
    all the same, which it refuses, as the committed tf.keras 2.21 sweeps record (2.15 lacks
    what 2.21 lacks)."""
    if LEGACY:
        return True
    if layer_class(entry["type"]) is None:
        return False
    for key in ("activation", "recurrent_activation"):
        if isinstance(entry.get(key), str):
            try:
                keras.activations.get(entry[key])
            except Exception:
                return False
    if "lora_rank" in entry and "lora_rank" not in inspect.signature(
            layer_class(entry["type"])).parameters:
        return False
    if "dtype" in entry:
        try:
            keras.dtype_policies.get(entry["dtype"])
        except Exception:  # a quantization mode this Keras lacks
            return False
    inner = [entry.get(key) for key in ("layer", "cell", "cells", "layers")]
    inner = [e for v in inner for e in (v if isinstance(v, list) else [v])
             if isinstance(e, dict) and "type" in e]
    return all(drawable(e) for e in inner)


def uncomputed_policies(entries: list[Entry]) -> bool:
    """Whether a layer has a quantized policy whose layers the forward pass refuses (GPTQ and
    AWQ)."""
    text = json.dumps(entries)
    return any(f'"{policy}"' in text for policy in QUANTIZED_POLICIES
               if policy.startswith(("gptq", "awq")))


def adapted(r: random.Random, entry: Entry, quantized: bool = True) -> Entry:
    """``entry`` (Keras 3 only) sometimes with LoRA (``lora_rank``, at times ``lora_alpha``),
    and where ``quantized``, sometimes of a quantized dtype policy (neither in tf.keras 2)."""
    if LEGACY:
        return entry
    if r.random() < ADAPTED:
        entry["lora_rank"] = r.choice([1, 2, 4])
        if r.random() < 0.3:
            entry["lora_alpha"] = r.choice([1.0, 8.0])
    if quantized and r.random() < QUANTIZED:
        entry["dtype"] = r.choice(QUANTIZED_POLICIES)
    return entry


# ---------------------------------------------------------------------------------------------
# Argument drawing. Each maker takes the rng and the input shape (batch axis first) and returns
# a native entry; "plausible" means mostly fitting the shape, sometimes not.


def channels_first(r: random.Random) -> str:
    return r.choice(["channels_last"] * 3 + ["channels_first"])


def conv_args(r: random.Random, dims: int, *, causal: bool = False) -> Entry:
    kernel = [r.randint(1, 4) for _ in range(dims)] if r.random() < 0.5 else r.randint(1, 5)
    strided = r.random() < 0.3
    args = {"kernel_size": kernel, "padding": r.choice(["valid", "same"] + ["causal"] * causal),
            "data_format": channels_first(r)}
    if strided:
        args["strides"] = r.randint(2, 3)
    if r.random() < (0.05 if strided else 0.3):  # Keras refuses dilation with strides > 1
        args["dilation_rate"] = r.randint(2, 3)
    if r.random() < 0.3:
        args["use_bias"] = False
    return args


def activation(r: random.Random) -> str | None:
    return r.choice([None, None, "relu", "tanh", "sigmoid", "softmax", "linear", "gelu"])


def dense(r: random.Random, shape: Shape) -> Entry:
    entry = {"type": "Dense", "units": r.choice([1, 2, 3, 4, 6, 8])}
    if (act := activation(r)) is not None:
        entry["activation"] = act
    if r.random() < 0.2:
        entry["use_bias"] = False
    return adapted(r, entry)


def conv(dims: int) -> Callable[[random.Random, Shape], Entry]:
    def make(r: random.Random, shape: Shape) -> Entry:
        entry = {"type": f"Conv{dims}D", "filters": r.choice([2, 3, 4, 6, 8]),
                 **conv_args(r, dims, causal=dims == 1)}
        if r.random() < 0.25:
            entry["groups"] = r.choice([2, 3])
        if (act := activation(r)) is not None:
            entry["activation"] = act
        return adapted(r, entry, quantized=False)
    return make


def conv2d_transpose(r: random.Random, shape: Shape) -> Entry:
    args = conv_args(r, 2)
    entry = {"type": "Conv2DTranspose", "filters": r.choice([2, 3, 4]), **args}
    if "strides" in args and r.random() < 0.3:
        entry["output_padding"] = 1
    return entry


def separable_conv2d(r: random.Random, shape: Shape) -> Entry:
    return {"type": "SeparableConv2D", "filters": r.choice([2, 4, 5]),
            "depth_multiplier": r.choice([1, 1, 2]), **conv_args(r, 2)}


def depthwise_conv2d(r: random.Random, shape: Shape) -> Entry:
    return {"type": "DepthwiseConv2D", "depth_multiplier": r.choice([1, 1, 2, 3]),
            **conv_args(r, 2)}


def pooling(kind: str, dims: int) -> Callable[[random.Random, Shape], Entry]:
    def make(r: random.Random, shape: Shape) -> Entry:
        entry = {"type": f"{kind}Pooling{dims}D", "pool_size": r.randint(1, 3),
                 "padding": r.choice(["valid", "same"]), "data_format": channels_first(r)}
        if r.random() < 0.4:
            entry["strides"] = r.randint(1, 3)
        return entry
    return make


def global_pooling(kind: str, dims: int) -> Callable[[random.Random, Shape], Entry]:
    def make(r: random.Random, shape: Shape) -> Entry:
        entry = {"type": f"Global{kind}Pooling{dims}D", "data_format": channels_first(r)}
        if r.random() < 0.3:
            entry["keepdims"] = True
        return entry
    return make


def flatten(r: random.Random, shape: Shape) -> Entry:
    return {"type": "Flatten"}


def reshape(r: random.Random, shape: Shape) -> Entry:
    """A target of the same size (a factorisation, maybe with -1), or sometimes of another."""
    known = [d for d in shape[1:] if d is not None]
    size = int(np.prod(known)) if known else 6
    if r.random() < 0.15:
        size += r.choice([1, 2])
    factors = []
    while size > 1 and len(factors) < 3:
        divisors = [d for d in range(2, size + 1) if size % d == 0]
        factor = r.choice(divisors)
        factors.append(factor)
        size //= factor
    target = factors or [1]
    if r.random() < 0.4:
        target[r.randrange(len(target))] = -1
    r.shuffle(target)
    return {"type": "Reshape", "target_shape": target}


def permute(r: random.Random, shape: Shape) -> Entry:
    dims = list(range(1, max(len(shape), 3)))
    r.shuffle(dims)
    return {"type": "Permute", "dims": dims}


def zero_padding(dims: int) -> Callable[[random.Random, Shape], Entry]:
    return margins("ZeroPadding", "padding", dims)


def cropping(dims: int) -> Callable[[random.Random, Shape], Entry]:
    return margins("Cropping", "cropping", dims)


def margins(kind: str, argument: str, dims: int) -> Callable[[random.Random, Shape], Entry]:
    """ZeroPadding or Cropping: one amount for every side, or (2D, 3D) one per side of each
    axis."""
    def make(r: random.Random, shape: Shape) -> Entry:
        amount: Any = r.randint(0, 2)
        if dims > 1 and r.random() < 0.5:
            amount = [[r.randint(0, 2), r.randint(0, 2)] for _ in range(dims)]
        entry = {"type": f"{kind}{dims}D", argument: amount}
        if dims > 1:
            entry["data_format"] = channels_first(r)
        return entry
    return make


def up_sampling(dims: int) -> Callable[[random.Random, Shape], Entry]:
    def make(r: random.Random, shape: Shape) -> Entry:
        if dims == 1:
            return {"type": "UpSampling1D", "size": r.randint(1, 3)}
        if dims == 3:
            return {"type": "UpSampling3D", "size": [r.randint(1, 2) for _ in range(3)],
                    "data_format": channels_first(r)}
        return {"type": "UpSampling2D", "size": [r.randint(1, 2), r.randint(1, 3)],
                "interpolation": r.choice(["nearest", "bilinear"]),
                "data_format": channels_first(r)}
    return make


def batch_normalization(r: random.Random, shape: Shape) -> Entry:
    entry = {"type": "BatchNormalization", "axis": r.choice([-1, -1, 1])}
    return with_flags(r, entry, center=False, scale=False)


def layer_normalization(r: random.Random, shape: Shape) -> Entry:
    axis: Any = -1
    if len(shape) > 2 and r.random() < 0.3:
        axis = [-2, -1]
    entry = {"type": "LayerNormalization", "axis": axis}
    return with_flags(r, entry, center=False, rms_scaling=True)


def with_flags(r: random.Random, entry: Entry, **flags: bool) -> Entry:
    """``entry`` with each flag set to its value, one draw each, in order, 3 times in 10."""
    for name, value in flags.items():
        if r.random() < 0.3:
            entry[name] = value
    return entry


def dropout(r: random.Random, shape: Shape) -> Entry:
    return {"type": "Dropout", "rate": r.choice([0.1, 0.25, 0.5])}


def activation_layer(r: random.Random, shape: Shape) -> Entry:
    return {"type": "Activation", "activation": r.choice(["relu", "tanh", "softmax", "elu",
                                                         "swish", "sigmoid"])}


def recurrent_layer(r: random.Random) -> Entry:
    kind = r.choice(["LSTM", "GRU", "SimpleRNN"])
    entry = {"type": kind, "units": r.choice([2, 3, 4])}
    if r.random() < 0.5:
        entry["return_sequences"] = True
    if r.random() < 0.2:
        entry["go_backwards"] = True
    if kind == "GRU" and r.random() < 0.3:
        entry["reset_after"] = False
    if r.random() < 0.2:
        entry["activation"] = r.choice(["relu", "sigmoid", "linear", "hard_sigmoid"])
    if kind != "SimpleRNN" and r.random() < 0.2:
        entry["recurrent_activation"] = r.choice(["hard_sigmoid", "tanh", "relu"])
    if r.random() < 0.1:
        entry["use_bias"] = False
    if r.random() < 0.1:
        entry["unroll"] = True
    return entry


def recurrent(r: random.Random, shape: Shape) -> Entry:
    return recurrent_layer(r)


def bidirectional(r: random.Random, shape: Shape) -> Entry:
    return {"type": "Bidirectional", "layer": recurrent_layer(r),
            "merge_mode": r.choice(["concat", "concat", "sum", "mul", "ave"])}


def time_distributed(r: random.Random, shape: Shape) -> Entry:
    inner = dense(r, shape)
    return {"type": "TimeDistributed", "layer": inner}


def repeat_vector(r: random.Random, shape: Shape) -> Entry:
    return {"type": "RepeatVector", "n": r.randint(1, 4)}


def advanced_activation(r: random.Random, shape: Shape) -> Entry:
    return r.choice([{"type": "ReLU", "max_value": 6.0}, {"type": "LeakyReLU"},
                     {"type": "PReLU"}, {"type": "Softmax", "axis": r.choice([-1, 1])},
                     {"type": "ELU", "alpha": 0.5}])


def group_normalization(r: random.Random, shape: Shape) -> Entry:
    return {"type": "GroupNormalization", "groups": r.choice([1, 2, 4])}


def spatial_dropout(dims: int) -> Callable[[random.Random, Shape], Entry]:
    def make(r: random.Random, shape: Shape) -> Entry:
        return {"type": f"SpatialDropout{dims}D", "rate": 0.3}
    return make


def conv1d_variant(r: random.Random, shape: Shape) -> Entry:
    kind = r.choice(["SeparableConv1D", "Conv1DTranspose"])
    return {"type": kind, "filters": r.choice([2, 3, 4]), **conv_args(r, 1)}


def conv3d(r: random.Random, shape: Shape) -> Entry:
    kind = r.choice(["Conv3D", "Conv3D", "Conv3DTranspose"])
    return {"type": kind, "filters": r.choice([2, 3]), **conv_args(r, 3)}


def depthwise_conv1d(r: random.Random, shape: Shape) -> Entry:
    return {"type": "DepthwiseConv1D", "depth_multiplier": r.choice([1, 2]), **conv_args(r, 1)}


def conv_lstm(dims: int) -> Callable[[random.Random, Shape], Entry]:
    """ConvLSTM1D on (steps, length, channels), ConvLSTM2D on (steps, rows, cols, channels)."""
    def make(r: random.Random, shape: Shape) -> Entry:
        args = conv_args(r, dims)
        args.pop("use_bias", None)
        entry = {"type": f"ConvLSTM{dims}D", "filters": r.choice([2, 3]), **args}
        if r.random() < 0.5:
            entry["return_sequences"] = True
        return entry
    return make


def adaptive_pooling(dims: int) -> Callable[[random.Random, Shape], Entry]:
    def make(r: random.Random, shape: Shape) -> Entry:
        size: Any = r.randint(1, 4)
        if dims > 1 and r.random() < 0.5:
            size = [r.randint(1, 4) for _ in range(dims)]
        return {"type": f"Adaptive{r.choice(['Average', 'Max'])}Pooling{dims}D",
                "output_size": size, "data_format": channels_first(r)}
    return make


def time_distributed_image(r: random.Random, shape: Shape) -> Entry:
    """A 2-D layer per time step of (steps, rows, cols, channels)."""
    inner = r.choice([conv(2), pooling("Max", 2), flatten, global_pooling("Average", 2)])(r, shape)
    inner.pop("data_format", None)
    return {"type": "TimeDistributed", "layer": inner}


def image_preprocessing(r: random.Random, shape: Shape) -> Entry:
    """Resizing and CenterCrop change the shape; the random augmentations are the identity at
    inference. CenterCrop is drawn twice as often as the others: at once in six, two sweeps of
    600 models drew none."""
    side = [r.randint(2, 8), r.randint(2, 8)]
    center_crop = {"type": "CenterCrop", "height": side[0], "width": side[1]}
    return r.choice([
        {"type": "Resizing", "height": side[0], "width": side[1],
         "interpolation": r.choice(["bilinear", "nearest"]),
         **({"crop_to_aspect_ratio": True} if r.random() < 0.2 else {})},
        center_crop, center_crop,
        {"type": "RandomFlip", "mode": r.choice(["horizontal", "vertical"])},
        {"type": "RandomRotation", "factor": 0.2},
        {"type": "RandomZoom", "height_factor": 0.2},
        {"type": "RandomContrast", "factor": 0.3},
    ])


def noise(r: random.Random, shape: Shape) -> Entry:
    """Layers that change nothing at inference."""
    return r.choice([{"type": "GaussianNoise", "stddev": 0.1},
                     {"type": "GaussianDropout", "rate": 0.2},
                     {"type": "AlphaDropout", "rate": 0.2},
                     {"type": "ActivityRegularization", "l1": 0.01},
                     {"type": "Identity"}])


def normalization_variant(r: random.Random, shape: Shape) -> Entry:
    axis = r.choice([-1, -1, 1])
    return r.choice([{"type": "UnitNormalization", "axis": axis},
                     {"type": "RMSNormalization", "axis": axis, "epsilon": 1e-3},
                     {"type": "BatchNormalization", "axis": axis, "epsilon": 0.01,
                      "momentum": 0.9},
                     {"type": "LayerNormalization", "epsilon": 0.1}])


def rescaling(r: random.Random, shape: Shape) -> Entry:
    return {"type": "Rescaling", "scale": r.choice([0.5, 1 / 255, 2.0]),
            "offset": r.choice([0.0, -1.0])}


def masking(r: random.Random, shape: Shape) -> Entry:
    return {"type": "Masking", "mask_value": 0.0}


def einsum_dense(r: random.Random, shape: Shape) -> Entry:
    """A projection of the last axis, or of the last two of a sequence, with a bias on the
    output's last axis or none."""
    units = r.choice([2, 3, 4])
    if len(shape) == 3 and r.random() < 0.5:
        entry = {"type": "EinsumDense", "equation": "abc,cd->abd",
                 "output_shape": [shape[1], units]}
    elif len(shape) == 3:
        entry = {"type": "EinsumDense", "equation": "abc,bcd->ad", "output_shape": units}
    else:
        entry = {"type": "EinsumDense", "equation": "ab,bc->ac", "output_shape": units}
    if r.random() < 0.5:
        entry["bias_axes"] = entry["equation"][-1]
    return adapted(r, entry)


ACTIVATIONS = ["relu", "tanh", "softmax", "elu", "swish", "sigmoid", "selu", "softplus",
               "softsign", "hard_sigmoid", "exponential", "relu6", "silu", "mish", "log_softmax",
               "leaky_relu", "hard_silu", "celu", "glu", "sparsemax", "squareplus",
               "tanh_shrink", "hard_tanh", "soft_shrink", "hard_shrink", "log_sigmoid",
               "sparse_plus", "sparse_sigmoid", "linear", "gelu"]


def any_activation(r: random.Random, shape: Shape) -> Entry:
    """Every activation Keras 3 names, as a layer or on a Dense."""
    name = r.choice(ACTIVATIONS)
    if r.random() < 0.5:
        return {"type": "Activation", "activation": name}
    return {"type": "Dense", "units": r.choice([2, 4]), "activation": name}


def relu_variant(r: random.Random, shape: Shape) -> Entry:
    return r.choice([{"type": "ReLU", "negative_slope": 0.1, "threshold": 0.2},
                     {"type": "ReLU", "max_value": 1.0, "threshold": -0.5},
                     {"type": "LeakyReLU", "negative_slope": 0.2},
                     {"type": "PReLU", "shared_axes": [1]},
                     {"type": "Softmax", "axis": -2}])


def spectral_normalization(r: random.Random, shape: Shape) -> Entry:
    """A Dense, or a Conv2D on images, whose kernel is divided by its spectral norm."""
    inner = conv(2)(r, shape) if len(shape) == 4 and r.random() < 0.5 else dense(r, shape)
    return {"type": "SpectralNormalization", "layer": inner,
            "power_iterations": r.choice([1, 1, 2])}


def adapted_normalization(r: random.Random, shape: Shape) -> Entry:
    """Normalization with its statistics given (no adapt), or Discretization into bins."""
    if r.random() < 0.7:
        return {"type": "Normalization", "mean": r.choice([0.0, 0.5, -1.0]),
                "variance": r.choice([1.0, 4.0, 0.25])}
    return {"type": "Discretization", "bin_boundaries": sorted(r.sample([-1.0, -0.5, 0.0, 0.5,
                                                                         1.0], 3)),
            "output_mode": r.choice(["int", "int", "one_hot", "count"])}


def rnn_cell(r: random.Random) -> Entry:
    kind = r.choice(["LSTMCell", "GRUCell", "SimpleRNNCell"])
    return {"type": kind, "units": r.choice([2, 3, 4])}


def rnn(r: random.Random, shape: Shape) -> Entry:
    """The generic RNN layer over one cell, a list of cells, or a StackedRNNCells."""
    roll = r.random()
    if roll < 0.5:
        cell: Any = rnn_cell(r)
    elif roll < 0.8:
        cell = [rnn_cell(r) for _ in range(r.randint(2, 3))]
    else:
        cell = {"type": "StackedRNNCells", "cells": [rnn_cell(r), rnn_cell(r)]}
    entry = {"type": "RNN", "cell": cell}
    return with_flags(r, entry, return_sequences=True, go_backwards=True)


def spectrogram(r: random.Random, shape: Shape) -> Entry:
    """STFTSpectrogram of a sequence (steps, channels), in one of its modes."""
    entry = {"type": "STFTSpectrogram", "frame_length": r.randint(2, 6),
             "mode": r.choice(["log", "magnitude", "psd", "real", "imag", "angle", "stft"]),
             "padding": r.choice(["valid", "same"])}
    if r.random() < 0.5:
        entry["frame_step"] = r.randint(1, 3)
    if r.random() < 0.3:
        entry["fft_length"] = r.choice([8, 16])
    return entry


def mel_spectrogram(r: random.Random, shape: Shape) -> Entry:
    """MelSpectrogram of raw audio (batch, samples)."""
    return {"type": "MelSpectrogram", "fft_length": r.choice([4, 8, 16]),
            "sequence_stride": r.randint(1, 4), "num_mel_bins": r.randint(2, 6),
            "sampling_rate": 8000, "power_to_db": r.random() < 0.7}


def image_inference(r: random.Random, shape: Shape) -> Entry:
    """Image layers that act at inference (AutoContrast), declare a shape they do not compute
    (RandomCrop), or chain others (Pipeline); and more augmentations, identities at inference."""
    side = [r.randint(2, 8), r.randint(2, 8)]
    return r.choice([
        {"type": "AutoContrast", "value_range": r.choice([[0, 255], [0, 1], [-1, 1]])},
        {"type": "RandomCrop", "height": side[0], "width": side[1]},
        {"type": "Pipeline", "layers": [
            {"type": "Rescaling", "scale": 0.5},
            {"type": "CenterCrop", "height": side[0], "width": side[1]}]},
        {"type": "RandomTranslation", "height_factor": 0.1, "width_factor": 0.2},
        {"type": "RandomBrightness", "factor": 0.2},
        {"type": "RandomShear", "x_factor": 0.1},
        {"type": "RandomGrayscale"},
        {"type": "Solarization", "addition_factor": 0.1},
    ])


ANY_RANK = [dense, dense, dropout, activation_layer, layer_normalization, batch_normalization,
            reshape, advanced_activation, group_normalization, noise, normalization_variant,
            rescaling, any_activation, relu_variant, spectral_normalization,
            adapted_normalization]
VOCABULARY: dict[int, list[Callable[[random.Random, Shape], Entry]]] = {
    2: [*ANY_RANK, dense, repeat_vector, einsum_dense, mel_spectrogram],
    3: [*ANY_RANK, flatten, permute, conv(1), conv(1), pooling("Max", 1), pooling("Average", 1),
        global_pooling("Average", 1), global_pooling("Max", 1), recurrent, recurrent,
        bidirectional, time_distributed, zero_padding(1), cropping(1),
        up_sampling(1), conv1d_variant, spatial_dropout(1), depthwise_conv1d,
        adaptive_pooling(1), masking, einsum_dense, rnn, spectrogram],
    4: [*ANY_RANK, flatten, permute, conv(2), conv(2), conv(2), conv2d_transpose,
        separable_conv2d, depthwise_conv2d, pooling("Max", 2), pooling("Average", 2),
        global_pooling("Average", 2), global_pooling("Max", 2), zero_padding(2), cropping(2),
        up_sampling(2), spatial_dropout(2), adaptive_pooling(2), image_preprocessing,
        conv_lstm(1), image_inference],
    5: [*ANY_RANK, flatten, permute, conv3d, conv3d, pooling("Max", 3), pooling("Average", 3),
        global_pooling("Average", 3), global_pooling("Max", 3), zero_padding(3), cropping(3),
        up_sampling(3), spatial_dropout(3), adaptive_pooling(3), conv_lstm(2),
        time_distributed_image],
}


def mutate(r: random.Random, entry: Entry) -> Entry:
    """``entry`` with one argument at an edge: 0, negative, large, or a string in capitals
    (Keras lower-cases ``padding`` and ``data_format``)."""
    keys = [k for k, v in entry.items() if k != "type" and isinstance(v, (int, float, str))
            and not isinstance(v, bool)]
    if not keys:
        return entry
    key = r.choice(keys)
    value = entry[key]
    odd = value.upper() if isinstance(value, str) else r.choice([0, -1, 2 * value + 7])
    return {**entry, key: odd}


# ---------------------------------------------------------------------------------------------
# Whole models.


def input_shape(r: random.Random) -> list[int | None]:
    """Per-sample shape: a vector, a sequence, an image or a volume (or a sequence of
    images), sometimes with unknown axes."""
    rank = r.choice([1, 2, 2, 3, 3, 3, 4])
    if rank == 1:
        return [r.choice([3, 4, 6, 8])]
    if rank == 2:
        steps = None if r.random() < 0.2 else r.randint(2, 9)
        return [steps, r.choice([1, 2, 3, 4])]
    side = ([r.randint(3, 10), r.randint(3, 10)] if rank == 3
            else [r.randint(2, 6), r.randint(3, 6), r.randint(3, 6)])
    if r.random() < 0.15:
        side[r.randrange(len(side))] = None
    return [*side, r.choice([1, 2, 3, 4])]


def sequential(r: random.Random) -> RandomModel:
    if r.random() < 0.12:  # tokens through an Embedding
        model = RandomModel(r, {"input": [None if r.random() < 0.3 else r.randint(2, 8)]})
        kind = r.choice(["Embedding", "Embedding", "ReversibleEmbedding"])
        while not drawable({"type": kind}):  # Keras 3.3 to 3.9 lack ReversibleEmbedding
            kind = r.choice(["Embedding", "Embedding", "ReversibleEmbedding"])
        entry = {"type": kind, "input_dim": r.choice([5, 10]),
                 "output_dim": r.choice([2, 3, 4])}
        if r.random() < 0.3:
            entry["mask_zero"] = True
        entry = adapted(r, entry)
        if r.random() < 0.15:
            entry = {"type": "CategoryEncoding", "num_tokens": entry["input_dim"],
                     "output_mode": r.choice(["multi_hot", "count", "one_hot"])}
        last = model.add(entry, ["input"])
    else:
        model = RandomModel(r, {"input": input_shape(r)})
        last = padded_sequence(model, "input")
    if last is not None:
        model.chain(last, r.randint(1, 6))
    return model


def padded_sequence(model: RandomModel, source: str) -> str:
    """A sequence input masked by a Masking of its padding (a quarter of the time), whose mask
    the layers after it read; else ``source`` as it is."""
    if len(model.shape(source)) != 3 or model.rng.random() >= 0.25:
        return source
    return model.add({"type": "Masking", "mask_value": 0.0}, [source]) or source


MERGES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
          "Concatenate", "Dot", "MultiHeadAttention", "Attention", "AdditiveAttention",
          "GroupQueryAttention"]


def functional(r: random.Random) -> RandomModel:
    """A trunk, two branches (from the trunk, or from two inputs), a merge, a tail."""
    shape = input_shape(r)
    two_inputs = r.random() < 0.4
    inputs = {"a": shape}
    if two_inputs:
        other = list(shape)
        if r.random() < 0.3:
            other[-1] = r.choice([1, 2, 3, 4])
        inputs["b"] = other
    model = RandomModel(r, inputs)
    left = right = model.chain(padded_sequence(model, "a"), r.randint(0, 2))
    if two_inputs:
        right = "b"
    if left is None:
        return model
    left = model.chain(left, r.randint(0, 2) if two_inputs else r.randint(1, 3))
    right = model.chain(right, r.randint(0, 3)) if left is not None else None
    if left is None or right is None:
        return model
    kind = r.choice(MERGES)
    merge = {"type": kind}
    if kind not in ("Concatenate", "Dot") and r.random() < 0.7:
        right = project(model, left, right)
        if right is None:
            return model
    if kind == "Dot":
        merge.update(axes=r.choice([-1, 1]), normalize=r.random() < 0.3)
    if kind == "MultiHeadAttention":
        merge.update(attention_args(r, len(model.shape(left))))
    if kind == "GroupQueryAttention":
        kv_heads = r.randint(1, 2)
        merge.update(head_dim=r.randint(1, 4), num_key_value_heads=kv_heads,
                     num_query_heads=kv_heads * r.randint(1, 2) + (r.random() < 0.1))
    if kind == "Attention" and r.random() < 0.5:
        merge["score_mode"] = r.choice(["dot", "concat"])
        merge["use_scale"] = r.random() < 0.5
    if kind == "Concatenate":
        rank = len(model.shape(left))
        merge["axis"] = r.choice([-1, -1, *range(1, rank)])
    merged = model.add(merge, [left, right])
    if merged is not None:
        tail = model.chain(merged, r.randint(0, 2))
        if tail is not None and r.random() < 0.2 and left != tail:
            model.outputs = [tail, left]
    return model


def attention_args(r: random.Random, rank: int) -> Entry:
    """MultiHeadAttention of the left branch (query) over the right (value): heads, sizes, and
    sometimes attention over other axes than the steps, or an output of another width."""
    args: Entry = {"num_heads": r.randint(1, 3), "key_dim": r.randint(1, 4)}
    if r.random() < 0.3:
        args["value_dim"] = r.randint(1, 4)
    if r.random() < 0.3:
        args["output_shape"] = r.randint(1, 5)
    if rank > 3 and r.random() < 0.5:
        args["attention_axes"] = r.choice([[1], [2], [1, 2]][: rank - 2])
    if r.random() < 0.3:
        args["use_bias"] = False
    return args


def project(model: RandomModel, left: str, right: str) -> str | None:
    """``right`` through a Dense to ``left``'s features where only the features differ (a
    projection shortcut), else ``right``."""
    a, b = model.shape(left), model.shape(right)
    if len(a) == len(b) and a[:-1] == b[:-1] and a[-1] != b[-1] and a[-1] is not None:
        return model.add({"type": "Dense", "units": a[-1]}, [right])
    return right


def spec(seed: int, index: int) -> dict[str, Any]:
    r = random.Random(seed * 1000 + index)
    keras.backend.clear_session()
    kind = "sequential" if r.random() < 0.55 else "functional"
    model = sequential(r) if kind == "sequential" else functional(r)
    inputs = model.inputs["input"] if kind == "sequential" else model.inputs
    first = model.entries[0] if model.entries else {}
    tokens = first.get("input_dim", first.get("num_tokens")) if first.get("type") in (
        "Embedding", "ReversibleEmbedding", "CategoryEncoding") else None
    entries = [simplify(e) for e in model.entries] if kind == "sequential" else model.entries
    forward = (not model.refused and r.random() < 0.6 and known(model.inputs)
               and probe_params(model) <= MAX_FORWARD_PARAMS
               and not uncomputed_policies(model.entries))
    extra: dict[str, Any] = {}
    if tokens is not None:
        extra["int_inputs"] = tokens
    elif not LEGACY and r.random() < INTEGER_INPUTS:
        dtype = r.choice(["int32", "uint8"])
        entries = [*input_layers(inputs, dtype), *entries]
        inputs = None
        extra["x_range"] = [0.0, 255.9] if dtype == "uint8" else [-5.0, 5.0]
    if not extra and any(e["type"] == "Masking" for e in model.entries):
        extra["masked_steps"] = 0.0  # padding steps, which a Masking of the input masks
    return case(f"{kind}_{index:03d}", inputs, entries, outputs=model.outputs, forward=forward,
                **extra)


def input_layers(inputs: list | dict[str, list], dtype: str) -> list[Entry]:
    """InputLayer entries of ``dtype`` for a Sequential's input shape or a functional graph's
    named inputs (Keras leaves integers as they are, where layers compute otherwise on them)."""
    named = inputs if isinstance(inputs, dict) else {"input": inputs}
    return [{"type": "InputLayer", "name": name, "shape": shape, "dtype": dtype}
            for name, shape in named.items()]


def simplify(entry: Entry) -> Entry:
    """A Sequential chain reads the previous layer: no ``inputs``."""
    return {k: v for k, v in entry.items() if k != "inputs"}


def known(inputs: dict[str, list[int | None]]) -> bool:
    return all(d is not None for shape in inputs.values() for d in shape)


def probe_params(model: RandomModel) -> float:
    """The parameters of the model, or infinity where Keras refuses to make one of the layers
    it built (a name the generator gave two layers: ``NAME_CLASHES`` in the tests)."""
    try:
        built = keras.Model(list(model.tensors[n] for n in model.inputs),
                            model.tensors[list(model.tensors)[-1]])
    except ValueError:
        return math.inf
    return int(built.count_params())


def predict_failure(case_spec: dict[str, Any], refused: bool,
                    rng: np.random.Generator) -> Entry | None:
    """Where Keras builds the model (or, where it refuses a layer, the layers before it) but
    ``predict`` fails on it: the first layer whose output ``predict`` cannot compute, and
    Keras' message. Unknown axes are given 3 steps."""
    native = case_spec["native"]
    if refused:  # the refused layer is the last: the model ends at it
        if len(native["layers"]) < 2:
            return None
        native = {**native, "layers": native["layers"][:-1]}
    keras.backend.clear_session()
    model, error = build(native)
    if error is not None:
        return None
    xs = [probe_input(t, rng, case_spec) for t in model.inputs]
    try:
        model.predict(xs, verbose=0)
        return None
    except Exception as exc:
        message = refusal(exc)
    for layer in model.layers:  # called eagerly: predict needs every input to be used
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            keras.Model(model.inputs, flat(layer.output))(xs)
        except Exception:
            return {"layer": layer.name, "message": message}
    return {"layer": None, "message": message}


def probe_input(tensor: Any, rng: np.random.Generator, case_spec: dict[str, Any]) -> np.ndarray:
    shape = (2, *(3 if d is None else d for d in tensor.shape[1:]))
    if case_spec.get("int_inputs"):
        return rng.integers(0, case_spec["int_inputs"], size=shape).astype(np.float32)
    if case_spec.get("x_range"):
        return rng.uniform(*case_spec["x_range"], size=shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def nested_record(case_spec: dict[str, Any], predicted: bool, r: random.Random,
                  rng: np.random.Generator) -> Entry:
    """The case's model used as a layer of an outer model, as ConvNeXt's preprocessing or a
    user's pretrained backbone is, recorded as ``build.record`` records a model (``predict``
    where the model alone was predicted): ``kind`` says how it is used.

    - ``functional``: an outer functional model of new inputs, the model called on them;
    - ``sequential``: a Sequential of an input and the model (one input, one output);
    - ``twice``: the model called on its own output, its weights shared (where its output has
      its input's shape and dtype);
    - ``siamese``: the model called on two inputs of its input's shape, its weights shared,
      giving both outputs (one input, one output);
    - ``head``: the model, then a Dense on its (first) output."""
    keras.backend.clear_session()
    inner, error = build(case_spec["native"], case_spec.get("input_dtype"))
    assert error is None, error  # Keras built this model a moment ago
    single = len(inner.inputs) == 1 and len(inner.outputs) == 1
    kinds = ["functional", "head"]
    if single:
        kinds += ["sequential", "siamese"]
        source, result = inner.inputs[0], inner.outputs[0]
        if (tuple(source.shape) == tuple(result.shape)
                and str(source.dtype) == str(result.dtype)):
            kinds += ["twice", "twice"]
    kind = r.choice(kinds)
    last = tuple(inner.outputs[0].shape)
    if kind == "head" and (len(last) < 2 or last[-1] is None
                           or "float" not in str(inner.outputs[0].dtype)):
        kind = "functional"
    try:
        outer = nesting(inner, kind, r)
    except Exception as exc:
        return {"kind": kind, "error": {"layer": inner.name, "message": refusal(exc)}}
    return {"kind": kind, **model_record(outer, {**case_spec, "forward": predicted}, rng)}


def nesting(inner: Any, kind: str, r: random.Random) -> Any:
    """An outer model using ``inner`` as a layer, as ``nested_record`` describes ``kind``."""
    inputs = [keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name=t.name.split(":")[0])
              for t in inner.inputs]
    if kind == "sequential":
        return keras.Sequential([inputs[0], inner], name="outer")
    if kind == "siamese":
        source = inner.inputs[0]
        other = keras.Input(shape=tuple(source.shape[1:]), dtype=source.dtype, name="other")
        return keras.Model([inputs[0], other], [*flat(inner(inputs[0])), *flat(inner(other))],
                           name="outer")
    out = inner(inputs if len(inputs) > 1 else inputs[0])
    if kind == "twice":
        out = inner(out)
    if kind == "head":
        first, *rest = flat(out)
        out = [keras.layers.Dense(r.randint(1, 4), name="head")(first), *rest]
    return keras.Model(inputs, out, name="outer")


def finite_outputs(forward: dict[str, Any]) -> bool:
    """Whether every output ``predict`` recorded is finite."""
    return all(np.isfinite(np.frombuffer(base64.b64decode(out["base64"]), "<f4")).all()
               for out in forward["outputs"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=FIXTURES / "random" / "random_models.json")
    args = parser.parse_args()
    cases = []
    for index in range(args.count):
        case_spec = spec(args.seed, index)
        keras.backend.clear_session()
        rng = np.random.default_rng([args.seed, index])
        recorded = record(case_spec, rng)
        if "forward" in recorded and not finite_outputs(recorded["forward"]):
            del recorded["forward"]  # NaN from Keras too (a negative variance): nothing to compare
        if "forward" not in recorded:
            failure = predict_failure(case_spec, "error" in recorded, rng)
            if failure is not None:
                recorded["predict_error"] = failure
        r = random.Random(f"{args.seed}-{index}-nested")  # leaves the models' draws as they were
        if "error" not in recorded and r.random() < NESTED:
            nested = nested_record(case_spec, "forward" in recorded, r,
                                   np.random.default_rng([args.seed, index, 1]))
            if "forward" in nested and not finite_outputs(nested["forward"]):
                del nested["forward"]
            recorded["nested"] = nested
        cases.append(recorded)
    path = args.out.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"keras_version": keras.__version__, "seed": args.seed,
                "output_dtypes_recorded": True, "nested_recorded": True, "cases": cases}
    path.write_text("{\n" + ",\n".join(
        f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in document.items()
        if k != "cases") + ',\n"cases": [\n' + ",\n".join(
        json.dumps(c, separators=(",", ":")) for c in cases) + "\n]}\n")
    refused = sum(1 for c in cases if "error" in c)
    forward = sum(1 for c in cases if "forward" in c)
    print(f"{path}: {len(cases)} models ({refused} refused by Keras, "
          f"{forward} with predict), {path.stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
