"""Benchmark: a ResNet50 forward pass at batch 1, end to end through ``check()``, against the
matmul floor of this machine.

    .venv/bin/python bench/forward.py [--model ResNet50] [--repeat 25] [--profile] [--target 1.5]

The floor is the model's multiply-accumulates at the float32 matmul rate numpy reaches here, in
the same run: a large sgemm is timed between the forward passes, so that both see the same
machine load, and each figure is the best of ``--repeat`` (25: on a shared virtual machine,
fewer runs leave the best figures ±15% apart from one run to the next). BLAS runs on one
thread, as in each gunicorn worker on a small machine (``deploy/gunicorn.conf.py`` shares the
cores among the workers); set OPENBLAS_NUM_THREADS to measure otherwise. With one BLAS thread
the figures are CPU time of this thread, so that other processes on the machine do not count
(their share of the caches and of memory bandwidth still does); with more, wall-clock time.
Keras ``predict`` on the same model is timed too (wall clock) when keras is importable here, or
through ``KERAS_PYTHON=<python with keras>``.
Prints a markdown table for the README; ``--profile`` adds where the forward pass spends its
time, per kind of layer (class, kernel and strides) as the forward plan runs them.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy is imported
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # as deploy/gunicorn.conf.py sets it

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APPLICATIONS = ROOT / "tests" / "fixtures" / "keras3" / "applications"
SGEMM_SIZE = 2048
CLOCK = time.thread_time if os.environ["OPENBLAS_NUM_THREADS"] == "1" else time.perf_counter

KERAS_TIMER = """
import json, os, sys, time
os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np, keras
model = keras.models.model_from_json(sys.stdin.read())
x = np.random.default_rng(0).standard_normal((1, *model.input_shape[1:])).astype("float32")
model.predict(x, verbose=0)
best = min(
    (lambda t: (model.predict(x, verbose=0), time.perf_counter() - t)[1])(time.perf_counter())
    for _ in range(int(sys.argv[1])))
print(json.dumps({"seconds": best, "keras": keras.__version__,
                  "backend": keras.backend.backend()}))
"""


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        started = CLOCK()
        run()
        times.append(CLOCK() - started)
    return min(times)


def sgemm_rate(repeat: int) -> Callable[[], float]:
    """A measure of the multiply-accumulates per second of a large float32 matmul, best of
    ``repeat``. Its operands and output are made once and kept: freeing 48 MiB between the
    measures would let glibc give the heap back to the system, and the next pass of the model
    would page it in again (~3 ms of page faults that no request in a worker sees)."""
    rng = np.random.default_rng(0)
    a, b, out = (rng.standard_normal((SGEMM_SIZE, SGEMM_SIZE), dtype=np.float32)
                 for _ in range(3))

    def measure() -> float:
        return SGEMM_SIZE**3 / best_of(repeat, lambda: np.matmul(a, b, out=out))

    measure()
    return measure


def at_batch_1(doc: dict[str, Any]) -> tuple[Any, Any, dict[str, list[np.ndarray]]]:
    """The model's graph and propagation with one sample, and its default weights (seed 0)."""
    from shapecheck.analysis import analyse
    from shapecheck.forward import weight_layout
    from shapecheck.graph import ModelInput, propagate
    from shapecheck.initializers import default_weights

    graph = analyse(doc, {}).graph
    graph.inputs = [ModelInput(i.name, (1, *i.shape[1:])) for i in graph.inputs]
    prop = propagate(graph)
    return graph, prop, default_weights(weight_layout(prop), seed=0)


def model_matmuls(doc: dict[str, Any]) -> Callable[[], None]:
    """The forward pass's matrix products alone: per layer with a (..., N) kernel, an (M, K)
    operand times its real kernel as (K, N), M = macs / (K·N). The bound of any im2col + BLAS
    forward pass at this batch size, the weights read from memory as in a real pass."""
    graph, prop, weights = at_batch_1(doc)
    rng = np.random.default_rng(0)
    products = []
    outputs = prop.outputs_by_call()
    for call in prop.order:
        layer = graph.layers[call.layer]
        kernel = next(iter(weights.get(call.layer, ())), None)
        if kernel is None or kernel.ndim < 2:
            continue
        ins = [prop.tensors[ref] for ref in call.inputs]
        outs = [prop.tensors[ref] for ref in outputs[call.layer, call.index]]
        k, n = kernel.size // kernel.shape[-1], kernel.shape[-1]
        m = layer.macs(ins, outs) // (k * n)
        products.append((rng.standard_normal((m, k), dtype=np.float32), kernel.reshape(k, n)))

    def run() -> None:
        for a, b in products:
            a @ b

    return run


def layer_profile(doc: dict[str, Any], repeat: int) -> list[tuple[str, int, float]]:
    """Per kind of layer as the forward plan runs it: its calls and their time in the fastest
    of ``repeat`` passes, slowest kind first. The plan is made once, up front."""
    from shapecheck import forward_plan
    from shapecheck.forward import run_forward

    graph, prop, weights = at_batch_1(doc)
    key = "bench.forward"  # run_forward then finds this plan, whose layers are timed
    planned, _ = forward_plan.prepare(graph, prop, weights, key)
    spent: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    for call in prop.order:
        calls[layer_kind(planned.layers[call.layer])] += 1
    for layer in planned.layers.values():
        layer.forward = timed(layer, layer_kind(layer), spent)  # type: ignore[method-assign]
    inputs = {i.name: np.random.default_rng(0).standard_normal(i.shape, dtype=np.float32)
              for i in graph.inputs}
    best: dict[str, float] = {}
    for _ in range(repeat):
        spent.clear()
        run_forward(graph, prop, inputs, weights, key=key)
        if not best or sum(spent.values()) < sum(best.values()):
            best = dict(spent)
    return sorted(((kind, calls[kind], seconds) for kind, seconds in best.items()),
                  key=lambda row: -row[2])


def layer_kind(layer: Any) -> str:
    """``Conv2D 3×3/1``: the class, with the kernel and strides of a sliding window."""
    window = getattr(layer, "window", None)
    if window is None:
        return type(layer).__name__
    return (f"{type(layer).__name__} {'×'.join(map(str, window))}/"
            f"{'×'.join(map(str, layer.strides))}")


def timed(layer: Any, kind: str, spent: dict[str, float]) -> Callable[..., Any]:
    """``layer.forward``, adding its time to ``spent[kind]``."""
    run = layer.forward

    def forward(*args: Any) -> Any:
        started = CLOCK()
        outputs = run(*args)
        spent[kind] += CLOCK() - started
        return outputs

    return forward


def keras_json(model: str) -> dict[str, Any]:
    record = json.loads(gzip.decompress((APPLICATIONS / f"{model}.json.gz").read_bytes()))
    return record["keras_json"]


def keras_predict(doc: dict[str, Any], repeat: int) -> dict[str, Any] | None:
    """Keras ``predict`` at batch 1, in this interpreter or in ``KERAS_PYTHON``."""
    python = os.environ.get("KERAS_PYTHON")
    if python is None:
        try:
            import keras  # noqa: F401
        except ImportError:
            return None
        python = sys.executable
    try:
        done = subprocess.run([python, "-c", KERAS_TIMER, str(repeat)], input=json.dumps(doc),
                              capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"Keras predict not timed: {python}: {exc}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ResNet50")
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--profile", action="store_true",
                        help="also time the forward pass per kind of layer")
    parser.add_argument("--target", type=float,
                        help="exit with status 1 when end to end is over this many floors")
    args = parser.parse_args()

    from shapecheck import check
    from shapecheck.analysis import analyse
    from shapecheck.forward import forward_pass

    doc = keras_json(args.model)
    body = {"model": doc, "forward": {"seed": 0}}
    started = CLOCK()
    first = check(body)
    cold = CLOCK() - started  # weights drawn; later runs hit the cache
    macs = first["forward"]["estimate"]["macs"]
    matmuls = model_matmuls(doc)
    analysed = analyse(doc, {})
    check_times, forward_times, matmul_times, rates = [], [], [], []
    measure_rate = sgemm_rate(3)
    for _ in range(args.repeat):
        rates.append(measure_rate())
        check_times.append(best_of(1, lambda: check(body)))
        forward_times.append(best_of(1, lambda: forward_pass(analysed, body["forward"])))
        matmul_times.append(best_of(1, matmuls))
    analysis = best_of(args.repeat, lambda: check({"model": doc}))
    rate, seconds_end_to_end = max(rates), min(check_times)
    floor = macs / rate
    keras_result = keras_predict(doc, args.repeat)

    shape = first["model"]["inputs"][0]["shape"]
    threads = os.environ["OPENBLAS_NUM_THREADS"]
    print(f"{args.model}, input {shape[1:]}, batch 1, {macs / 1e9:.2f} GMACs; numpy "
          f"{np.__version__}, BLAS threads {threads}, {platform.processor() or platform.machine()}"
          f", {os.cpu_count()} CPUs\n")
    print("| measure | ms | GMAC/s | × floor |")
    print("|---|---:|---:|---:|")
    print(f"| floor: MACs at the sgemm rate ({SGEMM_SIZE}³) | {floor * 1e3:.1f} | "
          f"{rate / 1e9:.1f} | 1.00 |")
    rows = [("the model's matmuls alone (same shapes and weights)", min(matmul_times)),
            ("`check()` with forward, end to end", seconds_end_to_end),
            ("of which the forward pass (`forward_pass()`)", min(forward_times)),
            ("first `check()` (weights drawn, then cached)", cold)]
    for label, value in rows:
        print(f"| {label} | {value * 1e3:.1f} | {macs / value / 1e9:.1f} | "
              f"{value / floor:.2f} |")
    print(f"| `check()` without forward (import, shapes, summary) | {analysis * 1e3:.1f} | — | "
          f"{analysis / floor:.2f} |")
    if keras_result:
        k = keras_result["seconds"]
        print(f"| Keras {keras_result['keras']} ({keras_result['backend']}) `predict` | "
              f"{k * 1e3:.1f} | {macs / k / 1e9:.1f} | {k / floor:.2f} |")
    if args.profile:
        rows = layer_profile(doc, args.repeat)
        total = sum(seconds for _, _, seconds in rows)
        print(f"\nThe forward pass per kind of layer, as planned ({total * 1e3:.1f} ms in the "
              "kernels):\n")
        print("| layer | calls | ms | share |")
        print("|---|---:|---:|---:|")
        for kind, count, seconds in rows:
            print(f"| {kind} | {count} | {seconds * 1e3:.2f} | {seconds / total:.0%} |")
    ratio = seconds_end_to_end / floor
    print(f"\n`check()` with forward, end to end, at {ratio:.2f}× the floor"
          + ("" if args.target is None else
             f": target {args.target}× {'met' if ratio <= args.target else 'not met'}"))
    return 1 if args.target is not None and ratio > args.target else 0


if __name__ == "__main__":
    sys.exit(main())
