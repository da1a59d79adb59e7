"""Dev-only: models whose inputs leave sizes open, and what Keras' ``predict`` does at the
sizes of some data.

    cd /work/main
    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/data_sizes.py
    TF_USE_LEGACY_KERAS=1 /work/devenv/tfkeras/bin/python tools/keras_fixtures/data_sizes.py

Keras builds a model whose input is ``Input((None, None, 3))`` whatever its layers do to the
sizes; ``predict`` then runs it at the sizes of x, where a U-Net's skip connection may not
match its upsampling. Writes ``tests/fixtures/<flavour>/data_sizes.json``: per case the
``model.to_json()`` document and, for each x shape tried, whether ``predict`` ran (and the
shape it gave) or the class of the layer its error names (``Exception encountered when calling
Concatenate.call()``; tf.keras 2: ``... calling layer "m2" (type Concatenate)``). Each size is
tried on a model built afresh: a failed ``predict`` leaves Keras 3's predict function broken.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
from build import FIXTURES, keras

layers = keras.layers


def unet() -> Any:
    """Two poolings, two upsamplings, a skip connection after each: sizes divisible by 4."""
    image = keras.Input((None, None, 1), name="img")
    c1 = layers.Conv2D(8, 3, padding="same", name="c1")(image)
    c2 = layers.Conv2D(16, 3, padding="same", name="c2")(layers.MaxPooling2D(name="p1")(c1))
    c3 = layers.Conv2D(32, 3, padding="same", name="c3")(layers.MaxPooling2D(name="p2")(c2))
    m2 = layers.Concatenate(name="m2")([layers.UpSampling2D(name="u2")(c3), c2])
    c4 = layers.Conv2D(16, 3, padding="same", name="c4")(m2)
    m1 = layers.Concatenate(name="m1")([layers.UpSampling2D(name="u1")(c4), c1])
    return keras.Model(image, layers.Conv2D(1, 1, name="out")(m1), name="unet")


def strided_shortcut() -> Any:
    """A 'same' strided convolution (ceil) added to a pooled shortcut (floor): even sizes."""
    image = keras.Input((None, None, 3), name="img")
    main = layers.Conv2D(4, 3, strides=2, padding="same", name="main")(image)
    shortcut = layers.Conv2D(4, 1, name="project")(layers.MaxPooling2D(name="pool")(image))
    return keras.Model(image, layers.Add(name="add")([main, shortcut]), name="shortcut")


def sequence_windows() -> Any:
    """A 'valid' Conv1D of 5 steps and a pooling of 2 over sequences of open length."""
    steps = keras.Input((None, 4), name="steps")
    h = layers.MaxPooling1D(2, name="pool")(layers.Conv1D(6, 5, name="conv")(steps))
    return keras.Model(steps, layers.GlobalAveragePooling1D(name="gap")(h), name="windows")


CASES: dict[str, tuple[Callable[[], Any], list[list[int]]]] = {
    "unet": (unet, [[2, 250, 250, 1], [2, 252, 252, 1], [2, 248, 248, 1], [2, 250, 300, 1],
                    [2, 3, 3, 1], [2, 4, 4, 1]]),
    "strided_shortcut": (strided_shortcut, [[2, 32, 32, 3], [2, 33, 33, 3], [2, 32, 33, 3]]),
    "sequence_windows": (sequence_windows, [[2, 20, 4], [2, 6, 4], [2, 5, 4]]),
}


def predicted(build: Callable[[], Any], x_shape: list[int]) -> dict[str, Any]:
    """What ``predict`` does on zeros of ``x_shape``, on a model built afresh."""
    model = build()
    try:
        y = model.predict(np.zeros(x_shape, np.float32), verbose=0)
    except Exception as error:  # whatever Keras raises is what we record
        return {"x_shape": x_shape, "ran": False, "layer_class": failing_class(str(error)),
                "error": str(error)[:500]}
    return {"x_shape": x_shape, "ran": True, "output_shape": list(np.shape(y))}


def failing_class(message: str) -> str | None:
    found = (re.search(r"calling (\w+)\.call\(\)", message)
             or re.search(r'\(type (\w+)\)', message))
    return found.group(1) if found else None


def main() -> None:
    cases = []
    for case_id, (build, shapes) in CASES.items():
        cases.append({"id": case_id, "keras_json": json.loads(build().to_json()),
                      "sizes": [predicted(build, shape) for shape in shapes]})
    path = FIXTURES / "data_sizes.json"
    path.write_text(json.dumps({"keras_version": keras.__version__, "cases": cases},
                               indent=1) + "\n")
    print(f"{path}: {len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
