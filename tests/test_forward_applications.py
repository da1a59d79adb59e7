"""Whole models against Keras 3 ``predict``: MobileNetV2, ResNet50 and DenseNet121 at 32×32,
imported from their Keras JSON, with the weights of the recipe in
``tools/keras_fixtures/applications_forward.py`` (re-created here with numpy alone)."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from keras_fixtures import FIXTURES, array
from shapecheck.analysis import analyse
from shapecheck.forward import run_forward
from shapecheck.graph import Propagation

CASES = sorted((FIXTURES / "keras3" / "forward").glob("*.json.gz"))


def load(path: Path) -> dict:
    return json.loads(gzip.decompress(path.read_bytes()))


def recipe_weights(prop: Propagation, ranges: dict[str, list[list[float]]]) -> dict:
    """Every layer's weights as the fixture generator drew them: its own generator seeded by
    the CRC-32 of its name, each weight uniform in its recorded range."""
    weights = {}
    for name, state in prop.states.items():
        layout = state.weights or []
        assert len(layout) == len(ranges.get(name, [])), name
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        weights[name] = [(low + (high - low) * rng.random(w.shape)).astype(np.float32)
                         for w, (low, high) in zip(layout, ranges.get(name, []), strict=True)]
    return weights


@pytest.mark.parametrize("path", CASES, ids=[p.name.split(".")[0] for p in CASES])
def test_application_matches_keras_predict(path: Path) -> None:
    record = load(path)
    analysis = analyse(record["keras_json"], {})
    assert analysis.ok, [d.message for d in analysis.diagnostics if d.severity == "error"]
    graph, prop = analysis.graph, analysis.propagation
    weights = recipe_weights(prop, record["ranges"])
    (model_input,) = graph.inputs
    outputs = run_forward(graph, prop, {model_input.name: array(record["x"])}, weights)
    for ref, expected in zip(graph.outputs, record["outputs"], strict=True):
        want, got = array(expected), outputs[ref]
        assert got.shape == want.shape
        scale = float(np.max(np.abs(want)))
        assert float(np.max(np.abs(got - want))) <= 1e-4 * scale


def test_the_three_applications_are_recorded() -> None:
    assert [p.name for p in CASES] == ["DenseNet121.json.gz", "MobileNetV2.json.gz",
                                       "ResNet50.json.gz"]
