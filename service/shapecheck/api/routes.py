"""The endpoints of API.md."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from ..catalogue import layer_catalogue
from ..engine import check
from . import jsonbody, telemetry
from .docs import docs_html, openapi_yaml

blueprint = Blueprint("v1", __name__)


@blueprint.post("/v1/check")
def post_check() -> Any:
    result = check(parse_json_body())
    telemetry.record_check(result)
    return result


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


def parse_json_body() -> Any:
    """The request body as JSON: not JSON → 400; over a size or nesting limit → 413."""
    limits = current_app.config["LIMITS"]
    return jsonbody.parse(request.get_data(cache=False), limits.max_json_depth)
