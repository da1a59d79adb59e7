"""Load test: concurrent clients against gunicorn on loopback, for three requests.

    .venv/bin/python bench/load.py [--concurrency 8] [--seconds 5] [--max-requests 20000]
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000   # an already running server

Starts gunicorn with deploy/gunicorn.conf.py (unless --url is given), then for each scenario
runs ``--concurrency`` client threads, each with its own keep-alive connection (gunicorn's sync
workers close it after every answer; the client then reconnects, as a real client would), for
``--seconds`` or ``--max-requests`` in all, whichever ends first, after a short warm-up.
Scenarios:

- ``GET /livez``: the floor, what the server costs without any work;
- ``POST /v1/check`` seed-sized: the first seed question (Conv2D → Dense → Dense on 100×100×3
  images against one-hot targets: a shape error, whose fixes are found and verified);
- ``POST /v1/check`` ResNet50: Keras' ResNet50 ``model.to_json()`` (177 layers), from
  tests/fixtures/keras3/applications/ResNet50.json.gz.

Each check runs twice: with the same body every time (after the first, answered from the
worker's response cache, as CI re-checking an unchanged model is) and with a distinct body every
time (a new model name: the same work, analysed every time).

Prints a markdown table (requests/s, p50 and p99 latency) and the seed check's rates as shares
of the /livez rate; ``--target 0.7`` makes the exit status 1 when the distinct-bodies share is
below it.

``--instant-engine`` serves bench/instant_engine.py instead: the real service, but its engine
returns the seed question's answer, computed once, for every body. Its seed-sized rows then
give the rate of the HTTP path alone, the bound that no engine speed-up can pass.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
RESNET50 = ROOT / "tests" / "fixtures" / "keras3" / "applications" / "ResNet50.json.gz"

SEED_CHECK = {
    "model": {"inputs": [100, 100, 3], "layers": [
        {"type": "Conv2D", "filters": 32, "kernel_size": [3, 3], "activation": "relu"},
        {"type": "Dense", "units": 256, "activation": "relu"},
        {"type": "Dense", "units": 10, "activation": "softmax"}]},
    "x_shape": [100, 100, 100, 3], "y_shape": [100, 10], "loss": "categorical_crossentropy",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    body: Callable[[], bytes | None] = lambda: None
    """The next request's body."""


def same(body: dict) -> Callable[[], bytes]:
    encoded = json.dumps(body).encode()
    return lambda: encoded


def distinct(body: dict) -> Callable[[], bytes]:
    """The same request, with a new model name each time: the same work, never cached."""
    numbers = itertools.count()
    return lambda: json.dumps({**body, "model": {**body["model"],
                                                 "name": f"m{next(numbers)}"}}).encode()


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def scenarios(instant_engine: bool = False) -> list[Scenario]:
    """The requests to time; with the instant engine, only those of the seed question (the
    one answer it gives)."""
    seed = ("POST /v1/check, seed-sized, instant engine (its answer precomputed)" if instant_engine
            else "POST /v1/check, seed-sized (3 layers, 2 verified fixes)")
    found = [Scenario("GET /livez", "GET", "/livez"),
             Scenario(f"{seed}, repeated body (cached)", "POST", "/v1/check", same(SEED_CHECK)),
             Scenario(f"{seed}, distinct bodies", "POST", "/v1/check", distinct(SEED_CHECK))]
    if RESNET50.exists() and not instant_engine:
        with gzip.open(RESNET50) as f:
            model = json.load(f)["keras_json"]
        resnet = f"POST /v1/check, ResNet50 Keras JSON ({len(model['config']['layers'])} layers)"
        found += [Scenario(f"{resnet}, repeated body (cached)", "POST", "/v1/check",
                           same({"model": model})),
                  Scenario(f"{resnet}, distinct bodies", "POST", "/v1/check",
                           distinct({"model": model}))]
    return found


def client(host: str, port: int, scenario: Scenario, stop_at: float, budget: list[int],
           lock: threading.Lock, outcome: Outcome) -> None:
    """One client thread: requests back to back until the time or the shared budget ends."""
    connection = http.client.HTTPConnection(host, port, timeout=60)
    headers = {"Content-Type": "application/json"} if scenario.method == "POST" else {}
    latencies, failures = [], 0
    while time.perf_counter() < stop_at:
        with lock:
            if budget[0] <= 0:
                break
            budget[0] -= 1
        body = scenario.body()
        started = time.perf_counter()
        try:
            connection.request(scenario.method, scenario.path, body, headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            connection.close()
            ok = False
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            failures += 1
    connection.close()
    with lock:
        outcome.latencies += latencies
        outcome.failures += failures


def run(url: str, scenario: Scenario, concurrency: int, seconds: float,
        max_requests: int) -> Outcome:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    outcome, lock = Outcome(), threading.Lock()
    budget = [max_requests]
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(host, port, scenario, started + seconds,
                                                     budget, lock, outcome))
               for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.seconds = time.perf_counter() - started
    return outcome


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workers: int | None, instant_engine: bool = False,
                 ) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "GUNICORN_ACCESSLOG": "off",
           "SHAPECHECK_LOG_LEVEL": "WARNING"}
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    command = [str(Path(sys.executable).with_name("gunicorn")),
               "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    if instant_engine:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "bench"),
                                                          env.get("PYTHONPATH")]))
        command.append("instant_engine:create_app()")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/livez")
            if connection.getresponse().status == 200:
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start within 60 s")


def table(rows: list[tuple[Scenario, Outcome]], concurrency: int) -> str:
    lines = [f"| request (concurrency {concurrency}) | requests/s | p50 ms | p99 ms | failed |",
             "|---|---:|---:|---:|---:|"]
    for scenario, outcome in rows:
        lines.append(f"| {scenario.name} | {outcome.rate:,.0f} | {outcome.percentile(0.5):.1f} "
                     f"| {outcome.percentile(0.99):.1f} | {outcome.failures} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running server (default: start gunicorn here)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: its config's)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="per scenario")
    parser.add_argument("--max-requests", type=int, default=20_000, help="per scenario")
    parser.add_argument("--target", type=float, help="fail below this seed/livez rate share")
    parser.add_argument("--instant-engine", action="store_true",
                        help="serve bench/instant_engine.py: checks without the analysis")
    args = parser.parse_args()

    process, url = ((None, args.url) if args.url
                    else start_server(args.workers, args.instant_engine))
    try:
        rows = []
        for scenario in scenarios(args.instant_engine):
            run(url, scenario, args.concurrency, min(1.0, args.seconds), 200)  # warm-up
            rows.append((scenario, run(url, scenario, args.concurrency, args.seconds,
                                       args.max_requests)))
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    print(table(rows, args.concurrency))
    livez = rows[0][1].rate or float("inf")
    cached, distinct_bodies = rows[1][1].rate / livez, rows[2][1].rate / livez
    analysed = "instant engine: not analysed" if args.instant_engine else "analysed every time"
    print(f"\nseed-sized check at {cached:.0%} of the /livez rate for a repeated body "
          f"(answered from the cache), {distinct_bodies:.0%} for distinct bodies ({analysed})")
    if any(outcome.failures for _, outcome in rows):
        return 1
    return 1 if args.target is not None and distinct_bodies < args.target else 0


if __name__ == "__main__":
    sys.exit(main())
