"""The endpoints of API.md."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from ..catalogue import layer_catalogue
from ..engine import check
from . import jsonbody, telemetry
from .cache import ResponseCache
from .docs import docs_html, openapi_yaml

blueprint = Blueprint("v1", __name__)


@blueprint.post("/v1/check")
def post_check() -> Response:
    raw = request.get_data(cache=False)
    cache: ResponseCache | None = current_app.config["RESPONSE_CACHE"]
    key = cache.key(raw) if cache else b""
    cached = cache.get(key) if cache else None
    telemetry.record_cache(cache is not None, cached is not None)
    if cached is not None:
        telemetry.record_check(cached.result)
        return json_response(cached.body)
    body = jsonbody.parse(raw, current_app.config["LIMITS"].max_json_depth)
    result = check(body)
    telemetry.record_check(result)
    payload = current_app.json.dumps(result).encode()
    if cache and "forward" not in result:
        cache.put(key, payload, result)
    return json_response(payload)


@blueprint.get("/v1/layers")
def get_layers() -> Any:
    return {"layers": layer_catalogue()}


@blueprint.get("/livez")
def livez() -> Any:
    return {"status": "ok"}


@blueprint.get("/readyz")
def readyz() -> Any:
    return {"status": "ok"}


@blueprint.get("/metrics")
def metrics() -> Response:
    return telemetry.metrics_response()


@blueprint.get("/openapi.yaml")
def openapi() -> Response:
    return Response(openapi_yaml(), mimetype="application/yaml")


@blueprint.get("/docs")
def docs() -> Response:
    return Response(docs_html(), mimetype="text/html")


def json_response(payload: bytes) -> Response:
    return Response(payload, mimetype="application/json")
