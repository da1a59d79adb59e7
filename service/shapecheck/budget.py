"""The budgets of a forward pass: memory, multiply-accumulates and the values the layers write,
estimated from the shapes before anything is allocated, and a wall-clock deadline checked
between layers.

Over a limit, the forward pass is refused with ``LimitExceeded``: a 413 problem that names the
estimate and the limit (``SHAPECHECK_FORWARD_MAX_BYTES``, ``SHAPECHECK_FORWARD_MAX_MACS``,
``SHAPECHECK_FORWARD_MAX_VALUES``).
Past the wall-clock budget (``SHAPECHECK_FORWARD_TIMEOUT_S``) the pass stops with
``ForwardTimeout``, a ``LimitExceeded`` too: the estimates let it start, so the machine was
slower than they assume (overloaded), which the HTTP layer may answer with a 503.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from .arrays import FLOAT32_BYTES, float32_bytes
from .computed import computed_shapes
from .config import Limits
from .errors import LimitExceeded
from .graph import Call, ModelGraph, Propagation, TensorRef, mask_tensors
from .initializers import draw_macs
from .layers.attention import DotAttentionBase, MultiHeadAttention
from .layers.base import Layer
from .shapes import Shape

MIB = 1024 * 1024
STEP_MACS = 250_000
"""What one iteration of a kernel's Python loop (``Layer.kernel_steps``: a recurrent time step,
a pooling window's element, a block of convolution rows) costs, in multiply-accumulates of the
same time (10 to 50 µs at the matmul rate): a long loop is slow whatever its MACs."""


@dataclass(frozen=True)
class Estimate:
    """What one forward pass will need, from the shapes of a propagation with known batch."""

    activation_bytes: int
    """Peak of the activations alive at once (each freed after its last reader), plus the
    largest temporary a kernel makes."""
    weight_bytes: int
    macs: int
    """Multiply-accumulates against weights of the whole batch (fvcore's convention, as
    ``totals.macs``)."""
    other_macs: int
    """Those the convention leaves out but the pass does: attention's scores and their
    combination with the values, the QR of orthogonal default weights, and the iterations of
    the kernels' Python loops (``STEP_MACS`` each)."""
    values: int
    """The elements of every call's outputs, batch included: what the layers write. Element-wise
    work (padding, rescaling, an activation) costs time per value, not per multiply-accumulate:
    a pass over a large tensor takes 0.4 ns (relu) to 5 ns (gelu) per value, the time of 30 to
    400 multiply-accumulates at the matmul rate. (Outputs that are views of an input count
    too: an upper bound.)"""

    @property
    def total_bytes(self) -> int:
        return self.activation_bytes + self.weight_bytes

    @property
    def total_macs(self) -> int:
        return self.macs + self.other_macs

    def to_json(self) -> dict[str, int]:
        return {"activation_bytes": self.activation_bytes, "weight_bytes": self.weight_bytes,
                "peak_bytes": self.total_bytes, "macs": self.macs, "other_macs": self.other_macs,
                "values": self.values}


def reads(call: Call) -> set[TensorRef]:
    """The tensors a call reads: its inputs, and those its mask arguments read."""
    return {*call.inputs, *mask_tensors(call)} if call.masks else set(call.inputs)


def last_readers(order: list[Call]) -> dict[TensorRef, int]:
    """For every tensor read by some call (``reads``), the position of its last reader in
    ``order``: until then the forward pass keeps it."""
    last: dict[TensorRef, int] = {}
    for step, call in enumerate(order):
        for ref in reads(call):
            last[ref] = step
    return last


def tensor_bytes(shape: Shape | None) -> int:
    return float32_bytes(tuple(d or 0 for d in shape or ()))


def estimate(graph: ModelGraph, prop: Propagation, batch: int,
             shapes: Mapping[TensorRef, Shape | None] | None = None) -> Estimate:
    """Walk the calls in order as ``forward.run_forward`` does, counting the live bytes of
    ``shapes``: every tensor's as predict computes it (``computed.computed_shapes``, by
    default of ``prop``)."""
    weights = [w for state in prop.states.values() for w in state.weights or ()]
    run = walk(graph, prop, batch, shapes)
    return Estimate(run.activation_bytes, sum(w.size for w in weights) * FLOAT32_BYTES,
                    run.macs, run.other_macs + sum(draw_macs(w) for w in weights), run.values)


def walk(graph: ModelGraph, prop: Propagation, batch: int,
         shapes: Mapping[TensorRef, Shape | None] | None = None) -> Estimate:
    """``estimate`` of the calls alone (no weights): the calls of a nested model's graph are
    walked as its call, so that what its layers make inside counts as the outer ones do."""
    shapes = computed_shapes(prop) if shapes is None else shapes
    last = last_readers(prop.order)
    keep = set(graph.outputs)
    sizes = {ref: tensor_bytes(shape) for ref, shape in shapes.items()}
    outputs = prop.outputs_by_call()
    live = sum(tensor_bytes(shapes.get(TensorRef(i.name))) for i in graph.inputs)
    peak = live
    macs = other_macs = values = 0
    for step, call in enumerate(prop.order):
        layer = graph.layers[call.layer]
        ins = [shapes[ref] for ref in call.inputs]
        refs = outputs[call.layer, call.index]
        outs = [shapes[ref] for ref in refs]
        produced = sum(sizes[ref] for ref in refs)
        values += produced // FLOAT32_BYTES
        inner = layer.inner_graph(ins)
        if inner is not None:
            run = walk(*inner, batch)
            temporary = run.activation_bytes
            macs, other_macs, values = (macs + run.macs, other_macs + run.other_macs,
                                        values + run.values)
        else:
            score_bytes, score_macs = attention_cost(layer, ins)
            # One array the size of the outputs (``x @ w`` before ``+ bias``, an activation),
            # the kernel's own (a padded input, a convolution's patches), attention's scores
            # and their softmax.
            temporary = produced + layer.scratch_bytes(ins, outs) + 2 * score_bytes
            macs += layer.macs(ins, outs) * batch
            other_macs += score_macs + STEP_MACS * layer.kernel_steps(ins, outs)
        peak = max(peak, live + produced + temporary)
        live += sum(sizes[ref] for ref in refs if ref in last or ref in keep)
        # (a mask argument may name a tensor nothing computes: the pass refuses it, sizeless)
        live -= sum(sizes.get(ref, 0) for ref in reads(call)
                    if last[ref] == step and ref not in keep)
    return Estimate(peak, 0, macs, other_macs, values)


def attention_cost(layer: Layer, inputs: list[Shape]) -> tuple[int, int]:
    """The bytes of the scores an attention kernel makes and the multiply-accumulates of
    scoring and combining with the values; (0, 0) for other layers. For attention over
    several axes, an upper bound."""
    if isinstance(layer, MultiHeadAttention):
        # Scores pair every (batch, ..., heads) position of the projected query with the
        # key's sizes on the attended axes; the fused path attends over axis 1. (The channel
        # axis, len(query), is attended on no path that runs.)
        query, value, _ = layer.query_value_key(inputs)
        queries = math.prod(query[:-1]) * layer.args.num_heads
        keys = (*value[:-1], layer.args.num_heads)
        attended = [layer.attention_axes(len(query))]
        if layer.fuses(len(query) + 1, with_scores=False):
            attended.append((1,))
        scores = queries * max(math.prod(keys[axis] for axis in axes) for axes in attended
                               if len(query) not in axes)
        return scores * 4, scores * (layer.args.key_dim + layer.value_dim)
    if isinstance(layer, DotAttentionBase):
        # The shapes the kernel computes: on tensors without steps, or of several ranks, the
        # scores pair the samples of the batch, and the output may exceed the declared one.
        # (A size still unknown counts as 0, as in ``tensor_bytes``: a Reshape to None.)
        query, value, key = layer.query_value_key(inputs)
        _, scores_shape = layer.computed_shapes(inputs, {})
        scores = math.prod(d or 0 for d in scores_shape)
        macs = scores * ((query[-1] or 0) + (value[-1] or 0))
        made = scores
        if getattr(layer.args, "score_mode", "concat") == "concat":  # pairwise sums
            made = scores * max(query[-1] or 0, key[-1] or 0)
        return made * 4, macs
    return 0, 0


def enforce(needed: Estimate, limits: Limits) -> None:
    """Refuse a forward pass whose estimate is over a limit."""
    if needed.total_macs > limits.forward_max_macs:
        other = (f" ({needed.other_macs:,} of them outside the layers' weights: attention "
                 "scores, the kernels' loops such as recurrent time steps, orthogonal default "
                 "weights)" if needed.other_macs else "")
        raise LimitExceeded(
            "forward multiply-accumulates", needed.total_macs, limits.forward_max_macs,
            f"The forward pass needs an estimated {needed.total_macs:,} multiply-accumulates"
            f"{other}, over the limit of {limits.forward_max_macs:,} "
            "(SHAPECHECK_FORWARD_MAX_MACS). Use a smaller batch or input.")
    if needed.values > limits.forward_max_values:
        raise LimitExceeded(
            "forward values", needed.values, limits.forward_max_values,
            f"The layers of the forward pass write an estimated {needed.values:,} values (the "
            f"elements of their outputs), over the limit of {limits.forward_max_values:,} "
            "(SHAPECHECK_FORWARD_MAX_VALUES): element-wise work takes time per value, whatever "
            "the multiply-accumulates. Use a smaller batch or input.")
    check_bytes("forward pass", needed.total_bytes, limits,
                f" (activations {mib_text(needed.activation_bytes)} MiB at their peak, "
                f"weights {mib_text(needed.weight_bytes)} MiB)")


def mib_text(nbytes: int) -> str:
    """``1,234.5``: bytes in MiB to a tenth, in integers (no float holds 10^400 bytes)."""
    whole, tenth = divmod((nbytes * 10 + MIB // 2) // MIB, 10)
    return f"{whole:,}.{tenth}"


def check_bytes(what: str, nbytes: int, limits: Limits, detail: str = "") -> None:
    """Refuse ``what`` when its ``nbytes`` are over the forward-pass memory limit."""
    if nbytes > limits.forward_max_bytes:
        raise LimitExceeded(
            f"{what} bytes", nbytes, limits.forward_max_bytes,
            f"The {what} needs an estimated {nbytes:,} bytes{detail}, over the limit of "
            f"{limits.forward_max_bytes:,} (SHAPECHECK_FORWARD_MAX_BYTES). Use a smaller batch "
            "or input.")


def check_values(nbytes: int, limits: Limits) -> None:
    """Refuse to return output values larger than a request body may be: as JSON text they
    would be several times that, in the worker and on the wire."""
    if nbytes > limits.max_body_bytes:
        raise LimitExceeded(
            "forward values bytes", nbytes, limits.max_body_bytes,
            f"The outputs hold {nbytes:,} bytes of float32 values, over the limit of "
            f"{limits.max_body_bytes:,} for values in a response (SHAPECHECK_MAX_BODY_BYTES). "
            'Use "return": "summary" for their statistics, or a smaller batch.')


class ForwardTimeout(LimitExceeded):
    """The forward pass ran past its wall-clock budget."""


class Deadline:
    """The wall-clock budget of one forward pass, counted from ``started``."""

    def __init__(self, seconds: float, started: float) -> None:
        self.seconds = seconds
        self.started = started

    def check(self, layer: str) -> None:
        """Raise LimitExceeded when the time is up before ``layer`` runs."""
        elapsed = time.perf_counter() - self.started
        if elapsed > self.seconds:
            raise ForwardTimeout(
                "forward wall-clock seconds", round(elapsed, 3), self.seconds,
                f"The forward pass was stopped after {elapsed:.1f} s, before layer '{layer}': "
                f"over the budget of {self.seconds:g} s (SHAPECHECK_FORWARD_TIMEOUT_S). Use a "
                "smaller batch or input.")
