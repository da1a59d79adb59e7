"""Kernels that cannot run on the data they are given raise NotImplementedError; the forward
pass answers it with a 422 naming the layer and why, never a 500."""

from __future__ import annotations

import pytest
from shapecheck import check
from shapecheck.errors import RequestInvalid


def refusal(model: dict, forward: dict) -> str:
    assert check({"model": model})["ok"]
    with pytest.raises(RequestInvalid) as exc:
        check({"model": model, "forward": forward})
    (message,) = exc.value.errors["forward"]
    return message


def test_discretization_never_adapted() -> None:
    model = {"inputs": [3], "layers": [{"type": "Discretization", "num_bins": 4}]}
    message = refusal(model, {"batch_size": 2})
    assert message.startswith("layer 'discretization' (Discretization) cannot run on this data")
    assert "never adapted" in message


def test_category_encoding_multi_hot_of_rank_3() -> None:
    model = {"inputs": [2, 3], "layers": [{"type": "CategoryEncoding", "num_tokens": 4,
                                           "output_mode": "multi_hot"}]}
    message = refusal(model, {"x": [[[0, 1, 2], [3, 0, 1]]]})
    assert message.startswith("layer 'category_encoding' (CategoryEncoding) cannot run on "
                              "this data")
    assert "reduces axis 1" in message


def test_a_wrapped_layer_that_cannot_run() -> None:
    model = {"inputs": [4, 3], "layers": [
        {"type": "TimeDistributed", "name": "steps",
         "layer": {"type": "Discretization", "num_bins": 4}}]}
    message = refusal(model, {"batch_size": 1})
    assert message.startswith("layer 'steps' (TimeDistributed) cannot run on this data: ")
    assert "never adapted" in message


def test_an_integer_lookup_whose_vocabulary_adapt_learnt() -> None:
    """A config saved after adapt() holds the vocabulary's size, not the vocabulary."""
    model = {"inputs": [3], "layers": [{"type": "IntegerLookup", "vocabulary_size": 5,
                                        "output_mode": "multi_hot"}]}
    message = refusal(model, {"batch_size": 2})
    assert message.startswith("layer 'integer_lookup' (IntegerLookup) cannot run on this data: "
                              "its vocabulary is not in the config")


def test_an_integer_lookup_without_oov_buckets_on_values_outside_its_vocabulary() -> None:
    model = {"inputs": [2], "layers": [{"type": "IntegerLookup", "vocabulary": [4, 5],
                                        "num_oov_indices": 0}]}
    message = refusal(model, {"x": [[4, 7]]})
    assert "every value must be in the vocabulary" in message


def test_an_integer_lookup_of_ids_float32_cannot_hold() -> None:
    """float32 holds 100,000,001 as 100,000,000: the lookup would find the wrong ID."""
    model = {"layers": [{"type": "InputLayer", "name": "ids", "shape": [2], "dtype": "int32"},
                        {"type": "IntegerLookup", "vocabulary": [100_000_000, 100_000_001]}]}
    message = refusal(model, {"x": [[100_000_001, 100_000_000]]})
    assert "its inputs hold integers beyond 2^24" in message
    exact = {"x": [[16_777_216, -16_777_216]], "return": "values"}  # float32 holds these
    assert lookup(model, exact) == [[0, 0]]  # both outside the vocabulary: the OOV index


def test_an_inverted_integer_lookup_back_to_ids_float32_cannot_hold() -> None:
    model = {"inputs": [2], "layers": [{"type": "IntegerLookup", "invert": True,
                                        "vocabulary": [7, 100_000_001]}]}
    assert "the tokens it gives back are integers beyond 2^24" in refusal(model, {"x": [[2, 1]]})
    assert lookup(model, {"x": [[1, 0]], "return": "values"}) == [[7, -1]]  # -1: OOV


def lookup(model: dict, forward: dict) -> list:
    (output,) = check({"model": model, "forward": forward})["forward"]["outputs"]
    return output["values"]


@pytest.mark.parametrize("policy", ["gptq/4/128_from_float32", "awq/4/128_from_float32",
                                    {"module": "keras.dtype_policies",
                                     "class_name": "GPTQDTypePolicy",
                                     "config": {"mode": "gptq/8/64", "source_name": "float32"}}])
def test_a_layer_quantized_with_gptq_or_awq(policy: str | dict) -> None:
    """Keras computes it from its GPTQ or AWQ weights and scales, which the pass does not
    follow."""
    model = {"inputs": [6], "layers": [{"type": "Dense", "units": 3, "name": "head",
                                        "dtype": policy}]}
    message = refusal(model, {"batch_size": 2})
    assert message.startswith("layer 'head' (Dense) cannot run: it is quantized (")
    assert "which the forward pass follows in int8, int4 and float8 only" in message


def test_a_quantized_layer_inside_a_wrapper() -> None:
    quantized = {"type": "Dense", "units": 3, "dtype": "gptq/4/128_from_float32"}
    wrapped = {"inputs": [4, 6], "layers": [{"type": "TimeDistributed", "name": "steps",
                                             "layer": quantized}]}
    assert refusal(wrapped, {"batch_size": 1}).startswith(
        "layer 'steps' (TimeDistributed) cannot run: it is quantized (gptq/4/128_from_float32)")


def test_a_float_layer_of_a_quantizing_policy_runs() -> None:
    """Keras ignores the mode of a layer it does not quantize (a Conv2D under int8)."""
    model = {"inputs": [6, 6, 3], "layers": [{"type": "Conv2D", "filters": 2,
                                              "kernel_size": 3, "dtype": "int8_from_float32"}]}
    assert check({"model": model, "forward": {"batch_size": 1}})["forward"]["outputs"]


def test_the_reverse_call_of_an_int4_reversible_embedding() -> None:
    """Its lookup runs (an Embedding's); its reverse call quantizes its inputs in a way the
    pass does not follow."""
    layers = [{"type": "ReversibleEmbedding", "input_dim": 9, "output_dim": 4, "name": "tokens",
               "dtype": "int4_from_float32", "call": {"reverse": True}}]
    message = refusal({"inputs": [3, 4], "layers": layers}, {"batch_size": 1})
    assert message.startswith("layer 'tokens' (ReversibleEmbedding) cannot run on this data: "
                              "the forward pass computes the reverse call of a quantized")


def test_a_float8_layer_with_lora() -> None:
    """Keras 3's float8 call does not support LoRA: its predict fails."""
    layers = [{"type": "Dense", "units": 3, "name": "head", "lora_rank": 2,
               "dtype": "float8_from_float32"}]
    message = refusal({"inputs": [4], "layers": layers}, {"batch_size": 1})
    assert message.startswith("layer 'head' (Dense) cannot run on this data: Keras 3's "
                              "predict fails on a float8 layer with LoRA")
