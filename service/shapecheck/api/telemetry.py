"""Observability: Prometheus metrics, request ids, and one JSON log line per request.

Under gunicorn every worker is its own process. When ``PROMETHEUS_MULTIPROC_DIR`` is set
(``deploy/gunicorn.conf.py`` sets it before forking), prometheus_client writes each worker's
samples to files there, and ``/metrics`` adds up all workers' files, whichever worker answers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_MAX_LENGTH = 128
REQUEST_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._:+=/-]")
UNMATCHED = "<unmatched>"  # the endpoint label of 404s: never the raw path (unbounded labels)

REQUESTS = Counter("shapecheck_http_requests_total", "HTTP requests answered.",
                   ["method", "endpoint", "status"])
LATENCY = Histogram("shapecheck_http_request_duration_seconds",
                    "Time from receiving a request to its response.", ["method", "endpoint"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                             5.0, 10.0, 30.0))
IN_FLIGHT = Gauge("shapecheck_http_requests_in_flight", "Requests being handled now.",
                  multiprocess_mode="livesum")
CHECKS = Counter("shapecheck_checks_total", "Models checked (200 answers of /v1/check).",
                 ["ok"])
DIAGNOSTICS = Counter("shapecheck_check_diagnostics_total",
                      "Diagnostics in check answers, by code and severity.", ["code", "severity"])
CACHE = Counter("shapecheck_check_cache_total",
                "Check requests answered from the per-worker response cache (hit) or not (miss).",
                ["result"])
FORWARD_SECONDS = Histogram("shapecheck_forward_seconds", "Time of one forward pass.",
                            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0,
                                     20.0, 60.0))

access_log = logging.getLogger("shapecheck.access")


def install(app: Flask, access_log_lines: bool = True) -> None:
    """Time, count, id and log every request of ``app``, problems included (without the
    access log line when ``access_log_lines`` is false)."""
    configure_logging()
    app.config["ACCESS_LOG"] = access_log_lines
    app.before_request(start_request)
    app.after_request(finish_request)
    app.teardown_request(leave_request)


def start_request() -> None:
    g.started = time.perf_counter()
    g.request_id = request_id(request.headers.get(REQUEST_ID_HEADER))
    g.in_flight = True
    IN_FLIGHT.inc()


def finish_request(response: Response) -> Response:
    started = g.get("started", time.perf_counter())
    elapsed = time.perf_counter() - started
    endpoint = request.url_rule.rule if request.url_rule else UNMATCHED
    REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    LATENCY.labels(request.method, endpoint).observe(elapsed)
    rid = g.get("request_id") or request_id(None)
    response.headers[REQUEST_ID_HEADER] = rid
    if current_app.config["ACCESS_LOG"]:
        log_request(response, elapsed, rid)
    return response


def log_request(response: Response, elapsed: float, rid: str) -> None:
    access_log.info("request", extra={"fields": {
        "method": request.method, "path": request.path, "status": response.status_code,
        "duration_ms": round(elapsed * 1000, 3), "request_id": rid,
        "bytes_in": request.content_length or 0,
        "remote_addr": request.remote_addr}})


def leave_request(_exc: BaseException | None) -> None:
    if g.pop("in_flight", False):
        IN_FLIGHT.dec()


def request_id(given: str | None) -> str:
    """The client's request id, made safe for headers and logs; else a new one."""
    cleaned = REQUEST_ID_UNSAFE.sub("", given or "")[:REQUEST_ID_MAX_LENGTH]
    return cleaned or uuid.uuid4().hex


def record_cache(enabled: bool, hit: bool) -> None:
    if enabled:
        CACHE.labels("hit" if hit else "miss").inc()


def record_check(result: Mapping[str, Any]) -> None:
    """Count a check's outcome and diagnostics, and time its forward pass."""
    CHECKS.labels(str(bool(result.get("ok"))).lower()).inc()
    for note in result.get("diagnostics", ()):
        DIAGNOSTICS.labels(note.get("code", "unknown"), note.get("severity", "unknown")).inc()
    forward = result.get("forward")
    if isinstance(forward, Mapping) and isinstance(forward.get("elapsed_ms"), int | float):
        FORWARD_SECONDS.observe(forward["elapsed_ms"] / 1000)


def metrics_response() -> Response:
    """The Prometheus exposition of every worker (multiprocess mode) or of this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=None, content_type=CONTENT_TYPE_LATEST)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(), **getattr(record, "fields", {})}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging() -> None:
    """The ``shapecheck`` loggers write JSON lines to stderr (once per process)."""
    logger = logging.getLogger("shapecheck")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("SHAPECHECK_LOG_LEVEL", "INFO").upper())
    logger.propagate = False
