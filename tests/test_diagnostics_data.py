"""x and y against the model, with the batch axis understood, through the real server."""

from __future__ import annotations

from typing import Any

import pytest
import requests

MLP = {"inputs": [64], "layers": [{"type": "Dense", "units": 10, "activation": "softmax"}]}
TWO_INPUTS = {
    "inputs": {"image": [32, 32, 3], "meta": [10]},
    "layers": [
        {"type": "GlobalAveragePooling2D", "name": "gap", "inputs": ["image"]},
        {"type": "Concatenate", "name": "cat", "inputs": ["gap", "meta"]},
        {"type": "Dense", "name": "label", "units": 5, "activation": "softmax"},
        {"type": "Dense", "name": "score", "units": 1, "inputs": ["cat"]},
    ],
    "outputs": ["label", "score"],
}


def notes(http: requests.Session, url: str, **body: Any) -> list[dict[str, Any]]:
    response = http.post(f"{url}/v1/check", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return [d for d in response.json()["diagnostics"] if d["code"] not in ("dense_on_high_rank",)]


def only(found: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(found) == 1, found
    return found[0]


def test_x_without_its_batch_axis(http: requests.Session, server_url: str) -> None:
    note = only(notes(http, server_url, model=MLP, x_shape=[64]))
    assert (note["severity"], note["code"], note["layer"]) == ("error", "input_shape_mismatch",
                                                               None)
    assert "(64,) is one sample" in note["message"]
    assert "(1, 64)" in note["hint"]


def test_x_with_the_right_number_of_values_in_another_shape(http: requests.Session,
                                                            server_url: str) -> None:
    note = only(notes(http, server_url, model=MLP, x_shape=[100, 8, 8]))
    assert "x must have rank 2: (N, 64)" in note["message"]
    assert "reshape x to (100, 64)" in note["hint"]


@pytest.mark.parametrize(("x_shape", "hint"), [
    ([784], "x holds 784 values, one sample's worth with no batch axis: reshape it to "
            "(1, 28, 28, 1)."),  # a flattened image
    ([28, 28], "reshape it to (1, 28, 28, 1)."),  # an image without batch and channel axes
    ([2352], "if it is 3 samples, reshape it to (3, 28, 28, 1)"),
    ([5], "Reshape your data to (N, 28, 28, 1)"),
])
def test_x_flattened_without_its_batch_axis(http: requests.Session, server_url: str,
                                            x_shape: list[int], hint: str) -> None:
    model = {"inputs": [28, 28, 1], "layers": [{"type": "Flatten"}]}
    note = only(notes(http, server_url, model=model, x_shape=x_shape))
    assert "x must have rank 4: (N, 28, 28, 1)" in note["message"]
    assert hint in note["hint"]


def test_x_with_the_sizes_in_another_order(http: requests.Session, server_url: str) -> None:
    model = {"inputs": [32, 32, 3], "layers": [{"type": "Flatten"}]}
    note = only(notes(http, server_url, model=model, x_shape=[10, 3, 32, 32]))
    assert "axis 1: x has 3, the model expects 32" in note["message"]
    assert "channels_first vs channels_last" in note["hint"]


def test_a_fixed_batch_size_that_does_not_divide_the_samples(http: requests.Session,
                                                             server_url: str) -> None:
    model = {"layers": [{"type": "InputLayer", "batch_shape": [32, 64]},
                        {"type": "Dense", "units": 2}]}
    note = only(notes(http, server_url, model=model, x_shape=[100, 64]))
    assert (note["severity"], note["code"]) == ("warning", "input_shape_mismatch")
    assert "the last batch would have 4" in note["message"]


def test_several_inputs_by_name(http: requests.Session, server_url: str) -> None:
    good = {"image": [64, 32, 32, 3], "meta": [64, 10]}
    assert notes(http, server_url, model=TWO_INPUTS, x_shape=good) == []
    note = only(notes(http, server_url, model=TWO_INPUTS,
                      x_shape={"image": [64, 32, 32, 3], "meta": [64, 12]}))
    assert "model input 'meta'" in note["message"]


def test_several_inputs_given_one_shape(http: requests.Session, server_url: str) -> None:
    note = only(notes(http, server_url, model=TWO_INPUTS, x_shape=[64, 10]))
    assert "The model has 2 of them (image, meta)" in note["message"]
    assert "object name → shape" in note["hint"]


def test_names_the_model_does_not_have(http: requests.Session, server_url: str) -> None:
    note = only(notes(http, server_url, model=TWO_INPUTS,
                      x_shape={"image": [64, 32, 32, 3], "metadata": [64, 10]}))
    assert "x_shape names metadata" in note["message"]
    assert "it has image, meta" in note["message"]


def test_inputs_disagreeing_on_the_number_of_samples(http: requests.Session,
                                                     server_url: str) -> None:
    note = only(notes(http, server_url, model=TWO_INPUTS,
                      x_shape={"image": [64, 32, 32, 3], "meta": [60, 10]}))
    assert note["code"] == "input_shape_mismatch"
    assert "x_shape[image] has 64, x_shape[meta] has 60" in note["message"]


def test_x_and_y_disagreeing_on_the_number_of_samples(http: requests.Session,
                                                      server_url: str) -> None:
    note = only(notes(http, server_url, model=MLP, x_shape=[100, 64], y_shape=[90],
                      loss="sparse_categorical_crossentropy"))
    assert (note["code"], note["layer"]) == ("target_shape_mismatch", None)
    assert "x_shape has 100, y_shape has 90" in note["message"]


def test_named_outputs_each_against_the_loss(http: requests.Session, server_url: str) -> None:
    x = {"image": [64, 32, 32, 3], "meta": [64, 10]}
    ok = notes(http, server_url, model=TWO_INPUTS, x_shape=x,
               y_shape={"label": [64], "score": [64, 1]}, loss="sparse_categorical_crossentropy")
    assert [n for n in ok if n["code"].startswith("target")] == []
    found = notes(http, server_url, model=TWO_INPUTS, x_shape=x,
                  y_shape={"label": [64, 5], "score": [64, 1]},
                  loss="sparse_categorical_crossentropy")
    wrong = only([n for n in found if n["code"].startswith("target")])
    assert (wrong["code"], wrong["layer"]) == ("target_shape_mismatch", "label")


@pytest.mark.parametrize("loss, y, fine", [
    ("sparse_categorical_crossentropy", [100], True),
    ("sparse_categorical_crossentropy", [100, 1], True),
    ("sparse_categorical_crossentropy", [100, 10], False),
    ("categorical_crossentropy", [100, 10], True),
    ("categorical_crossentropy", [100, 10, 1], True),  # Keras squeezes the trailing 1
    ("categorical_crossentropy", [100, 1], False),
    ("binary_crossentropy", [100, 10], True),
    ("mse", [100, 10], True),
    ("mse", [100, 3], False),
])
def test_targets_are_read_as_the_loss_reads_them(loss: str, y: list[int], fine: bool,
                                                 http: requests.Session,
                                                 server_url: str) -> None:
    found = notes(http, server_url, model=MLP, y_shape=y, loss=loss)
    mismatches = [n for n in found if n["code"] == "target_shape_mismatch"]
    assert (mismatches == []) is fine
