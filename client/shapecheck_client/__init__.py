"""Python client for the shapecheck service, which finds tensor shape errors in Keras models.

Usage::

    from shapecheck_client import Client
    with Client("http://127.0.0.1:8000") as client:
        client.check("model.json", x_shape=(100, 100, 100, 3)).raise_for_errors()
"""

from ._version import __version__
from .client import Client, load_model, parse_retry_after
from .errors import (
    AuthenticationError,
    ModelShapeError,
    PatchError,
    PayloadTooLarge,
    RateLimited,
    RetryableError,
    ServiceUnavailable,
    ShapecheckError,
    ValidationError,
)
from .patch import apply_fix, apply_patch
from .results import CheckResult, Diagnostic, Fix, ForwardOutput, LayerResult
from .savedweights import saved_weights

__all__ = [
    "AuthenticationError",
    "CheckResult",
    "Client",
    "Diagnostic",
    "Fix",
    "ForwardOutput",
    "LayerResult",
    "ModelShapeError",
    "PatchError",
    "PayloadTooLarge",
    "RateLimited",
    "RetryableError",
    "ServiceUnavailable",
    "ShapecheckError",
    "ValidationError",
    "__version__",
    "apply_fix",
    "apply_patch",
    "load_model",
    "parse_retry_after",
    "saved_weights",
]
