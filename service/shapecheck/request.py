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
    request = plain_request(body)
    if request is not None:
        return request
    try:
        return CheckRequest(**REQUEST_SCHEMA.load(body))
    except ValidationError as exc:
        raise RequestInvalid(flatten_messages(exc.messages, "")) from None


NOT_PLAIN = object()
"""What ``plain_shape`` gives for a value it leaves to the schema."""


def plain_request(body: dict[str, Any]) -> CheckRequest | None:
    """The request as the schema loads it, for a body whose fields all have their plainest
    form (most bodies: shapes as lists, no overrides); None for any other body, which the
    schema then loads, or refuses with its messages."""
    model, loss, batch_size = body.get("model"), body.get("loss"), body.get("batch_size")
    x_shape, y_shape = plain_shape(body.get("x_shape")), plain_shape(body.get("y_shape"))
    overrides, forward = body.get("overrides", {}), body.get("forward")
    if (type(model) is not dict or x_shape is NOT_PLAIN or y_shape is NOT_PLAIN
            or not (loss is None or type(loss) is str)
            or not (batch_size is None or (type(batch_size) is int and batch_size >= 1))
            or not (type(overrides) is dict and not overrides)
            or not (forward is None or type(forward) is dict)):
        return None
    return CheckRequest(dict(model), x_shape, y_shape, loss, batch_size, {},
                        None if forward is None else dict(forward))


def plain_shape(value: Any) -> Shape | object | None:
    """A data shape given as a list of sizes (integers >= 0) and nulls, as ShapeField loads
    it; None when absent; ``NOT_PLAIN`` for anything else."""
    if value is None:
        return None
    if type(value) is not list:
        return NOT_PLAIN
    for size in value:
        if size is not None and (type(size) is not int or size < 0):
            return NOT_PLAIN
    return tuple(value)
