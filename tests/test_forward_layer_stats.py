"""``"layer_stats": true`` in a forward pass: the statistics of every layer's outputs, each
layer computed as declared (a batch normalisation's own outputs, not folded into the layer
before it), so that a user sees what each layer of their model computes."""

from __future__ import annotations

from typing import Any

import numpy as np
from shapecheck import check

X = [[1.0, 2.0, 3.0], [-1.0, 0.0, 2.0]]
WEIGHTS = {"d": [[[1, -1], [0, 1], [1, 0]], [0, 0.5]],
           "bn": [[2, 2], [1, 1], [1, 0], [4, 1]],  # gamma, beta, moving mean and variance
           "out": [[[1], [1]], [0]]}
MODEL = {"inputs": [3], "layers": [
    {"type": "Dense", "units": 2, "activation": "relu", "name": "d"},
    {"type": "BatchNormalization", "name": "bn"},
    {"type": "Dense", "units": 1, "name": "out"}]}


def forward(**options: Any) -> dict[str, Any]:
    return check({"model": MODEL, "forward": {"x": X, "weights": WEIGHTS, **options}})["forward"]


def summary(values: np.ndarray) -> dict[str, float]:
    return {"min": float(values.min()), "max": float(values.max()),
            "mean": float(values.mean()), "std": float(values.std())}


def test_every_layer_gets_the_statistics_of_what_it_computes() -> None:
    dense = np.maximum(np.array(X) @ np.array(WEIGHTS["d"][0]) + WEIGHTS["d"][1], 0)
    gamma, beta, mean, variance = map(np.array, WEIGHTS["bn"])
    normalised = (dense - mean) / np.sqrt(variance + 1e-3) * gamma + beta
    out = normalised @ np.array(WEIGHTS["out"][0])
    layers = {row["name"]: row for row in forward(layer_stats=True)["layers"]}
    for name, values in (("d", dense), ("bn", normalised), ("out", out)):
        [stats] = layers[name]["output_stats"]
        assert stats["nonfinite"] == 0
        for key, value in summary(values).items():
            assert abs(stats[key] - value) <= 1e-5 * max(1.0, abs(value)), (name, key)


def test_the_outputs_are_those_of_the_usual_pass_and_no_stats_unless_asked() -> None:
    """The pass that collects the statistics runs each layer as declared; the usual one folds
    the batch norm into the Dense before it: the same values, within float32 rounding."""
    with_stats, without = forward(layer_stats=True), forward()
    assert all("output_stats" not in row for row in without["layers"])
    for a, b in zip(with_stats["outputs"], without["outputs"], strict=True):
        assert a["shape"] == b["shape"]
        assert abs(a["stats"]["mean"] - b["stats"]["mean"]) <= 1e-5 * abs(b["stats"]["mean"])
