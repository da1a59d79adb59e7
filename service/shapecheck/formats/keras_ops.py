"""Keras operations applied to tensors in a functional model: ``x + 3.0``, ``keras.ops.relu``.

Keras 3 writes them among the layers (``"module": "keras.src.ops.numpy", "class_name": "Add"``)
with their constant arguments inline in the inbound node (``"args": [tensor, 3.0]``). They
have no weights; ``model.summary()`` lists them as rows. The element-by-element ones are
computed here; any other operation is reported by the loader.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import activations
from ..errors import LayerInputIncompatible
from ..layers.base import Array, Layer, Shapes, Weight
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
