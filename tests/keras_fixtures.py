"""Loading the golden fixtures that tools/keras_fixtures/ writes from real Keras."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapecheck.arrays import decode

FIXTURES = Path(__file__).parent / "fixtures"


def cases(flavour: str = "keras3", kind: str = "layers") -> list[Any]:
    """pytest params of every case of every family file, with readable ids."""
    params = []
    for path in sorted((FIXTURES / flavour / kind).glob("*.json")):
        for case in json.loads(path.read_text())["cases"]:
            params.append(pytest.param(case, id=f"{path.stem}:{case['id']}"))
    return params


def array(value: dict[str, Any]) -> Any:
    return decode(value, "fixture")
