"""openapi.yaml: a valid OpenAPI 3.1 document that covers the HTTP contract (shared/API.md).

Validated with openapi-spec-validator when it is installed; the structural checks below run
regardless. Every example in the document is validated against its schema, so that the
examples (taken from API.md) and the schemas cannot drift apart.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[1]
SPEC_PATH = REPO / "openapi.yaml"
# shared/ sits beside the repository (in CI too); SHAPECHECK_API_MD may point elsewhere.
API_MD = Path(os.environ.get("SHAPECHECK_API_MD", REPO.parent / "shared" / "API.md"))

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# The endpoints of the service, whether or not API.md lists them.
ENDPOINTS = {
    ("post", "/v1/check"),
    ("get", "/v1/layers"),
    ("get", "/livez"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.yaml"),
    ("get", "/docs"),
}
OPEN_ENDPOINTS = {path for _, path in ENDPOINTS if not path.startswith("/v1/")}
PROBLEM_MEDIA_TYPE = "application/problem+json"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open() as f:
        return yaml.safe_load(f)


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local $refs (possibly chained) to the node they name."""
    while isinstance(node, dict) and "$ref" in node:
        node = pointer(spec, node["$ref"])
    return node


def pointer(spec: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are expected: {ref}"
    node: Any = spec
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def walk(node: Any, path: str = "#") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


def responses(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {code: resolve(spec, response) for code, response in operation["responses"].items()}


# --- A well-formed OpenAPI 3.1 document ------------------------------------------------------


def test_is_openapi_3_1(spec) -> None:
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] and spec["info"]["version"]
    assert [server["url"] for server in spec["servers"]] == ["http://127.0.0.1:8000"]


def test_passes_openapi_spec_validator(spec) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec)  # raises on the first error


def test_openapi_spec_validator_rejects_a_broken_document(spec) -> None:
    # Guards against the test above passing vacuously.
    validator = pytest.importorskip("openapi_spec_validator")
    broken = copy.deepcopy(spec)
    del broken["paths"]["/v1/check"]["post"]["responses"]
    broken["components"]["schemas"]["Shape"]["type"] = "tuple"
    with pytest.raises(Exception, match=r"responses|tuple"):
        validator.validate(broken)


def test_every_reference_resolves(spec) -> None:
    refs = [node["$ref"] for _, node in walk(spec) if isinstance(node, dict) and "$ref" in node]
    assert refs
    for ref in refs:
        pointer(spec, ref)  # KeyError/IndexError if dangling


def test_every_component_is_used(spec) -> None:
    refs = {node["$ref"] for _, node in walk(spec) if isinstance(node, dict) and "$ref" in node}
    for section in ("schemas", "responses", "headers", "examples"):
        for name in spec["components"][section]:
            assert f"#/components/{section}/{name}" in refs, f"unused {section}/{name}"


def test_operations_have_unique_ids_and_responses(spec) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))
    for method, path, operation in operations(spec):
        codes = set(operation["responses"])
        assert any(code.startswith("2") for code in codes), f"{method} {path}: no success"
        assert all(re.fullmatch(r"[1-5]\d\d|default", code) for code in codes)


# --- Coverage of the contract ----------------------------------------------------------------


def test_every_service_endpoint_is_described(spec) -> None:
    described = {(method, path) for method, path, _ in operations(spec)}
    assert described >= ENDPOINTS


def api_md_endpoints() -> set[tuple[str, str]]:
    text = API_MD.read_text()
    return {
        (method.lower(), path)
        for method, path in re.findall(r"\b(GET|POST|PUT|PATCH|DELETE) (/[\w./{}-]*\w)", text)
    }


def test_every_endpoint_in_api_md_is_described(spec) -> None:
    if not API_MD.exists():
        pytest.skip(f"{API_MD} is not there")
    listed = api_md_endpoints()
    assert ("post", "/v1/check") in listed, "the endpoint list of API.md was not understood"
    described = {(method, path) for method, path, _ in operations(spec)}
    assert listed <= described, listed - described


def test_seed_example_is_the_native_model_of_api_md(spec) -> None:
    if not API_MD.exists():
        pytest.skip(f"{API_MD} is not there")
    match = re.search(r"Native:\s*```json\n(.*?)```", API_MD.read_text(), re.S)
    assert match, "API.md has no native model example"
    example = spec["components"]["examples"]["ClassifierRequest"]["value"]
    assert example["model"] == json.loads(match[1])


def test_problem_schema(spec) -> None:
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    errors = problem["properties"]["errors"]
    assert errors["type"] == "object"
    assert errors["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


def test_errors_are_problem_json(spec) -> None:
    for method, path, operation in operations(spec):
        for code, response in responses(spec, operation).items():
            if code == "default" or int(code) >= 400:
                content = response["content"]
                assert list(content) == [PROBLEM_MEDIA_TYPE], f"{method} {path} {code}"
                schema = resolve(spec, content[PROBLEM_MEDIA_TYPE]["schema"])
                assert schema is spec["components"]["schemas"]["Problem"] or {
                    "$ref": "#/components/schemas/Problem"
                } in schema.get("allOf", []), f"{method} {path} {code}"


def test_check_declares_every_error_status(spec) -> None:
    operation = spec["paths"]["/v1/check"]["post"]
    assert {"200", "400", "401", "413", "422", "429", "503"} <= set(operation["responses"])


def test_422_requires_field_errors(spec) -> None:
    response = responses(spec, spec["paths"]["/v1/check"]["post"])["422"]
    schema = resolve(spec, response["content"][PROBLEM_MEDIA_TYPE]["schema"])
    required = {name for part in schema["allOf"] for name in resolve(spec, part)["required"]}
    assert "errors" in required


def test_429_and_503_carry_retry_after(spec) -> None:
    seen = 0
    for _, _, operation in operations(spec):
        for code, response in responses(spec, operation).items():
            if code in {"429", "503"}:
                header = resolve(spec, response["headers"]["Retry-After"])
                assert header["required"] is True
                seen += 1
    assert seen >= 3


def test_security_is_optional_bearer(spec) -> None:
    assert spec["security"] == [{}, {"bearerAuth": []}]
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for method, path, operation in operations(spec):
        if path in OPEN_ENDPOINTS:
            assert operation["security"] == [], f"{method} {path} must stay open"
        else:
            assert "security" not in operation, f"{method} {path} inherits the optional key"
            assert "401" in operation["responses"], f"{method} {path}"


def test_shape_is_an_array_of_integer_or_null(spec) -> None:
    shape = spec["components"]["schemas"]["Shape"]
    assert shape["type"] == "array"
    assert set(shape["items"]["type"]) == {"integer", "null"}


def test_model_is_open_with_the_native_properties(spec) -> None:
    model = spec["components"]["schemas"]["Model"]
    assert model["additionalProperties"] is True
    assert {"name", "inputs", "layers", "outputs"} <= set(model["properties"])


def test_check_result_has_every_documented_field(spec) -> None:
    schemas = spec["components"]["schemas"]
    result = schemas["CheckResult"]
    assert set(result["required"]) == {"ok", "model", "layers", "totals", "diagnostics", "summary"}
    assert "forward" in result["properties"]
    assert set(schemas["Totals"]["required"]) == {
        "params",
        "trainable_params",
        "non_trainable_params",
        "param_bytes",
        "macs",
    }
    assert {"fixes", "hint"} <= set(schemas["Diagnostic"]["properties"])
    assert set(schemas["LayerSpec"]["required"]) == {
        "type",
        "family",
        "aliases",
        "arguments",
        "description",
    }


# --- Examples agree with their schemas -------------------------------------------------------


def media_examples(spec: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(id, JSON pointer to the media type's schema, example value) for every JSON example."""
    for location, node in walk(spec):
        parts = location.split("/")
        if len(parts) < 2 or parts[-2] != "content" or "schema" not in node:
            continue
        if not parts[-1].replace("~1", "/").endswith("json"):
            continue
        schema_ref = f"{location}/schema"
        if "example" in node:
            yield location, schema_ref, node["example"]
        for name, example in node.get("examples", {}).items():
            yield f"{location}#{name}", schema_ref, resolve(spec, example)["value"]


def schema_validator(spec: dict[str, Any], schema_ref: str):
    """A JSON Schema validator for the schema at schema_ref, resolving refs within the spec."""
    try:
        from openapi_schema_validator import OAS31Validator as validator_class
    except ImportError:
        validator_class = pytest.importorskip("jsonschema").Draft202012Validator
    # The whole document is the root resource, so that "#/components/..." refs resolve.
    root = {**spec, "$ref": schema_ref}
    return validator_class(root)


def _examples() -> list[Any]:
    with SPEC_PATH.open() as f:
        found = media_examples(yaml.safe_load(f))
        return [pytest.param(*found_example, id=found_example[0]) for found_example in found]


@pytest.mark.parametrize(("where", "schema_ref", "example"), _examples())
def test_example_matches_its_schema(spec, where: str, schema_ref: str, example: Any) -> None:
    errors = sorted(schema_validator(spec, schema_ref).iter_errors(example), key=str)
    assert not errors, f"{where}: " + "; ".join(e.message for e in errors[:3])


def test_every_documented_body_has_an_example(spec) -> None:
    where = {location for location, _, _ in media_examples(spec)}
    check = "#/paths/~1v1~1check/post"
    assert f"{check}/requestBody/content/application~1json#classifier" in where
    assert f"{check}/responses/200/content/application~1json#missingFlatten" in where


def test_schemas_reject_a_malformed_body(spec) -> None:
    # Guards against the example test passing vacuously (e.g. refs resolving to nothing).
    request = "#/paths/~1v1~1check/post/requestBody/content/application~1json/schema"
    validator = schema_validator(spec, request)
    good = copy.deepcopy(spec["components"]["examples"]["ClassifierRequest"]["value"])
    assert validator.is_valid(good)
    for breakage in (
        lambda body: body.pop("model"),
        lambda body: body.update(x_shape=[100, "100", 3]),
        lambda body: body["model"].pop("layers"),
        lambda body: body["model"]["layers"][0].pop("type"),
        lambda body: body.update(batch_size=0),
        lambda body: body.update(forward={"return": "everything"}),
    ):
        bad = copy.deepcopy(good)
        breakage(bad)
        assert not validator.is_valid(bad), bad
    result = "#/paths/~1v1~1check/post/responses/200/content/application~1json/schema"
    bad_result = copy.deepcopy(spec["components"]["examples"]["ClassifierResult"]["value"])
    bad_result["model"]["format"] = "pytorch"
    assert not schema_validator(spec, result).is_valid(bad_result)


@pytest.mark.parametrize("name", ["ClassifierResult", "MissingFlattenResult", "ForwardResult"])
def test_result_examples_keep_the_contract(spec, name: str) -> None:
    result = spec["components"]["examples"][name]["value"]
    # ok is false exactly when some diagnostic is an error.
    assert result["ok"] is not any(d["severity"] == "error" for d in result["diagnostics"])
    totals, layers = result["totals"], result["layers"]
    for key in ("params", "trainable_params", "non_trainable_params", "macs"):
        assert totals[key] == sum(layer[key] for layer in layers), key
    assert totals["params"] == totals["trainable_params"] + totals["non_trainable_params"]
    assert totals["param_bytes"] == 4 * totals["params"]  # float32 weights
    assert result["model"]["outputs"][0]["shape"] == layers[-1]["output_shapes"][0]


def test_the_spec_names_every_dtype_of_the_engine(spec) -> None:
    from shapecheck.arrays import DTYPES
    from shapecheck.layers.base import EXACT_DTYPES, FLOAT_DTYPES

    schemas = spec["components"]["schemas"]
    assert set(schemas["EncodedArray"]["properties"]["dtype"]["enum"]) == set(DTYPES)
    assert set(schemas["ForwardOutput"]["properties"]["dtype"]["enum"]) == {
        "float32", *EXACT_DTYPES, *FLOAT_DTYPES}
    assert set(schemas["NamedTensor"]["properties"]["dtype"]["enum"]) == {
        *EXACT_DTYPES, *FLOAT_DTYPES}


def test_the_spec_names_every_diagnostic_code_the_engine_has(spec) -> None:
    from shapecheck import diagnostics

    engine_codes = {value for name, value in vars(diagnostics).items()
                    if name.isupper() and name not in ("ERROR", "WARNING", "INFO")}
    code = spec["components"]["schemas"]["Diagnostic"]["properties"]["code"]
    assert set(code["examples"]) == engine_codes
    assert all(f"`{c}`" in code["description"] for c in engine_codes)
