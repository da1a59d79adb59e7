"""Documents that older Keras versions write (Keras 3.0 to 3.12, tf.keras 2.15 and 2.17): each
recorded model's ``model.to_json()`` checks as that Keras built the model, every layer's output
shapes and parameter counts, the outputs and the totals, and is read as the right flavour; the
small models' forward pass gives what that Keras' ``predict`` gave (recorded by
tools/keras_fixtures/versions.py, one file per version)."""

from __future__ import annotations

import copy
import gzip
import json

import pytest
from keras_fixtures import FIXTURES, assert_forward_as_recorded
from shapecheck import check
from shapecheck.errors import RequestInvalid
from shapecheck.formats.keras import detect_format
from test_keras_import import (
    assert_checks_as_keras,
    assert_matches_keras,
    mask_only_operations,
    refused,
)

VERSION_FILES = sorted((FIXTURES / "versions").glob("*.json.gz"))

TOTALS_DIVERGENCES: dict[tuple[str, str], tuple[dict[str, int], str]] = {
    ("keras-3.0.5", "v_operations_and_dtypes"): (
        {"trainable_params": 110, "non_trainable_params": 42},
        "Keras 3.0 and 3.1 leave the weights of a layer made with trainable=False trainable "
        "(Layer._track_variable follows the layer's flag from 3.2 on), so that their "
        "model.trainable_weights, summary() and fit() count the frozen Dense's 42 as "
        "trainable; the check counts them as Keras 3.2 to 3.15, and the layer's own row, do"),
}
"""Where an older Keras computes another total than Keras 3.15 for the same document (a
behaviour, not a format): (file, model) -> the totals the check gives, as Keras 3.15, and why."""


def load(path) -> dict:
    with gzip.open(path, "rt") as f:
        return json.load(f)


RECORDS = [(path.name.removesuffix(".json.gz"), record)
           for path in VERSION_FILES for record in load(path)["records"]]


def version_records(only_forward: bool = False) -> list:
    return [pytest.param(stem, record, id=f"{stem}:{record['id']}")
            for stem, record in RECORDS if "forward" in record or not only_forward]


def test_the_versions_are_recorded() -> None:
    """Five Keras 3 versions before 3.15 and two tf.keras 2 before 2.21, each with the
    applications and the hand-built models."""
    files = {path.name.removesuffix(".json.gz"): load(path) for path in VERSION_FILES}
    assert sorted(files) == ["keras-3.0.5", "keras-3.12.0", "keras-3.3.3", "keras-3.6.0",
                             "keras-3.9.2", "tf_keras-2.15.1", "tf_keras-2.17.0"]
    for name, document in files.items():
        ids = {record["id"] for record in document["records"]}
        assert {"app_ResNet50", "app_MobileNetV2", "app_DenseNet121", "app_EfficientNetB0",
                "v_embedding_mask_recurrent", "v_nested_sequential_and_functional",
                "v_sequential_without_input_layer"} <= ids, name
        for record in document["records"]:
            assert record["keras_version"] == document["keras_version"]


@pytest.mark.parametrize(("stem", "record"), version_records())
def test_older_keras_documents_check_as_that_keras_built_them(stem: str, record: dict) -> None:
    if (stem, record["id"]) in TOTALS_DIVERGENCES:
        totals, _ = TOTALS_DIVERGENCES[stem, record["id"]]
        assert {key: record["totals"][key] for key in totals} != totals  # still diverges
        record = copy.deepcopy(record)
        record["totals"].update(totals)
    if "predict_refused" in record:  # Keras builds it: the shapes, and the errors of predict
        result = check({"model": record["keras_json"]})
        assert_matches_keras(result, record)
        assert {d["layer"]: d["code"] for d in result["diagnostics"]
                if d["severity"] == "error"} == dict.fromkeys(broadcasts(record),
                                                              "layer_input_incompatible")
        return
    assert_checks_as_keras(record["keras_json"], record, refused(record))


def broadcasts(record: dict) -> list[str]:
    return [entry["name"] for entry in record["keras_json"]["config"]["layers"]
            if entry["class_name"] == "BroadcastTo"]


@pytest.mark.parametrize(("stem", "record"), version_records())
def test_the_flavour_is_told_without_keras_version(stem: str, record: dict) -> None:
    """A ``.keras`` archive's config.json has no ``keras_version``: the nodes tell."""
    document = {k: v for k, v in record["keras_json"].items() if k != "keras_version"}
    assert detect_format(document) == ("keras3" if stem.startswith("keras-") else "keras2")


@pytest.mark.parametrize(("stem", "record"), version_records(only_forward=True))
def test_older_keras_documents_run_as_that_keras_predicts(stem: str, record: dict) -> None:
    assert_forward_as_recorded(record["keras_json"], record["forward"])


@pytest.mark.parametrize(("stem", "record"), [
    p for p in version_records() if p.values[0].startswith("keras-")
    and mask_only_operations(p.values[1]["keras_json"])])
def test_the_operations_of_masks_have_the_shapes_keras_gives_them(stem: str,
                                                                   record: dict) -> None:
    """The operations each Keras 3 version writes to compute masks (``BroadcastTo`` in 3.6 and
    3.9, ``ZerosLike`` and ``LogicalOr`` in 3.12) are no layers of the check, but its summary
    lists them, with the shapes Keras gives them."""
    left_out = mask_only_operations(record["keras_json"])
    summary = check({"model": record["keras_json"]})["summary"]
    shown = {cells[0].split(" (")[0]: cells[1] for line in summary.splitlines()
             if (cells := [c.strip() for c in line.split("│")[1:-1]]) and cells[0]}
    for layer in record["layers"]:
        if layer["name"] in left_out:
            (shape,) = layer["output_shapes"]
            assert shown[layer["name"]] == str(tuple(shape)), layer["name"]


@pytest.mark.parametrize(("stem", "record"), [
    p for p in version_records() if "predict_refused" in p.values[1]])
def test_where_that_keras_predict_fails_the_forward_pass_refuses(stem: str,
                                                                  record: dict) -> None:
    """Keras 3.6 and 3.9 write a masked Concatenate's mask as a ``BroadcastTo`` of the shape
    with its unknown batch axis, which their own predict then cannot run ("Shapes must be 1D
    sequences of concrete values"): the check says so at each such operation, an error of
    predict, and the forward pass refuses the model."""
    assert "concrete values" in record["predict_refused"]
    errors = [d for d in check({"model": record["keras_json"]})["diagnostics"]
              if d["severity"] == "error"]
    assert len(errors) == len(broadcasts(record)) == 2
    assert all("(BroadcastTo)" in d["message"] and "concrete values" in d["message"]
               for d in errors)
    with pytest.raises(RequestInvalid) as exc:
        check({"model": record["keras_json"], "forward": {}})
    (message,) = exc.value.errors["forward"]
    assert message.startswith("the model has 2 error(s), so it cannot run. The first at layer "
                              "'broadcast_to'")
