"""Schemathesis against the real server: ``st run openapi.yaml --checks all``, bounded.

Every operation of the spec is exercised with its examples, the coverage phase (boundary and
schema-violating values) and property-based fuzzing; every check must pass: no 5xx, status
codes, content types, headers and bodies as the spec says, schema-invalid requests refused,
schema-valid ones accepted (tests/schemathesis/schemathesis.toml explains the one relaxation).

SCHEMATHESIS_MAX_EXAMPLES (default 30) and SCHEMATHESIS_SEED tune a run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from servers import start_gunicorn, stop

pytest.importorskip("schemathesis")

ROOT = Path(__file__).resolve().parents[1]
CONFIG = Path(__file__).with_name("schemathesis") / "schemathesis.toml"


def run_schemathesis(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).with_name("st")
    command = [
        str(st), "--config-file", str(CONFIG), "--no-color", "run", str(ROOT / "openapi.yaml"),
        "--url", url, "--checks", "all", "--continue-on-failure",
        "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30"),
        "--seed", os.environ.get("SCHEMATHESIS_SEED", "20261122"),
        "--workers", "2", "--request-timeout", "30", *extra,
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "SCHEMATHESIS_HOOKS": ""})


def test_schemathesis_finds_no_failure(server_url):
    result = run_schemathesis(server_url)
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert "7 selected / 7 total" in result.stdout, report
    assert " passed" in result.stdout and "failed" not in result.stdout.lower(), report


def test_schemathesis_with_api_keys_configured():
    """With keys configured and sent, every check passes too. (The spec makes the key optional,
    since a server without keys needs none, so `ignored_auth` has nothing to test here; the
    401s are tested in test_service_auth.py.)"""
    process, url = start_gunicorn({"SHAPECHECK_API_KEYS": "st-key-1"})
    try:
        result = run_schemathesis(url, "--header", "Authorization: Bearer st-key-1",
                                  "--max-examples", "10")
        metrics = requests.get(f"{url}/metrics", timeout=30).text
    finally:
        stop(process)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "7 selected / 7 total" in result.stdout
    assert count_of(metrics, "/v1/check", "200") > 0  # the key was sent and accepted


def count_of(metrics: str, endpoint: str, status: str) -> float:
    return sum(float(line.rpartition(" ")[2]) for line in metrics.splitlines()
               if line.startswith("shapecheck_http_requests_total{")
               and f'endpoint="{endpoint}"' in line and f'status="{status}"' in line)


def test_schemathesis_would_catch_a_server_that_breaks_the_spec(server_url):
    """Guards against the test above passing vacuously: served against the wrong base URL,
    every operation answers 404, which the spec does not allow."""
    result = run_schemathesis(f"{server_url}/wrong-prefix", "--include-path", "/livez",
                              "--max-examples", "3")
    assert result.returncode != 0
    assert "404" in result.stdout
