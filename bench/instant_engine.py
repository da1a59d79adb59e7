"""The service with an engine that answers at once, for ``bench/load.py --instant-engine``.

Every ``POST /v1/check`` gets the answer to the seed question (``load.SEED_CHECK``), computed
once when the worker starts; everything else, from gunicorn to the response cache, is the real
service. What it serves measures the HTTP path of a check alone: the rate a check would reach
if the analysis cost nothing, and so how much of the ``--target`` share is left for the engine.
Never deploy it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from load import SEED_CHECK
from shapecheck.api import create_app as create_service
from shapecheck.api import routes
from shapecheck.engine import check


def create_app() -> Flask:
    answer = check(SEED_CHECK)

    def instant(body: Any) -> dict[str, Any]:
        return answer

    routes.check = instant
    return create_service()
