"""Rate limits: a token bucket per client, one budget across all workers, 429 over it."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from servers import start_gunicorn, stop
from shapecheck.api import create_app
from shapecheck.api.ratelimit import SLOT, SLOTS, RateLimiter, retry_after
from shapecheck.config import Limits

BODY = {"model": {"inputs": [4], "layers": [{"type": "Dense", "units": 2}]}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(rate: float, burst: int, slots: int = SLOTS) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    return RateLimiter(rate, burst, bytearray(slots * SLOT.size), clock=clock), clock


def test_a_client_gets_its_burst_then_waits_for_the_refill() -> None:
    buckets, clock = limiter(rate=2, burst=3)
    assert [buckets.take(b"a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take(b"a") == pytest.approx(0.5)  # one token every 1/2 s
    clock.now += 0.25
    assert buckets.take(b"a") == pytest.approx(0.25)  # refused requests take nothing
    clock.now += 0.25
    assert buckets.take(b"a") == 0
    clock.now += 60  # the bucket fills up to its burst, no further
    assert [buckets.take(b"a") for _ in range(4)][-2:] == [0, pytest.approx(0.5)]


def test_clients_have_buckets_of_their_own() -> None:
    buckets, _ = limiter(rate=1, burst=1)
    assert buckets.take(b"a") == 0
    assert buckets.take(b"a") > 0
    assert buckets.take(b"b") == 0


def test_a_full_table_gives_the_slot_updated_longest_ago_to_a_new_client() -> None:
    buckets, clock = limiter(rate=1, burst=1, slots=2)
    for client in (b"old", b"recent"):
        assert buckets.take(client) == 0
        clock.now += 0.1
    assert buckets.take(b"new") == 0  # took the slot of b"old"...
    assert buckets.take(b"recent") > 0  # ...not that of b"recent", still empty
    assert buckets.take(b"old") == 0  # b"old" comes back to a full bucket


def test_retry_after_is_whole_seconds_never_before_a_token() -> None:
    assert [retry_after(s) for s in (0.01, 0.5, 1.0, 1.2, 7.9)] == [1, 1, 1, 2, 8]


def test_processes_that_share_the_table_file_share_the_budget(tmp_path, monkeypatch) -> None:
    table = tmp_path / "table"
    table.touch()
    monkeypatch.setenv("SHAPECHECK_RATE_LIMIT_FILE", str(table))
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:  # each process maps the file as a worker does
        allowed = sum(pool.map(take_ten, range(4)))
    assert allowed == 10  # the burst, whichever process asked
    assert table.stat().st_size == SLOTS * SLOT.size


def take_ten(_: int) -> int:
    buckets = RateLimiter.from_env(rate=0.001, burst=10)
    return sum(buckets.take(b"shared") == 0 for _ in range(10))


def test_threads_of_one_process_share_the_budget() -> None:
    buckets, _ = limiter(rate=0.001, burst=50)
    with ThreadPoolExecutor(8) as pool:
        waits = list(pool.map(lambda _: buckets.take(b"a"), range(200)))
    assert waits.count(0) == 50


def test_the_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("SHAPECHECK_RATE_LIMIT", "2.5")
    assert (Limits.from_env().rate_limit, Limits.from_env().burst) == (2.5, 3)
    monkeypatch.setenv("SHAPECHECK_RATE_BURST", "10")
    assert Limits.from_env().burst == 10
    monkeypatch.setenv("SHAPECHECK_RATE_LIMIT", "0")
    assert Limits.from_env().rate_limit == 0  # off
    for wrong, says in (("-1", "must be >= 0"), ("fast", "is not a number"),
                        ("inf", "must be a finite number"), ("nan", "must be a finite number")):
        monkeypatch.setenv("SHAPECHECK_RATE_LIMIT", wrong)
        with pytest.raises(ValueError, match=says):
            Limits.from_env()


def test_without_a_limit_nothing_is_paced() -> None:
    client = create_app(Limits()).test_client()
    assert all(client.post("/v1/check", json=BODY).status_code == 200 for _ in range(30))


def test_the_app_refuses_over_the_limit_per_client_address() -> None:
    client = create_app(Limits(rate_limit=0.001, rate_burst=2), api_keys=()).test_client()
    here, there = {"REMOTE_ADDR": "10.0.0.1"}, {"REMOTE_ADDR": "10.0.0.2"}
    codes = [client.post("/v1/check", json=BODY, environ_base=here).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.post("/v1/check", json=BODY, environ_base=there).status_code == 200
    assert client.get("/livez", environ_base=here).status_code == 200


KEYS = ("alpha-0123456789", "beta-9876543210", "gamma-1357924680")
"""One per test that spends a budget: a key's bucket does not refill during the tests."""


@pytest.fixture(scope="module")
def paced_url() -> Iterator[str]:
    process, url = start_gunicorn({"WEB_CONCURRENCY": "3", "SHAPECHECK_API_KEYS": ",".join(KEYS),
                                   "SHAPECHECK_RATE_LIMIT": "0.01", "SHAPECHECK_RATE_BURST": "5"})
    try:
        yield url
    finally:
        stop(process)


SLOW_BODY = {"model": {"inputs": [4], "layers": [{"type": "Dense", "units": 4}] * 1500}}
"""A check of some 20 ms: twelve at once keep all three workers busy."""


def check(url: str, key: str, body: dict = BODY) -> requests.Response:
    return requests.post(f"{url}/v1/check", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {key}", "Connection": "close"})


def test_the_server_paces_each_key_across_all_its_workers(paced_url) -> None:
    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda _: check(paced_url, KEYS[0], SLOW_BODY), range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [429] * 7  # per-worker buckets would let up to 15 through
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    problem = refused.json()
    assert (problem["status"], problem["type"]) == (429, "https://shapecheck.dev/problems/"
                                                         "rate-limited")
    assert "SHAPECHECK_RATE_LIMIT" in problem["detail"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-Request-ID"]
    assert check(paced_url, KEYS[1]).status_code == 200  # another key, its own bucket
    assert requests.get(f"{paced_url}/livez", timeout=10).status_code == 200
    # A wrong key is told so (401), and spends nothing of anyone's budget.
    assert check(paced_url, "wrong").status_code == 401
    assert sum(check(paced_url, KEYS[1]).status_code == 200 for _ in range(5)) == 4
    metrics = requests.get(f"{paced_url}/metrics", timeout=10).text
    assert any('status="429"' in line and 'endpoint="/v1/check"' in line
               and not line.endswith(" 0.0") for line in metrics.splitlines()
               if line.startswith("shapecheck_http_requests_total"))


def test_the_client_is_told_when_to_retry(paced_url) -> None:
    from shapecheck_client import Client, RateLimited
    with Client(paced_url, api_key=KEYS[2], retries=0) as client, \
            pytest.raises(RateLimited) as exc:
        for _ in range(10):
            client.check(BODY["model"])
    assert exc.value.retry_after is not None and exc.value.retry_after >= 1
