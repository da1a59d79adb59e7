"""The seed questions' models (shared/seeds/) as native documents, for the client tests."""

from pathlib import Path

# Seed 001: a Sequential model whose summary the user already understood; 114 parameters.
SEED_001 = {
    "inputs": [4, 5, 1],
    "layers": [
        {"type": "Conv2D", "filters": 8, "kernel_size": [2, 2]},
        {"type": "Conv2D", "filters": 1, "kernel_size": [2, 2]},
        {"type": "Flatten"},
        {"type": "Dense", "units": 5},
        {"type": "Dense", "units": 1},
    ],
}

# Seed 000: Dense straight after Conv2D keeps the image axes, so y of shape (100, 10) mismatches.
SEED_000 = {
    "inputs": [100, 100, 3],
    "layers": [
        {"type": "Conv2D", "filters": 32, "kernel_size": [3, 3], "activation": "relu"},
        {"type": "Dense", "units": 256, "activation": "relu"},
        {"type": "Dense", "units": 10, "activation": "softmax"},
    ],
}

SEED_000_DATA = {"x_shape": [100, 100, 100, 3], "y_shape": [100, 10]}
SEED_000_ARGS = ["--x-shape", "100,100,100,3", "--y-shape", "100,10"]
"""The seed question's data shapes, as ``Client.check`` arguments and as CLI options."""

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAVED = FIXTURES / "keras3" / "saved"
"""Models saved by real Keras with model.save(), as .keras and .h5, next to their to_json()
(tools/keras_fixtures/saved_models.py): from Keras 3 here, from tf.keras 2 in tfkeras2/saved."""
SAVED_TF_KERAS = FIXTURES / "tfkeras2" / "saved"
"""The same from tf.keras 2, with the seed model also as the SavedModel directory tf.keras 2's
model.save("path") writes by default (``seed000_savedmodel``)."""
