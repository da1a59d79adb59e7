"""Dev-only: Keras 3 models saved as ``.keras`` archives, for the client's reading of them.

    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/saved_models.py

A ``.keras`` file is a zip of ``config.json`` (what ``model.to_json()`` gives, but for the
``shared_object_id`` of the dtype policies), ``metadata.json`` and the weights. Each model is
written as ``<name>.keras`` next to ``<name>.json``, its ``to_json()`` and the shapes Keras gives,
under tests/fixtures/keras3/saved/.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "keras3" / "saved"


def models() -> dict:
    import keras
    from keras import layers

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
        model.save(OUT / f"{name}.keras")
        record = {"keras_json": json.loads(model.to_json()),
                  "outputs": [list(t.shape) for t in model.outputs],
                  "params": model.count_params()}
        (OUT / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(name, record["outputs"], record["params"])


if __name__ == "__main__":
    main()
