"""Dev-only: Keras 3 ``predict`` of three ``keras.applications`` models at a small input size,
the golden outputs of the forward pass on whole models.

    cd /work/main
    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/applications_forward.py

writes ``tests/fixtures/keras3/forward/<Model>.json.gz``: the model's ``to_json()``, the weight
recipe's ranges, the input ``x`` and Keras' outputs. The weights themselves are not stored (they
are tens of megabytes): they follow a recipe that ``tests/test_forward_applications.py``
re-creates with numpy alone.

The recipe: every layer with weights draws from its own generator,
``np.random.default_rng(zlib.crc32(layer_name.encode()))``; each of its weights, in the order of
``layer.get_weights()``, is ``low + (high - low) * rng.random(shape)`` (float64, then float32),
with ``[low, high]`` recorded per weight in ``ranges``. The ranges keep the activations of a
deep network in a useful range: kernels He-uniform, ``±sqrt(6 / fan_in)`` (the fan-in of a
depthwise kernel is its window), biases and batch-norm shifts and means in ``±0.2``, batch-norm
scales and variances in ``[0.5, 1.5]``.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
from build import FIXTURES, ROOT, encode, keras

MODELS = {
    "MobileNetV2": (32, 32, 3),
    "ResNet50": (32, 32, 3),
    "DenseNet121": (32, 32, 3),
}
BATCH = 2
CLASSES = 10


def weight_range(layer: object, name: str, shape: tuple[int, ...]) -> list[float]:
    """[low, high] of one weight, from its role (its Keras variable name) and shape."""
    if name.endswith("variance") or name == "gamma":
        return [0.5, 1.5]
    if len(shape) < 2:
        return [-0.2, 0.2]
    window = shape[:-2] if isinstance(layer, keras.layers.DepthwiseConv2D) else shape[:-1]
    limit = math.sqrt(6 / math.prod(window))
    return [-limit, limit]


def recipe(layer: object) -> tuple[list[list[float]], list[np.ndarray]]:
    """The ranges and values of one layer's weights."""
    rng = np.random.default_rng(zlib.crc32(layer.name.encode()))
    ranges, values = [], []
    for variable in layer.weights:
        shape = tuple(variable.shape)
        low, high = weight_range(layer, variable.name, shape)
        ranges.append([low, high])
        values.append((low + (high - low) * rng.random(shape)).astype(np.float32))
    return ranges, values


def record(name: str, input_shape: tuple[int, ...]) -> dict:
    model = getattr(keras.applications, name)(
        weights=None, input_shape=input_shape, classes=CLASSES, classifier_activation=None)
    ranges = {}
    for layer in model.layers:
        if layer.weights:
            ranges[layer.name], values = recipe(layer)
            layer.set_weights(values)
    x = np.random.default_rng(0).standard_normal((BATCH, *input_shape)).astype(np.float32)
    y = model.predict(x, verbose=0)
    return {"id": name, "keras_version": keras.__version__,
            "backend": keras.backend.backend(), "keras_json": json.loads(model.to_json()),
            "ranges": ranges, "x": encode(x), "outputs": [encode(y)]}


def main(names: list[str]) -> None:
    out_dir = FIXTURES / "forward"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names or MODELS:
        data = record(name, MODELS[name])
        path = out_dir / f"{name}.json.gz"
        with gzip.GzipFile(path, "wb", mtime=0) as out:  # same model, same bytes
            out.write(json.dumps(data, separators=(",", ":")).encode())
        print(f"{path.relative_to(ROOT)}: {len(data['ranges'])} layers with weights",
              file=sys.stderr)
        keras.backend.clear_session()


if __name__ == "__main__":
    main(sys.argv[1:])
