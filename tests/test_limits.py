"""The engine's limits: the quick walk that passes most models agrees with the full one that
spells out where a model is over a limit."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from shapecheck import limits
from shapecheck.config import Limits
from shapecheck.errors import LimitExceeded, RequestInvalid

LIMITS = Limits(max_layers=6, max_rank=4)
DENSE = {"type": "Dense", "units": 3}


def keras(class_name: str, **config: Any) -> dict[str, Any]:
    return {"class_name": class_name, "config": config}


WITHIN = [
    {"inputs": [8], "layers": [DENSE] * 5},
    {"inputs": {"a": [8], "b": [2, 3]}, "layers": [DENSE] * 4},
    {"layers": [{**DENSE, "input_shape": [2, 3, 4]}, {"type": "Reshape", "target_shape": [24]}]},
    keras("Sequential", layers=[keras("InputLayer", batch_shape=[None, 2, 3, 4]),
                                keras("Bidirectional", layer=keras("LSTM", units=2))]),
    keras("Sequential", name="old", layers=None),
]
OVER = [
    ({"inputs": [8], "layers": [DENSE] * 7}, LimitExceeded),
    ({"inputs": {str(i): [8] for i in range(7)}, "layers": []}, LimitExceeded),
    ({"inputs": [8], "layers": [{**DENSE, "inputs": ["input"] * 7}]}, LimitExceeded),
    ({"inputs": [1, 2, 3, 4], "layers": [DENSE]}, RequestInvalid),
    ({"inputs": {"a": [8], "b": [1, 2, 3, 4]}, "layers": [DENSE]}, RequestInvalid),
    ({"inputs": [8], "layers": [{"type": "Reshape", "target_shape": [1, 2, 3, 4]}]},
     RequestInvalid),
    ({"layers": [{**DENSE, "batch_input_shape": []}]}, RequestInvalid),
    (keras("Sequential", layers=[keras("Bidirectional", layer=keras(
        "LSTM", units=2, batch_input_shape=[None, 1, 2, 3, 4]))]), RequestInvalid),
    # Keras <= 2.2: a Sequential's config is the layer list itself.
    ({"class_name": "Sequential", "config": [keras("Dense", units=2)] * 7}, LimitExceeded),
    (keras("Functional", build_config=None, layers=[
        keras("TimeDistributed", layer=keras("TimeDistributed", layer=keras(
            "TimeDistributed", layer=keras("Dense", units=1))))] * 2), LimitExceeded),
    ({"inputs": [8], "build_config": {"input_shape": [None, 1, 2, 3, 4]}, "layers": [DENSE]},
     RequestInvalid),
]


def refusal(run: Any) -> tuple[type, Any] | None:
    try:
        run()
    except (LimitExceeded, RequestInvalid) as exc:
        return type(exc), getattr(exc, "errors", None) or str(exc)
    return None


@pytest.mark.parametrize("model", WITHIN)
def test_models_within_the_limits_pass_the_quick_walk(model):
    assert limits.surely_within(model, LIMITS)
    limits.enforce({"model": model}, LIMITS)


@pytest.mark.parametrize(("model", "error"), OVER)
def test_a_model_over_a_limit_is_refused_as_the_full_walk_refuses_it(model, error):
    assert not limits.surely_within(model, LIMITS)
    expected = refusal(lambda: limits.enforce_model(model, LIMITS))
    assert expected is not None and expected[0] is error
    assert refusal(lambda: limits.enforce({"model": model}, LIMITS)) == expected


def proxied(value: Any) -> Any:
    """The same document with every object a read-only mapping that is not a dict."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: proxied(v) for k, v in value.items()})
    if isinstance(value, list):
        return [proxied(v) for v in value]
    return value


def documents() -> Iterator[tuple[Any, type | None]]:
    yield from ((model, None) for model in WITHIN)
    yield from OVER


@pytest.mark.parametrize(("model", "error"), list(documents()))
def test_mappings_that_are_not_dicts_take_the_full_walk(model, error):
    other = proxied(model)
    assert not limits.surely_within(other, LIMITS)
    found = refusal(lambda: limits.enforce({"model": other}, LIMITS))
    assert (found[0] if found else None) is error
    assert found == refusal(lambda: limits.enforce({"model": model}, LIMITS))
