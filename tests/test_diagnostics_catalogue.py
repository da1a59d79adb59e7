"""docs/diagnostics.md is the catalogue of every diagnostic code: each example request, posted to
the real server, produces the diagnostic the page shows."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from shapecheck import diagnostics

ROOT = Path(__file__).resolve().parents[1]
API_MD = Path(os.environ.get("SHAPECHECK_API_MD", ROOT.parent / "shared" / "API.md"))
PAGE = (ROOT / "docs" / "diagnostics.md").read_text()
SECTION = re.compile(r"^### `(?P<code>[a-z0-9_]+)` \((?P<severity>error|warning|info)\)$", re.M)
BLOCK = re.compile(r"^```json (?P<kind>[a-z0-9-]+)\n(?P<body>.*?)^```$", re.M | re.S)


def sections() -> dict[str, dict[str, Any]]:
    """code -> {"severity", "request", "answer"} from the page."""
    found = {}
    heads = list(SECTION.finditer(PAGE))
    for head, following in zip(heads, [*heads[1:], None], strict=True):
        text = PAGE[head.end():following.start() if following else len(PAGE)]
        blocks = {m["kind"]: json.loads(m["body"]) for m in BLOCK.finditer(text)}
        found[head["code"]] = {"severity": head["severity"], **blocks}
    return found


SECTIONS = sections()
CODES = sorted(value for name, value in vars(diagnostics).items()
               if name.isupper() and value not in ("error", "warning", "info"))


def test_every_code_of_the_engine_is_in_the_catalogue() -> None:
    assert sorted(SECTIONS) == CODES


def test_every_code_of_the_contract_is_in_the_catalogue() -> None:
    if not API_MD.exists():
        pytest.skip(f"{API_MD} is not here")
    contract = set(re.findall(r"^\| `([a-z_]+)` \|", API_MD.read_text(), re.M))
    assert len(contract) >= 9
    assert contract <= set(CODES)


@pytest.mark.parametrize("code", CODES)
def test_the_example_request_produces_the_documented_diagnostic(
        code: str, http: requests.Session, server_url: str) -> None:
    section = SECTIONS[code]
    response = http.post(f"{server_url}/v1/check", json=section["request"], timeout=30)
    assert response.status_code == 200, response.text
    produced = [d for d in response.json()["diagnostics"] if d["code"] == code]
    assert produced, f"the example of {code} does not produce it"
    assert produced[0] == section["answer"]
    assert section["answer"]["severity"] == section["severity"]


def test_a_refused_argument_is_a_422_as_documented(http: requests.Session,
                                                    server_url: str) -> None:
    blocks = {m["kind"]: json.loads(m["body"]) for m in BLOCK.finditer(PAGE)}
    response = http.post(f"{server_url}/v1/check", json=blocks["request-422"], timeout=30)
    problem = response.json()
    assert response.status_code == blocks["problem"]["status"] == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert problem["errors"] == blocks["problem"]["errors"]
