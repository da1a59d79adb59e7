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
