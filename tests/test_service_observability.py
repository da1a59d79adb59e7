"""Metrics across several gunicorn workers, request ids, JSON request logs, overload answers."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from servers import start_gunicorn, stop
from shapecheck.api import create_app

DENSE_MODEL = {"inputs": [4], "layers": [{"type": "Dense", "units": 2}]}


@pytest.fixture(scope="module")
def workers3() -> Iterator[tuple]:
    """A server of its own (three workers), so that its counters start at zero."""
    process, url = start_gunicorn({"WEB_CONCURRENCY": "3"})
    try:
        yield process, url
    finally:
        stop(process)


def scrape(url: str) -> dict[str, float]:
    """``/metrics`` as ``{'name{labels}': value}``, on a new connection (any worker)."""
    response = requests.get(f"{url}/metrics", timeout=30, headers={"Connection": "close"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def sample(samples: dict[str, float], name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for key, value in samples.items():
        metric, _, rest = key.partition("{")
        found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if metric == name and labels.items() <= found.items():
            total += value
    return total


def test_request_counts_add_up_across_workers(workers3):
    _, url = workers3
    before = sample(scrape(url), "shapecheck_http_requests_total", endpoint="/livez")  # probes
    for _ in range(30):  # a new connection each time: the requests spread over the workers
        assert requests.get(f"{url}/livez", timeout=30,
                            headers={"Connection": "close"}).status_code == 200
    for _ in range(6):  # whichever worker answers the scrape sees every worker's counts
        samples = scrape(url)
        assert sample(samples, "shapecheck_http_requests_total", endpoint="/livez",
                      method="GET", status="200") == before + 30
        assert sample(samples, "shapecheck_http_request_duration_seconds_count",
                      endpoint="/livez") == before + 30
        assert sample(samples, "shapecheck_http_request_duration_seconds_bucket",
                      endpoint="/livez", le="+Inf") == before + 30


def test_check_outcomes_by_diagnostic_code(workers3):
    _, url = workers3
    broken = {"inputs": [4], "layers": [{"type": "Dens", "units": 2}]}
    for model in (broken, broken, DENSE_MODEL):
        assert requests.post(f"{url}/v1/check", json={"model": model},
                             timeout=30).status_code == 200
    requests.post(f"{url}/v1/check", json={"model": {"layers": []}}, timeout=30)
    samples = scrape(url)
    assert sample(samples, "shapecheck_check_diagnostics_total", code="unknown_layer",
                  severity="error") == 2
    assert sample(samples, "shapecheck_checks_total", ok="false") == 2
    assert sample(samples, "shapecheck_checks_total", ok="true") == 1
    assert sample(samples, "shapecheck_http_requests_total", endpoint="/v1/check",
                  status="422") == 1


def test_forward_pass_time_is_observed(workers3):
    _, url = workers3
    body = {"model": DENSE_MODEL, "forward": {"batch_size": 3}}
    response = requests.post(f"{url}/v1/check", json=body, timeout=30)
    assert response.status_code == 200, response.text
    samples = scrape(url)
    assert sample(samples, "shapecheck_forward_seconds_count") == 1
    assert 0 < sample(samples, "shapecheck_forward_seconds_sum") < 30


def test_unknown_paths_share_one_label(workers3):
    _, url = workers3
    for path in ("/a", "/b/c", "/v2/check"):
        requests.get(url + path, timeout=30)
    samples = scrape(url)
    assert sample(samples, "shapecheck_http_requests_total", endpoint="<unmatched>",
                  status="404") == 3
    assert not [key for key in samples if "/b/c" in key]


def test_request_id_is_honoured(http, server_url):
    for path in ("/livez", "/nope"):
        response = http.get(server_url + path, headers={"X-Request-ID": "trace-42.a:b"})
        assert response.headers["X-Request-ID"] == "trace-42.a:b"


def test_request_id_is_generated_on_every_answer_problems_included(http, server_url):
    answers = [http.get(f"{server_url}/livez"), http.get(f"{server_url}/nope"),
               http.post(f"{server_url}/v1/check", data=b"{"),
               http.post(f"{server_url}/v1/check", json={"model": {}}),
               http.post(f"{server_url}/v1/check", data=b" " * (9 * 1024 * 1024))]
    assert [a.status_code for a in answers] == [200, 404, 400, 422, 413]
    ids = [a.headers["X-Request-ID"] for a in answers]
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(("given", "returned"), [
    ("a b\tc<script>", "abcscript"),
    ("x" * 500, "x" * 128),
])
def test_request_id_is_sanitised_and_bounded(http, server_url, given, returned):
    response = http.get(f"{server_url}/livez", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == returned


def test_unusable_request_id_is_replaced(http, server_url):
    response = http.get(f"{server_url}/livez", headers={"X-Request-ID": "<>\"'"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_one_json_log_line_per_request(workers3):
    process, url = workers3
    rid = "log-line-test-1"
    requests.post(f"{url}/v1/check", json={"model": DENSE_MODEL}, timeout=30,
                  headers={"X-Request-ID": rid})
    requests.get(f"{url}/nope", timeout=30, headers={"X-Request-ID": rid + "-404"})
    entries = []
    deadline = time.monotonic() + 10
    while len(entries) < 2 and time.monotonic() < deadline:
        process.log.seek(0)
        lines = process.log.read().decode().splitlines()
        entries = [json.loads(line) for line in lines
                   if line.startswith("{") and f'"{rid}' in line]
        time.sleep(0.1)
    assert [(e["method"], e["path"], e["status"], e["request_id"]) for e in entries] == [
        ("POST", "/v1/check", 200, rid), ("GET", "/nope", 404, rid + "-404")]
    assert all(e["duration_ms"] >= 0 and e["level"] == "info" for e in entries)


def test_overloaded_worker_answers_503_with_retry_after_and_stays_alive():
    process, url = start_gunicorn({"WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4",
                                   "SHAPECHECK_MAX_IN_FLIGHT": "1"})
    slow = {"model": {"inputs": [4], "layers": [{"type": "Dense", "units": 3}] * 4000}}
    try:
        with ThreadPoolExecutor(4) as pool:
            checks = [pool.submit(requests.post, f"{url}/v1/check", json=slow, timeout=60)
                      for _ in range(3)]
            time.sleep(0.3)
            alive = requests.get(f"{url}/livez", timeout=30)
            answers = [c.result() for c in checks]
    finally:
        stop(process)
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 200 and statuses[-1] == 503, statuses
    refused = next(a for a in answers if a.status_code == 503)
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert "SHAPECHECK_MAX_IN_FLIGHT" in refused.json()["detail"]
    assert alive.status_code == 200


def test_a_bug_is_a_logged_500_problem_with_the_request_id(caplog):
    app = create_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    logger = logging.getLogger("shapecheck")  # it does not propagate to the root logger
    logger.addHandler(caplog.handler)
    try:
        response = app.test_client().get("/boom", headers={"X-Request-ID": "rid-500"})
    finally:
        logger.removeHandler(caplog.handler)
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["X-Request-ID"] == "rid-500"
    assert "secret internals" not in response.text  # no internals leak to the client
    record = next(r for r in caplog.records if r.getMessage() == "unhandled error")
    assert record.fields["request_id"] == "rid-500" and record.exc_info
