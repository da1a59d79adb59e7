"""Dev-only: the mutation fuzzer of tests/test_fuzz.py, in process, over every recorded model.

    .venv/bin/python tools/fuzz_engine.py [--seconds 120] [--seed 1] [--sweep /tmp/sweep.json]

The corpus is every model document under tests/fixtures (native and Keras JSON, each with and
without a forward pass where one was recorded, and the recorded requests), plus a sweep of
tools/keras_fixtures/random_models.py if given. Each round mutates one value of a random
corpus entry and calls ``check()`` directly (thousands of requests a second). ``check`` may
answer or raise one of shapecheck's own errors; anything else, a check that runs longer than
``--hang`` seconds, or one that needs more than ``--memory`` GiB, is a finding. Findings are
grouped by where they were raised and printed with the mutation; ``--out`` writes one full
request body per group, to replay with ``check(body)``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "service"), str(ROOT / "tests")]

from shapecheck import check  # noqa: E402
from shapecheck.errors import ShapecheckError  # noqa: E402
from test_fuzz import encode, mutate  # noqa: E402

MAX_DOCUMENT_BYTES = 200_000  # the applications are slow to check: left out


class Hang(Exception):
    pass


def corpus(sweep: Path | None) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    paths = [p for p in sorted((ROOT / "tests" / "fixtures").rglob("*.json*"))
             if "saved" not in p.parts]
    for path in [*paths, *([sweep] if sweep else [])]:
        raw = path.read_bytes()
        collect(json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw), bodies)
    return bodies


def collect(node: Any, bodies: list[dict[str, Any]]) -> None:
    """The request bodies in a fixture: its model documents and recorded requests."""
    if isinstance(node, list):
        for item in node:
            collect(item, bodies)
    if not isinstance(node, dict):
        return
    for key in ("native", "keras_json"):
        doc = node.get(key)
        if isinstance(doc, dict) and len(json.dumps(doc)) < MAX_DOCUMENT_BYTES:
            bodies.append({"model": doc})
            if "forward" in node:
                bodies.append({"model": doc, "forward": {"seed": 1, "batch_size": 1}})
            # data_sizes.json: the model at the sizes of data predict was tried on
            bodies += [{"model": doc, "x_shape": size["x_shape"]}
                       for size in node.get("sizes") or () if isinstance(size, dict)]
    if isinstance(node.get("request"), dict) and "model" in node["request"]:
        bodies.append(node["request"])
    for value in node.values():
        collect(value, bodies)


def finding(exc: BaseException) -> tuple[str, ...]:
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return (type(exc).__name__, *(f"{Path(f.filename).name}:{f.lineno}" for f in frames))


def alarm(*_: Any) -> None:
    raise Hang


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sweep", type=Path, help="a random_models.py --out file")
    parser.add_argument("--hang", type=int, default=3, help="seconds a check may take")
    parser.add_argument("--memory", type=int, default=6, help="GiB a check may use")
    parser.add_argument("--out", type=Path, help="write one request per finding here")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (args.memory << 30, args.memory << 30))
    signal.signal(signal.SIGALRM, alarm)
    bodies, rng = corpus(args.sweep), random.Random(args.seed)
    found: Counter[tuple[str, ...]] = Counter()
    examples: dict[tuple[str, ...], tuple[str, dict[str, Any]]] = {}
    done, stop = 0, time.monotonic() + args.seconds
    while time.monotonic() < stop:
        body, what = mutate(rng.choice(bodies), rng)
        try:
            request = json.loads(encode(body))
        except ValueError:  # NaN and friends: the HTTP layer answers those with a 400
            continue
        done += 1
        signal.alarm(args.hang)
        try:
            check(request)
        except ShapecheckError:
            pass
        except Exception as exc:  # any other exception, or Hang, is a finding
            found[finding(exc)] += 1
            examples.setdefault(finding(exc), (what, request))
        finally:
            signal.alarm(0)
    print(f"{done:,} mutated requests from {len(bodies):,} bodies, {sum(found.values())} "
          f"findings in {len(found)} places")
    for key, count in found.most_common():
        print(f"{count:5d}  {' '.join(key)}  ({examples[key][0][:120]})")
    if args.out:
        args.out.write_text(json.dumps([{"where": list(key), "mutation": examples[key][0],
                                         "body": examples[key][1]} for key in found]))


if __name__ == "__main__":
    main()
