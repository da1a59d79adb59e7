"""The endpoints of API.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, request

from ..catalogue import layer_catalogue
from ..engine import check
from ..errors import LimitExceeded, MalformedRequest

blueprint = Blueprint("v1", __name__)
OPENAPI = Path(__file__).with_name("openapi.yaml")


@blueprint.post("/v1/check")
def post_check() -> Any:
    return check(parse_json_body())


@blueprint.get("/v1/layers")
def get_layers() -> Any:
    return {"layers": layer_catalogue()}


@blueprint.get("/livez")
def livez() -> Any:
    return {"status": "ok"}


@blueprint.get("/readyz")
def readyz() -> Any:
    return {"status": "ok"}


@blueprint.get("/openapi.yaml")
def openapi() -> Response:
    return Response(OPENAPI.read_bytes(), mimetype="application/yaml")


def parse_json_body() -> Any:
    """The request body as JSON; malformed → 400, nested too deep → 413."""
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw)
    except RecursionError:
        limit = current_app.config["LIMITS"].max_json_depth
        raise LimitExceeded("JSON nesting depth", float("inf"), limit,
                            "The body is nested too deeply to parse.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"The body is not valid JSON: {exc}") from None

