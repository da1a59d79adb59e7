"""Shared fixtures: the real service, started with gunicorn on a free loopback port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))  # tests/servers.py, tests/keras_fixtures.py

from servers import start_gunicorn, stop


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """Base URL of a real gunicorn-served shapecheck, shared by the whole session."""
    process, url = start_gunicorn()
    try:
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="session")
def http(server_url: str) -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
