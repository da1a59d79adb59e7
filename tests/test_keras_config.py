"""A model sent as its ``model.get_config()``, which experiment trackers store and people print,
is checked as the ``model.to_json()`` that holds that config under ``config``: the same
answer, with its 422 paths and its fixes' JSON Patches pointing into the config that was sent.

The whole-model fixtures (tools/keras_fixtures/keras_json.py) record both documents from real
Keras 3 and tf.keras 2; the random sweeps and the fix fixtures hold ``to_json()`` documents,
whose ``config`` is what ``get_config()`` returns (the first test checks that on the records).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import requests
from keras_fixtures import FIXTURES
from shapecheck import check
from shapecheck.errors import RequestInvalid
from shapecheck.jsonpatch import apply_patch

MODELS = [pytest.param(json.loads(p.read_text()), id=f"{p.parent.parent.name}:{p.stem}")
          for p in sorted(FIXTURES.glob("*/models/*.json"))]
SWEEPS = [FIXTURES / "keras3" / "random" / "random_models_33101.json",
          FIXTURES / "tfkeras2" / "random" / "random_models_33201.json"]
SWEPT = [pytest.param(c["keras_json"], id=f"{path.stem}:{c['id']}")
         for path in SWEEPS for c in json.loads(path.read_text())["cases"] if "keras_json" in c]
FIXES = [pytest.param(c, id=c["name"])
         for c in json.loads((FIXTURES / "keras3" / "fixes.json").read_text())]


def as_sent_in_the_config(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer to a ``to_json()`` document, with its fix patches' pointers written as
    pointers into the document's ``config``."""
    answer = copy.deepcopy(answer)
    for diagnostic in answer["diagnostics"]:
        for fix in diagnostic.get("fixes", ()):
            for op in fix["patch"]:
                for key in ("path", "from"):
                    if key in op:
                        assert op[key].startswith("/config/"), op
                        op[key] = op[key][len("/config"):]
    return answer


def answer_or_errors(body: dict[str, Any]) -> dict[str, Any]:
    try:
        return check(body)
    except RequestInvalid as exc:
        return {"422": exc.errors}


def assert_checked_the_same(config: dict, keras_json: dict) -> None:
    """The answer to ``config`` is that to ``keras_json``, with paths into the config."""
    by_config = answer_or_errors({"model": config})
    by_json = answer_or_errors({"model": keras_json})
    if "422" in by_json:
        assert by_config == {"422": {path.replace("model.config", "model", 1): messages
                                     for path, messages in by_json["422"].items()}}
        return
    assert by_config == as_sent_in_the_config(by_json)


@pytest.mark.parametrize("record", MODELS)
def test_get_config_is_what_to_json_holds_and_is_checked_the_same(record: dict) -> None:
    assert record["get_config"] == record["keras_json"]["config"]
    assert_checked_the_same(record["get_config"], record["keras_json"])


@pytest.mark.parametrize("keras_json", SWEPT)
def test_every_model_of_a_sweep_is_checked_the_same_from_its_config(keras_json: dict) -> None:
    assert_checked_the_same(keras_json["config"], keras_json)


@pytest.mark.parametrize("case", FIXES)
def test_fixes_for_a_config_apply_to_that_config(case: dict) -> None:
    """Each fix Keras verified for the ``to_json()`` document, applied to the config that was
    sent instead, gives the output shape Keras gave."""
    request = {**case["request"], "model": case["request"]["model"]["config"]}
    answer = check(request)
    fixes = [fix for d in answer["diagnostics"] for fix in d.get("fixes", ())]
    assert [f["title"] for f in fixes] == [f["title"] for f in case["fixes"]]
    for fix, recorded in zip(fixes, case["fixes"], strict=True):
        fixed = check({**request, "model": apply_patch(request["model"], fix["patch"])})
        assert fixed["model"]["outputs"][0]["shape"] == recorded["keras"]["output_shape"]
        assert fixed["totals"]["params"] == recorded["keras"]["params"]


def test_an_argument_error_is_located_in_the_config() -> None:
    config = copy.deepcopy(next(c for c in json.loads(
        (FIXTURES / "keras3" / "fixes.json").read_text()) if c["name"] == "stacked_lstm"))
    config = config["request"]["model"]["config"]
    config["layers"][2]["config"]["units"] = -8
    with pytest.raises(RequestInvalid) as exc:
        check({"model": config})
    assert list(exc.value.errors) == ["model.layers.2.config.units"]


@pytest.mark.parametrize("layers", [
    [{"type": "Dense", "units": 2, "class_name": "Dense", "config": {}}],
    [{"class_name": "Dense", "config": {"units": 2}}, {"units": 3}],
])
def test_native_documents_are_not_read_as_configs(layers: list) -> None:
    """A layer with a ``type`` makes the document native, and so does one without either key:
    the native loader then says what the layer lacks."""
    body = {"model": {"inputs": [4], "layers": layers}}
    try:
        answer = check(body)
    except RequestInvalid as exc:
        assert list(exc.errors) == ["model.layers.0.type"]
        return
    assert answer["model"]["format"] == "native"


def test_the_service_checks_a_config(http: requests.Session, server_url: str) -> None:
    record = json.loads((FIXTURES / "tfkeras2" / "models" / "sequential_cnn.json").read_text())
    response = http.post(f"{server_url}/v1/check", json={"model": record["get_config"]},
                         timeout=30)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"]["format"] == "keras2"
    assert [row["output_shapes"] for row in answer["layers"]] == [
        layer["output_shapes"] for layer in record["layers"]]
