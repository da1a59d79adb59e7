"""The HTTP client for the shapecheck service (contract v1)."""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
import time
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from ._version import __version__
from .arrays import encode_forward
from .errors import RetryableError, ServiceUnavailable, ShapecheckError, error_for_status
from .hdf5 import is_hdf5, read_hdf5
from .inprocess import INPROCESS, WSGIAdapter, service_app
from .results import CheckResult
from .savedmodel import read_saved_model
from .savedweights import saved_weights

DEFAULT_URL = "http://127.0.0.1:8000"
SAVED = "saved"
"""``forward["weights"]`` that asks for the weights saved in the model file itself."""
_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")

ShapeArg = list[int | None] | tuple[int | None, ...] | Mapping[str, Any]


class Client:
    """A connection to a shapecheck service, owning one ``requests.Session``.

    ``base_url`` defaults to ``$SHAPECHECK_URL``, then ``http://127.0.0.1:8000``; ``api_key``
    to ``$SHAPECHECK_API_KEY`` (sent as ``Authorization: Bearer <key>``). ``timeout`` is the
    per-request timeout in seconds. ``inprocess:`` as the URL runs the service's app in this
    process instead, when its package is installed (``inprocess.py``).

    Connection errors, timeouts, 429 and 503 are retried up to ``retries`` times, waiting what
    the server's ``Retry-After`` says, or else ``backoff * 2**attempt`` seconds with jitter.
    This is safe for every call, ``POST /v1/check`` included: a check is pure (it changes
    nothing on the server), so sending it twice is harmless.

    Use it as a context manager, or call ``close()``::

        with Client() as client:
            print(client.check({"inputs": [4], "layers": [{"type": "Dense", "units": 1}]}))
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.base_url = (base_url or os.environ.get("SHAPECHECK_URL") or DEFAULT_URL).rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"shapecheck-client/{__version__}"
        self.session.headers["Accept"] = "application/json, application/problem+json"
        api_key = api_key or os.environ.get("SHAPECHECK_API_KEY")
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"
        if self.base_url == INPROCESS.rstrip("/"):
            self.session.mount(INPROCESS, WSGIAdapter(service_app()))

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def check(
        self,
        model: Any,
        *,
        x_shape: ShapeArg | None = None,
        y_shape: ShapeArg | None = None,
        loss: str | None = None,
        batch_size: int | None = None,
        forward: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> CheckResult:
        """Check ``model`` with ``POST /v1/check`` (retried on overload: a check is pure).

        ``model`` is a dict, a JSON string, a path (``str`` or ``Path``) to a JSON file or to a
        saved Keras model (``model.save("m.keras")`` or ``"m.h5"``, or a tf.keras 2
        SavedModel directory), or an object with ``to_json()`` such as a Keras model. Shapes
        include the batch axis, with ``None`` for unknown dimensions; a dict name -> shape for
        several inputs or outputs.
        ``forward`` asks for a forward pass (the service's ``forward`` object); NumPy arrays
        in its ``x`` and ``weights`` are sent as they are, and ``result.outputs[i].to_numpy()``
        gives the values back (``"return": "values"``). Without ``weights`` the model runs
        with Keras' default initialisers; ``"weights": "saved"`` runs it with the trained
        weights saved in ``model``, a ``.keras`` or ``.h5`` path (``saved_weights``).
        A wrong model is not an exception: look at ``result.ok`` or call
        ``result.raise_for_errors()``.
        """
        body = {
            "model": load_model(model),
            "x_shape": x_shape,
            "y_shape": y_shape,
            "loss": loss,
            "batch_size": batch_size,
            "forward": None if forward is None else encode_forward(
                with_saved_weights(forward, model)),
            "overrides": overrides,
        }
        payload = {key: value for key, value in body.items() if value is not None}
        return CheckResult.from_dict(self._request("POST", "/v1/check", payload))

    def layers(self) -> list[dict[str, Any]]:
        """The layer types the service supports, with their arguments and defaults."""
        return list(self._request("GET", "/v1/layers")["layers"])

    def _request(self, method: str, path: str, payload: Any = None) -> dict[str, Any]:
        """Send one call, retrying what is worth retrying; return the JSON answer."""
        attempt = 0
        while True:
            try:
                return self._send(method, path, payload)
            except RetryableError as exc:
                if attempt >= self.retries:
                    raise
                wait = exc.retry_after
                time.sleep(wait if wait is not None else self._backoff(attempt))
                attempt += 1

    def _send(self, method: str, path: str, payload: Any) -> dict[str, Any]:
        url = self.base_url + path
        try:
            response = self.session.request(method, url, json=payload, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ServiceUnavailable(f"cannot reach {url}: {exc}") from exc
        except requests.RequestException as exc:
            raise ShapecheckError(f"request to {url} failed: {exc}") from exc
        if response.status_code >= 400:
            raise _error(response)
        try:
            return response.json()
        except ValueError as exc:
            raise ShapecheckError(
                f"{url} answered {response.status_code} with a body that is not JSON",
                status=response.status_code,
            ) from exc

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of ``backoff * 2**attempt``."""
        ceiling = self.backoff * 2**attempt
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def load_model(model: Any) -> dict[str, Any]:
    """The model document as a dict, from any of the forms ``Client.check`` accepts."""
    if isinstance(model, Mapping):
        return dict(model)
    if isinstance(model, str) and model.lstrip().startswith("{"):
        return _as_object(json.loads(model), "the JSON string")
    if isinstance(model, str | os.PathLike):
        return _as_object(read_model_file(Path(model)), str(model))
    if callable(getattr(model, "to_json", None)):
        document = model.to_json()
        return _as_object(
            json.loads(document) if isinstance(document, str) else document, "to_json()"
        )
    raise TypeError(
        "model must be a dict, a JSON string, a path to a JSON, .keras or .h5 file or to a"
        f" SavedModel directory, or have a to_json() method, not {type(model).__name__}"
    )


def read_model_file(path: Path) -> Any:
    """The parsed model document in a file: JSON; a Keras ``.keras`` archive, a zip whose
    ``config.json`` is what ``model.to_json()`` gives; or a legacy HDF5 ``.h5`` model file,
    whose ``model_config`` attribute is that same JSON (read by the ``hdf5`` module, without
    h5py). Only the architecture is read here; ``saved_weights`` reads the weights. A
    directory is a TensorFlow SavedModel that tf.keras 2's ``model.save()`` wrote
    (``savedmodel.read_saved_model``)."""
    if path.is_dir():
        return read_saved_model(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                raise ValueError(f"{path} is a zip archive without config.json, not a Keras "
                                 ".keras file")
            return json.loads(archive.read("config.json"))
    if is_hdf5(path):
        return json.loads(read_hdf5_model_config(path))
    return json.loads(path.read_text(encoding="utf-8"))


def read_hdf5_model_config(path: Path) -> str:
    """The ``model_config`` attribute that Keras' ``model.save("model.h5")`` writes on the
    file's root, as Keras 3 and tf.keras 2 both do."""
    config = read_hdf5(path, str(path), lambda root: root.attrs.get("model_config"))
    if config is None:
        raise ValueError(
            f"{path} is an HDF5 file without a model_config: weights only (save_weights), "
            "without the architecture. Save the whole model with model.save('model.keras')")
    return str(config)


def with_saved_weights(forward: Mapping[str, Any], model: Any) -> Mapping[str, Any]:
    """``forward`` with ``"weights": "saved"`` replaced by the weights saved in ``model``."""
    if forward.get("weights") != SAVED:
        return forward
    if not isinstance(model, str | os.PathLike) or str(model).lstrip().startswith("{"):
        raise ValueError('forward weights "saved" are read from the model file: give the '
                         "model as the path of its .keras or .h5 file")
    return {**forward, "weights": saved_weights(Path(model))}


def _as_object(document: Any, source: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ValueError(f"{source} is not a JSON object")
    return document


def _error(response: requests.Response) -> ShapecheckError:
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    return error_for_status(
        response.status_code,
        problem if isinstance(problem, dict) else {},
        response.text,
        parse_retry_after(response.headers.get("Retry-After")),
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, in delay-seconds or HTTP-date form."""
    if value is None:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
