"""Dev-only: golden fixtures proving that fixes written against Keras JSON load in real Keras.

Three steps, two interpreters (Keras 3 does not need shapecheck, shapecheck does not need Keras):

    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/fix_fixtures.py models
    .venv/bin/python tools/keras_fixtures/fix_fixtures.py fixes
    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/fix_fixtures.py verify

``models`` builds each model in Keras, takes ``model.to_json()`` and, for mistakes Keras refuses
to build, breaks the JSON the way a hand-edited config would be broken. ``fixes`` asks the engine
for its verified fixes. ``verify`` applies every fix's patch, loads the result with
``keras.models.model_from_json`` and records Keras' output shape and parameter count next to the
engine's: ``tests/test_fixes_keras.py`` asserts they agree.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "keras3" / "fixes.json"


def set_in(doc: Any, path: str, value: Any) -> None:
    """Set the member at a JSON Pointer (what a hand edit of the config does)."""
    *parents, last = path.strip("/").split("/")
    for token in parents:
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    doc[int(last) if isinstance(doc, list) else last] = value


def rebuilt(doc: dict[str, Any]) -> dict[str, Any]:
    """An edited document as Keras would save the edited model: no stale ``build_config``
    (what a layer was built with), which Keras would otherwise rebuild the layer from."""
    for entry in doc["config"]["layers"]:
        entry.pop("build_config", None)
    return doc


def models() -> list[dict[str, Any]]:
    import keras
    from keras import layers

    def doc(model: keras.Model, *edits: tuple[str, Any]) -> dict[str, Any]:
        parsed = json.loads(model.to_json())
        for path, value in edits:
            set_in(parsed, path, value)
        return rebuilt(parsed) if edits else parsed

    cases = []

    def add(name: str, model: dict[str, Any], **request: Any) -> None:
        cases.append({"name": name, "request": {"model": model, **request}})

    seed = [layers.Conv2D(8, 3, activation="relu"), layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax")]
    add("seed000_sequential", doc(keras.Sequential([keras.Input((12, 12, 3)), *seed])),
        x_shape=[100, 12, 12, 3], y_shape=[100, 10], loss="categorical_crossentropy")

    image = keras.Input((12, 12, 3), name="image")
    x = layers.Conv2D(8, 3, activation="relu")(image)
    x = layers.Dense(16, activation="relu")(x)
    add("seed000_functional", doc(keras.Model(image, layers.Dense(10, activation="softmax")(x))),
        y_shape=[100, 10], loss="categorical_crossentropy")

    add("lstm_sequences_against_vectors",
        doc(keras.Sequential([keras.Input((10, 8)), layers.LSTM(16, return_sequences=True),
                              layers.Dense(1)])),
        y_shape=[64, 1], loss="mse")

    # Stacked LSTMs: the first was saved without return_sequences.
    add("stacked_lstm", doc(keras.Sequential([keras.Input((10, 8)),
                                              layers.LSTM(16, return_sequences=True),
                                              layers.LSTM(8), layers.Dense(1)]),
                            ("/config/layers/1/config/return_sequences", False)))

    # A text classifier whose Bidirectional LSTM still returns sequences.
    add("bidirectional_sequences_against_labels",
        doc(keras.Sequential([keras.Input((20,)), layers.Embedding(100, 8),
                              layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
                              layers.Dense(1, activation="sigmoid")])),
        y_shape=[64], loss="binary_crossentropy")

    # Stacked Bidirectional LSTMs: the first was saved without return_sequences.
    add("stacked_bidirectional",
        doc(keras.Sequential([keras.Input((10, 8)),
                              layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
                              layers.Bidirectional(layers.LSTM(4)), layers.Dense(1)]),
            ("/config/layers/1/config/layer/config/return_sequences", False),
            ("/config/layers/1/config/backward_layer/config/return_sequences", False)))

    # Inception branches whose convolutions were switched to 'valid'.
    img = keras.Input((16, 16, 3), name="img")
    branches = [layers.Conv2D(4, k, padding="same", name=f"b{k}")(img) for k in (1, 3, 5)]
    merged = layers.Concatenate(name="cat")(branches)
    out = layers.Dense(2, name="out")(layers.GlobalAveragePooling2D(name="gap")(merged))
    add("inception_valid_branches",
        doc(keras.Model(img, out), ("/config/layers/2/config/padding", "valid"),
            ("/config/layers/3/config/padding", "valid")))

    # A residual block whose convolution was widened without a projection shortcut.
    inp = keras.Input((8, 8, 4), name="inp")
    conv = layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    added = layers.Add(name="add")([conv, inp])
    add("resnet_without_projection",
        doc(keras.Model(inp, layers.GlobalAveragePooling2D(name="gap")(added)),
            ("/config/layers/1/config/filters", 8)))

    # Grey images declared without their channel axis.
    gray = keras.Input((12, 12, 1), name="gray")
    features = layers.Flatten(name="flat")(layers.Conv2D(4, 3, name="conv")(gray))
    add("image_without_channel_axis",
        doc(keras.Model(gray, layers.Dense(3, name="probs")(features)),
            ("/config/layers/0/config/batch_shape", [None, 12, 12])))

    add("channels_first_images",
        doc(keras.Sequential([keras.Input((3, 16, 16)), layers.Conv2D(4, 3),
                              layers.Flatten(), layers.Dense(2)])))

    # Channels-first images given to a channels_last model (built for (16, 16, 3)).
    add("channels_first_images_with_batch_norm",
        doc(keras.Sequential([keras.Input((16, 16, 3)), layers.Conv2D(4, 3),
                              layers.BatchNormalization(), layers.MaxPooling2D(),
                              layers.Flatten(), layers.Dense(2)]),
            ("/config/layers/0/config/batch_shape", [None, 3, 16, 16])))

    add("kernel_larger_than_input",
        doc(keras.Sequential([keras.Input((6, 6, 1)), layers.Conv2D(4, 3), layers.Flatten(),
                              layers.Dense(2)]),
            ("/config/layers/1/config/kernel_size", [7, 7])))

    # tf.keras 2 documents (saved by tf_keras 2.21), broken the same ways.
    def tfkeras2(name: str) -> dict[str, Any]:
        path = ROOT / "tests" / "fixtures" / "tfkeras2" / "models" / f"{name}.json"
        return json.loads(path.read_text())["keras_json"]

    cnn = tfkeras2("sequential_cnn")
    del cnn["config"]["layers"][3]  # the Flatten
    add("tfkeras2_cnn_without_flatten", rebuilt(cnn), y_shape=[32, 10],
        loss="categorical_crossentropy")
    mlp = tfkeras2("functional_mlp")
    add("tfkeras2_mlp_wrong_classes", copy.deepcopy(mlp), y_shape=[32, 5],
        loss="categorical_crossentropy")
    set_in(mlp, "/config/layers/0/config/batch_input_shape", [None, 4, 8])
    add("tfkeras2_mlp_on_sequences", rebuilt(mlp), y_shape=[32, 3], loss="categorical_crossentropy")
    return cases


def load_jsonpatch() -> Any:
    """shapecheck's JSON Patch applier, without importing shapecheck (not in the Keras env)."""
    path = ROOT / "service" / "shapecheck" / "jsonpatch.py"
    spec = importlib.util.spec_from_file_location("shapecheck_jsonpatch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fixes(cases: list[dict[str, Any]]) -> None:
    sys.path.insert(0, str(ROOT / "service"))
    from shapecheck import check

    for case in cases:
        answer = check(case["request"])
        case["fixes"] = [{"code": d["code"], "layer": d["layer"], **fix}
                         for d in answer["diagnostics"] for fix in d["fixes"]]


def verify(cases: list[dict[str, Any]]) -> None:
    import keras
    from keras.src.legacy.saving import saving_utils

    jsonpatch = load_jsonpatch()
    for case in cases:
        for fix in case["fixes"]:
            patched = jsonpatch.apply_patch(case["request"]["model"], fix["patch"])
            if "module" in patched:
                model = keras.models.model_from_json(json.dumps(patched))
            else:  # tf.keras 2: Keras 3's reader of legacy configs
                model = saving_utils.model_from_config(patched)
            fix["keras"] = {"output_shape": list(model.output_shape),
                            "params": model.count_params()}


def main(step: str) -> None:
    if step == "models":
        cases = models()
    else:
        cases = json.loads(OUT.read_text())
        {"fixes": fixes, "verify": verify}[step](cases)
    OUT.write_text(json.dumps(cases, indent=1) + "\n")
    print(f"{OUT.relative_to(ROOT)}: {len(cases)} models, "
          f"{sum(len(c.get('fixes', ())) for c in cases)} fixes")


if __name__ == "__main__":
    main(sys.argv[1])
