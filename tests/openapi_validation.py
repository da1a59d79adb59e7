"""Validate real responses against openapi.yaml's response schemas (JSON Schema 2020-12)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import requests
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi.yaml"
SPEC_URI = "urn:shapecheck:openapi"


@cache
def spec() -> dict[str, Any]:
    with SPEC_PATH.open() as f:
        return yaml.safe_load(f)


@cache
def registry() -> Registry:
    return Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(spec()))


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def response_pointer(method: str, path: str, status: int) -> str:
    """The JSON pointer of the response the spec declares for ``status`` (or ``default``),
    with a response-level ``$ref`` followed."""
    responses = spec()["paths"][path][method]["responses"]
    key = str(status) if str(status) in responses else "default"
    assert key in responses, f"{method.upper()} {path} does not declare {status}"
    pointer = f"/paths/{escape(path)}/{method}/responses/{key}"
    ref = responses[key].get("$ref")
    return ref.removeprefix("#") if ref else pointer


def resolve(pointer: str) -> Any:
    node: Any = spec()
    for token in pointer.strip("/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def response_errors(method: str, path: str, status: int,
                    response: requests.Response) -> list[str]:
    """What is wrong with a real response according to the spec (empty when it conforms):
    the status is declared, the media type is one the spec lists, the body matches."""
    pointer = response_pointer(method, path, status)
    declared = resolve(pointer)
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    content = declared.get("content", {})
    if media_type not in content:
        return [f"{status}: media type {media_type!r} is not among {sorted(content)}"]
    for name, header in declared.get("headers", {}).items():
        header = resolve(header["$ref"].removeprefix("#")) if "$ref" in header else header
        if header.get("required") and name not in response.headers:
            return [f"{status}: the required header {name} is missing"]
    if not media_type.endswith("json"):
        return []
    schema_pointer = f"{pointer}/content/{escape(media_type)}/schema"
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{schema_pointer}"}, registry=registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [f"{status}: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in validator.iter_errors(response.json())]
