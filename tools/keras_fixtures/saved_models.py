"""Dev-only: models saved by real Keras with ``model.save()``, for the client's reading of them.

    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/saved_models.py
    TF_USE_LEGACY_KERAS=1 /work/devenv/tfkeras/bin/python tools/keras_fixtures/saved_models.py
    ... saved_models.py lora_finetuned   # only the models named (models.json.gz left as it is)

Each model is saved in both of the formats ``model.save()`` writes:

- ``<name>.keras``: a zip of ``config.json`` (what ``model.to_json()`` gives, but for the
  ``shared_object_id`` of Keras 3's dtype policies), ``metadata.json`` and the weights;
- ``<name>.h5``: the legacy HDF5 file, whose root attribute ``model_config`` is the same JSON;
- with tf.keras 2, ``<name>_savedmodel/``: the TensorFlow SavedModel directory that
  ``model.save("path")`` writes by default, whose ``keras_metadata.pb`` holds the architecture.

next to ``<name>.json``: its ``to_json()`` and the output shapes and parameter count Keras gives,
and, for the client's reading of the weights saved (``savedweights.py``), ``forward``: the
model's weights before saving, random but for their scale (``trained_looking``), as sha256
digests of each layer's ``get_weights()`` arrays (the files hold the arrays themselves), an
input ``x`` and Keras' ``predict`` output on it (every ``stride``-th value of it, and its
largest magnitude, where the whole would be large), and ``h5_root_attrs``: the root
attributes of the ``.h5`` file as h5py reads them. ``seed000``'s input is an image: ``x``
holds its pixels as uint8, which the model received divided by 255 (``x_pixels``).
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
import hashlib
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import h5py
import numpy as np
from build import FIXTURES, LEGACY, encode, keras
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
    steps = keras.Input((7, 5), name="steps")
    h = layers.Bidirectional(layers.LSTM(4, return_sequences=True))(steps)
    h = layers.GRU(5)(h)
    h = layers.BatchNormalization()(h)
    recurrent = keras.Model(steps, layers.Dense(3)(h), name="recurrent_bn")
    found = {"seed000": seed, "two_towers": towers, "recurrent_bn": recurrent,
             "nested_bn": nested_bn()}
    if not LEGACY:
        found["lora_finetuned"] = lora_finetuned()
        found.update({name: to_quantize(name) for name in QUANTIZED_AFTER_TRAINING})
    return found


QUANTIZED_AFTER_TRAINING = {"int8_quantized": "int8", "int4_quantized": "int4"}
"""Models ``forward_record`` quantizes (``model.quantize(mode)``) once their weights look
trained: their int8 kernels come from those weights, as a user's would."""


def to_quantize(name: str) -> keras.Model:
    """An Embedding, a Dense and an EinsumDense (Keras 3 only), to be quantized (in int8, or
    int4 in blocks of 128): ``.keras`` holds each Dense's kernel before its bias, where
    ``get_weights()`` puts the bias first."""
    layers = keras.layers
    tokens = keras.Input((10,), name="text_tokens")
    h = layers.GlobalAveragePooling1D()(layers.Embedding(100, 8)(tokens))
    h = layers.Dense(16, activation="relu")(h)
    h = layers.EinsumDense("ab,bc->ac", output_shape=6, bias_axes="c")(h)
    return keras.Model(tokens, layers.Dense(3, activation="softmax")(h), name=name)


def lora_finetuned() -> keras.Model:
    """LoRA on an Embedding and two Dense (Keras 3 only): ``.keras`` holds each kernel with
    its update merged in and no factors, legacy ``.h5`` every weight."""
    layers = keras.layers
    tokens = keras.Input((10,), name="text_tokens")
    h = layers.Embedding(100, 8, lora_rank=2)(tokens)
    h = layers.Dense(16, activation="relu", lora_rank=4)(layers.GlobalAveragePooling1D()(h))
    return keras.Model(tokens, layers.Dense(3, activation="softmax", lora_rank=2)(h),
                       name="lora_finetuned")


def nested_bn() -> keras.Model:
    """Two levels of nesting, with batch normalisation before a Dense inside: a legacy .h5
    lists its weights trainable first, get_weights() by layer."""
    layers = keras.layers
    inner = keras.Sequential([keras.Input((6,)), layers.BatchNormalization(),
                              layers.Dense(4, activation="tanh")], name="inner")
    middle_in = keras.Input((6,))
    middle = keras.Model(middle_in, layers.Dense(3)(inner(middle_in)), name="middle")
    features = keras.Input((6,), name="features")
    h = layers.BatchNormalization(name="first_bn")(features)
    return keras.Model(features, layers.Dense(2, name="head")(middle(h)), name="nested_bn")


def trained_looking(model: keras.Model, rng: np.random.Generator) -> None:
    """Weights unlike the defaults a fresh model has, of the scale training leaves: kernels
    of their initialiser's spread, non-zero biases, batch norms with moving statistics."""
    for variable in model.weights:
        name = variable.name.split(":")[0].rsplit("/", 1)[-1]
        shape = tuple(variable.shape)
        if name.endswith("variance"):
            value = rng.uniform(0.5, 2.0, shape)
        elif name == "gamma":
            value = 1 + rng.normal(0, 0.2, shape)
        else:
            spread = float(np.std(np.asarray(variable.numpy()))) or 0.1
            value = rng.normal(0, spread, shape)
        variable.assign(value.astype(variable.dtype if isinstance(variable.dtype, str)
                                     else variable.dtype.name))


def by_layer(layer: keras.layers.Layer) -> list[np.ndarray]:
    """A layer's weights as the service reads them: a nested model's, its layers' in order."""
    if isinstance(layer, keras.Model):
        return [w for inner in layer.layers for w in by_layer(inner)]
    return layer.get_weights()


def digest(array: np.ndarray) -> dict[str, Any]:
    little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return {"dtype": str(little.dtype), "shape": list(little.shape),
            "sha256": hashlib.sha256(little.tobytes()).hexdigest()}


def model_input(tensor: Any, name: str, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
    """An input for ``tensor`` and what the record holds of it: the pixels of an image."""
    shape = (1, *tensor.shape[1:])
    if name == "seed000":
        pixels = rng.integers(0, 256, shape).astype(np.uint8)
        return pixels.astype(np.float32) / 255, {"dtype": "uint8", "shape": list(shape),
                                                 "base64": base64.b64encode(
                                                     pixels.tobytes()).decode()}
    if "int" in str(tensor.dtype) or tensor.name.startswith("text"):
        x = rng.integers(0, 100, shape).astype(np.float32)
    else:
        x = rng.normal(0, 1, shape).astype(np.float32)
    return x, encode(x)


def output_record(y: np.ndarray, most: int = 2000) -> dict[str, Any]:
    """Keras' output, or every ``stride``-th value of it along each axis where it is large."""
    stride = [1] * y.ndim
    while np.prod([-(-n // s) for n, s in zip(y.shape, stride, strict=True)]) > most:
        axis = int(np.argmax([n // s for n, s in zip(y.shape, stride, strict=True)]))
        stride[axis] += 1
    sample = y[tuple(slice(None, None, s) for s in stride)]
    return {"stride": stride, "max_abs": float(np.max(np.abs(y))), "values": encode(sample)}


def forward_record(name: str, model: keras.Model, rng: np.random.Generator) -> dict[str, Any]:
    trained_looking(model, rng)
    if name in QUANTIZED_AFTER_TRAINING:
        model.quantize(QUANTIZED_AFTER_TRAINING[name])
    inputs = [model_input(t, name, rng) for t in model.inputs]
    names = [t.name.split(":")[0] for t in model.inputs]
    xs = {n: x for n, (x, _) in zip(names, inputs, strict=True)}
    ys = model.predict(xs if len(xs) > 1 else xs[names[0]], verbose=0)
    ys = ys if isinstance(ys, list) else [ys]
    weights = {}
    for layer in model.layers:
        values = by_layer(layer)
        if not LEGACY:  # Keras 3's get_weights() of a nested model is by layer too
            assert all(np.array_equal(a, b) for a, b in zip(
                values, layer.get_weights(), strict=True)), layer.name
        if values:
            weights[layer.name] = [digest(v) for v in values]
    return {"x": {n: record for n, (_, record) in zip(names, inputs, strict=True)},
            "x_pixels": name == "seed000", "weights": weights,
            "outputs": [output_record(np.asarray(y)) for y in ys]}


def h5_root_attrs(path: Path) -> dict[str, str]:
    with h5py.File(path, "r") as file:
        return {key: value.decode() if isinstance(value, bytes) else str(value)
                for key, value in file.attrs.items()}


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


def main(names: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if not names:
        save_documents()
    keras.backend.clear_session()  # unnamed layers numbered from 0 again: conv2d, dense, ...
    rng = np.random.default_rng(0)
    for name, model in models().items():
        if names and name not in names:
            continue
        forward = forward_record(name, model, rng)
        for suffix in (".keras", ".h5"):
            model.save(OUT / f"{name}{suffix}")
        if LEGACY and name == "seed000":  # the SavedModel directory tf.keras 2 writes by default
            shutil.rmtree(OUT / f"{name}_savedmodel", ignore_errors=True)
            model.save(OUT / f"{name}_savedmodel", save_format="tf")
        record = {"keras_json": json.loads(model.to_json()),
                  "outputs": [list(t.shape) for t in model.outputs],
                  "params": model.count_params(), "forward": forward,
                  "h5_root_attrs": h5_root_attrs(OUT / f"{name}.h5")}
        (OUT / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(name, record["outputs"], record["params"])


def save_documents() -> None:
    documents = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, build in MODELS.items():
            documents[name] = saved_documents(build(), Path(directory))
    (OUT / "models.json.gz").write_bytes(
        gzip.compress(json.dumps(documents, sort_keys=True).encode(), mtime=0))
    print(f"models.json.gz: {len(documents)} models")


if __name__ == "__main__":
    main(sys.argv[1:])
