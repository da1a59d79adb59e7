"""Every layer case recorded from real Keras 3: same shapes, same parameter counts, the same
refused layer, and (where recorded) the same numbers out of the forward pass."""

from __future__ import annotations

import pytest
from keras_fixtures import assert_forward_as_recorded, assert_rows_equal, cases, layers_in_error
from shapecheck import check
from shapecheck.errors import RequestInvalid
from shapecheck.formats.common import canonical_name

LAYER_CASES = cases()


@pytest.mark.parametrize("case", LAYER_CASES)
def test_shapes_and_params_match_keras(case: dict) -> None:
    if "error" in case and refused_as_invalid_arguments(case):
        return
    result = check({"model": case["native"]})
    if "error" in case:
        errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
        assert not result["ok"], f"Keras refuses this model: {case['error']['message']}"
        assert errors[0]["layer"] == case["error"]["layer"], errors
        return
    assert_rows_equal(result, case["layers"], case["totals"]["params"],
                      layers_in_error(case, result))


def refused_as_invalid_arguments(case: dict) -> bool:
    """Keras refuses some argument combinations when the layer is built (filters not divisible
    by groups, ...); shapecheck answers those with a 422 naming that layer's arguments."""
    names = [e.get("name") for e in case["native"]["layers"]]
    try:
        check({"model": case["native"]})
    except RequestInvalid as exc:
        failing = case["error"]["layer"]
        index = names.index(failing) if failing in names else auto_index(case, failing)
        assert all(path.startswith(f"model.layers.{index}") for path in exc.errors), exc.errors
        return True
    return False


def auto_index(case: dict, name: str) -> int:
    """Index of an automatically named layer (``conv2d_1``) in the native document."""
    analysis_names = [row["name"] for row in check_names(case)]
    return analysis_names.index(name)


def check_names(case: dict) -> list[dict]:
    from shapecheck.formats.naming import AutoNamer

    namer = AutoNamer()
    return [{"name": e.get("name") or namer.name(canonical_name(e["type"]))}
            for e in case["native"]["layers"]]


FORWARD_CASES = [c for c in LAYER_CASES if "forward" in c.values[0]]


@pytest.mark.parametrize("case", FORWARD_CASES)
def test_forward_matches_keras_predict(case: dict) -> None:
    assert_forward_as_recorded(case["native"], case["forward"])


REFUSED_BY_PREDICT = [c for c in LAYER_CASES if "predict_refused" in c.values[0]]


@pytest.mark.parametrize("case", REFUSED_BY_PREDICT)
def test_where_predict_fails_so_does_the_check_or_the_forward_pass(case: dict) -> None:
    """Keras builds these models but its predict fails: the check reports an error, or the
    forward pass refuses the request (a 422 naming the layer), never numbers Keras cannot
    give."""
    result = check({"model": case["native"]})
    if not result["ok"]:
        return
    with pytest.raises(RequestInvalid):
        check({"model": case["native"], "forward": {"batch_size": 2}})
