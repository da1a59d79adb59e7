"""API keys: with SHAPECHECK_API_KEYS set, /v1/* needs a bearer key; operations stay open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from servers import start_gunicorn, stop
from shapecheck.api.guards import bearer_token, key_matches

KEYS = ("alpha-0123456789", "beta-9876543210")
BODY = {"model": {"inputs": [4], "layers": [{"type": "Dense", "units": 2}]}}


@pytest.fixture(scope="module")
def keyed_url() -> Iterator[str]:
    process, url = start_gunicorn({"SHAPECHECK_API_KEYS": f" {KEYS[0]} ,{KEYS[1]},,"})
    try:
        yield url
    finally:
        stop(process)


def assert_unauthorized(response: requests.Response, invalid: bool) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert ('error="invalid_token"' in challenge) is invalid
    assert response.json()["status"] == 401
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize("key", KEYS)
def test_each_configured_key_is_accepted(keyed_url, key):
    for method, path, kwargs in (("post", "/v1/check", {"json": BODY}), ("get", "/v1/layers", {})):
        response = requests.request(method, keyed_url + path, timeout=30,
                                    headers={"Authorization": f"Bearer {key}"}, **kwargs)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic YWxwaGE6eA==",
                                    f"Token {KEYS[0]}"])
def test_missing_key_is_401(keyed_url, header):
    headers = {} if header is None else {"Authorization": header}
    response = requests.post(f"{keyed_url}/v1/check", json=BODY, headers=headers, timeout=30)
    assert_unauthorized(response, invalid=False)


@pytest.mark.parametrize("key", [KEYS[0][:-1], KEYS[0] + "x", KEYS[0].upper(),
                                 f"{KEYS[0]},{KEYS[1]}", "é-not-ascii"])
def test_wrong_key_is_401(keyed_url, key):
    response = requests.get(f"{keyed_url}/v1/layers", timeout=30,
                            headers={"Authorization": f"Bearer {key}".encode()})
    assert_unauthorized(response, invalid=True)


def test_scheme_is_case_insensitive(keyed_url):
    response = requests.get(f"{keyed_url}/v1/layers", timeout=30,
                            headers={"Authorization": f"bearer {KEYS[1]}"})
    assert response.status_code == 200


def test_auth_comes_before_body_parsing(keyed_url):
    response = requests.post(f"{keyed_url}/v1/check", data=b"{not json", timeout=30)
    assert_unauthorized(response, invalid=False)


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/metrics", "/openapi.yaml", "/docs"])
def test_operations_endpoints_stay_open(keyed_url, path):
    assert requests.get(keyed_url + path, timeout=30).status_code == 200


def test_no_keys_configured_means_open(http, server_url):
    assert http.post(f"{server_url}/v1/check", json=BODY, timeout=30).status_code == 200


def test_key_matching_checks_every_key():
    keys = tuple(k.encode() for k in KEYS)
    assert key_matches(KEYS[1].encode(), keys)
    assert not key_matches(b"", keys)
    assert not key_matches(KEYS[1].encode(), ())
    assert bearer_token("Bearer  spaced ") == b"spaced"
    assert bearer_token("Bearer") is None
