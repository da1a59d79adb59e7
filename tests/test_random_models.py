"""Random models recorded from real Keras (tools/keras_fixtures/random_models.py, several
seeds for Keras 3 and for tf.keras 2, one file each under tests/fixtures/*/random/): Sequential
chains and small functional graphs of layers from most families with random arguments, some of
which Keras refuses. A Keras 3 model is replayed from its native document and, where Keras
built it, from its ``model.to_json()``; a tf.keras 2 model from its ``model.to_json()``, which
the engine reads as tf.keras 2. The same per-layer shapes and parameters and the same totals,
or the refusal at the same layer (an error diagnostic there, or a 422 for that layer's
arguments), and, where recorded, the same numbers as Keras ``predict``. Where Keras builds a
model that its own ``predict`` fails on (``predict_error``), the engine may also refuse it at
the layer ``predict`` fails at: that is the error shapecheck exists to report before training.

``SHAPECHECK_RANDOM_MODELS=<file>`` replays another sweep of the generator (another ``--seed``,
written with ``--out``, by either Keras) instead of the committed ones, to look for new
divergences."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from keras_fixtures import (
    FIXTURES,
    assert_forward_as_recorded,
    assert_rows_equal,
    check_as_read_back,
)
from shapecheck import check
from shapecheck.errors import RequestInvalid
from shapecheck.formats.common import canonical_name
from shapecheck.formats.naming import AutoNamer

COMMITTED = sorted(FIXTURES.glob("*/random/*.json"))
SWEEPS = [json.loads(Path(path).read_text()) for path in
          ([os.environ["SHAPECHECK_RANDOM_MODELS"]] if "SHAPECHECK_RANDOM_MODELS" in os.environ
           else COMMITTED)]


def flavour(sweep: dict[str, Any]) -> str:
    return "tfkeras2" if sweep["keras_version"].startswith("2.") else "keras3"


def older(sweep: dict[str, Any]) -> bool:
    """A sweep recorded with a Keras 3 older than 3.15 (``*_keras3.9.2.json``...)."""
    version = tuple(int(part) for part in sweep["keras_version"].split(".")[:2])
    return version[0] == 3 and version < (3, 15)


def sweep_id(sweep: dict[str, Any]) -> str:
    return f"{flavour(sweep)}-{sweep['seed']}"


Recorded = tuple[str, int, dict[str, Any]]
"""(flavour, seed, case): a model of one sweep."""


def key(model: Recorded) -> tuple[str, int, str]:
    flavour_name, seed, case = model
    return flavour_name, seed, case["id"]


def params(models: list[Recorded]) -> list[Any]:
    return [pytest.param(c, id=f"{f}-{seed}-{c['id']}") for f, seed, c in models]


def refused_at(layer: str, flavour: str, cases: str) -> dict[tuple[str, int, str], str]:
    """Registry entries of models refused at ``layer``: ``cases`` is "seed/case_id ..."."""
    return {(flavour, int(seed), case_id): layer
            for seed, case_id in (item.split("/") for item in cases.split())}


# Where the engine deliberately refuses what Keras builds and predicts on:
# (flavour, seed, case id) -> the layer it refuses (a 422 for its arguments or an error
# diagnostic there).
DIVERGENCES = {
    # AdaptiveAveragePooling3D on a rank-3 tensor (Embedding output): Keras 3 builds it,
    # (None, 4, 3, 3, 3), and its predict runs; a rank-3 input is no volume.
    ("keras3", 20261122, "sequential_373"): "adaptive_average_pooling3d",
    # AdaptiveMaxPooling2D on a rank-3 tensor: Keras 3 builds it; the ZeroPadding1D two layers
    # on is where it refuses the model.
    ("keras3", 11101, "functional_452"): "adaptive_max_pooling2d",
    ("keras3", 13101, "sequential_379"): "adaptive_average_pooling3d",
    ("keras3", 16101, "sequential_034"): "adaptive_max_pooling3d",
    ("keras3", 20101, "sequential_000"): "adaptive_average_pooling2d",
    ("keras3", 28101, "sequential_596"): "adaptive_max_pooling3d",
    ("keras3", 33101, "sequential_555"): "adaptive_max_pooling2d",
    # ... and ones Keras 3 refuses further on (an Average of (1, 1, 1, 3) and (7, 4)).
    ("keras3", 16101, "functional_141"): "adaptive_average_pooling3d",
    ("keras3", 20101, "functional_041"): "adaptive_average_pooling2d",
    ("keras3", 24101, "functional_323"): "adaptive_average_pooling1d",
    ("keras3", 29101, "functional_382"): "adaptive_average_pooling2d",
    ("keras3", 33101, "functional_424"): "adaptive_max_pooling3d",
    ("keras3", 35101, "functional_505"): "adaptive_max_pooling1d",
    ("keras3", 41101, "functional_008"): "adaptive_average_pooling2d",
    ("keras3", 41101, "sequential_136"): "adaptive_average_pooling3d",
    ("keras3", 42101, "functional_081"): "adaptive_max_pooling1d",
    # A ZeroPadding2D of padding -1: Keras 3 builds it; its predict fails.
    ("keras3", 17101, "sequential_483"): "zero_padding2d",
    # A RandomCrop of height 0: Keras 3 builds it; its predict fails (a division by zero).
    ("keras3", 20101, "functional_255"): "random_crop",
    # A Resizing to height 0: Keras 3 builds it, and its predict gives empty arrays.
    ("keras3", 24101, "sequential_411"): "resizing",
    # A CenterCrop to width 0: Keras 3 builds it, and refuses the model further on.
    ("keras3", 36101, "functional_308"): "center_crop",
    ("keras3", 44101, "functional_176"): "center_crop",  # of height 0
    # An EinsumDense whose equation names fewer axes than its input has: Keras 3 builds it
    # ('ab,bc->ac' on a rank-6 tensor) and refuses the model further on.
    ("keras3", 13101, "functional_370"): "einsum_dense",
    ("keras3", 30101, "functional_052"): "einsum_dense",
    # A generic RNN over rank-4 inputs: Keras 3 builds it, and its cell fails at predict;
    # Keras refuses the model further on (a Conv2D of nothing).
    ("keras3", 26101, "functional_350"): "rnn",
    # An AdditiveAttention of a RandomCrop's 4×6 crops and 10×10 images: Keras 3 builds it,
    # and predict runs, since RandomCrop returns the images uncropped at inference; training,
    # which crops, fails there (the crops and the images do not broadcast).
    ("keras3", 26101, "functional_469"): "additive_attention",
    ("keras3", 35101, "functional_337"): "additive_attention",
    # A MelSpectrogram of sampling_rate -1: Keras 3 builds it.
    ("keras3", 13101, "functional_233"): "mel_spectrogram",
    ("keras3", 13101, "functional_455"): "mel_spectrogram",
    ("keras3", 34101, "sequential_124"): "mel_spectrogram",
    # ... and of sampling_rate 0: Keras 3 builds it, and its predict gives zeros (its mel
    # weights, for bands from min_freq 20 Hz up to max_freq 0 Hz, are all zero), or it refuses
    # the model further on.
    ("keras3", 40101, "sequential_204"): "mel_spectrogram",
    ("keras3", 41101, "functional_142"): "mel_spectrogram",
    ("keras3", 47103, "sequential_343"): "mel_spectrogram",
    # A Solarization of a rank-2 tensor: Keras 3 builds it, and refuses the model further on;
    # its predict fails on it ("Expected image tensor to have rank 3 ... or 4").
    ("keras3", 41101, "functional_317"): "solarization",
    # ... and a RandomTranslation of a rank-5 tensor (probed: predict fails the same way).
    ("keras3", 43101, "functional_158"): "random_translation",
    # An AdaptiveMaxPooling2D of output_size 0: Keras 3 builds it, and refuses the model further
    # on (a Conv2D of nothing).
    ("keras3", 34101, "functional_032"): "adaptive_max_pooling2d",
    # Arguments that make no model: tf.keras 2 takes them, Keras 3 and shapecheck refuse them
    # (tf.keras 2.15 as 2.21).
    **refused_at("dense", "tfkeras2", """
        20261122/functional_362 20261122/sequential_422 20261122/functional_441
        10201/sequential_204 12201/functional_079 16201/sequential_447 18201/sequential_199
        23201/sequential_118 26201/sequential_353 35201/sequential_253 40201/functional_180
        42201/functional_455 42201/sequential_532 43201/sequential_074 43201/sequential_560
        44201/sequential_078 45201/sequential_145 46201/sequential_085"""),  # units 0
    **refused_at("dense_1", "tfkeras2", "10201/sequential_205 41201/functional_157"),  # units 0
    **refused_at("alpha_dropout", "tfkeras2", """
        20261122/sequential_294 10201/functional_321 18201/sequential_041 19201/sequential_108
        22201/sequential_123 26201/functional_303 33201/sequential_105
        33201/functional_316"""),  # rate 7.4 or -1
    **refused_at("repeat_vector", "tfkeras2", """
        9201/sequential_318 10201/functional_477 18201/sequential_218 19201/sequential_122
        40201/sequential_169"""),  # n -1 or 0, as for units 0
    **refused_at("gaussian_noise", "tfkeras2",
                 "18201/sequential_442 28201/sequential_384"),  # stddev -1
    **refused_at("activity_regularization", "tfkeras2",
                 "23201/sequential_176 25201/sequential_408"),  # l1 -1
    **refused_at("gaussian_dropout", "tfkeras2", "26201/functional_277"),  # rate 7.4
    **refused_at("depthwise_conv1d", "tfkeras2", "33201/sequential_263"),  # depth_multiplier 0
    # UpSampling3D on a rank-4 input: tf.keras 2 (no input spec) returns it unchanged.
    **refused_at("up_sampling3d", "tfkeras2",
                 "20261122/sequential_075 24201/functional_558 42201/sequential_074"),
    # Keras 3.3 to 3.9 build what Keras 3.15 refuses (probed: "Computed output size would be
    # zero or negative", "expected a positive integer"): a 'valid' window larger than its input
    # (a convolution, pooling, ConvLSTM, STFT frames), whose output they give an axis of 0, and
    # a Dense of 0 units; shapecheck refuses them there, as Keras 3.15 does. Most of these
    # models meet a layer further on that those versions refuse.
    **refused_at("dense", "keras3", """
        46101/functional_068 46101/sequential_087 46101/functional_293 46102/sequential_036
        46103/functional_242"""),  # units 0
    **refused_at("conv2d", "keras3", "46101/sequential_064 46102/functional_296"),
    **refused_at("conv1d", "keras3", "46102/functional_039"),
    **refused_at("conv_lstm2d", "keras3", "46102/functional_000"),
    **refused_at("separable_conv1d", "keras3", "46101/sequential_107"),
    **refused_at("separable_conv2d", "keras3", "46101/functional_291"),
    **refused_at("depthwise_conv2d", "keras3", "46103/functional_166 46103/functional_243"),
    **refused_at("stft_spectrogram", "keras3", "46101/functional_268"),
    **refused_at("max_pooling2d", "keras3", "46103/sequential_138"),
    **refused_at("max_pooling3d", "keras3", "46101/sequential_197"),
    **refused_at("average_pooling2d", "keras3", """
        46102/sequential_267 46103/functional_283 46103/sequential_159"""),
    # A CenterCrop to width 0, which Keras 3.15 builds too (above).
    ("keras3", 46103, "functional_256"): "center_crop",
    # A ConvLSTM1D of 0 filters: Keras 3.15 builds it (its output has an axis of 0) and
    # refuses the model further on; shapecheck refuses filters 0 (a 422), as Keras does for
    # every other convolution.
    ("keras3", 47101, "functional_532"): "conv_lstm1d",
}

# Where an older Keras 3 refuses a model that Keras 3.15 builds (a bug of that version, fixed
# since; each such model of the committed sweeps probed in Keras 3.15, which builds it):
# the start of that Keras' message -> the layer it refuses. shapecheck builds these models,
# as Keras 3.15 does.
OLDER_REFUSALS: dict[str, str] = {
    # Keras 3.3 and 3.6 cannot give a Normalization a scalar mean and variance for more than
    # one feature (they reshape the scalar to the features' shape); 3.9 broadcasts it.
    "cannot reshape array of shape () (size 1)": "normalization",
    # Keras 3.3 and 3.6 take a MultiHeadAttention's output_shape as a tuple only (an int
    # fails in its build); 3.9 takes an int.
    'can only concatenate tuple (not "int") to tuple': "multi_head_attention",
    # Keras 3.3 wants a MultiHeadAttention's query and value of the same width; 3.6 does not.
    "The last dimension of `query_shape` and `value_shape` must be equal": "multi_head_attention",
}

# Where an older Keras 3 gives a layer of a model another shape than Keras 3.15 does (probed):
# (flavour, seed, case id) -> the layer and the output shapes Keras 3.15 gives it, which
# shapecheck gives too.
OLDER_SHAPES: dict[tuple[str, int, str], tuple[str, list[list[int | None]]]] = {
    # Keras 3.9 declares a Discretization's one_hot output of (None, 6) as (None, 6): its
    # compute_output_shape leaves out the bins' axis that its call adds.
    ("keras3", 46101, "sequential_233"): ("discretization", [[None, 6, 4]]),
    # Keras 3.9's RandomGrayscale returns its input tensor itself when built on a symbolic
    # one, so that the layer is no node of the model (model.layers lacks it, and to_json()
    # writes the model without it); Keras 3.15's is a layer of the model.
    ("keras3", 46101, "sequential_269"): ("random_grayscale", [[None, 10, 6, 2]]),
}

# Where Keras' predict computes what the forward pass refuses (a 422 naming the layer):
# (flavour, seed, case id) -> that layer.
FORWARD_GAPS: dict[tuple[str, int, str], str] = {
    # An EinsumDense with output_shape 0, which tf.keras 2 builds: predict computes empty arrays,
    # the forward pass needs every axis to have at least one element.
    ("tfkeras2", 12201, "functional_110"): "average_pooling1d",
    # A Flatten of an axis cropped to nothing: tf.keras 2 reshapes the empty (2, 3, 2, 2, 0)
    # into (24, 0), rows from the axes that are not empty.
    ("tfkeras2", 12201, "sequential_301"): "flatten",
    ("tfkeras2", 40201, "functional_343"): "flatten",
}

# The same, for a model recorded again as a layer of an outer model (``nested``).
NESTED_FORWARD_GAPS: dict[tuple[str, int, str], str] = {
    # A MelSpectrogram that computes another shape than Keras declares (declared_shape_differs)
    # ends a model called twice, its second call on its first's output: the forward pass does
    # not run a nested model's layers on shapes Keras does not declare; predict runs them.
    ("keras3", 45101, "functional_501"): "functional_501",
}

# Where Keras 3 on JAX refuses what shapecheck builds, because JAX traces the call with symbolic
# sizes that other backends leave unknown: a CenterCrop inside a Pipeline over an image of
# unknown height or width ("In slice with non-constant elements the start ... must be
# resolved statically"). A CenterCrop on its own builds on every backend.
# (flavour, seed, case id) -> the layer JAX refuses.
JAX_TRACING: dict[tuple[str, int, str], str] = {
    ("keras3", 13101, "sequential_324"): "pipeline",
    ("keras3", 13101, "functional_464"): "pipeline",
    ("keras3", 13101, "sequential_576"): "pipeline",
    ("keras3", 15101, "functional_502"): "pipeline",
    ("keras3", 16101, "functional_115"): "pipeline",
    ("keras3", 17101, "functional_432"): "pipeline",
    ("keras3", 21101, "sequential_027"): "pipeline",
    ("keras3", 23101, "sequential_260"): "pipeline",
    ("keras3", 25101, "functional_362"): "pipeline",
    ("keras3", 26101, "functional_530"): "pipeline",
    ("keras3", 34101, "functional_253"): "pipeline",
    ("keras3", 42101, "sequential_113"): "pipeline",
}

# Where Keras 3 refuses the generator's model for its explicit layer names: a layer named
# "concatenate" and the op of that name Keras makes for the Concatenate's mask, which a Softmax
# reads ('The name "concatenate" is used 2 times in the model'). Keras names its own layers
# past the names its ops took, so the model a user writes builds; shapecheck builds it.
# (flavour, seed, case id) -> the layer Keras names in its refusal.
NAME_CLASHES: dict[tuple[str, int, str], str] = {
    ("keras3", 17101, "functional_347"): "dropout",
    ("keras3", 22101, "functional_544"): "batch_normalization",
    ("keras3", 27101, "functional_594"): "gru",
}

# Where the forward pass gives other numbers than Keras' predict, known and not yet followed:
# (flavour, seed, case id) -> the first output that differs. Each runs as a strict xfail, so
# that a fix shows.
FORWARD_DIVERGENCES: dict[tuple[str, int, str], str] = {
    # A Cropping3D to nothing, a Reshape to (2, 0), then Dense(2, gelu): tf.keras 2's predict
    # gives zeros where the kernels give gelu(bias). (The HTTP forward pass refuses the empty
    # tensor before any kernel runs; this test runs the kernels.)
    ("tfkeras2", 18201, "sequential_196"): "dropout_1",
    # A MultiHeadAttention over uint8 pixels pooled and upsampled (every key the same value,
    # ~150, so the scores are all -4,390 and the softmax uniform): every layer before it
    # agrees to 1e-7 of its values; the attention gives 196.1674, as float64 arithmetic on the
    # recorded weights does, where Keras 3's predict (JAX, CPU) gives 196.1216, 2.3e-4 of it
    # off. Keras loses the precision here; the forward pass keeps the exact value.
    ("keras3", 37101, "functional_007"): "multi_head_attention",
    # A LayerNormalization over an axis of three equal values (an UpSampling2D of (1, 3) just
    # before it): every output is 0 but for rounding, the mean of three equal float32 values
    # minus one of them. tf.keras 2's fused batch norm leaves up to ~3e-6 of rounding where the
    # forward pass leaves under 1e-6 or exact zeros; the Multiply after it compares the two
    # roundings to each other, with nothing larger to scale them by.
    ("tfkeras2", 44201, "functional_199"): "multiply",
    # ... the same with Keras 3.15: a ReLU(6) of a GlobalMaxPooling2D of uint8 pixels, mostly
    # 6 in all three channels, then the LayerNormalization.
    ("keras3", 47101, "sequential_298"): "layer_normalization",
    # Keras 3.9's RMSNormalization of uint8 inputs computes in uint8 and gives zeros (the
    # square root of the mean square truncated); Keras 3.15 gives the quotients the forward
    # pass gives (probed: both, on this model's weights and input).
    ("keras3", 46101, "functional_257"): "normalization",
    # Keras 3.6's RandomCrop crops at inference (to its height and width, at the centre);
    # Keras 3.15 returns the images uncropped, as the forward pass does.
    ("keras3", 46102, "sequential_215"): "random_crop",
}

ALL = [(flavour(sweep), sweep["seed"], c) for sweep in SWEEPS for c in sweep["cases"]]
LOADED = {key(model) for model in ALL}
"""The models of the sweeps loaded: the committed ones, or the one SHAPECHECK_RANDOM_MODELS
replays (the registries' entries for other sweeps are then left out)."""


def older_refusal(case: dict[str, Any]) -> str | None:
    """The layer an older Keras 3 refuses where Keras 3.15 builds the model (``OLDER_REFUSALS``),
    or None."""
    error = case.get("error", {})
    return next((layer for start, layer in OLDER_REFUSALS.items()
                 if error["message"].startswith(start) and error["layer"].startswith(layer)),
                None) if error else None


KEPT = [model for model in ALL
        if key(model) not in DIVERGENCES.keys() | JAX_TRACING.keys() | NAME_CLASHES.keys()
        | OLDER_SHAPES.keys() and older_refusal(model[2]) is None]
CASES = params([model for model in KEPT if model[0] == "keras3"])
BUILT = params([model for model in KEPT if "error" not in model[2]])
NESTED = params([model for model in KEPT if "nested" in model[2]])
"""Built models recorded again as a layer of an outer model (``nested_record``)."""
DOCUMENTS = {"keras3": ["native", "keras_json"], "tfkeras2": ["keras_json"]}
"""The documents a sweep's models are replayed from: tf.keras 2 models from their JSON only.
``predict`` is compared on the JSON only where Keras reads it back as the model it built (no
``keras_json_layers``): Keras 3.6 and 3.9 leave a Conv2DTranspose's ``output_padding`` out of
``to_json()``, and 3.3 a LayerNormalization's ``rms_scaling``, so that the model read back
is another one (the rows and totals are compared with that one's)."""


# The same, for a model recorded again as a layer of an outer model (``nested``).
NESTED_FORWARD_DIVERGENCES: dict[tuple[str, int, str], str] = {
    ("keras3", 47101, "sequential_298"): "sequential_298",  # its LayerNormalization (above)
}


def known_divergence(model: Recorded, nested: bool = False) -> list[Any]:
    """A strict xfail for a model in ``FORWARD_DIVERGENCES`` (``NESTED_FORWARD_DIVERGENCES``
    for its ``nested`` record); no marks for the others."""
    registry = NESTED_FORWARD_DIVERGENCES if nested else FORWARD_DIVERGENCES
    layer = registry.get(key(model))
    if layer is None:
        return []
    name = "NESTED_FORWARD_DIVERGENCES" if nested else "FORWARD_DIVERGENCES"
    return [pytest.mark.xfail(raises=AssertionError, strict=True,
                              reason=f"{layer} differs from predict: {name}")]


DTYPES_RECORDED = {(flavour(sweep), sweep["seed"]) for sweep in SWEEPS
                   if sweep.get("output_dtypes_recorded")}
"""The sweeps recorded since the generator records predict's ``output_dtypes``."""
FORWARD = [pytest.param(c, document, FORWARD_GAPS.get(key((f, seed, c))),
                        (f, seed) in DTYPES_RECORDED,
                        id=f"{f}-{seed}-{c['id']}-{document}",
                        marks=known_divergence((f, seed, c)))
           for f, seed, c in KEPT if "forward" in c for document in DOCUMENTS[f]
           if document != "keras_json" or "keras_json_layers" not in c] + [
    pytest.param(c["nested"], "keras_json", NESTED_FORWARD_GAPS.get(key((f, seed, c))), True,
                 id=f"{f}-{seed}-{c['id']}-nested",
                 marks=known_divergence((f, seed, c), nested=True))
    for f, seed, c in KEPT if "forward" in c.get("nested", {})
    and "keras_json_layers" not in c["nested"]]


@pytest.mark.skipif("SHAPECHECK_RANDOM_MODELS" in os.environ, reason="spread of the committed")
@pytest.mark.parametrize("sweep", SWEEPS, ids=sweep_id)
def test_the_models_spread_over_layers_graphs_and_refusals(sweep: dict[str, Any]) -> None:
    cases = sweep["cases"]
    types = {e["type"] for c in cases for e in c["native"]["layers"]}
    assert {"Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "SeparableConv2D",
            "DepthwiseConv2D", "ConvLSTM2D", "LSTM", "GRU", "SimpleRNN", "Bidirectional",
            "TimeDistributed", "Embedding", "Reshape", "Permute", "Concatenate", "Add",
            "Multiply", "MultiHeadAttention", "Attention", "EinsumDense", "Masking",
            "UpSampling3D"} <= types
    # The older versions' sweeps have 300 models, where tf.keras 2.15's drew no CenterCrop.
    assert "CenterCrop" in types or len(cases) < 500
    assert len(types) >= (70 if older(sweep) else 85)
    # Refused by Keras for a reason other than a layer type tf.keras 2 lacks (the generator
    # draws Keras 3's newer layers for both: STFTSpectrogram, RMSNormalization...).
    refused = [c for c in cases if "error" in c
               and not c["error"]["message"].startswith("this Keras has no layer")]
    assert len(cases) >= 300
    assert 0.15 * len(cases) < len(refused) < 0.65 * len(cases)
    assert sum("forward" in c for c in cases) >= 50
    if sweep.get("nested_recorded"):  # models recorded again as layers of an outer model
        nested = [c["nested"] for c in cases if "nested" in c]
        assert {n["kind"] for n in nested} >= {"functional", "sequential", "twice", "head"}
        share = min(1.0, len(cases) / 560)  # of a sweep of 560 models; the older Keras', 300
        assert len(nested) >= 40 * share and sum("forward" in n for n in nested) >= 15 * share
    if flavour(sweep) == "keras3":
        built = {e["type"] for c in cases if "error" not in c for e in c["native"]["layers"]}
        # Keras 3.3 to 3.9 lack the adaptive pooling, 3.3 and 3.6 RMSNormalization too: the
        # generator draws only what the Keras recording the sweep has.
        newer = {"AdaptiveMaxPooling2D", "RMSNormalization"} if not older(sweep) else set()
        assert {*newer, "DepthwiseConv1D"} <= built
        assert any("predict_error" in c for c in cases)


@pytest.mark.parametrize("case", CASES)
def test_native_document_matches_keras(case: dict) -> None:
    native = case["native"]
    try:
        result = check({"model": native})
    except RequestInvalid as exc:
        assert "error" in case or "predict_error" in case, exc.errors
        if "predict_error" not in case:
            index = layer_index(native, case["error"]["layer"])
            assert all(path.startswith(f"model.layers.{index}.") for path in exc.errors)
        return
    errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
    if errors and "predict_error" in case:
        return  # Keras' own predict fails on what it builds: refusing it anywhere is right
    if "error" in case:
        assert errors, f"Keras refuses this model: {case['error']}"
        assert errors[0]["layer"] == case["error"]["layer"], (case["error"], errors[0])
        return
    assert "error" not in case, f"Keras refuses this model: {case['error']}"
    assert not errors, errors
    assert {row["name"] for row in result["layers"]} == {r["name"] for r in case["layers"]}
    assert_rows_equal(result, case["layers"], case["totals"]["params"])


@pytest.mark.parametrize("case", BUILT)
def test_keras_json_matches_keras(case: dict) -> None:
    assert_keras_json_matches(case, predict_fails="predict_error" in case)


@pytest.mark.parametrize("case", NESTED)
def test_a_model_used_as_a_layer_of_another_matches_keras(case: dict) -> None:
    """The model again, as a layer of an outer model (``nested_record``: on new inputs, in a
    Sequential, called twice on its own output, on two inputs, or before a Dense)."""
    nested = case["nested"]
    assert "error" not in nested, nested["error"]
    result = assert_keras_json_matches(nested, predict_fails="predict_error" in case)
    if result is not None:
        row = next(r for r in result["layers"] if r["name"] == case["native"]["name"])
        assert row["type"] in ("Functional", "Sequential")


def assert_keras_json_matches(record: dict, predict_fails: bool) -> dict | None:
    """``check_as_read_back`` of a record; the answer, or None where Keras' own ``predict``
    fails on the model and the engine refuses it (refusing it anywhere is right, as for the
    native document)."""
    if predict_fails:
        try:
            result = check({"model": record["keras_json"]})
        except RequestInvalid:  # an argument refused (AdaptivePooling's output_size 0)
            return None
        if any(d["severity"] == "error" for d in result["diagnostics"]):
            return None
    return check_as_read_back(record)


@pytest.mark.parametrize("sweep", SWEEPS, ids=sweep_id)
def test_divergences_are_refused_at_their_layer(sweep: dict[str, Any]) -> None:
    """Each deliberate divergence: the model's Keras JSON (its native document where Keras
    refuses the model at a later layer) is refused at the layer named."""
    cases = {c["id"]: c for c in sweep["cases"]}
    for (kind, seed, case_id), layer in DIVERGENCES.items():
        if (kind, seed) != (flavour(sweep), sweep["seed"]):
            continue
        if "keras_json" in cases[case_id]:
            doc = cases[case_id]["keras_json"]
            names = [entry["config"]["name"] for entry in doc["config"]["layers"]]
            prefix = f"model.config.layers.{names.index(layer)}."
        else:
            doc = cases[case_id]["native"]
            prefix = f"model.layers.{layer_index(doc, layer)}."
        try:
            result = check({"model": doc})
        except RequestInvalid as exc:
            assert all(path.startswith(prefix) for path in exc.errors), (case_id, exc.errors)
            continue
        errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
        assert errors and errors[0]["layer"] == layer, (case_id, errors)


@pytest.mark.parametrize("model", [m for m in JAX_TRACING if m in LOADED],
                         ids=lambda model: "-".join(map(str, model)))
def test_what_only_jax_refuses_is_built(model: tuple[str, int, str]) -> None:
    """shapecheck builds these, as Keras 3 does on the TensorFlow and torch backends: the layer
    JAX refuses, and the Pipeline's inner CenterCrop, have their shapes."""
    case = next(c for f, seed, c in ALL if (f, seed, c["id"]) == model)
    assert case["error"]["layer"] == JAX_TRACING[model]
    assert "Pipeline" in case["error"]["message"]
    result = check({"model": case["native"]})
    errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert not errors, errors
    row = next(r for r in result["layers"] if r["name"] == JAX_TRACING[model])
    assert row["output_shapes"] is not None


@pytest.mark.parametrize("model", [m for m in NAME_CLASHES if m in LOADED],
                         ids=lambda model: "-".join(map(str, model)))
def test_what_keras_refuses_for_the_generators_names_is_built(model: tuple[str, int, str]) -> None:
    case = next(c for f, seed, c in ALL if (f, seed, c["id"]) == model)
    assert case["error"]["layer"] == NAME_CLASHES[model]
    assert "is used 2 times in the model" in case["error"]["message"]
    result = check({"model": case["native"]})
    assert result["ok"], result["diagnostics"]


@pytest.mark.parametrize("case", params([m for m in ALL if older_refusal(m[2]) is not None]))
def test_what_older_keras_refuses_and_keras_3_15_builds_is_built(case: dict) -> None:
    """``OLDER_REFUSALS``: the model builds, the layer that older Keras refuses with its
    shapes, as in Keras 3.15 (probed)."""
    layer = case["error"]["layer"]
    result = check({"model": case["native"]})
    # Keras 3.15 builds it; where its own predict fails there (a query and a value of other
    # ranks), shapecheck says so at that layer.
    assert all(d["layer"] == layer and "its predict fails" in d["message"]
               for d in result["diagnostics"] if d["severity"] == "error"), result["diagnostics"]
    row = next(r for r in result["layers"] if r["name"] == layer)
    assert row["output_shapes"] or not result["ok"]


@pytest.mark.parametrize("model", [m for m in OLDER_SHAPES if m in LOADED],
                         ids=lambda model: "-".join(map(str, model)))
def test_what_older_keras_shapes_otherwise_has_keras_3_15_shapes(
        model: tuple[str, int, str]) -> None:
    case = next(c for f, seed, c in ALL if (f, seed, c["id"]) == model)
    layer, shapes = OLDER_SHAPES[model]
    recorded = [r["output_shapes"] for r in case["layers"] if r["name"] == layer]
    assert recorded != [shapes]  # that Keras still says otherwise
    result = check({"model": case["native"]})
    assert result["ok"], result["diagnostics"]
    assert next(r for r in result["layers"] if r["name"] == layer)["output_shapes"] == shapes


@pytest.mark.parametrize(("case", "document", "refused_at", "dtypes_recorded"), FORWARD)
def test_forward_matches_keras_predict(case: dict, document: str, refused_at: str | None,
                                       dtypes_recorded: bool) -> None:
    if refused_at is None:
        assert_forward_as_recorded(case[document], case["forward"], dtypes_recorded)
        return
    with pytest.raises(RequestInvalid) as exc:  # a known gap: FORWARD_GAPS
        assert_forward_as_recorded(case[document], case["forward"], dtypes_recorded)
    assert exc.value.errors["forward"][0].startswith(f"layer '{refused_at}' ")


def layer_index(native: dict, name: str) -> int:
    """Index in the native document of the (automatically named) layer ``name``."""
    namer = AutoNamer()
    names = [e.get("name") or namer.name(canonical_name(e["type"])) for e in native["layers"]]
    return names.index(name)
