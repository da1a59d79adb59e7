"""Benchmark: how long ``check()`` takes on large models, against ``json.loads`` of the body.

    .venv/bin/python bench/engine.py [--repeat 5]

Two measures, each the best of ``--repeat`` runs:

- the ``keras.applications`` documents that Keras 3 writes (ResNet50, DenseNet121,
  NASNetMobile, InceptionResNetV2, from tests/fixtures/keras3/applications): ``check()`` of the
  parsed body against ``json.loads`` of the same body. Target: at most 3x.
- native chains of Dense/Activation layers, 1,000 to 10,000 layers: the time should grow
  linearly with the layer count. Target: 10,000 layers under 200 ms.

Prints markdown tables for the README.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from collections.abc import Callable
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


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    """The fastest of ``repeat`` runs, in seconds: the least disturbed by other processes."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def application_body(name: str) -> str:
    with gzip.open(APPLICATIONS / f"{name}.json.gz", "rt") as f:
        return json.dumps({"model": json.load(f)["keras_json"]})


def chain_body(layers: int) -> str:
    """A native Sequential of ``layers`` layers, Dense and Activation alternating."""
    entries = [{"type": "Dense", "units": 16} if i % 2 == 0 else
               {"type": "Activation", "activation": "relu"} for i in range(layers)]
    return json.dumps({"model": {"inputs": [16], "layers": entries}})


def time_check(body: str, repeat: int) -> tuple[float, float, dict[str, Any]]:
    """(check seconds, json.loads seconds, result); check runs on a freshly parsed body."""
    result = check(json.loads(body))  # warm-up: imports, first-use caches
    parsed = [json.loads(body) for _ in range(repeat)]
    check_s = best_of(repeat, lambda: check(parsed.pop()))
    loads_s = best_of(repeat, lambda: json.loads(body))
    return check_s, loads_s, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    print("| model | layers | body | json.loads | check() | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in MODELS:
        body = application_body(name)
        check_s, loads_s, result = time_check(body, args.repeat)
        ratio = check_s / loads_s
        flag = "" if ratio <= RATIO_TARGET else " (over 3x)"
        print(f"| {name} | {len(result['layers'])} | {len(body) / 1024:,.0f} KiB | "
              f"{loads_s * 1000:.1f} ms | {check_s * 1000:.1f} ms | {ratio:.1f}x{flag} |")

    print()
    print("| native chain | check() | per 1,000 layers |")
    print("|---:|---:|---:|")
    for layers in CHAIN_LENGTHS:
        check_s, _, result = time_check(chain_body(layers), args.repeat)
        assert result["ok"] and len(result["layers"]) == layers
        flag = "" if layers < 10_000 or check_s * 1000 < CHAIN_TARGET_MS else " (over 200 ms)"
        print(f"| {layers:,} layers | {check_s * 1000:.0f} ms{flag} | "
              f"{check_s * 1000 / layers * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
