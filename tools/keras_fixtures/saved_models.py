"""Dev-only: models saved by real Keras with ``model.save()``, for the client's reading of them.

    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/saved_models.py
    TF_USE_LEGACY_KERAS=1 /work/devenv/tfkeras/bin/python tools/keras_fixtures/saved_models.py

Each model is saved in both of the formats ``model.save()`` writes:

- ``<name>.keras``: a zip of ``config.json`` (what ``model.to_json()`` gives, but for the
  ``shared_object_id`` of Keras 3's dtype policies), ``metadata.json`` and the weights;
- ``<name>.h5``: the legacy HDF5 file, whose root attribute ``model_config`` is the same JSON.

next to ``<name>.json``: its ``to_json()`` and the output shapes and parameter count Keras gives.
Keras 3 writes under tests/fixtures/keras3/saved/, tf.keras 2 (``tf_keras``, with
``TF_USE_LEGACY_KERAS=1``) under tests/fixtures/tfkeras2/saved/.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

LEGACY = os.environ.get("TF_USE_LEGACY_KERAS") == "1"
if LEGACY:
    import tf_keras as keras
else:
    import keras

OUT = (Path(__file__).resolve().parents[2] / "tests" / "fixtures"
       / ("tfkeras2" if LEGACY else "keras3") / "saved")


def models() -> dict:
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


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, model in models().items():
        for suffix in (".keras", ".h5"):
            model.save(OUT / f"{name}{suffix}")
        record = {"keras_json": json.loads(model.to_json()),
                  "outputs": [list(t.shape) for t in model.outputs],
                  "params": model.count_params()}
        (OUT / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(name, record["outputs"], record["params"])


if __name__ == "__main__":
    main()
