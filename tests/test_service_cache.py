"""The per-worker response cache: repeats get the same answer without the work, bounded."""

from __future__ import annotations

import json

from shapecheck.api import create_app
from shapecheck.api.cache import ResponseCache
from shapecheck.api.telemetry import CACHE
from shapecheck.config import Limits

BODY = {"model": {"inputs": [4], "layers": [{"type": "Dens", "units": 2}]}}


def hits() -> float:
    return CACHE.labels("hit")._value.get()


def test_a_repeated_body_is_answered_from_the_cache_with_the_same_answer(monkeypatch):
    app = create_app(Limits())
    client = app.test_client()
    calls = []
    monkeypatch.setattr("shapecheck.api.routes.check",
                        lambda body: calls.append(body) or {"ok": False, "diagnostics": []})
    raw = json.dumps(BODY).encode()
    before = hits()
    first = client.post("/v1/check", data=raw, content_type="application/json")
    second = client.post("/v1/check", data=raw, content_type="application/json")
    other = client.post("/v1/check", data=raw + b" ", content_type="application/json")
    assert first.status_code == second.status_code == other.status_code == 200
    assert first.data == second.data
    assert len(calls) == 2  # the first and the different body
    assert hits() == before + 1


def test_forward_passes_and_problems_are_not_cached():
    client = create_app(Limits()).test_client()
    forward = {**BODY, "model": {"inputs": [4], "layers": [{"type": "Dense", "units": 2}]},
               "forward": {"batch_size": 1}}
    before = hits()
    for body in (forward, forward, {"model": {}}, {"model": {}}):
        client.post("/v1/check", json=body)
    assert hits() == before


def test_the_cache_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("SHAPECHECK_RESPONSE_CACHE_BYTES", "0")
    app = create_app()
    assert app.config["RESPONSE_CACHE"] is None
    before = hits()
    for _ in range(2):
        assert app.test_client().post("/v1/check", json=BODY).status_code == 200
    assert hits() == before


def test_least_recently_used_answers_are_evicted_within_the_byte_bound():
    cache = ResponseCache(max_bytes=800)
    keys = [cache.key(str(i).encode()) for i in range(10)]
    for key in keys[:8]:
        cache.put(key, b"x" * 100, {"ok": True, "diagnostics": []})
    assert cache.get(keys[0]) is not None  # now the most recently used
    cache.put(keys[8], b"y" * 100, {"ok": True})
    assert cache.size <= 800
    assert cache.get(keys[1]) is None and cache.get(keys[0]) is not None
    cache.put(keys[9], b"z" * 101, {"ok": True})  # over an eighth of the bound: not kept
    assert cache.get(keys[9]) is None
