"""Fixtures for the client tests: a scripted HTTP server on loopback."""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Answer:
    """One scripted HTTP answer; ``delay`` seconds are slept before it is sent."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class QuietServer(ThreadingHTTPServer):
    """Says nothing when a client has gone before its answer (a test of the client's timeout);
    any other error of a handler is printed as usual."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exception(), ConnectionError):
            super().handle_error(request, client_address)


class ScriptedServer:
    """A real HTTP server on loopback that plays answers in order, then repeats the last one."""

    def __init__(self) -> None:
        self.answers: queue.Queue[Answer] = queue.Queue()
        self.last = Answer()
        self.received: list[Received] = []
        self.httpd = QuietServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(
        self,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> ScriptedServer:
        """Queue one answer (a JSON body, or raw bytes); chainable."""
        self.answers.put(Answer(status, {} if body is None else body, headers or {}, delay))
        return self

    def next_answer(self) -> Answer:
        with contextlib.suppress(queue.Empty):
            self.last = self.answers.get_nowait()
        return self.last

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                server.received.append(
                    Received(
                        self.command,
                        self.path,
                        dict(self.headers),
                        json.loads(raw) if raw else None,
                    )
                )
                answer = server.next_answer()
                time.sleep(answer.delay)
                body = answer.body
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                kind = "application/json" if answer.status < 400 else "application/problem+json"
                self.send_response(answer.status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    thread = threading.Thread(target=server.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def outside_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI adds annotations when GITHUB_ACTIONS=true: tests that want them ask for them."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
