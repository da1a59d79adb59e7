"""The keras.applications models, submitted as the ``model.to_json()`` that Keras 3 and
tf.keras 2 write: every layer's output shapes and parameter counts, the outputs and the totals
equal Keras' (recorded by tools/keras_fixtures/applications.py)."""

from __future__ import annotations

import gzip
import json

import pytest
from keras_fixtures import FIXTURES
from shapecheck import check

APPLICATIONS = sorted((FIXTURES / "keras3" / "applications").glob("*.json.gz"))
TF_KERAS_APPLICATIONS = sorted((FIXTURES / "tfkeras2" / "applications").glob("*.json.gz"))


def load(path) -> dict:
    with gzip.open(path, "rt") as f:
        return json.load(f)


@pytest.fixture(scope="module", params=[*APPLICATIONS, *TF_KERAS_APPLICATIONS],
                ids=lambda p: f"{p.parents[1].name}:{p.name.split('.')[0]}")
def application(request: pytest.FixtureRequest) -> tuple[dict, dict]:
    record = load(request.param)
    return record, check({"model": record["keras_json"]})


def test_all_fourteen_are_recorded() -> None:
    assert len(APPLICATIONS) == len(TF_KERAS_APPLICATIONS) == 14


def test_no_errors(application: tuple[dict, dict]) -> None:
    _, result = application
    errors = [(d["layer"], d["code"], d["message"]) for d in result["diagnostics"]
              if d["severity"] == "error"]
    assert errors == []


def test_every_layer_matches_keras(application: tuple[dict, dict]) -> None:
    record, result = application
    rows = {row["name"]: row for row in result["layers"]}
    assert list(rows) == [layer["name"] for layer in record["layers"]]
    for expected in record["layers"]:
        row = rows[expected["name"]]
        assert row["type"] == expected["type"], expected["name"]
        assert row["output_shapes"] == expected["output_shapes"], expected["name"]
        for key in ("params", "trainable_params", "non_trainable_params"):
            assert row[key] == expected[key], (expected["name"], key)


def test_outputs_and_totals_match_keras(application: tuple[dict, dict]) -> None:
    record, result = application
    assert [o["shape"] for o in result["model"]["outputs"]] == record["outputs"]
    for key in ("params", "trainable_params", "non_trainable_params"):
        assert result["totals"][key] == record["totals"][key], key
