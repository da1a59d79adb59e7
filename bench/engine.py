"""Benchmark: how long ``check()`` takes on large models, against ``json.loads`` of the body.

    .venv/bin/python bench/engine.py [--repeat 15]

Two measures, each the best of ``--repeat`` runs (15 by default):

- the ``keras.applications`` documents that Keras 3 writes (ResNet50, DenseNet121,
  NASNetMobile, InceptionResNetV2, from tests/fixtures/keras3/applications): ``check()`` of the
  parsed body against ``json.loads`` of the same body. Target: at most 3x.
- native chains of Dense/Activation layers, 1,000 to 10,000 layers: the time should grow
  linearly with the layer count. Target: 10,000 layers under 200 ms. A last row times the
  10,000-layer chain with every Dense of a different width (none validated or explained twice).

Each figure is the best of the runs, as wall clock and as this process's CPU time (on a shared
machine the wall clock also counts waiting for a core). Prints markdown tables for the README.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("SHAPECHECK_MAX_LAYERS", "20000")  # the 10,000-layer chain is over 5,000

from shapecheck import check

ROOT = Path(__file__).resolve().parents[1]
APPLICATIONS = ROOT / "tests" / "fixtures" / "keras3" / "applications"
MODELS = ("ResNet50", "DenseNet121", "NASNetMobile", "InceptionResNetV2")
CHAIN_LENGTHS = (1_000, 2_500, 5_000, 10_000)
RATIO_TARGET = 3.0
CHAIN_TARGET_MS = 200.0


@dataclass
class Timing:
    """Best of several runs, in seconds: wall clock, and the CPU time of this process (on a
    shared machine the wall clock also counts the time spent waiting for a core)."""

    wall: float
    cpu: float


def best_of(repeat: int, run: Callable[[], Any]) -> Timing:
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return Timing(min(walls), min(cpus))


def application_body(name: str) -> str:
    with gzip.open(APPLICATIONS / f"{name}.json.gz", "rt") as f:
        return json.dumps({"model": json.load(f)["keras_json"]})


def chain_body(layers: int, widths: int = 1) -> str:
    """A native Sequential of ``layers`` layers, Dense and Activation alternating; the Dense
    layers take ``widths`` different widths in turn (1: every Dense the same)."""
    entries = [{"type": "Dense", "units": 16 + (i // 2) % widths} if i % 2 == 0 else
               {"type": "Activation", "activation": "relu"} for i in range(layers)]
    return json.dumps({"model": {"inputs": [16], "layers": entries}})


def time_check(body: str, repeat: int) -> tuple[Timing, Timing, dict[str, Any]]:
    """(check, json.loads, result); check runs on a freshly parsed body each time. The two are
    timed in turn, one run of each at a time, so that both see the same machine load."""
    result = check(json.loads(body))  # warm-up: imports, first-use caches
    parsed = [json.loads(body) for _ in range(repeat)]
    checks, loads = [], []
    for _ in range(repeat):
        checks.append(best_of(1, lambda: check(parsed.pop())))
        loads.append(best_of(1, lambda: json.loads(body)))
    return best(checks), best(loads), result


def best(timings: list[Timing]) -> Timing:
    return Timing(min(t.wall for t in timings), min(t.cpu for t in timings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    print("| model | layers | body | json.loads | check() | ratio | check() CPU | CPU ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in MODELS:
        body = application_body(name)
        checked, loaded, result = time_check(body, args.repeat)
        print(f"| {name} | {len(result['layers'])} | {len(body) / 1024:,.0f} KiB | "
              f"{loaded.wall * 1000:.1f} ms | {checked.wall * 1000:.1f} ms | "
              f"{ratio(checked.wall, loaded.wall)} | {checked.cpu * 1000:.1f} ms | "
              f"{ratio(checked.cpu, loaded.cpu)} |")

    print()
    print("| native chain | check() | check() CPU | CPU per 1,000 layers |")
    print("|---:|---:|---:|---:|")
    for layers in CHAIN_LENGTHS:
        checked, _, result = time_check(chain_body(layers), args.repeat)
        assert result["ok"] and len(result["layers"]) == layers
        over = layers == CHAIN_LENGTHS[-1] and checked.wall * 1000 > CHAIN_TARGET_MS
        print(f"| {layers:,} layers | {checked.wall * 1000:.0f} ms"
              f"{' (over 200 ms)' if over else ''} | {checked.cpu * 1000:.0f} ms | "
              f"{checked.cpu * 1000 / layers * 1000:.1f} ms |")
    # The chain above repeats one Dense config; here each Dense is validated and built anew.
    layers = CHAIN_LENGTHS[-1]
    checked, _, _ = time_check(chain_body(layers, widths=layers // 2), max(3, args.repeat // 5))
    print(f"| {layers:,} layers, each Dense of its own width | {checked.wall * 1000:.0f} ms | "
          f"{checked.cpu * 1000:.0f} ms | {checked.cpu * 1000 / layers * 1000:.1f} ms |")


def ratio(check_s: float, loads_s: float) -> str:
    value = check_s / max(loads_s, 1e-9)
    return f"{value:.2f}x" + ("" if value <= RATIO_TARGET else " (over 3x)")


if __name__ == "__main__":
    main()
