"""Where a forward pass first gives values that are not finite, and why.

The data and the weights a request gives are finite (``arrays`` refuses NaN and infinities),
so NaN and infinities in the outputs come out of the computation itself: a layer that turns
finite inputs into infinite or undefined values, which every layer after it carries to the
outputs, where Keras' predict gives them too. The outputs' stats count them
(``nonfinite``); to say where they start, ``forward.locate_nonfinite`` runs the model again
with a ``Watch`` that stops the pass at the first call whose outputs hold any. That second
pass runs only when an output has such values, and runs each layer as declared (no folding:
a batch norm's NaN is the batch norm's, not the convolution's before it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import diagnostics as diag
from .diagnostics import Diagnostic
from .graph import Call
from .layers.base import Array, Layer, Weight
from .layers.normalization import BatchNormalization

FLOAT16_MAX = 65_504


@dataclass(frozen=True)
class Origin:
    """The first call whose outputs are not all finite, though its inputs are."""

    layer: Layer
    call: Call
    nan: int
    infinite: int
    largest_input: float
    """The largest magnitude among its inputs' values."""
    negative_variances: int = 0
    """For a BatchNormalization: the channels whose moving variance plus epsilon is < 0."""


class FirstNonFinite(Exception):
    """Raised by ``Watch`` to end the pass at ``origin``."""

    def __init__(self, origin: Origin) -> None:
        super().__init__(origin.call.layer)
        self.origin = origin


class Watch:
    """Looks at each call's outputs as the pass runs (``forward.run_graph``); raises
    FirstNonFinite at the first that holds NaN or infinities."""

    def __init__(self, weights_of: dict[str, list[Weight]]) -> None:
        self.weights_of = weights_of  # by layer: the weights' names, to find a variance

    def after(self, layer: Layer, call: Call, inputs: Sequence[Array],
              outputs: Sequence[Array], weights: Sequence[Array]) -> None:
        if all(np.isfinite(out).all() for out in outputs):
            return
        values = [out[~np.isfinite(out)] for out in outputs]
        nan = sum(int(np.isnan(v).sum()) for v in values)
        largest = max((float(np.abs(x).max()) for x in inputs if x.size), default=0.0)
        raise FirstNonFinite(Origin(layer, call, nan, sum(v.size for v in values) - nan,
                                    largest, self.negative_variances(layer, call, weights)))

    def negative_variances(self, layer: Layer, call: Call, weights: Sequence[Array]) -> int:
        if not isinstance(layer, BatchNormalization):
            return 0
        names = [w.name for w in self.weights_of.get(call.layer) or ()]
        if "moving_variance" not in names or len(weights) != len(names):
            return 0
        variance = weights[names.index("moving_variance")]
        return int((variance + layer.args.epsilon < 0).sum())


def note(origin: Origin, outputs: dict[str, int]) -> Diagnostic:
    """The warning at the origin; ``outputs``: the non-finite values of each model output
    that holds any."""
    layer, name = origin.layer, origin.call.layer
    where = ", ".join(f"{count:,} in '{output}'" for output, count in outputs.items())
    found = f"{origin.infinite:,} infinite and {origin.nan:,} NaN values"
    why, hint = cause(origin)
    return diag.warning(
        diag.NONFINITE_VALUES, name,
        f"The forward pass gives values that are not finite ({where}). They start at "
        f"'{name}' ({layer.keras_name}): its inputs are finite, the largest of magnitude "
        f"{origin.largest_input:.4g}, and its output holds {found}: {why}. Every layer after "
        "it carries them, and Keras' predict gives the same.", hint)


def cause(origin: Origin) -> tuple[str, str]:
    """Why the origin's values are not finite, and what to do about it."""
    layer = origin.layer
    if origin.negative_variances:
        return (f"its moving_variance plus epsilon is negative for "
                f"{origin.negative_variances:,} channel(s), and the square root of a negative "
                "number is NaN",
                "A variance cannot be negative: the weights given for this BatchNormalization "
                "are not ones it was trained to (its order is gamma, beta, moving_mean, "
                "moving_variance).")
    if getattr(layer, "compute_dtype", None) == "float16":
        return (f"it computes in float16 (its dtype policy), whose largest value is "
                f"{FLOAT16_MAX:,}",
                f"Keep '{layer.name}' in float32 under mixed precision (dtype='float32' on the "
                "layer, as Keras advises for the output layer), or scale the data down.")
    if origin.infinite:
        return ("its values overflow float32, whose largest is about 3.4e38",
                "Scale the data to a moderate range (normalise it), or check the weights "
                f"given for '{layer.name}' and the layers before it.")
    return ("it computes undefined values from finite ones (∞ − ∞ after an overflow inside "
            "it, 0·∞, 0/0)",
            f"Check the weights given for '{layer.name}' and the range of the data.")
