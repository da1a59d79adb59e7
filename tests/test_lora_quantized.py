"""LoRA and quantized layers (``layers/adapters.py``, ``layers/quantized.py``), beyond the
Keras parity of their recorded cases (``layers/lora.json``, ``layers/quantized.json``)."""

from __future__ import annotations

import re

import pytest
from keras_fixtures import cases
from shapecheck import check
from shapecheck.catalogue import layer_catalogue
from shapecheck.errors import RequestInvalid
from shapecheck.layers.quantized import Quantization, einsum_scale_layouts, quantization

BUILT = [c for c in cases() if c.id.split(":")[0] in ("lora", "quantized")
         and "error" not in c.values[0]]


@pytest.mark.parametrize("case", BUILT)
def test_each_explanation_counts_the_weights_held(case: dict) -> None:
    """An adapted or quantized layer's explanation lists the weights Keras holds, and adds
    up to its row's parameters (not to its float layer's)."""
    for row in check({"model": case["native"]})["layers"]:
        total = re.search(r"= ([\d,]+)(?: \(|$)", row["explain"])
        assert total is not None, row["explain"]
        assert int(total.group(1).replace(",", "")) == row["params"], row


@pytest.mark.parametrize(("policy", "expected"), [
    ("int8_from_float32", Quantization("int8")),
    ("int4_from_mixed_bfloat16", Quantization("int4", source="mixed_bfloat16")),
    ("int4/64_from_float32", Quantization("int4", block_size=64)),
    ("int4/-1_from_float32", Quantization("int4")),
    ("gptq/8/32_from_float32", Quantization("gptq", bits=8, group_size=32)),
    ({"class_name": "QuantizedFloat8DTypePolicy",
      "config": {"mode": "float8", "source_name": "float32", "amax_history_length": 16}},
     Quantization("float8", amax_history=16)),
    ({"class_name": "AWQDTypePolicy", "config": {"mode": "awq/4/-1", "source_name": "float32"}},
     Quantization("awq", group_size=-1)),
    ("float32", None), ("mixed_float16", None), ("int3_from_float32", None),
    ({"class_name": "DTypePolicy", "config": {"name": "int8"}}, None), (None, None), (8, None),
    ({"class_name": [1, "a"], "config": {}}, None), ({"class_name": {"v": 1}}, None),
])
def test_the_quantized_policies_read(policy: object, expected: Quantization | None) -> None:
    assert quantization(policy) == expected


@pytest.mark.parametrize("policy", [
    "int4/0_from_float32", "int4/-2_from_float32", "int4/x_from_float32", "gptq/4_from_float32",
    "gptq/5/128_from_float32", "gptq/4/0_from_float32", "awq/8/128_from_float32",
    "int8/2_from_float32",
    {"class_name": "QuantizedFloat8DTypePolicy",
     "config": {"mode": "float8", "source_name": "float32", "amax_history_length": -1}},
    {"class_name": "QuantizedFloat8DTypePolicy",
     "config": {"mode": "float8", "source_name": "float32", "amax_history_length": "16"}},
])
def test_a_mode_keras_refuses_is_a_422_at_the_dtype(policy: object) -> None:
    layer = {"type": "Dense", "units": 3, "dtype": policy}
    with pytest.raises(RequestInvalid) as exc:
        check({"model": {"inputs": [4], "layers": [layer]}})
    assert list(exc.value.errors) == ["model.layers.0.dtype"]


def test_a_quantized_policy_computes_in_its_source() -> None:
    """``int8_from_mixed_bfloat16``: the layer's outputs are bfloat16, as Keras gives them."""
    model = {"inputs": [6], "layers": [{"type": "Dense", "units": 3,
                                        "dtype": "int8_from_mixed_bfloat16"}]}
    assert check({"model": model})["model"]["outputs"][0]["dtype"] == "bfloat16"


def test_the_int8_einsum_scale_keeps_the_quirks_of_keras() -> None:
    """One scale per output channel, with 1s where the kernel sums or lacks an output axis
    (values probed with Keras 3.15.1)."""
    for equation, kernel, scale in [("abc,cde->abde", (4, 2, 5), (1, 1, 2, 5)),
                                    ("ab,bc->ac", (5, 6), (1, 6)),
                                    ("abcd,cde->abe", (2, 4, 6), (1, 1, 6))]:
        assert einsum_scale_layouts(equation)[1].shape(kernel) == scale


@pytest.mark.parametrize(("layer", "path", "words"), [
    ({"type": "Embedding", "input_dim": 9, "output_dim": 4, "dtype": "float8_from_float32"},
     "model.layers.0.dtype", "in int8 and int4 only, not float8"),
    ({"type": "EinsumDense", "equation": "...b,bc->...c", "output_shape": 4,
      "dtype": "int8_from_float32"}, "model.layers.0.dtype", "has '...' in int8"),
    ({"type": "Dense", "units": 4, "lora_rank": 2, "dtype": "awq/4/128_from_float32"},
     "model.layers.0.lora_rank", "no LoRA on a layer quantized with AWQ"),
    ({"type": "Dense", "units": 4, "lora_rank": 2, "kernel_constraint": "non_neg"},
     "model.layers.0.lora_rank", "refuses LoRA on a layer with a kernel_constraint"),
    ({"type": "Dense", "units": 4, "dtype": "int8_from_mixed_float16"},
     "model.layers.0.dtype", "refuses int8 quantization of a layer that computes in float16"),
    ({"type": "TimeDistributed", "layer": {"type": "Dense", "units": 4, "lora_rank": 2,
                                           "dtype": "gptq/4/128_from_float32"}},
     "model.layers.0.layer.lora_rank", "no LoRA on a layer quantized with GPTQ"),
])
def test_what_keras_refuses_is_a_422_at_the_argument(layer: dict, path: str,
                                                      words: str) -> None:
    with pytest.raises(RequestInvalid) as exc:
        check({"model": {"inputs": [3, 6], "layers": [layer]}})
    assert list(exc.value.errors) == [path]
    assert words in exc.value.errors[path][0]


def test_the_catalogue_lists_lora_where_keras_has_it() -> None:
    arguments = {entry["type"]: {a["name"] for a in entry["arguments"]}
                 for entry in layer_catalogue()}
    for layer in ("Dense", "EinsumDense", "Embedding", "ReversibleEmbedding", "Conv1D",
                  "Conv2D", "Conv3D"):
        assert {"lora_rank", "lora_alpha"} <= arguments[layer], layer
    for layer in ("Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D", "LSTM"):
        assert "lora_rank" not in arguments[layer], layer


def test_saved_lora_weights_without_their_factors_are_taken_as_zeros() -> None:
    """``model.save()`` writes a LoRA layer's kernel merged and no factors: the pass takes
    them as zeros, and gives what the merged kernel gives."""
    model = {"inputs": [2], "layers": [{"type": "Dense", "units": 2, "lora_rank": 1,
                                        "name": "head"}]}
    merged = [[[1.0, 2.0], [3.0, 4.0]], [0.5, -0.5]]
    answer = check({"model": model, "forward": {"x": [[1.0, 1.0]], "return": "values",
                                                "weights": {"head": merged}}})
    assert answer["forward"]["outputs"][0]["values"] == [[4.5, 5.5]]
    with pytest.raises(RequestInvalid) as exc:
        check({"model": model, "forward": {"x": [[1.0, 1.0]],
                                           "weights": {"head": merged[:1]}}})
    assert "has 4 weight arrays (kernel (2, 2), bias (2,), lora_kernel_a (2, 1), " \
           "lora_kernel_b (1, 2)), 1 given" in exc.value.errors["forward.weights.head"][0]
