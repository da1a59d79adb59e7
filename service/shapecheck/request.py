"""The body of ``POST /v1/check``, validated with marshmallow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from .errors import RequestInvalid
from .fields import PositiveInt, ShapeField, flatten_messages
from .shapes import Shape

SHAPE = ShapeField()


class ShapeOrNamedShapes(fields.Field):
    """A data shape, or an object input/output name -> data shape."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> Any:
        if isinstance(value, dict):
            errors, out = {}, {}
            for name, shape in value.items():
                try:
                    out[str(name)] = SHAPE.deserialize(shape)
                except ValidationError as exc:
                    errors[name] = exc.messages
            if errors:
                raise ValidationError(errors)
            return out
        return SHAPE.deserialize(value)


class CheckRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    model = fields.Dict(required=True)
    x_shape = ShapeOrNamedShapes(load_default=None)
    y_shape = ShapeOrNamedShapes(load_default=None)
    loss = fields.String(load_default=None)
    batch_size = PositiveInt(load_default=None)
    overrides = fields.Dict(keys=fields.String(), values=fields.Dict(), load_default=dict)
    forward = fields.Dict(load_default=None, allow_none=True)


REQUEST_SCHEMA = CheckRequestSchema()
"""Built once: building a schema deep-copies its fields, which costs more than a load."""

DataShapes = Shape | dict[str, Shape] | None


@dataclass
class CheckRequest:
    model: dict[str, Any]
    x_shape: DataShapes
    y_shape: DataShapes
    loss: str | None
    batch_size: int | None
    overrides: dict[str, Any]
    forward: dict[str, Any] | None


def parse_request(body: Any) -> CheckRequest:
    """Validate a request body; raises RequestInvalid with JSON-path keyed errors."""
    if not isinstance(body, dict):
        raise RequestInvalid({"": ["the body must be a JSON object with a 'model'"]})
    try:
        return CheckRequest(**REQUEST_SCHEMA.load(body))
    except ValidationError as exc:
        raise RequestInvalid(flatten_messages(exc.messages, "")) from None
