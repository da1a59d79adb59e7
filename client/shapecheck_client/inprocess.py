"""The ``inprocess:`` URL: calls answered by the service's own WSGI app, in this process.

For a CI job or a pre-commit hook that has the service's package installed (``shapecheck``,
``pip install .`` in a checkout) and no server to call: ``Client("inprocess:")``, or
``SHAPECHECK_URL=inprocess:`` for the CLI. Every call goes through the same app as over HTTP
(validation, limits, problem answers, the same JSON), so nothing else in the client changes;
only the socket is gone.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from .errors import ShapecheckError

INPROCESS = "inprocess:"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def service_app() -> WSGIApp:
    """A new instance of the service's app; it needs the service package installed."""
    try:
        from shapecheck.api import create_app
    except ImportError as exc:
        raise ShapecheckError(
            f"{INPROCESS} runs the service in this process, which needs its package "
            f"installed (pip install . in a checkout of shapecheck): {exc}") from exc
    return create_app(access_log=False)


class WSGIAdapter(BaseAdapter):
    """A ``requests`` transport that hands each request to a WSGI app."""

    def __init__(self, app: WSGIApp) -> None:
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        url = request.url or ""
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> None:
            started[:] = [status, headers]

        answer = self.app(environ(request, url, body), start_response)
        try:
            content = b"".join(answer)
        finally:
            getattr(answer, "close", lambda: None)()
        status, headers = started
        response = requests.Response()
        response.status_code = int(status.split()[0])
        response.reason = HTTPStatus(response.status_code).phrase
        response.headers = CaseInsensitiveDict(headers)
        response._content = content
        response.encoding = "utf-8"
        response.url = url
        response.request = request
        return response

    def close(self) -> None:
        pass


def environ(request: requests.PreparedRequest, url: str, body: bytes) -> dict[str, Any]:
    """The WSGI environ of ``request`` to ``inprocess:<path>[?query]``."""
    path, _, query = url.removeprefix(INPROCESS).partition("?")
    headers = {f"HTTP_{name.upper().replace('-', '_')}": value
               for name, value in request.headers.items()
               if name.lower() not in ("content-type", "content-length")}
    return {
        **headers,
        "REQUEST_METHOD": request.method or "GET",
        "PATH_INFO": path or "/",
        "QUERY_STRING": query,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "inprocess",
        "SERVER_PORT": "0",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
