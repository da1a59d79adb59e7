"""``GET /docs``: the OpenAPI document rendered as one self-contained HTML page.

No script or stylesheet is loaded from elsewhere (deployments often have no route to a CDN):
the page is rendered here from ``openapi.yaml``, once per process.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from jinja2 import Environment, select_autoescape

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def openapi_yaml() -> bytes:
    """The packaged OpenAPI document (``api/openapi.yaml``)."""
    return files(__package__).joinpath("openapi.yaml").read_bytes()


@cache
def openapi_spec() -> dict[str, Any]:
    return yaml.load(openapi_yaml(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def docs_html() -> str:
    spec = openapi_spec()
    env = Environment(autoescape=select_autoescape(default=True), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False)
    return env.from_string(TEMPLATE).render(
        info=spec["info"], operations=list(operations(spec)),
        schemas=spec.get("components", {}).get("schemas", {}))


def operations(spec: dict[str, Any]) -> Any:
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, resolved(spec, item[method])


def resolved(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    """The operation with its responses' ``$ref`` followed (the page lists them inline)."""
    responses = {}
    for status, response in operation.get("responses", {}).items():
        while "$ref" in response:
            node: Any = spec
            for token in response["$ref"].removeprefix("#/").split("/"):
                node = node[token]
            response = node
        responses[status] = response
    return {**operation, "responses": responses}


TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ info.title }} {{ info.version }} — API</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
         padding: 0 1rem; color: #1d232a; }
  h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; margin-top: 2.5rem; }
  .op { border: 1px solid #d0d7de; border-radius: 6px; margin: 1rem 0; padding: .5rem 1rem; }
  .method { display: inline-block; min-width: 4rem; font-weight: 700; text-transform: uppercase; }
  .get { color: #0969da; } .post { color: #1a7f37; }
  code, pre { font: 13px ui-monospace, monospace; background: #f6f8fa; }
  pre { padding: .6rem; overflow-x: auto; border-radius: 4px; }
  details > summary { cursor: pointer; }
  table { border-collapse: collapse; } td, th { padding: .2rem .8rem .2rem 0; text-align: left; }
</style>
</head>
<body>
<h1>{{ info.title }} <small>{{ info.version }}</small></h1>
<p>{{ info.summary }}</p>
<p>The machine-readable description is <a href="openapi.yaml"><code>/openapi.yaml</code></a>
(OpenAPI 3.1).</p>
<pre>{{ info.description }}</pre>

<h2>Endpoints</h2>
{% for path, method, op in operations %}
<div class="op" id="{{ op.operationId }}">
  <p><span class="method {{ method }}">{{ method }}</span> <code>{{ path }}</code>
     — {{ op.summary }}{% if op.security == [] %} <em>(open)</em>{% endif %}</p>
  {% if op.description %}<p>{{ op.description }}</p>{% endif %}
  {% if op.requestBody %}
  <details><summary>Request body</summary>
  {% for media, content in op.requestBody.content.items() %}
    <p><code>{{ media }}</code></p><pre>{{ content.schema | pretty }}</pre>
  {% endfor %}
  </details>
  {% endif %}
  <table><tr><th>status</th><th>meaning</th><th>media type</th></tr>
  {% for status, response in op.responses.items() %}
    <tr><td><code>{{ status }}</code></td><td>{{ response.description }}</td>
        <td>{% for media in (response.content or {}) %}<code>{{ media }}</code> {% endfor %}
        </td></tr>
  {% endfor %}
  </table>
</div>
{% endfor %}

<h2>Schemas</h2>
{% for name, schema in schemas.items() %}
<details id="schema-{{ name }}"><summary><code>{{ name }}</code>
  {%- if schema.description %} — {{ schema.description.split('\\n')[0] }}{% endif %}</summary>
<pre>{{ schema | pretty }}</pre>
</details>
{% endfor %}
</body>
</html>
"""
