"""A mutation fuzzer against the real server.

Valid requests (the seed questions, a functional graph, a Keras JSON model, a forward pass)
are broken one value at a time: a wrong type, a sign flip, zero, a huge or absurd integer,
NaN, deep nesting, a missing key, a wrong container. Whatever the mutation, the server must
answer a 2xx or a 4xx problem+json, never a 5xx; a 200 must still match the OpenAPI schema.

The run is seeded (SHAPECHECK_FUZZ_SEED, default below) and bounded: SHAPECHECK_FUZZ_CASES
mutations (default 400), or SHAPECHECK_FUZZ_SECONDS (default 90), whichever ends first.
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_validation import response_errors

SEED = int(os.environ.get("SHAPECHECK_FUZZ_SEED", "6"))
CASES = int(os.environ.get("SHAPECHECK_FUZZ_CASES", "400"))
SECONDS = float(os.environ.get("SHAPECHECK_FUZZ_SECONDS", "90"))
NAN = "\x00NaN\x00"  # replaced by a bare NaN literal in the raw body

JsonPath = tuple[str | int, ...]

CORPUS: list[dict[str, Any]] = [
    {"model": {"layers": [
        {"type": "Conv2D", "filters": 8, "kernel_size": [2, 2], "input_shape": [4, 5, 1]},
        {"type": "Conv2D", "filters": 1, "kernel_size": [2, 2]},
        {"type": "Flatten"}, {"type": "Dense", "units": 5}, {"type": "Dense", "units": 1}]}},
    {"model": {"inputs": [100, 100, 3], "layers": [
        {"type": "Conv2D", "filters": 32, "kernel_size": [3, 3], "activation": "relu"},
        {"type": "Dense", "units": 256, "activation": "relu"},
        {"type": "Dense", "units": 10, "activation": "softmax"}]},
     "x_shape": [100, 100, 100, 3], "y_shape": [100, 10], "loss": "categorical_crossentropy",
     "batch_size": 32},
    {"model": {"inputs": [1, 32, 32], "layers": [
        {"type": "Convolution2D", "nb_filter": 10, "nb_row": 8, "nb_col": 8,
         "border_mode": "same", "dim_ordering": "th"},
        {"type": "MaxPooling2D", "pool_size": 2, "data_format": "channels_first"},
        {"type": "BatchNormalization", "axis": 1}, {"type": "Dropout", "rate": 0.5},
        {"type": "GlobalAveragePooling2D", "data_format": "channels_first"}]},
     "x_shape": [16, 1, 32, 32]},
    {"model": {"name": "two_towers", "inputs": {"text": [20], "image": [8, 8, 3]}, "layers": [
        {"type": "Embedding", "input_dim": 100, "output_dim": 8, "inputs": ["text"]},
        {"type": "LSTM", "units": 6, "name": "lstm"},
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same",
         "inputs": ["image"]},
        {"type": "GlobalMaxPooling2D", "name": "pool"},
        {"type": "Concatenate", "inputs": ["lstm", "pool"]},
        {"type": "Dense", "units": 3, "activation": "softmax", "name": "probs"}],
        "outputs": ["probs"]},
     "x_shape": {"text": [4, 20], "image": [4, 8, 8, 3]}, "y_shape": [4],
     "loss": "sparse_categorical_crossentropy"},
    {"model": {"inputs": [6], "layers": [
        {"type": "Dense", "units": 4, "activation": "relu"},
        {"type": "MyCustomLayer", "name": "custom"},
        {"type": "Dense", "units": 2}]},
     "overrides": {"custom": {"output_shape": [None, 16], "params": 272}}},
    {"model": {"inputs": [3, 4], "layers": [
        {"type": "Dense", "units": 2, "name": "dense"}, {"type": "Flatten"},
        {"type": "Dense", "units": 1}]},
     "forward": {"x": [[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]], "seed": 0,
                 "weights": {"dense": [[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8]],
                                       [0.0, 0.5]]},
                 "return": "values"}},
    {"model": {"inputs": [5, 3], "layers": [
        {"type": "Conv1D", "filters": 2, "kernel_size": 2},
        {"type": "GRU", "units": 3, "return_sequences": True},
        {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}}]},
     "forward": {"batch_size": 2, "seed": 3}},
    {"model": {
        "module": "keras", "class_name": "Sequential",
        "config": {"name": "sequential", "trainable": True, "layers": [
            {"module": "keras.layers", "class_name": "InputLayer",
             "config": {"batch_shape": [None, 784], "dtype": "float32", "name": "input_layer"}},
            {"module": "keras.layers", "class_name": "Dense",
             "config": {"name": "dense", "units": 10, "activation": "softmax",
                        "use_bias": True}}]},
        "build_config": {"input_shape": [None, 784]}},
     "y_shape": [64], "loss": "sparse_categorical_crossentropy"},
    # A model that leaves its sizes open, checked at the sizes of x (data_sizes).
    {"model": {"inputs": {"img": [None, None, 1]}, "outputs": ["merged"], "layers": [
        {"type": "Conv2D", "filters": 2, "kernel_size": 3, "padding": "same", "name": "c",
         "inputs": ["img"]},
        {"type": "MaxPooling2D", "name": "pool", "inputs": ["c"]},
        {"type": "UpSampling2D", "name": "up", "inputs": ["pool"]},
        {"type": "Concatenate", "name": "merged", "inputs": ["up", "c"]}]},
     "x_shape": [4, 25, 24, 1], "y_shape": [4, 25, 24, 4], "loss": "mse"},
]

# Keras model.to_json() documents recorded from real Keras 3 and tf.keras 2: nested models,
# shared layers, several inputs and outputs, tensor operations.
FIXTURES = Path(__file__).parent / "fixtures"
KERAS_MODELS = ("nested_two_levels_frozen", "shared_conv_siamese", "lstm_states",
                "multi_output_heads", "operations_on_tensors", "nested_sequential_called_twice")
CORPUS += [{"model": json.loads((FIXTURES / family / "models" / f"{name}.json").read_text())
            ["keras_json"]}
           for family in ("keras3", "tfkeras2") for name in KERAS_MODELS]

HUGE = (2**31, 2**63, 2**64 + 1, 10**18, 10**30, 10**400)
JUNK = ("", "x", "-1", "NaN", "None", "é" * 3, "a" * 10_000, True, False, None, 0.5, -0.5,
        1e300, -1e-300, [], {}, [None], [[]], {"": None}, [1, "a", None])
DTYPE_NAMES = ("int8", "uint8", "int16", "uint32", "int64", "bool", "float16", "bfloat16",
               "float64", "mixed_float16", "mixed_bfloat16", "string")
"""A string becomes one of these too, so that inputs and dtype policies take every dtype."""


Mutation = Callable[[Any, random.Random], Any]


def mutations(value: Any) -> list[Mutation]:
    """Ways to break one value, chosen by what it is."""
    common: list[Mutation] = [
        lambda v, rng: rng.choice(JUNK),
        lambda v, rng: NAN,
        lambda v, rng: nest(v, 70),
        lambda v, rng: [v],
        lambda v, rng: {"value": v},
    ]
    if isinstance(value, bool):
        return [*common, lambda v, rng: int(v), lambda v, rng: str(v).lower()]
    if isinstance(value, int):
        return [*common, lambda v, rng: -v, lambda v, rng: 0, lambda v, rng: -1,
                lambda v, rng: v + 0.5, lambda v, rng: rng.choice(HUGE),
                lambda v, rng: -rng.choice(HUGE), lambda v, rng: str(v),
                lambda v, rng: v * 10**9]
    if isinstance(value, float):
        return [*common, lambda v, rng: -v, lambda v, rng: 0.0, lambda v, rng: 1e308,
                lambda v, rng: 10**400]
    if isinstance(value, str):
        return [*common, lambda v, rng: v.upper(), lambda v, rng: v[:-1],
                lambda v, rng: v + ":7", lambda v, rng: v * 50,
                lambda v, rng: rng.choice(DTYPE_NAMES)]
    if isinstance(value, list):
        return [*common, lambda v, rng: [], lambda v, rng: v * 40, lambda v, rng: v[::-1],
                lambda v, rng: dict(enumerate(v)), lambda v, rng: [*v, rng.choice(JUNK)]]
    if isinstance(value, dict):
        return [*common, lambda v, rng: {}, lambda v, rng: list(v.values()),
                lambda v, rng: list(v)]
    return common


def nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


def paths(node: Any, prefix: JsonPath = ()) -> Iterator[JsonPath]:
    """Every value's path in a JSON document (the root excluded)."""
    items = node.items() if isinstance(node, dict) else (
        enumerate(node) if isinstance(node, list) else ())
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def mutate(body: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], str]:
    """A copy of ``body`` with one value broken (or removed), and what was done."""
    body = copy.deepcopy(body)
    path = rng.choice(list(paths(body)))
    *parent_path, key = path
    parent: Any = body
    for step in parent_path:
        parent = parent[step]
    if rng.random() < 0.15:
        del parent[key]
        return body, f"removed {format_path(path)}"
    broken = rng.choice(mutations(parent[key]))(parent[key], rng)
    parent[key] = broken
    return body, f"{format_path(path)} = {short(broken)}"


def format_path(path: JsonPath) -> str:
    return ".".join(map(str, path))


def short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) < 120 else text[:117] + "..."


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).replace(json.dumps(NAN), "NaN").encode()


def problems_with(response: requests.Response) -> list[str]:
    status = response.status_code
    if status >= 500:
        return [f"{status}: {response.text[:300]}"]
    if status >= 400:
        if not response.headers.get("Content-Type", "").startswith("application/problem+json"):
            return [f"{status} without problem+json: {response.headers.get('Content-Type')}"]
        problem = response.json()
        if problem.get("status") != status or not problem.get("detail"):
            return [f"{status} with a malformed problem: {response.text[:300]}"]
        return []
    return response_errors("post", "/v1/check", status, response)


def test_the_corpus_is_valid(http, server_url):
    """Mutations must start from requests the server accepts."""
    for body in CORPUS:
        response = http.post(f"{server_url}/v1/check", data=encode(body), timeout=60,
                             headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text[:500]
        assert not response_errors("post", "/v1/check", 200, response)


def test_mutated_requests_never_get_a_5xx(http, server_url):
    rng = random.Random(SEED)
    failures, statuses = [], {}
    deadline = time.monotonic() + SECONDS
    for case in range(CASES):
        if time.monotonic() > deadline:
            break
        body, change = mutate(rng.choice(CORPUS), rng)
        try:
            response = http.post(f"{server_url}/v1/check", data=encode(body), timeout=60,
                                 headers={"Content-Type": "application/json"})
        except requests.RequestException as exc:
            failures.append(f"case {case}: {change}: {exc!r}")
            continue
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        failures += [f"case {case}: {change}: {p}" for p in problems_with(response)]
    done = sum(statuses.values())
    assert not failures, (f"seed {SEED}, {len(failures)} of {done} cases:\n"
                          + "\n".join(failures[:20]))
    assert done >= min(CASES, 100), f"only {done} cases ran within {SECONDS} s"
    assert statuses.get(200) and statuses.get(422) and statuses.get(400), statuses


@pytest.mark.parametrize("seed", range(3))
def test_mutation_is_deterministic_for_a_seed(seed):
    first = mutate(CORPUS[3], random.Random(seed))
    assert mutate(CORPUS[3], random.Random(seed)) == first
