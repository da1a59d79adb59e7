"""Dev-only: models saved by real Keras with ``model.save()``, for the client's reading of them.

    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/saved_models.py
    TF_USE_LEGACY_KERAS=1 /work/devenv/tfkeras/bin/python tools/keras_fixtures/saved_models.py

Each model is saved in both of the formats ``model.save()`` writes:

- ``<name>.keras``: a zip of ``config.json`` (what ``model.to_json()`` gives, but for the
  ``shared_object_id`` of Keras 3's dtype policies), ``metadata.json`` and the weights;
- ``<name>.h5``: the legacy HDF5 file, whose root attribute ``model_config`` is the same JSON;
- with tf.keras 2, ``<name>_savedmodel/``: the TensorFlow SavedModel directory that
  ``model.save("path")`` writes by default, whose ``keras_metadata.pb`` holds the architecture.

next to ``<name>.json``: its ``to_json()`` and the output shapes and parameter count Keras gives.
Also, ``models.json.gz``: for every model of ``keras_json.py`` (whose records in ``models/``
hold what Keras computes for it), the model document of each saved format, by id:
``{"keras": <config.json>, "h5": <model_config>}``, and with tf.keras 2
``"savedmodel_metadata"``: the SavedModel's ``keras_metadata.pb``, base64-encoded.
Keras 3 writes under tests/fixtures/keras3/saved/, tf.keras 2 (``tf_keras``, with
``TF_USE_LEGACY_KERAS=1``) under tests/fixtures/tfkeras2/saved/.
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import h5py
from build import FIXTURES, LEGACY, keras
from keras_json import MODELS

OUT = FIXTURES / "saved"


def models() -> dict[str, keras.Model]:
    layers = keras.layers
    seed = keras.Sequential([
        keras.Input((100, 100, 3)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.Dense(256, activation="relu"),  # on a 4-D output: the seed question's mistake
        layers.Dense(10, activation="softmax"),
    ], name="seed000")
    text, image = keras.Input((20,), name="text"), keras.Input((8, 8, 3), name="image")
    words = layers.LSTM(6)(layers.Embedding(100, 8)(text))
    pixels = layers.GlobalMaxPooling2D()(layers.Conv2D(4, 3, padding="same")(image))
    probs = layers.Dense(3, activation="softmax", name="probs")(
        layers.Concatenate()([words, pixels]))
    towers = keras.Model({"text": text, "image": image}, probs, name="two_towers")
    return {"seed000": seed, "two_towers": towers}


def saved_documents(model: keras.Model, directory: Path) -> dict[str, Any]:
    """The model document in each file ``model.save()`` writes; with tf.keras 2, also the
    ``keras_metadata.pb`` of the SavedModel directory it writes (base64: the client parses it)."""
    model.save(directory / "model.keras")
    model.save(directory / "model.h5")
    with zipfile.ZipFile(directory / "model.keras") as archive:
        archive_config = json.loads(archive.read("config.json"))
    with h5py.File(directory / "model.h5", "r") as file:
        h5_config = json.loads(file.attrs["model_config"])
    documents: dict[str, Any] = {"keras": archive_config, "h5": h5_config}
    if LEGACY:
        model.save(directory / "savedmodel", save_format="tf")
        documents["savedmodel_metadata"] = base64.b64encode(
            (directory / "savedmodel" / "keras_metadata.pb").read_bytes()).decode()
        shutil.rmtree(directory / "savedmodel")
    return documents


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    documents = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, build in MODELS.items():
            documents[name] = saved_documents(build(), Path(directory))
    (OUT / "models.json.gz").write_bytes(
        gzip.compress(json.dumps(documents, sort_keys=True).encode(), mtime=0))
    print(f"models.json.gz: {len(documents)} models")
    keras.backend.clear_session()  # unnamed layers numbered from 0 again: conv2d, dense, ...
    for name, model in models().items():
        for suffix in (".keras", ".h5"):
            model.save(OUT / f"{name}{suffix}")
        if LEGACY:  # the SavedModel directory, as tf.keras 2 writes it by default
            shutil.rmtree(OUT / f"{name}_savedmodel", ignore_errors=True)
            model.save(OUT / f"{name}_savedmodel", save_format="tf")
        record = {"keras_json": json.loads(model.to_json()),
                  "outputs": [list(t.shape) for t in model.outputs],
                  "params": model.count_params()}
        (OUT / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(name, record["outputs"], record["params"])


if __name__ == "__main__":
    main()
