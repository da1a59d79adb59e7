"""The client's ``inprocess:`` URL: the service's own app in the client's process, no server."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from seed_models import SAVED, SEED_000, SEED_000_ARGS, SEED_000_DATA
from shapecheck_client import Client, PayloadTooLarge, ShapecheckError, ValidationError
from shapecheck_client.cli import main


@pytest.fixture
def local() -> Iterator[Client]:
    with Client("inprocess:") as client:
        yield client


def test_a_check_in_process_answers_what_the_server_answers(
    local: Client, server_url: str
) -> None:
    with Client(server_url) as remote:
        over_http = remote.check(SEED_000, **SEED_000_DATA)
    in_process = local.check(SEED_000, **SEED_000_DATA)
    assert in_process.raw == over_http.raw
    assert [(d.code, d.layer) for d in in_process.errors] == [("target_shape_mismatch",
                                                               "dense_1")]
    assert in_process.errors[0].fixes  # verified by the engine, in this process


def test_get_calls_and_problem_answers_go_through_the_app(local: Client) -> None:
    assert {"Conv2D", "Dense", "Flatten"} <= {layer["type"] for layer in local.layers()}
    with pytest.raises(ValidationError) as exc:
        local.check({"inputs": [3], "layers": [{"type": "Dense", "units": -1}]})
    assert exc.value.status == 422
    assert exc.value.errors == {"model.layers.0.units": ["must be >= 1, got -1"]}


def test_the_limits_of_the_environment_hold_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHAPECHECK_MAX_BODY_BYTES", "1000")
    with Client("inprocess:") as client, pytest.raises(PayloadTooLarge):
        client.check({"inputs": [3], "layers": [{"type": "Dense", "units": 1}] * 100})


def test_without_the_service_package_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "shapecheck.api", None)  # import raises ImportError
    with pytest.raises(ShapecheckError, match=r"needs its package installed \(pip install"):
        Client("inprocess:")


def test_the_cli_checks_in_process_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHAPECHECK_URL", "inprocess:")
    assert main(["check", str(SAVED / "seed000.h5"), *SEED_000_ARGS]) == 1
    captured = capsys.readouterr()
    assert "error target_shape_mismatch at dense_1: " in captured.out
    assert captured.err == ""  # no access log lines: the caller has no use for them
