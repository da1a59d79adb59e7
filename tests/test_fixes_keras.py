"""Fixes written against Keras JSON load in real Keras and give what the engine promised.

``tests/fixtures/keras3/fixes.json`` (tools/keras_fixtures/fix_fixtures.py) holds Keras 3 and
tf.keras 2 documents with real mistakes, the fixes the engine offered for them, and what Keras 3
computed after loading each patched document with ``model_from_json``: the output shape and the
parameter count. The engine must still offer exactly those patches, with Keras' numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapecheck import check

CASES = json.loads((Path(__file__).parent / "fixtures" / "keras3" / "fixes.json").read_text())


def offered(request: dict[str, Any]) -> list[dict[str, Any]]:
    answer = check(request)
    return [{"code": d["code"], "layer": d["layer"], **fix}
            for d in answer["diagnostics"] for fix in d["fixes"]]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_keras_loads_every_fix_with_the_promised_result(case: dict[str, Any]) -> None:
    assert case["fixes"], "every recorded mistake has a fix"
    for fix in case["fixes"]:
        promised = {"output_shape": fix["result"]["output_shape"],
                    "params": fix["result"]["params"]}
        assert fix["keras"] == promised, fix["title"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_engine_still_offers_the_verified_patches(case: dict[str, Any]) -> None:
    now = offered(case["request"])
    recorded = [{k: v for k, v in fix.items() if k != "keras"} for fix in case["fixes"]]
    assert now == recorded


def test_both_keras_formats_and_both_model_kinds_are_covered() -> None:
    kinds = {(c["request"]["model"].get("module") is not None,
              c["request"]["model"]["class_name"]) for c in CASES}
    assert {(True, "Sequential"), (True, "Functional"), (False, "Sequential"),
            (False, "Functional")} <= kinds
    inserted_in_functional = [
        fix for c in CASES if c["request"]["model"]["class_name"] == "Functional"
        for fix in c["fixes"] if any(op["op"] == "add" and op["path"].count("/") == 3
                                     for op in fix["patch"])]
    assert len(inserted_in_functional) >= 4
