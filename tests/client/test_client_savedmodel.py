"""The architecture in a TensorFlow SavedModel directory that tf.keras 2's ``model.save()``
wrote: its ``keras_metadata.pb``, read without TensorFlow or protobuf. The ``keras_metadata.pb``
of every whole-model fixture was recorded by real tf.keras 2 (tools/keras_fixtures/
saved_models.py) next to the ``.keras`` archive of the same model; both must check the same."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest
from seed_models import FIXTURES, SAVED_TF_KERAS
from shapecheck import check
from shapecheck_client.client import load_model
from shapecheck_client.savedmodel import read_saved_model

DOCUMENTS = json.loads(gzip.decompress((FIXTURES / "tfkeras2" / "saved" / "models.json.gz")
                                       .read_bytes()))
SAVED = [pytest.param(forms, id=name) for name, forms in sorted(DOCUMENTS.items())]


def saved_model(directory: Path, metadata: str) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "keras_metadata.pb").write_bytes(base64.b64decode(metadata))
    return directory


def answer(document: dict) -> dict:
    result = check({"model": document})
    return {"layers": [(r["name"], r["output_shapes"], r["params"]) for r in result["layers"]],
            "totals": result["totals"], "format": result["model"]["format"],
            "codes": [(d["code"], d["layer"]) for d in result["diagnostics"]]}


def test_every_model_was_saved_as_a_saved_model() -> None:
    assert len(SAVED) >= 25 and all("savedmodel_metadata" in p.values[0] for p in SAVED)


@pytest.mark.parametrize("forms", SAVED)
def test_a_saved_model_checks_as_the_keras_archive_of_the_same_model(
        forms: dict, tmp_path: Path) -> None:
    document = read_saved_model(saved_model(tmp_path / "model", forms["savedmodel_metadata"]))
    assert document["keras_version"].startswith("2.")
    assert "__tuple__" not in json.dumps(document)
    assert answer(document) == answer(forms["keras"])


def test_the_seed_model_directory_as_tf_keras_2_wrote_it() -> None:
    document = load_model(SAVED_TF_KERAS / "seed000_savedmodel")
    recorded = json.loads((SAVED_TF_KERAS / "seed000.json").read_text())
    result = check({"model": document})
    assert [o["shape"] for o in result["model"]["outputs"]] == recorded["outputs"]
    assert result["totals"]["params"] == recorded["params"]


def test_a_directory_without_keras_metadata_says_what_to_send(tmp_path: Path) -> None:
    (tmp_path / "saved_model.pb").write_bytes(b"\x08\x01")  # what Keras 3's export() writes
    with pytest.raises(ValueError, match=r"without keras_metadata\.pb.*model\.to_json\(\)"):
        load_model(tmp_path)


@pytest.mark.parametrize("damage", [
    b"", b"\x0a\xff\x01", b"\x0a\x05\x1a\x04roo", b"\x0f", b"\x0a\x03\x1a\x01x",
    b"\x0a\x10\x1a\x04root*\x08not json",
])
def test_a_damaged_keras_metadata_is_a_clear_error(damage: bytes, tmp_path: Path) -> None:
    (tmp_path / "keras_metadata.pb").write_bytes(damage)
    with pytest.raises(ValueError, match="holds no Keras model architecture"):
        read_saved_model(tmp_path)
