"""Starting and stopping the real service for tests: gunicorn on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env_overrides: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start gunicorn serving shapecheck; return the process and its base URL once it is live.

    Its stderr (gunicorn's log and the service's JSON request log) goes to a temporary file,
    ``process.log``: a pipe nobody reads would fill up and block the server.
    """
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2",
           "GUNICORN_ACCESSLOG": "", **(env_overrides or {})}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        [str(gunicorn), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
         "shapecheck.api:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    process.log = log
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"gunicorn exited: {log.read().decode()[-2000:]}")
        try:
            if requests.get(f"{url}/livez", timeout=1).ok:
                return process, url
        except (requests.ConnectionError, requests.Timeout):  # workers still booting
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not become live within 30 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    process.log.close()
