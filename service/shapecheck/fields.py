"""Marshmallow fields shared by the request schema and every layer's argument schema.

They are strict on purpose: a boolean is not a size, ``"3"`` is not an integer, and a size of
zero or less is refused with a message that says what was expected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, validate
from marshmallow.utils import missing


def _is_int(value: Any) -> bool:
    return type(value) is int or (isinstance(value, numbers.Integral)  # the ABC test is slow
                                  and not isinstance(value, bool))


class Int(fields.Field):
    """A JSON integer (not a boolean, not a float with a fraction) with optional bounds."""

    def __init__(self, *, min_value: int | None = None, max_value: int | None = None, **kw: Any):
        super().__init__(**kw)
        self.min_value = min_value
        self.max_value = max_value
        self.metadata.setdefault("type", _describe_int(min_value))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> int:
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            value = int(value)
        if not _is_int(value):
            raise ValidationError(f"must be an integer, got {value!r}")
        if self.min_value is not None and value < self.min_value:
            raise ValidationError(f"must be >= {self.min_value}, got {value}")
        if self.max_value is not None and value > self.max_value:
            raise ValidationError(f"must be <= {self.max_value}, got {value}")
        return int(value)


def _describe_int(min_value: int | None) -> str:
    return {None: "integer", 0: "integer >= 0", 1: "integer >= 1"}.get(min_value, "integer")


def PositiveInt(**kw: Any) -> Int:
    """An integer >= 1: a size, a count of units or filters."""
    return Int(min_value=1, **kw)


class Float(fields.Field):
    """A finite JSON number (not a boolean) within optional bounds."""

    def __init__(
        self,
        *,
        min_value: float | None = None,
        max_value: float | None = None,
        max_exclusive: bool = False,
        **kw: Any,
    ):
        super().__init__(**kw)
        self.min_value, self.max_value, self.max_exclusive = min_value, max_value, max_exclusive
        self.metadata.setdefault("type", "number")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValidationError(f"must be a number, got {value!r}")
        try:
            value = float(value)
        except OverflowError:  # an integer beyond a double's range
            raise ValidationError("must be a finite number") from None
        if not math.isfinite(value):
            raise ValidationError("must be a finite number")
        if self.min_value is not None and value < self.min_value:
            raise ValidationError(f"must be >= {self.min_value}, got {value}")
        if self.max_value is not None:
            if self.max_exclusive and value >= self.max_value:
                raise ValidationError(f"must be < {self.max_value}, got {value}")
            if value > self.max_value:
                raise ValidationError(f"must be <= {self.max_value}, got {value}")
        return value


class IntTuple(fields.Field):
    """An integer or a list of integers (Keras' ``int or tuple of ints``), each >= ``min_value``.

    Returned as given (int or tuple); the layer expands it to its rank with
    ``Layer.expand_tuple``, which knows how many axes it needs.
    """

    def __init__(self, *, min_value: int = 1, **kw: Any):
        super().__init__(**kw)
        self.min_value = min_value
        self.metadata.setdefault("type", f"integer or list of integers >= {min_value}")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> int | tuple:
        if _is_int(value):
            return self._check(int(value))
        if isinstance(value, list | tuple) and value:
            return tuple(self._nested(v) for v in value)
        raise ValidationError(f"must be an integer or a non-empty list of integers, got {value!r}")

    def _nested(self, value: Any) -> int | tuple:
        # Keras allows pairs for paddings and croppings: ((1, 2), (3, 4)).
        if isinstance(value, list | tuple) and value:
            return tuple(self._check(v) for v in value)
        return self._check(value)

    def _check(self, value: Any) -> int:
        if not _is_int(value):
            raise ValidationError(f"must be an integer, got {value!r}")
        if value < self.min_value:
            raise ValidationError(f"must be >= {self.min_value}, got {value}")
        return int(value)


class Choice(fields.String):
    """One of a fixed set of strings, compared case-insensitively as Keras does for
    ``padding`` and ``data_format``; ``case_sensitive`` where Keras takes the name as given
    (activations, Bidirectional's ``merge_mode``: Keras refuses ``"RELU"``)."""

    def __init__(self, choices: tuple[str, ...], *, case_sensitive: bool = False, **kw: Any):
        super().__init__(validate=validate.OneOf(choices), **kw)
        self.case_sensitive = case_sensitive
        self.metadata.setdefault("type", " | ".join(choices))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> str:
        value = super()._deserialize(value, attr, data, **kw)
        return value if self.case_sensitive else value.lower()


class TfKerasOnly(fields.Field):
    """An argument only tf.keras 2's layer takes (its Softmax's ``robust_masking``): Keras 3's
    layer refuses it, whatever its value; absent, it is left out of the arguments. Its
    tf.keras 2 variant declares the field it reads."""

    def __init__(self, layer: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.layer = layer

    def deserialize(self, value: Any, attr: str | None = None,
                    data: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        if value is missing:
            return missing
        raise ValidationError(f"is an argument of tf.keras 2's {self.layer}, which Keras 3's "
                              f"does not take (Keras: Unrecognized keyword arguments passed to "
                              f"{self.layer}: {attr})")


class ShapeField(fields.Field):
    """A shape: a list of integers >= 0 or null (unknown)."""

    def __init__(self, *, allow_minus_one: bool = False, **kw: Any):
        super().__init__(**kw)
        self.allow_minus_one = allow_minus_one
        self.metadata.setdefault("type", "list of (integer >= 0 | null)")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> tuple:
        return self.parse(value, self.allow_minus_one)

    @staticmethod
    def parse(value: Any, allow_minus_one: bool = False) -> tuple:
        """The shape ``value`` spells; raises ValidationError. Also called directly where a
        shape is read outside a schema (model inputs): the field's wrapping costs more."""
        if _is_int(value):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ValidationError(f"must be a list of integers or nulls, got {value!r}")
        out = []
        for i, d in enumerate(value):
            if d is None:
                out.append(None)
            elif _is_int(d) and (d >= 0 or (allow_minus_one and d == -1)):
                out.append(int(d))
            else:
                raise ValidationError(f"axis {i} must be an integer >= 0 or null, got {d!r}")
        return tuple(out)


def flatten_messages(messages: Any, prefix: str) -> dict[str, list[str]]:
    """Marshmallow's nested error dict as a flat dict keyed by dotted JSON path."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix and key != "_schema" else prefix or str(key)
            for k, v in flatten_messages(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix] = list(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            out.update(flatten_messages(value, f"{prefix}.{i}"))
    else:
        out[prefix] = [str(messages)]
    return out
