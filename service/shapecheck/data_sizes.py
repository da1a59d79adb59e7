"""The model at the sizes of the data.

A model input may leave axes open (``Input((None, None, 3))``): Keras builds the model, and
its summary shows None there. ``predict`` and ``fit`` then run it at the sizes of x, where a
layer may fail that the open shapes let through: a U-Net whose poolings do not divide the
image (250 rows pooled twice give 62, upsampled twice 248, against the skip connection's
250). When x_shape fills open axes, the check propagates the shapes again at x's sizes and
reports what fails there, at the layer where predict fails, with sizes that predict takes;
where nothing fails, the targets are checked against the outputs at those sizes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, replace

from . import diagnostics as diag
from .diagnostics import Diagnostic
from .graph import ModelGraph, Propagation, propagate
from .layers.base import Layer
from .layers.conv import SlidingWindow
from .layers.reshaping import UpSampling
from .request import DataShapes
from .shapes import Shape, format_shape

SEARCH = 64
"""How far from x's size, each way, to look for a size predict takes."""
PERIOD_RANGE = range(64, 128)
"""The sizes at which ``periodic_sizes`` runs a model whose input leaves them open."""
PROBED_CALLS = 20_000
"""The calls the search for those sizes may propagate, in all (~0.2 s)."""


def filled_inputs(graph: ModelGraph, x_named: Mapping[str, Shape]) -> dict[str, Shape]:
    """The model inputs whose open axes x fills (beyond the batch axis): each with its shape
    at x's sizes, the batch axis as declared. Only where x has the input's rank and agrees
    with every declared size (``check_input`` reports the rest)."""
    filled = {}
    for model_input in graph.inputs:
        x, declared = x_named.get(model_input.name), model_input.shape
        if x is None or declared is None or len(x) != len(declared):
            continue
        sample = declared[1:]
        if any(d is not None and d != s for d, s in zip(sample, x[1:], strict=True)):
            continue
        if any(d is None and s is not None for d, s in zip(sample, x[1:], strict=True)):
            filled[model_input.name] = (declared[0], *x[1:])
    return filled


def at_sizes(graph: ModelGraph, shapes: Mapping[str, Shape]) -> Propagation:
    """The model's shapes with these inputs' ``shapes`` (batched)."""
    inputs = [replace(i, shape=shapes.get(i.name, i.shape)) for i in graph.inputs]
    return propagate(replace(graph, inputs=inputs))


def size_errors(graph: ModelGraph, sized: Propagation, filled: Mapping[str, Shape],
                search: bool = True) -> list[Diagnostic]:
    """The errors of the propagation at x's sizes, each said to be at those sizes, with the
    sizes predict takes where some are near (where ``search``: up to a few hundred more
    propagations)."""
    errors = errors_of(sized)
    if not errors:
        return []
    declared = {i.name: i.shape for i in graph.inputs}
    sizes = " and ".join(
        f"{format_shape(shape[1:])} per sample" + (f" for '{name}'" if len(filled) > 1 else "")
        + f", where the model's input {format_shape(declared[name])} leaves sizes open"
        for name, shape in filled.items())
    hint = taken_sizes_hint(graph, filled) if search else None
    return [diag.Diagnostic(
        error.severity, error.code, error.layer,
        f"{error.message} This is at the sizes of x, {sizes}: Keras builds the model, and "
        "only predict and fit fail.", hint or error.hint, at_predict=True)
        for error in errors]


def taken_sizes_hint(graph: ModelGraph, filled: Mapping[str, Shape]) -> str | None:
    """The nearest sizes, above and below x's, at which the model runs (``SizeSearch``), as a
    hint; None when none is near, or the search ran out of its budget."""
    search = SizeSearch(graph)
    try:
        found = [sizes for sizes in (search.moved(filled, step=1), search.moved(filled, step=-1))
                 if sizes is not None and sizes != filled and search.runs(sizes)]
    except SearchExhausted:
        return None
    if not found:
        return None
    spelt = [" and ".join(f"{format_shape(s[1:])}" for s in sizes.values()) for sizes in found]
    return (f"Pad or resize x to {spelt[0]}" + (f", or crop it to {spelt[1]}" if len(spelt) > 1
                                                else "")
            + ": sizes at which predict runs. Or fix the model so that its strides divide "
            "the sizes of your data (padding='same', or a crop or pad before a merge).")


class SearchExhausted(Exception):
    """The size search used its budget of propagations."""


class SizeSearch:
    """The model propagated at other sizes of its open axes, at most ``PROBED_CALLS`` calls
    in all (a large model gets fewer probes: the hint never costs more than a fraction of a
    second). Each open axis of x goes to the nearest size at which the model runs with every
    open axis of its input at that size (conv nets treat their spatial axes alike); the sizes
    found are then checked together."""

    def __init__(self, graph: ModelGraph) -> None:
        self.graph = graph
        self.declared = {i.name: i.shape for i in graph.inputs}
        self.probes = PROBED_CALLS // max(1, len(graph.calls))
        self.found: dict[tuple[str, int, int], int | None] = {}

    def moved(self, filled: Mapping[str, Shape], step: int) -> dict[str, Shape] | None:
        """``filled`` with every open axis x gives a size for moved in the direction of
        ``step`` (an axis x leaves unknown stays so)."""
        moved = {}
        for name, shape in filled.items():
            declared, sizes = self.declared[name], list(shape)
            for axis in range(1, len(shape)):
                if declared[axis] is None and shape[axis] is not None:
                    sizes[axis] = self.nearest(name, shape[axis], step)
                    if sizes[axis] is None:
                        return None
            moved[name] = tuple(sizes)
        return moved

    def nearest(self, name: str, start: int, step: int) -> int | None:
        key = (name, start, step)
        if key not in self.found:
            declared = self.declared[name]
            self.found[key] = next(
                (size for size in candidates(start, step)
                 if self.runs({name: (declared[0], *(size if d is None else d
                                                     for d in declared[1:]))})), None)
        return self.found[key]

    def runs(self, shapes: Mapping[str, Shape]) -> bool:
        self.spend(1)
        return runs(self.graph, shapes)

    def spend(self, probes: int) -> None:
        if probes > self.probes:
            raise SearchExhausted
        self.probes -= probes


def candidates(start: int, step: int) -> Iterator[int]:
    """``start`` itself (an axis whose size works stays), then away from it by ``step``."""
    return (size for size in range(start, start + step * (SEARCH + 1), step) if size > 0)


def runs(graph: ModelGraph, shapes: Mapping[str, Shape]) -> bool:
    return not errors_of(at_sizes(graph, shapes))


@dataclass(frozen=True)
class PeriodicSizes:
    """An input whose open sizes the model runs at only every ``period`` (from ``first`` in
    ``PERIOD_RANGE``), and what fails at a size between (``failure``)."""

    input: str
    period: int
    first: int
    failure: Diagnostic


def periodic_sizes(graph: ModelGraph, skip: Collection[str] = ()) -> list[PeriodicSizes]:
    """For each input that leaves its grid open, in a model that merges branches and changes
    sizes by strides (where branches of different strides or rounding meet: a U-Net, a
    strided branch added to a pooled one), the period of the sizes at which the model runs:
    a constraint Keras leaves to predict. The model runs at two sizes in a row (the usual
    model: two propagations) or it is run at each size of ``PERIOD_RANGE`` on every open
    axis (within the ``SizeSearch`` budget). Inputs named in ``skip`` are left out."""
    if not strides_and_merges(graph):
        return []
    found = []
    for model_input in graph.inputs:
        shape = model_input.shape
        if (model_input.name in skip or shape is None or len(shape) < 3
                or None not in shape[1:-1]):
            continue
        try:
            outcomes = probe_sizes(graph, model_input.name, shape)
        except SearchExhausted:
            continue
        ran = [size for size, errors in outcomes.items() if not errors]
        period = regular_period(ran, PERIOD_RANGE)
        if period is not None:
            failure = outcomes[ran[0] + 1][0]
            found.append(PeriodicSizes(model_input.name, period, ran[0], failure))
    return found


def probe_sizes(graph: ModelGraph, name: str,
                shape: Shape) -> dict[int, list[Diagnostic]]:
    """The errors of the model at each size of ``PERIOD_RANGE`` on every open axis of input
    ``name``; only the first two where it runs at both (no size is then left out)."""
    search = SizeSearch(graph)
    outcomes: dict[int, list[Diagnostic]] = {}
    for size in PERIOD_RANGE:
        search.spend(1)
        sized = (shape[0], *(size if d is None else d for d in shape[1:]))
        outcomes[size] = errors_of(at_sizes(graph, {name: sized}))
        if len(outcomes) == 2 and not any(outcomes.values()):
            break
    return outcomes


def strides_and_merges(graph: ModelGraph) -> bool:
    layers = graph.layers.values()
    return (any(layer.family == "merge" for layer in layers)
            and any(changes_sizes(layer) for layer in layers))


def changes_sizes(layer: Layer) -> bool:
    """An upsampling, or a convolution or pooling with a stride."""
    return isinstance(layer, UpSampling) or (
        isinstance(layer, SlidingWindow) and max(layer.strides) > 1)


def regular_period(ran: list[int], sizes: range) -> int | None:
    """The period of ``ran`` within ``sizes`` when it runs exactly every so many sizes
    (more than one, fewer than all); None otherwise."""
    if len(ran) < 2 or len(ran) == len(sizes):
        return None
    period = ran[1] - ran[0]
    expected = list(range(ran[0], sizes.stop, period))
    return period if period > 1 and ran == expected and ran[0] - period < sizes.start else None


def errors_of(prop: Propagation) -> list[Diagnostic]:
    return [d for d in prop.diagnostics if d.severity == diag.ERROR]


def periodic_size_notes(graph: ModelGraph, x_shape: DataShapes) -> list[Diagnostic]:
    """An info note for each input whose open sizes the model runs at only periodically
    (``periodic_sizes``), but those x_shape gives sizes for: those sizes are checked."""
    given = (set(x_shape) if isinstance(x_shape, Mapping) else
             {graph.inputs[0].name} if x_shape is not None and len(graph.inputs) == 1 else set())
    return [periodic_note(found) for found in periodic_sizes(graph, skip=given)]


def periodic_note(found: PeriodicSizes) -> Diagnostic:
    period, first = found.period, found.first
    which = (f"multiples of {period}" if first % period == 0 else
             f"{first}, {first + period}, {first + 2 * period}, ... (every {period})")
    failure = found.failure
    return diag.info(
        diag.OPEN_SIZES_CONSTRAINED, failure.layer,
        f"Model input '{found.input}' leaves its sizes open, but the model runs only at sizes "
        f"that are {which} (tried from {PERIOD_RANGE.start} to {PERIOD_RANGE.stop - 1}, every "
        f"open axis alike). At others '{failure.layer}' fails, so predict fails on such data; "
        f"at {first + 1}: {failure.message}",
        "Give x_shape to have your data's sizes checked; resize or pad the data to such "
        "sizes, or let the model take any size (a crop or pad before each merge).")
