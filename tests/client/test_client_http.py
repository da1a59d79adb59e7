"""The client against a real scripted HTTP server on loopback: requests, errors, retries."""

from __future__ import annotations

import json
import socket
import sys
import time
import zipfile
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from seed_models import SAVED
from shapecheck_client import (
    AuthenticationError,
    Client,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    ShapecheckError,
    ValidationError,
    parse_retry_after,
)
from shapecheck_client.client import load_model

MODEL = {"inputs": [4], "layers": [{"type": "Dense", "units": 1}]}
OK = {"ok": True, "layers": [], "diagnostics": [], "summary": "table", "totals": {"params": 5}}
OVERLOADED = {"type": "about:blank", "title": "Service Unavailable", "status": 503}
INVALID = {
    "type": "about:blank",
    "title": "Unprocessable Content",
    "status": 422,
    "detail": "the body does not match the schema",
    "errors": {"model.layers.0.units": ["Must be greater than or equal to 1."]},
}


def fast_client(url: str, **kwargs: Any) -> Client:
    """A client that retries without real waits unless the server asks for them."""
    return Client(url, backoff=kwargs.pop("backoff", 0.0), **kwargs)


def test_check_posts_the_body_without_none_fields(scripted_server: Any) -> None:
    scripted_server.add(200, OK)
    with fast_client(scripted_server.url, api_key="s3cret") as client:
        result = client.check(MODEL, x_shape=(None, 4), loss="mse")
    assert result.ok and result.totals == {"params": 5}
    (request,) = scripted_server.received
    assert (request.method, request.path) == ("POST", "/v1/check")
    assert request.body == {"model": MODEL, "x_shape": [None, 4], "loss": "mse"}
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.headers["User-Agent"].startswith("shapecheck-client/")


def test_forward_and_overrides_go_in_the_body(scripted_server: Any) -> None:
    forward = {"outputs": [{"name": "dense", "shape": [2, 1], "dtype": "float32"}]}
    scripted_server.add(200, {**OK, "forward": forward})
    overrides = {"custom": {"output_shape": [None, 16], "params": 272}}
    with fast_client(scripted_server.url) as client:
        result = client.check(MODEL, forward={"batch_size": 2}, overrides=overrides, batch_size=2)
    assert result.forward == forward
    assert scripted_server.received[0].body == {
        "model": MODEL,
        "batch_size": 2,
        "forward": {"batch_size": 2},
        "overrides": overrides,
    }


def test_no_authorization_header_without_a_key(
    scripted_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHAPECHECK_API_KEY", raising=False)
    scripted_server.add(200, OK)
    with fast_client(scripted_server.url) as client:
        client.check(MODEL)
    assert "Authorization" not in scripted_server.received[0].headers


def test_url_and_key_come_from_the_environment(
    scripted_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHAPECHECK_URL", scripted_server.url + "/")
    monkeypatch.setenv("SHAPECHECK_API_KEY", "from-env")
    scripted_server.add(200, {"layers": [{"type": "Dense"}]})
    with Client() as client:
        assert client.base_url == scripted_server.url
        assert client.layers() == [{"type": "Dense"}]
    (request,) = scripted_server.received
    assert (request.method, request.path) == ("GET", "/v1/layers")
    assert request.headers["Authorization"] == "Bearer from-env"


def test_default_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHAPECHECK_URL", raising=False)
    with Client() as client:
        assert client.base_url == "http://127.0.0.1:8000"


class KerasLike:
    def to_json(self) -> str:
        return json.dumps(MODEL)


@pytest.mark.parametrize(
    "form", ["dict", "json string", "str path", "Path", "to_json"], ids=lambda form: form
)
def test_model_forms(scripted_server: Any, tmp_path: Path, form: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(MODEL))
    model = {
        "dict": MODEL,
        "json string": json.dumps(MODEL),
        "str path": str(path),
        "Path": path,
        "to_json": KerasLike(),
    }[form]
    scripted_server.add(200, OK)
    with fast_client(scripted_server.url) as client:
        client.check(model)
    assert scripted_server.received[0].body == {"model": MODEL}


def test_a_keras_archive_gives_its_config_json(scripted_server: Any, tmp_path: Path) -> None:
    path = tmp_path / "model.keras"  # what model.save() writes: a zip, the model in config.json
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
        archive.writestr("config.json", json.dumps(MODEL))
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    scripted_server.add(200, OK)
    with fast_client(scripted_server.url) as client:
        client.check(path)
    assert scripted_server.received[0].body == {"model": MODEL}


def test_other_model_files_are_refused_with_what_to_do(tmp_path: Path) -> None:
    archive_path = tmp_path / "weights.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match=r"without config\.json, not a Keras \.keras file"):
        load_model(archive_path)


def test_an_hdf5_model_file_gives_its_model_config(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as file:  # as Keras' model.save("model.h5") writes it
        file.attrs["model_config"] = json.dumps(MODEL)
        file.create_group("model_weights")
    assert load_model(path) == MODEL


def test_hdf5_files_without_a_model_are_refused_with_what_to_do(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    weights, damaged = tmp_path / "model.weights.h5", tmp_path / "damaged.h5"
    with h5py.File(weights, "w") as file:  # what save_weights() writes: no architecture
        file.create_group("layers")
    damaged.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    with pytest.raises(ValueError, match="without a model_config: weights only"):
        load_model(weights)
    with pytest.raises(ValueError, match="is not a readable HDF5 file"):
        load_model(damaged)


def test_without_h5py_an_hdf5_model_file_is_read_all_the_same(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = json.loads((SAVED / "seed000.json").read_text())
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py raises ImportError
    assert load_model(SAVED / "seed000.h5")["config"]["name"] == "seed000"
    assert load_model(SAVED / "seed000.h5") == json.loads(
        recorded["h5_root_attrs"]["model_config"])


def test_a_model_of_another_kind_is_a_type_error(scripted_server: Any) -> None:
    with fast_client(scripted_server.url) as client, pytest.raises(TypeError, match="to_json"):
        client.check(42)
    assert scripted_server.received == []


def test_503_then_200_is_retried(scripted_server: Any) -> None:
    scripted_server.add(503, OVERLOADED, headers={"Retry-After": "0"}).add(200, OK)
    with fast_client(scripted_server.url) as client:
        assert client.check(MODEL).ok
    assert len(scripted_server.received) == 2
    assert scripted_server.received[0].body == scripted_server.received[1].body


def test_429_then_200_is_retried(scripted_server: Any) -> None:
    scripted_server.add(429, {"title": "Too Many Requests"}, headers={"Retry-After": "0"})
    scripted_server.add(200, OK)
    with fast_client(scripted_server.url) as client:
        assert client.check(MODEL).ok
    assert len(scripted_server.received) == 2


def test_retry_after_seconds_is_honoured(scripted_server: Any) -> None:
    scripted_server.add(503, OVERLOADED, headers={"Retry-After": "1"}).add(200, OK)
    started = time.monotonic()
    with fast_client(scripted_server.url) as client:
        client.check(MODEL)
    assert time.monotonic() - started >= 0.95


def test_retry_after_http_date_is_honoured(scripted_server: Any) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    scripted_server.add(429, {}, headers={"Retry-After": later}).add(200, OK)
    started = time.monotonic()
    with fast_client(scripted_server.url) as client:
        client.check(MODEL)
    assert time.monotonic() - started >= 0.9  # the date has one-second resolution


def test_always_503_gives_service_unavailable_after_the_retries(scripted_server: Any) -> None:
    scripted_server.add(503, OVERLOADED, headers={"Retry-After": "0"})
    with (
        fast_client(scripted_server.url, retries=2) as client,
        pytest.raises(ServiceUnavailable) as caught,
    ):
        client.check(MODEL)
    assert len(scripted_server.received) == 3
    assert caught.value.status == 503
    assert caught.value.retry_after == 0.0
    assert "Service Unavailable" in str(caught.value)


def test_always_429_gives_rate_limited(scripted_server: Any) -> None:
    scripted_server.add(429, {"title": "Too Many Requests"}, headers={"Retry-After": "0.25"})
    with (
        fast_client(scripted_server.url, retries=1) as client,
        pytest.raises(RateLimited) as caught,
    ):
        client.check(MODEL)
    assert caught.value.retry_after == 0.25
    assert len(scripted_server.received) == 2


def test_backoff_without_retry_after(scripted_server: Any) -> None:
    scripted_server.add(503, OVERLOADED)
    started = time.monotonic()
    with (
        Client(scripted_server.url, retries=2, backoff=0.2) as client,
        pytest.raises(ServiceUnavailable),
    ):
        client.check(MODEL)
    # Waits of 0.1-0.2 s then 0.2-0.4 s: half to all of backoff * 2**attempt.
    assert 0.3 <= time.monotonic() - started < 2.0
    assert len(scripted_server.received) == 3


def test_retries_zero_means_one_attempt(scripted_server: Any) -> None:
    scripted_server.add(503, OVERLOADED, headers={"Retry-After": "0"})
    with fast_client(scripted_server.url, retries=0) as client, pytest.raises(ServiceUnavailable):
        client.check(MODEL)
    assert len(scripted_server.received) == 1


def test_422_is_a_validation_error_and_not_retried(scripted_server: Any) -> None:
    scripted_server.add(422, INVALID)
    with fast_client(scripted_server.url) as client, pytest.raises(ValidationError) as caught:
        client.check(MODEL)
    assert len(scripted_server.received) == 1
    error = caught.value
    assert error.status == 422
    assert error.errors == {"model.layers.0.units": ["Must be greater than or equal to 1."]}
    assert error.problem["title"] == "Unprocessable Content"
    assert "the body does not match the schema" in str(error)
    assert "model.layers.0.units: Must be greater than or equal to 1." in str(error)


def test_a_path_the_detail_names_is_not_repeated(scripted_server: Any) -> None:
    problem = {**INVALID, "detail": "model.layers.0.units: must be >= 1, got -3"}
    scripted_server.add(422, problem)
    with fast_client(scripted_server.url) as client, pytest.raises(ValidationError) as caught:
        client.check(MODEL)
    assert str(caught.value) == (
        "HTTP 422: Unprocessable Content: model.layers.0.units: must be >= 1, got -3"
    )
    assert caught.value.errors == INVALID["errors"]


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (401, AuthenticationError),
        (413, PayloadTooLarge),
        (400, ShapecheckError),
        (404, ShapecheckError),
        (500, ShapecheckError),
    ],
)
def test_other_errors_are_not_retried(
    scripted_server: Any, status: int, error_class: type[ShapecheckError]
) -> None:
    scripted_server.add(status, {"title": f"status {status}", "detail": "why", "status": status})
    with fast_client(scripted_server.url) as client, pytest.raises(error_class) as caught:
        client.check(MODEL)
    assert type(caught.value) is error_class
    assert caught.value.status == status
    assert str(caught.value) == f"HTTP {status}: status {status}: why"
    assert len(scripted_server.received) == 1


def test_an_error_that_is_not_problem_json(scripted_server: Any) -> None:
    scripted_server.add(502, b"<html>Bad Gateway</html>")
    with fast_client(scripted_server.url) as client, pytest.raises(ShapecheckError) as caught:
        client.check(MODEL)
    assert caught.value.problem == {}
    assert "Bad Gateway" in str(caught.value)


def test_a_success_that_is_not_json(scripted_server: Any) -> None:
    scripted_server.add(200, b"hello")
    with fast_client(scripted_server.url) as client, pytest.raises(ShapecheckError, match="JSON"):
        client.check(MODEL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_service_unavailable_after_retries() -> None:
    with (
        Client(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.0) as client,
        pytest.raises(ServiceUnavailable, match="cannot reach") as caught,
    ):
        client.layers()
    assert caught.value.status is None


def test_a_timeout_is_service_unavailable(scripted_server: Any) -> None:
    scripted_server.add(200, OK, delay=1.0)
    with (
        fast_client(scripted_server.url, timeout=0.2, retries=1) as client,
        pytest.raises(ServiceUnavailable),
    ):
        client.check(MODEL)
    assert len(scripted_server.received) == 2


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("0", 0.0), ("3", 3.0), (" 1.5 ", 1.5), ("soon", None), ("-1", None)],
)
def test_parse_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date() -> None:
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(past) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28.0 <= (parse_retry_after(future) or 0.0) <= 30.0
