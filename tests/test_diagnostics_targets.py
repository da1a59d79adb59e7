"""Loss-aware target checks agree with Keras 3's ``fit``, record by record.

``tests/fixtures/keras3/targets.json`` (tools/keras_fixtures/target_fixtures.py) says, for 18
losses (by function, class and short name), 4 output shapes and 9 target shapes, whether Keras
trained or raised. shapecheck must report a ``target_shape_mismatch`` error exactly where Keras
raises; where Keras silently broadcasts the targets, a ``target_broadcast`` warning at most.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapecheck import check
from shapecheck.data import loss_name

RECORDS = json.loads((Path(__file__).parent / "fixtures" / "keras3" / "targets.json").read_text())


def target_notes(output: list, y: list, loss: str | None) -> list[dict[str, Any]]:
    """The target diagnostics for a one-layer model giving ``output``."""
    sample = [4] if len(output) == 2 else [output[1], 4]
    model = {"inputs": sample, "layers": [{"type": "Dense", "units": output[-1],
                                           "activation": "sigmoid", "name": "out"}]}
    answer = check({"model": model, "y_shape": y, "loss": loss})
    return [d for d in answer["diagnostics"] if d["code"].startswith("target_")]


def record_id(r: dict[str, Any]) -> str:
    return f"{r['loss']}-out{r['output'][1:]}-y{r['y'][1:]}"


@pytest.mark.parametrize("record", RECORDS, ids=[record_id(r) for r in RECORDS])
def test_an_error_exactly_where_keras_refuses_the_targets(record: dict[str, Any]) -> None:
    notes = target_notes(record["output"], record["y"], record["loss"])
    errors = [n for n in notes if n["severity"] == "error"]
    if record["keras"] == "error":
        assert [(n["code"], n["layer"]) for n in errors] == [("target_shape_mismatch", "out")]
    else:
        assert errors == []
        assert {n["code"] for n in notes} <= {"target_broadcast"}


def test_the_table_covers_refusals_and_silent_broadcasts() -> None:
    refused = sum(r["keras"] == "error" for r in RECORDS)
    assert 100 < refused < len(RECORDS) - 100
    broadcast = [r for r in RECORDS if r["keras"] == "ok"
                 and any(n["code"] == "target_broadcast"
                         for n in target_notes(r["output"], r["y"], r["loss"]))]
    assert len(broadcast) > 20


@pytest.mark.parametrize("given, name", [
    ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy"),
    ("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy"),
    ("keras.losses.CategoricalCrossentropy", "categorical_crossentropy"),
    ("BinaryFocalCrossentropy", "binary_focal_crossentropy"),
    ("MeanSquaredError", "mean_squared_error"),
    ("mse", "mean_squared_error"),
    ("MSE", "mean_squared_error"),
    ("bce", "binary_crossentropy"),
    ("KLDivergence", "kl_divergence"),
    ("kullback_leibler_divergence", "kl_divergence"),
    ("LogCosh", "log_cosh"),
    ("CosineSimilarity", "cosine_similarity"),
])
def test_loss_names_are_normalised(given: str, name: str) -> None:
    assert loss_name(given) == name


def test_sparse_labels_with_a_one_hot_loss_say_which_loss_fits() -> None:
    [note] = target_notes([None, 10], [500], "categorical_crossentropy")
    assert "look like integer class ids" in note["message"]
    assert "sparse_categorical_crossentropy" in note["hint"]
    assert "to_categorical(y, 10)" in note["hint"]


def test_one_hot_labels_with_the_sparse_loss_say_which_loss_fits() -> None:
    [note] = target_notes([None, 10], [500, 10], "SparseCategoricalCrossentropy")
    assert "look one-hot (10 columns)" in note["message"]
    assert "np.argmax(y, axis=-1)" in note["hint"]


def test_binary_labels_against_several_outputs() -> None:
    [note] = target_notes([None, 2], [500], "binary_crossentropy")
    assert "each of the 2 outputs against its own 0/1 target" in note["message"]
    assert "Dense(1, activation='sigmoid')" in note["hint"]


def test_a_silent_broadcast_is_a_warning_that_says_what_happens() -> None:
    [note] = target_notes([None, 5], [500, 1], "mse")
    assert note["severity"] == "warning"
    assert "each of the 5 outputs is compared with the same target" in note["message"]
    assert "Keras trains without an error" in note["message"]


def test_targets_without_a_batch_axis() -> None:
    [note] = target_notes([None, 7, 5], [7, 5], "categorical_crossentropy")
    assert "no batch axis" in note["message"]
    assert "(1, 7, 5)" in note["hint"]


def test_without_a_loss_class_ids_and_same_shapes_pass() -> None:
    assert target_notes([None, 10], [500], None) == []
    assert target_notes([None, 10], [500, 1], None) == []
    assert target_notes([None, 10], [500, 10], None) == []
    [note] = target_notes([None, 10], [500, 4], None)
    assert "no loss was given" in note["message"]


def test_an_unknown_loss_is_named_with_suggestions() -> None:
    model = {"inputs": [4], "layers": [{"type": "Dense", "units": 3}]}
    answer = check({"model": model, "y_shape": [8, 3], "loss": "categorical_crossentropyy"})
    [note] = [d for d in answer["diagnostics"] if d["code"] == "unknown_loss"]
    assert note["severity"] == "warning"
    assert "Did you mean categorical_crossentropy" in note["message"]
