"""Keras operations applied to tensors in a functional model: ``x + 3.0``, ``keras.ops.relu``.

Keras 3 writes them among the layers (``"module": "keras.src.ops.numpy", "class_name": "Add"``)
with their constant arguments inline in the inbound node (``"args": [tensor, 3.0]``). They
have no weights; ``model.summary()`` lists them as rows. The element-by-element ones are
computed here; any other operation is reported by the loader.

The operations that compute only masks are no layers (``formats.keras.MaskOperations``), but
Keras 3's summary lists them too: ``mask_shape`` gives the shape each computes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .. import activations
from ..errors import LayerInputIncompatible
from ..graph import MaskOp, TensorRef
from ..layers.base import (
    EXACT_DTYPES,
    LOW_PRECISION,
    Array,
    Layer,
    Shapes,
    Weight,
    integer_values,
    low_precision_values,
)
from ..shapes import Dim, Shape, format_shape

BINARY: dict[str, Callable[[Array, Array], Array]] = {
    "Add": np.add, "Subtract": np.subtract, "Multiply": np.multiply, "Divide": np.divide,
    "TrueDivide": np.true_divide, "Maximum": np.maximum, "Minimum": np.minimum,
    "Power": np.power,
}
UNARY: dict[str, Callable[[Array], Array]] = {
    "Negative": np.negative, "Absolute": np.abs, "Abs": np.abs, "Square": np.square,
    "Sqrt": np.sqrt, "Exp": np.exp, "Log": np.log, "Tanh": np.tanh,
    **{name: activations.get(key) for name, key in (
        ("Relu", "relu"), ("Relu6", "relu6"), ("Sigmoid", "sigmoid"), ("Silu", "silu"),
        ("Softplus", "softplus"), ("HardSigmoid", "hard_sigmoid"), ("Gelu", "gelu"))},
}


# tf.keras 2 writes tensor arithmetic as TFOpLambda layers naming a TensorFlow function; the
# element-by-element ones map onto the operations above (nothing is ever evaluated).
TF_FUNCTIONS = {
    "__operators__.add": "Add", "math.add": "Add", "math.subtract": "Subtract",
    "math.multiply": "Multiply", "math.truediv": "TrueDivide", "math.divide": "Divide",
    "math.maximum": "Maximum", "math.minimum": "Minimum", "math.pow": "Power",
    "math.negative": "Negative", "math.abs": "Abs", "math.square": "Square",
    "math.sqrt": "Sqrt", "math.exp": "Exp", "math.log": "Log", "math.tanh": "Tanh",
    "nn.relu": "Relu", "nn.relu6": "Relu6", "math.sigmoid": "Sigmoid", "nn.sigmoid": "Sigmoid",
    "nn.silu": "Silu", "nn.swish": "Silu", "nn.gelu": "Gelu",
}


def is_supported(operation: str) -> bool:
    return operation in BINARY or operation in UNARY


def is_binary(operation: str) -> bool:
    return operation in BINARY


class KerasOperation(Layer):
    """An element-by-element Keras operation, with numpy broadcasting as Keras' ops do it.

    ``arguments`` are the positional arguments of its call: None where a tensor goes (the
    call's inputs, in order), the constant itself elsewhere.
    """

    keras_name = "Operation"
    family = "core"
    arity = None

    def __init__(self, name: str, operation: str, arguments: Sequence[Any],
                 class_name: str | None = None) -> None:
        super().__init__(name, {})
        self.operation = operation
        self.class_name = class_name or operation  # the row's type: "Add", "TFOpLambda"
        self.arguments = list(arguments)

    def operands(self, tensors: Sequence[Any], constant: Callable[[Any], Any]) -> list[Any]:
        """The call's arguments in order: the tensors, and ``constant(value)`` for the rest."""
        given = iter(tensors)
        operands = [next(given, None) if a is None else constant(a) for a in self.arguments]
        expected = 1 if self.operation in UNARY else 2
        if len(operands) != expected or any(o is None for o in operands) or next(given, None):
            raise LayerInputIncompatible(
                f"The operation {self.operation} takes {expected} argument(s), but its call "
                f"gives {len(self.arguments)} with {len(tensors)} tensor(s).",
                "Check the arguments of this operation in the model code.")
        return operands

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        shapes = self.operands(inputs, np.shape)
        if self.operation in UNARY:
            return [tuple(shapes[0])]
        return [ops_broadcast(tuple(shapes[0]), tuple(shapes[1]))]

    def build(self, inputs: Shapes) -> list[Weight]:
        return []

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        operands = self.operands(inputs, lambda v: np.asarray(v, dtype=np.float32))
        function = UNARY.get(self.operation) or BINARY[self.operation]
        return [np.asarray(function(*operands), dtype=np.float32)]

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        constants = [repr(a) for a in self.arguments if a is not None]
        given = ", ".join([*(format_shape(s) for s in inputs), *constants])
        return (f"the operation {self.operation} of {given}, element by element with "
                f"broadcasting, gives {format_shape(outputs[0])}")


class Cast(KerasOperation):
    """``keras.ops.cast`` of one tensor to ``dtype``: Keras 3.6 and 3.9 (not 3.3 nor 3.12)
    write one where a layer's dtype policy casts a float input to another float (a
    ``mixed_float16`` Dense after float32 tensors), since their autocast in
    ``Layer.__call__`` is an operation on symbolic tensors. The shape stays; the values are
    ``dtype``'s (None: float32, or a float the JAX backend holds as float32)."""

    def __init__(self, name: str, dtype: str | None) -> None:
        super().__init__(name, "Cast", [None])
        self.dtype = dtype
        self.compute_dtype = dtype if dtype in LOW_PRECISION else None

    def output_shapes(self, inputs: Shapes) -> list[Shape]:
        if len(inputs) != 1:
            raise LayerInputIncompatible(
                f"The operation Cast takes 1 tensor, but its call gives {len(inputs)}.",
                "Check the arguments of this operation in the model code.")
        return [tuple(inputs[0])]

    def output_dtype(self, dtypes: Sequence[str | None]) -> str | None:
        return self.dtype if self.dtype in EXACT_DTYPES else None

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array]) -> list[Array]:
        values = np.asarray(inputs[0], dtype=np.float32)
        if self.dtype in LOW_PRECISION:
            return [low_precision_values(values, self.dtype)]
        if self.dtype == "bool":
            return [(values != 0).astype(np.float32)]
        if self.dtype in EXACT_DTYPES:
            return [integer_values(values, self.dtype)]
        return [values]

    def explain_shape(self, inputs: Shapes, outputs: Shapes) -> str:
        return (f"the operation Cast to {self.dtype or 'float32'} keeps the shape "
                f"{format_shape(outputs[0])}")


def ops_broadcast(a: Shape, b: Shape) -> Shape:
    """Keras' ``ops.broadcast_shapes``: aligned on the last axes, a 1 stretches, and an unknown
    axis takes the other side's size unless that is 1."""
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    out: list[Dim] = []
    for x, y in zip(a, b, strict=True):
        if x == 1:
            out.append(y)
        elif x is None:
            out.append(None if y == 1 else y)
        elif y in (1, None, x):
            out.append(x)
        else:
            raise LayerInputIncompatible(
                f"Cannot broadcast {format_shape(a)} with {format_shape(b)}: {x} and {y} "
                "differ and neither is 1.",
                "Give both operands the same size on that axis, or 1 to broadcast.")
    return tuple(out)


# -- the operations of masks ------------------------------------------------------------------
def mask_shape(source: Any, tensors: Mapping[TensorRef, Shape | None]) -> Any:
    """The shape of what a ``MaskSource`` or an argument of a ``MaskOp`` computes: a tensor's
    (from ``tensors``), an operation's (``mask_operation_shape``), the list of a list's items',
    and a constant's ``()``; None where it cannot be known."""
    if isinstance(source, TensorRef):
        return tensors.get(source)
    if isinstance(source, MaskOp):
        arguments = [mask_shape(argument, tensors) for argument in source.arguments]
        return mask_operation_shape(source.operation, arguments, dict(source.config))
    if isinstance(source, tuple):  # a list argument (concatenate's tensors)
        return [mask_shape(item, tensors) for item in source]
    return ()


def mask_operation_shape(operation: str, arguments: list[Any],
                         config: Mapping[str, Any]) -> Shape | None:
    """The shape a Keras operation of masks computes from its arguments' shapes, as Keras'
    ``compute_output_spec`` does: the operations Keras writes to compute masks and those the
    forward pass evaluates (``forward.mask_value``). None for any other operation (there is no
    knowing what it computes), an argument of unknown shape, or arguments the operation cannot
    take."""
    rule = MASK_SHAPES.get(operation)
    if rule is None or not arguments:
        return None
    try:
        return rule(arguments, config)
    except (LayerInputIncompatible, TypeError, ValueError):  # None where a shape goes, ...
        return None


def broadcast(arguments: list[Any], config: Mapping[str, Any]) -> Shape:
    """Element by element: Keras' ``broadcast_shapes`` of the arguments."""
    return functools.reduce(ops_broadcast, (known(shape) for shape in arguments))


def reduced(arguments: list[Any], config: Mapping[str, Any]) -> Shape:
    """``any``/``all``: Keras' ``reduce_shape``."""
    shape, axis = known(arguments[0]), config.get("axis")
    if axis is None:
        return (1,) * len(shape) if config.get("keepdims") else ()
    axes = axes_of(axis, len(shape))
    if config.get("keepdims"):
        return tuple(1 if k in axes else d for k, d in enumerate(shape))
    return tuple(d for k, d in enumerate(shape) if k not in axes)


def expanded(arguments: list[Any], config: Mapping[str, Any]) -> Shape:
    """``expand_dims``: a 1 at each axis of the result."""
    shape, axis = known(arguments[0]), config.get("axis")
    count = 1 if axis is None or isinstance(axis, int) else len(axis)
    axes = axes_of(len(shape) if axis is None else axis, len(shape) + count)
    dims = iter(shape)
    return tuple(1 if k in axes else next(dims) for k in range(len(shape) + count))


def squeezed(arguments: list[Any], config: Mapping[str, Any]) -> Shape:
    """``squeeze``: without the given axes, each of size 1 (without every 1 when none)."""
    shape, axis = known(arguments[0]), config.get("axis")
    if axis is None:
        return tuple(d for d in shape if d != 1)
    axes = axes_of(axis, len(shape))
    if any(shape[k] != 1 for k in axes):
        raise ValueError("only an axis of size 1 can be squeezed")
    return tuple(d for k, d in enumerate(shape) if k not in axes)


def concatenated(arguments: list[Any], config: Mapping[str, Any]) -> Shape:
    """``concatenate``: the first tensor's shape, the sizes on ``axis`` summed (unknown if one
    is)."""
    shapes = [known(shape) for shape in arguments[0]]
    (axis,) = axes_of(config.get("axis", 0), len(shapes[0]))
    sizes = [shape[axis] for shape in shapes]
    total = None if None in sizes else sum(sizes)
    return (*shapes[0][:axis], total, *shapes[0][axis + 1:])


def broadcast_to(arguments: list[Any], config: Mapping[str, Any]) -> Shape:
    """``broadcast_to``: the ``shape`` it was given, as Keras declares it (Keras 3.6 and 3.9
    write one into a masked Concatenate's mask, with the batch axis unknown)."""
    shape = config.get("shape")
    if not isinstance(shape, list | tuple) or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0)
            for d in shape):
        raise ValueError(f"no shape {shape!r}")
    return tuple(shape)


def known(shape: Any) -> Shape:
    if not isinstance(shape, tuple):
        raise TypeError("not a known shape")
    return shape


def axes_of(axis: Any, rank: int) -> set[int]:
    """An axis, or a list of them, counted from 0 (Keras' ``canonicalize_axis``)."""
    axes = [axis] if isinstance(axis, int) else axis
    if not isinstance(axes, list | tuple) or not all(
            isinstance(a, int) and not isinstance(a, bool) and -rank <= a < rank for a in axes):
        raise ValueError(f"no axis {axis!r} in a tensor of rank {rank}")
    return {a % rank for a in axes}


MASK_SHAPES: dict[str, Callable[[list[Any], Mapping[str, Any]], Shape]] = {
    **dict.fromkeys(("NotEqual", "Equal", "Greater", "GreaterEqual", "Less", "LessEqual",
                     "LogicalAnd", "LogicalOr", "LogicalXor", "LogicalNot", "ZerosLike",
                     "OnesLike", "Cast", "ConvertToTensor"), broadcast),
    "Any": reduced, "All": reduced, "ExpandDims": expanded, "Squeeze": squeezed,
    "Concatenate": concatenated, "BroadcastTo": broadcast_to,
}
"""Each operation of masks, and the rule of its output shape: element by element, with
broadcasting (the unary ones keep their argument's shape: a constant broadcasts as ``()``)."""

KNOWN_OPERATIONS = frozenset({*BINARY, *UNARY, *MASK_SHAPES, "Cast"})
"""The class names of the Keras operations the engine reads."""
