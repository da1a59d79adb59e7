"""Requests that once crashed or hung the engine, found by mutating every recorded model (the
HTTP fuzzer in test_fuzz.py mutates a few hand-written ones), each with the clear answer it
must get now: a diagnostic, a 422 naming the path, or a forward pass as Keras computes it."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
import pytest
from keras_fixtures import FIXTURES, cases
from shapecheck import check
from shapecheck.budget import mib_text
from shapecheck.errors import LimitExceeded, RequestInvalid
from shapecheck.fixes_proposals import strided_projection
from shapecheck.layers.preprocessing import spread_view
from shapecheck.shapes import same_padding_amounts


def layer_case(name: str) -> dict[str, Any]:
    """The Keras 3 JSON of a recorded layer case."""
    case = next(c.values[0] for c in cases() if c.values[0]["id"] == name)
    return copy.deepcopy(case["keras_json"])


def errors_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in check(body)["diagnostics"] if d["severity"] == "error"]


@pytest.mark.parametrize(("outputs", "message"), [
    (["repeat_vecto"], "Model output 0 is 'repeat_vecto', which is neither a layer nor a "
                       "model input (did you mean 'repeat_vector'?)"),
    (["a", "repeat_vector:2"], "Model output 1 is output 2 of 'repeat_vector', which has 1 "
                               "output(s)"),
])
def test_outputs_that_name_no_tensor_are_invalid_graph(outputs, message):
    model = {"inputs": {"a": [8]}, "outputs": outputs,
             "layers": [{"type": "RepeatVector", "n": 3, "inputs": "a"}]}
    (error,) = errors_of({"model": model})
    assert (error["code"], error["layer"]) == ("invalid_graph", None)
    assert error["message"].startswith(message)
    with pytest.raises(RequestInvalid, match="cannot run"):
        check({"model": model, "forward": {}})


def test_a_typo_in_an_input_name_gets_a_suggestion():
    model = {"inputs": {"image": [8]}, "layers": [{"type": "Dense", "units": 2, "inputs": "imag"}]}
    (error,) = errors_of({"model": model})
    assert "(did you mean 'image'?)" in error["message"]


@pytest.mark.parametrize(("target", "shape"), [([3, None], [2, 3, 120]), ([None], [2, 360])])
def test_reshape_infers_a_none_at_run_time_as_keras_does(target, shape):
    model = {"inputs": [10, 9, 4], "layers": [{"type": "Reshape", "target_shape": target}]}
    result = check({"model": model, "forward": {"batch_size": 2}})
    assert result["forward"]["outputs"][0]["shape"] == shape


def test_reshape_with_two_axes_to_infer_is_refused_as_keras_predict_fails():
    model = {"inputs": [10, 9, 4], "layers": [{"type": "Reshape", "target_shape": [181, -1, None]}]}
    assert check({"model": model})["ok"]  # Keras builds it
    with pytest.raises(RequestInvalid, match="leaves 2 axes to infer"):
        check({"model": model, "forward": {"batch_size": 2}})


def test_group_normalization_of_an_empty_axis_is_a_diagnostic():
    model = {"inputs": [3, 0], "layers": [{"type": "GroupNormalization", "groups": -1}]}
    (error,) = errors_of({"model": model})
    assert error["code"] == "layer_input_incompatible"
    assert "has size 0" in error["message"]


@pytest.mark.parametrize("shapes", [
    [(None, 4, 0, 2), (None, 4, 7, 2)],  # an empty axis: no stride divides it
    [(None, 10**40, 2), (None, 10**20, 2)],  # exact, however large
])
def test_strided_projections_are_proposed_in_exact_integers(shapes):
    proposed = list(strided_projection("add", shapes, [1, 2] if len(shapes[0]) == 4 else [1]))
    if len(shapes[0]) == 4:
        assert proposed == []
    else:
        (candidate,) = proposed
        assert candidate.edits[0].new.args["strides"] == [10**20]


def test_same_padding_and_mib_texts_stay_exact_for_huge_sizes():
    assert same_padding_amounts(10**40 + 1, 3, 10**20) == (1, 1)  # float division: (0, 0)
    assert mib_text(3 * 2**20 // 2) == "1.5"
    assert mib_text(2**1100) == f"{2**1080:,}.0"  # more bytes than a float holds


def test_a_nested_layer_whose_config_is_not_an_object_is_a_422():
    layer = {"type": "Bidirectional", "layer": {"class_name": "LSTM", "config": ["units", 4]}}
    with pytest.raises(RequestInvalid) as raised:
        check({"model": {"inputs": [5, 3], "layers": [layer]}})
    assert list(raised.value.errors) == ["model.layers.0.layer.config"]


def test_a_tf_operation_whose_function_is_not_a_name_is_reported_as_code():
    doc = json.loads((FIXTURES / "tfkeras2" / "models" / "operations_on_tensors.json")
                     .read_text())["keras_json"]
    op = next(e for e in doc["config"]["layers"] if e["class_name"] == "TFOpLambda")
    op["config"]["function"] = {"value": "__operators__.add"}
    assert any(e["code"] == "unsupported_layer" for e in errors_of({"model": doc}))


@pytest.mark.parametrize("config", [[], "", 0])
def test_a_config_that_is_no_object_is_refused_even_for_an_operation(config: Any) -> None:
    """An empty list as a Keras operation's config was read as no config by one check and as
    a list by another (AttributeError)."""
    doc = json.loads((FIXTURES / "keras3" / "models" / "operations_on_tensors.json")
                     .read_text())["keras_json"]
    index, op = next((i, e) for i, e in enumerate(doc["config"]["layers"])
                     if e.get("module", "").startswith("keras.src.ops"))
    op["config"] = config
    with pytest.raises(RequestInvalid) as raised:
        check({"model": doc})
    assert list(raised.value.errors) == [f"model.config.layers.{index}.config"]


def test_a_negative_node_index_in_keras_history_is_refused_not_a_crash():
    doc = layer_case("concatenate_time")
    node = doc["config"]["layers"][6]["inbound_nodes"][0]
    node["args"][0]["config"]["keras_history"][1] = -10**18
    with pytest.raises(RequestInvalid):
        check({"model": doc, "forward": {"batch_size": 1}})


def test_tf_keras_normalization_statistics_are_views_not_copies():
    """A tf.keras 2 Normalization over an axis of 2·10^9 once allocated its statistics in full
    (24 GiB) while only checking the shapes."""
    stats, target = (3, 10**7), [1, 3, 10**7]
    view = spread_view(np.arange(3, dtype=np.float32).reshape(3, 1), stats, target)
    assert view.shape == (1, 3, 10**7) and view.strides[-1] == 0
    with pytest.raises(ValueError):
        spread_view(np.zeros((3, 2), np.float32), stats, target)


@pytest.mark.parametrize(("model", "message"), [
    ({"inputs": {"q": [2, 3, 4], "v": [4, 5, 2]}, "layers": [
        {"type": "MultiHeadAttention", "inputs": ["q", "v"], "num_heads": 2, "key_dim": 3,
         "attention_axes": [2]}]}, "cannot combine its tensors"),
    # The key's batch axis (1 sample) meets the value's 5 steps (Keras' predict fails too).
    ({"inputs": {"q": [3, 4], "v": [5, 6], "k": [4]}, "layers": [
        {"type": "Attention", "inputs": ["q", "v", "k"]}]},
     r"layer 'attention' cannot run: Attention averages the value vectors of \(1, 5, 6\) by "
     r"the attention scores \(1, 3, 1\)"),
])
def test_attention_on_tensors_it_cannot_combine_refuses_the_forward_pass(model, message):
    with pytest.raises(RequestInvalid, match=message):
        check({"model": model, "forward": {}})


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_conv_lstm_budget_counts_its_padded_frames(wrapped: bool):
    """Also inside a Bidirectional, which counted no scratch of its own (a MemoryError)."""
    layer = {"type": "ConvLSTM2D", "filters": 2, "kernel_size": 3, "padding": "same",
             "dilation_rate": [1, 10**9], "return_sequences": True}
    if wrapped:
        layer = {"type": "Bidirectional", "layer": layer}
    with pytest.raises(LimitExceeded):
        check({"model": {"inputs": [3, 5, 5, 2], "layers": [layer]}, "forward": {}})


def test_a_spectral_normalization_budget_counts_its_convs_padded_input():
    """SpectralNormalization counted no scratch of the layer it wraps (a MemoryError)."""
    conv = {"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "same",
            "dilation_rate": [10**9, 1]}
    model = {"inputs": [6, 15, 10], "layers": [{"type": "SpectralNormalization",
                                                "layer": conv}]}
    with pytest.raises(LimitExceeded):
        check({"model": model, "forward": {}})


def test_an_unknown_layer_after_a_shape_keras_does_not_declare() -> None:
    """The check follows MelSpectrogram's computed frames to the layer after it, which has no
    shape rule: that layer's unknown_layer error is the answer."""
    model = {"inputs": [399], "layers": [
        {"type": "MelSpectrogram", "fft_length": 64, "sequence_stride": 40, "num_mel_bins": 6},
        {"type": "None", "rate": 0.5}]}
    assert [e["code"] for e in errors_of({"model": model})] == ["unknown_layer"]


def test_a_shape_keras_does_not_declare_read_by_a_dangling_input() -> None:
    model = {"inputs": {"a": [40], "b": [3]}, "layers": [
        {"type": "MelSpectrogram", "fft_length": 16, "sequence_stride": 1, "num_mel_bins": 3,
         "inputs": "a"},
        {"type": "Dense", "units": 2, "inputs": "b"},
        {"type": "Attention", "inputs": ["mel_spectrogram", "dense:7"]}]}
    assert [e["code"] for e in errors_of({"model": model})] == ["invalid_graph"]


@pytest.mark.parametrize("size", [[[2, 2]], [[2], 2]])
def test_clahe_tile_grid_size_of_pairs_is_refused(size: list) -> None:
    model = {"inputs": [8, 8, 1], "layers": [
        {"type": "ContrastLimitedAdaptiveHistogramEqualization", "tile_grid_size": size}]}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": model})
    assert exc.value.errors == {"model.layers.0.tile_grid_size": [
        f"must be a list of integers, got {size!r}"]}


def test_clahe_tile_grid_size_of_one_integer_cannot_run() -> None:
    model = {"inputs": [8, 8, 1], "layers": [
        {"type": "ContrastLimitedAdaptiveHistogramEqualization", "tile_grid_size": 2}]}
    with pytest.raises(RequestInvalid, match="tile_grid_size \\[2\\] is not two positive"):
        check({"model": model, "forward": {}})


@pytest.mark.parametrize(("args", "path", "message"), [
    ({"vocabulary": [4, {"value": 5}]}, "vocabulary", "must hold integers (int64)"),
    ({"vocabulary": [4, -10**30]}, "vocabulary", "must hold integers (int64)"),
    ({"vocabulary": [[4, 5, 6]]}, "vocabulary", "must hold integers (int64)"),
    ({"vocabulary": [4, 5], "output_mode": "tf_idf", "idf_weights": [10**90, 1.0]},
     "idf_weights", "must be a list of finite numbers"),
    ({"vocabulary": [4, 5], "output_mode": "tf_idf", "idf_weights": [1.0, {"value": 1.0}]},
     "idf_weights", "must be a list of finite numbers"),
])
def test_integer_lookup_arguments_its_kernel_cannot_read(args: dict, path: str,
                                                         message: str) -> None:
    model = {"inputs": [3], "layers": [{"type": "IntegerLookup", **args}]}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": model, "forward": {}})
    (messages,) = exc.value.errors.values()
    assert list(exc.value.errors) == [f"model.layers.0.{path}"]
    assert messages[0].startswith(message)


def test_integer_lookup_mask_token_of_a_string_is_refused() -> None:
    model = {"inputs": [3], "layers": [{"type": "IntegerLookup", "vocabulary": [4, 5],
                                        "mask_token": "0"}]}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": model})
    assert list(exc.value.errors) == ["model.layers.0.mask_token"]


def test_clahe_value_range_of_nan_cannot_run() -> None:
    """JSON has no NaN (the HTTP layer answers it with a 400), but the engine's Python callers
    can pass one."""
    model = {"inputs": [8, 8, 1], "layers": [
        {"type": "ContrastLimitedAdaptiveHistogramEqualization", "value_range": [0, math.nan],
         "tile_grid_size": [2, 2]}]}
    with pytest.raises(RequestInvalid, match="goes beyond float32"):
        check({"model": model, "forward": {}})


def test_integer_lookup_num_oov_indices_beyond_int64_is_refused() -> None:
    """Keras lists num_oov_indices OOV tokens when it makes the layer (OverflowError beyond
    int64); the kernel's buckets crashed on it."""
    model = {"inputs": [3], "layers": [{"type": "IntegerLookup", "vocabulary": [4, 5],
                                        "num_oov_indices": 2**64 + 1}]}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": model, "forward": {}})
    assert exc.value.errors == {"model.layers.0.num_oov_indices": [
        f"must be <= {2**63 - 1}, got {2**64 + 1}"]}


@pytest.mark.parametrize(("oov", "x", "tokens"), [
    (3, [0, 2, 3, 5, 6], [-1, -1, 4, 6, -1]),
    # 2^30 OOV indices: the vocabulary's lie beyond 2^24, which the forward pass refuses
    # (float32 may have rounded them: test_forward_refusals.py)
    (2**30, [0, 7, 2**24], [-1, -1, -1]),
])
def test_an_inverted_lookup_makes_no_table_of_its_oov_indices(oov: int, x: list,
                                                              tokens: list) -> None:
    """The inverted lookup made a table of every OOV index (a MemoryError at 10^9)."""
    lookup = {"type": "IntegerLookup", "vocabulary": [4, 5, 6], "invert": True,
              "num_oov_indices": oov}
    result = check({"model": {"inputs": [len(x)], "layers": [lookup]},
                    "forward": {"x": [x], "return": "values"}})
    assert result["forward"]["outputs"][0]["values"] == [tokens]


def test_mel_spectrogram_sampling_rate_beyond_a_float_cannot_run() -> None:
    """Up to a float's range the kernel gives what Keras does (NaN beyond float32)."""
    model = {"inputs": [64], "layers": [{"type": "MelSpectrogram", "fft_length": 16,
                                         "sequence_stride": 8, "num_mel_bins": 4,
                                         "sampling_rate": 10**400}]}
    assert check({"model": model})["ok"]
    with pytest.raises(RequestInvalid, match="sampling_rate, of 401 digits, is beyond any float"):
        check({"model": model, "forward": {}})


@pytest.mark.parametrize(("layer", "held"), [
    ({"type": "IntegerLookup", "vocabulary": [], "max_tokens": 6, "pad_to_max_tokens": True,
      "output_mode": "multi_hot"}, ""),
    ({"type": "IntegerLookup", "vocabulary": []}, ""),
    ({"type": "IntegerLookup", "vocabulary": [-1]}, " (it holds only the mask and OOV tokens)"),
    ({"type": "IntegerLookup", "vocabulary": [0, -1], "mask_token": 0},
     " (it holds only the mask and OOV tokens)"),
    ({"type": "StringLookup", "vocabulary": ["[UNK]"]},
     " (it holds only the mask and OOV tokens)"),
])
def test_a_lookup_without_tokens_is_refused(layer: dict, held: str) -> None:
    """Keras 3 and tf.keras 2 cannot make these layers ('Cannot set an empty vocabulary', or
    'keys and values cannot be empty tensors' when only the special tokens are listed); the
    kernel indexed an empty vocabulary (the padded one skipped the check)."""
    with pytest.raises(RequestInvalid) as exc:
        check({"model": {"inputs": [3], "layers": [layer]}, "forward": {}})
    assert exc.value.errors == {"model.layers.0.vocabulary": [
        f"cannot be empty{held}: Keras cannot set an empty vocabulary"]}


def test_a_pipeline_budget_counts_what_its_layers_need() -> None:
    """A Pipeline counted no scratch nor loop steps of its layers: a MelSpectrogram in one
    allocated its frames unchecked."""
    mel = {"type": "MelSpectrogram", "fft_length": 2048, "sequence_stride": 1,
           "num_mel_bins": 8}
    alone = check({"model": {"inputs": [4000], "layers": [mel]}, "forward": {"batch_size": 1}})
    piped = check({"model": {"inputs": [4000], "layers": [{"type": "Pipeline",
                                                          "layers": [mel]}]},
                   "forward": {"batch_size": 1}})
    assert piped["forward"]["estimate"]["peak_bytes"] >= alone["forward"]["estimate"][
        "peak_bytes"]


def test_a_nested_model_without_outputs_has_no_dtype_to_give() -> None:
    """Its output dtype read its first output, which it did not have (an IndexError)."""
    doc = json.loads((FIXTURES / "keras3" / "models" / "nested_two_levels_frozen.json")
                     .read_text())["keras_json"]
    doc["config"]["layers"][2]["config"]["output_layers"] = []
    (error,) = errors_of({"model": doc})
    assert (error["code"], error["layer"]) == ("invalid_graph", "dense_13")
    assert "reads output 0 of 'middle', which has only 0 output(s)" in error["message"]


def test_a_stft_of_frames_of_one_sample_needs_its_frame_step() -> None:
    """frame_length 1 makes Keras' default frame_step 0: Keras 3 fails to build the layer
    ('cannot convert float infinity to integer'); the shape rule divided by zero."""
    model = {"inputs": [3, 4], "layers": [{"type": "STFTSpectrogram", "frame_length": 1,
                                          "padding": "same"}]}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": model})
    assert list(exc.value.errors) == ["model.layers.0.frame_step"]
    model["layers"][0]["frame_step"] = 1
    assert check({"model": model})["ok"]


def test_embedding_indices_outside_the_table_give_what_predict_gives() -> None:
    """Indices past input_dim raised IndexError (a MelSpectrogram's values into an Embedding).
    Probed: Keras 3.15.1 (jax) casts float indices to int32 and looks them up with jnp.take,
    which wraps indices from -input_dim and gives NaN outside: for [30, -1, -11, 3.7, 9.99]
    and a table of ones, [nan, 1, nan, 1, 1]; tf.keras 2's predict fails on them."""
    table = [[[float(i), -float(i)] for i in range(10)]]
    model = {"inputs": [5], "layers": [{"type": "Embedding", "input_dim": 10,
                                        "output_dim": 2, "name": "e"}]}
    result = check({"model": model, "forward": {"x": [[30, -1, -11, 3.7, 9.99]],
                                                "weights": {"e": table}, "return": "values"}})
    (output,) = result["forward"]["outputs"]
    assert output["values"] == [[[None, None], [9.0, -9.0], [None, None], [3.0, -3.0],
                                 [9.0, -9.0]]]
    assert output["stats"]["nonfinite"] == 4
    keras2 = json.loads((FIXTURES / "tfkeras2" / "layers" / "dtypes.json").read_text())
    doc = next(c for c in keras2["cases"] if c["id"] == "int16_embedding")["keras_json"]
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc, "forward": {"x": [[1, 2, 3, 4, 20]]}})
    assert "must lie in [0, 20) (input_dim)" in exc.value.errors["forward"][0]


def test_a_global_average_mask_of_another_rank_is_refused() -> None:
    """The fuzzer wrapped the argument of an ``any`` op in a list, which made the mask of a
    GlobalAveragePooling1D (batch, 1, 4), not (batch, steps): broadcast like a mask of one
    step, it gave the kernel another output shape than the rule."""
    records = json.loads((FIXTURES / "keras3" / "masked" / "masked_models.json").read_text())
    doc = copy.deepcopy(next(c["keras_json"] for c in records["cases"]
                             if c["id"] == "global_average_channels_first_mask_of_one_step"))
    reducing = next(layer for layer in doc["config"]["layers"] if layer["class_name"] == "Any")
    reducing["inbound_nodes"][0]["args"] = [reducing["inbound_nodes"][0]["args"]]
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc, "forward": {"seed": 1, "batch_size": 1}})
    assert "mask" in exc.value.errors["forward"][0]


def test_a_global_average_mask_over_the_batch_is_refused() -> None:
    """The fuzzer set the ``any`` that reduces a Masking's mask to axis 0: the mask of the
    GlobalAveragePooling1D became (steps, 1), which broadcasts against (1, steps, 1) to a batch
    of its own and gave the kernel another output shape than the rule."""
    sweep = json.loads((FIXTURES / "keras3" / "random" / "random_models_34101.json").read_text())
    doc = next(c["keras_json"] for c in sweep["cases"] if c["id"] == "sequential_079")
    reducing = next(layer for layer in doc["config"]["layers"] if layer["class_name"] == "Any")
    reducing["config"]["axis"] = 0
    with pytest.raises(RequestInvalid) as exc:
        check({"model": doc, "forward": {"seed": 1, "batch_size": 1}})
    assert "another batch size" in exc.value.errors["forward"][0]


def test_attention_after_a_reshape_to_an_unknown_size_is_budgeted() -> None:
    """The fuzzer set a Reshape's target to (2, None): the forward pass's shapes kept the
    unknown size, and the attention budget added None to a number (an internal error)."""
    model = {"inputs": {"a": [2, 2]}, "layers": [
        {"type": "Conv1D", "filters": 2, "kernel_size": 1, "inputs": "a"},
        {"type": "GlobalMaxPooling1D", "data_format": "channels_first", "inputs": "conv1d"},
        {"type": "Reshape", "target_shape": [2, None], "inputs": "conv1d"},
        {"type": "AdditiveAttention", "inputs": ["global_max_pooling1d", "reshape"]}]}
    result = check({"model": model, "forward": {"seed": 1, "batch_size": 1}})
    assert result["forward"]["outputs"][0]["shape"] == [1, 1, 2]


@pytest.mark.parametrize("class_name", [[1, "a", None], {"value": "DTypePolicy"}])
def test_a_dtype_policy_of_an_unhashable_class_name_is_no_quantization(class_name: Any) -> None:
    """Found by the fuzzer as a TypeError (a set membership test of a list): a policy whose
    ``class_name`` is not a string is no quantized policy, and the layer builds in float."""
    model = layer_case("dense_lora")
    model["config"]["layers"][1]["config"]["dtype"]["class_name"] = class_name
    rows = check({"model": model})["layers"]
    assert [row["params"] for row in rows] == [48]
