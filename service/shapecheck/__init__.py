"""shapecheck: finds tensor shape errors in Keras models before training starts.

``from shapecheck import check; check(body)`` returns what ``POST /v1/check`` returns.
"""

from .engine import check

__all__ = ["check"]
