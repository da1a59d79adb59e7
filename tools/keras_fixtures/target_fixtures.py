"""Dev-only: which targets Keras 3 accepts for which output, loss by loss, as ``fit`` sees them.

    KERAS_BACKEND=jax /work/devenv/keras3/bin/python tools/keras_fixtures/target_fixtures.py

For every loss, output shape and target shape below, a one-layer model is compiled with the loss
and fitted for one epoch on 6 samples in batches of 3 (a batch size unlike any other axis, so
that broadcasting cannot pair it with one by chance). The record says whether Keras trained or
raised: ``tests/test_diagnostics_targets.py`` asserts that shapecheck reports a
``target_shape_mismatch`` error exactly where Keras raises.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "keras3" / "targets.json"
SAMPLES, BATCH = 6, 3
LOSSES = ["sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
          "categorical_crossentropy", "binary_crossentropy", "binary_focal_crossentropy",
          "categorical_focal_crossentropy", "mse", "mae", "mape", "msle", "huber", "log_cosh",
          "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "poisson",
          "cosine_similarity"]
OUTPUTS = [(5,), (1,), (7, 5), (7, 1)]
TARGETS = [(), (1,), (5,), (2,), (7,), (7, 1), (7, 5), (5, 1), (1, 1)]


def main() -> None:
    import keras

    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(0)
    records = []
    for out in OUTPUTS:
        sample = (4,) if len(out) == 1 else (out[0], 4)
        inputs = keras.Input(sample)
        model = keras.Model(inputs, keras.layers.Dense(out[-1], activation="sigmoid")(inputs))
        x = rng.random((SAMPLES, *sample)).astype("float32")
        for loss in LOSSES:
            for y_sample in TARGETS:
                model.compile(loss=loss, optimizer="sgd")  # a failed fit spoils the compiled one
                if "parse" in loss:
                    y = rng.integers(0, out[-1], size=(SAMPLES, *y_sample))
                else:
                    y = rng.random((SAMPLES, *y_sample)).astype("float32")
                try:
                    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
                    keras_says = "ok"
                except Exception:  # any refusal counts
                    keras_says = "error"
                records.append({"loss": loss, "output": [None, *out],
                                "y": [SAMPLES, *y_sample], "keras": keras_says})
    OUT.write_text(json.dumps(records, indent=0) + "\n")
    print(f"{OUT}: {len(records)} records, "
          f"{sum(r['keras'] == 'error' for r in records)} refused")


if __name__ == "__main__":
    main()
