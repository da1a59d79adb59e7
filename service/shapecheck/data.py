"""The user's data against the model: ``x_shape`` against the inputs, ``y_shape`` against the
outputs, with the batch axis understood.

Target checks follow what Keras 3 does in ``fit``: the loss wrapper first drops (or adds) a
trailing axis of 1 when the ranks differ by one (``squeeze_or_expand_to_same_rank``); then the
crossentropies demand equal shapes (``sparse_categorical_crossentropy``: the output's shape
without its class axis), while the element-wise losses (``mse``, ``hinge``, ``kl_divergence``,
...) broadcast, which can silently compare every output with the same target.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from . import diagnostics as diag
from .data_sizes import at_sizes, errors_of, filled_inputs, size_errors
from .diagnostics import Diagnostic
from .formats.naming import snake_case
from .graph import ModelGraph, Propagation, TensorRef, output_name
from .layers.conv import ConvTranspose, SlidingWindow
from .layers.core import Dense
from .request import DataShapes
from .shapes import Shape, format_shape, num_elements

# -- losses as Keras reads them ---------------------------------------------------------------

SPARSE = "sparse"
"""Integer class ids against an output with a class axis."""
STRICT = "strict"
"""Targets shaped exactly like the output (after the trailing-1 squeeze)."""
BROADCAST = "broadcast"
"""Element-wise losses: targets broadcast against the output."""
UNCHECKED = "unchecked"
"""Losses whose targets have their own layout (CTC, segmentation overlaps)."""

LOSS_KINDS: Mapping[str, str] = {
    "sparse_categorical_crossentropy": SPARSE,
    "categorical_crossentropy": STRICT,
    "binary_crossentropy": STRICT,
    "binary_focal_crossentropy": STRICT,
    **dict.fromkeys(
        ("mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
         "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh", "hinge",
         "squared_hinge", "categorical_hinge", "kl_divergence", "poisson",
         "categorical_focal_crossentropy"), BROADCAST),
    **dict.fromkeys(("ctc", "dice", "tversky", "circle", "categorical_generalized_cross_entropy"),
                    UNCHECKED),
}
# Keras' short names, and the Keras 2 names Keras 3 dropped.
LOSS_ALIASES: Mapping[str, str] = {
    "bce": "binary_crossentropy", "kld": "kl_divergence", "mae": "mean_absolute_error",
    "mse": "mean_squared_error", "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error", "kullback_leibler_divergence": "kl_divergence",
    "logcosh": "log_cosh", "huber_loss": "huber", "cosine_proximity": "cosine_similarity",
}
CATEGORICAL_LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy",
                      "categorical_focal_crossentropy")
BINARY_LOSSES = ("binary_crossentropy", "binary_focal_crossentropy")


def loss_name(loss: str | None) -> str | None:
    """The Keras function name of a loss given by function name, class name or alias.

    ``"SparseCategoricalCrossentropy"``, ``"keras.losses.MeanSquaredError"`` and ``"mse"`` are
    ``sparse_categorical_crossentropy``, ``mean_squared_error``, ``mean_squared_error``; an
    unknown name is returned as given.
    """
    if not loss:
        return None
    key = snake_case(loss.rsplit(".", 1)[-1].strip())
    key = LOSS_ALIASES.get(key, key)
    return key if key in LOSS_KINDS else loss


def unknown_loss(loss: str) -> Diagnostic:
    close = difflib.get_close_matches(snake_case(loss), [*LOSS_KINDS, *LOSS_ALIASES], n=2)
    suggestion = f" Did you mean {' or '.join(close)}?" if close else ""
    return diag.warning(
        diag.UNKNOWN_LOSS, None,
        f"loss '{loss}' is not a Keras loss, so the targets were compared with the outputs "
        f"shape for shape, without the loss' own rules.{suggestion}",
        "Give a Keras loss name (categorical_crossentropy, sparse_categorical_crossentropy, "
        "binary_crossentropy, mse, ...) or its class name (CategoricalCrossentropy).")


# -- the whole data check ---------------------------------------------------------------------

def check_data(graph: ModelGraph, prop: Propagation, x_shape: DataShapes, y_shape: DataShapes,
               loss: str | None, size_hints: bool = True) -> list[Diagnostic]:
    """Diagnostics about x, y and the loss against the analysed model; ``size_hints``: look
    for the sizes predict takes where it fails at x's (``data_sizes``), which verifying a fix
    does not need."""
    notes: list[Diagnostic] = []
    name = loss_name(loss)
    if loss and name not in LOSS_KINDS:
        notes.append(unknown_loss(loss))
        name = None
    x_named = named(x_shape, [i.name for i in graph.inputs], "x_shape", notes)
    y_counts = target_sample_counts(y_shape)
    for model_input in graph.inputs:
        if model_input.name in x_named:
            notes.extend(check_input(model_input.name, model_input.shape,
                                     x_named[model_input.name], len(graph.inputs) > 1,
                                     y_counts))
    sized = at_data_sizes(graph, prop, x_named, notes, size_hints)
    outputs = {output_name(ref): (sized or prop).tensors.get(ref) for ref in graph.outputs}
    y_named = named(y_shape, list(outputs), "y_shape", notes)
    context = TargetContext(graph, prop)
    for output, y in y_named.items():
        if outputs.get(output) is not None:
            notes.extend(check_target(output, outputs[output], y, name, context))
    notes.extend(sample_counts(x_named, y_named))
    notes.extend(output_activation_notes(graph, prop, name))
    return notes


def at_data_sizes(graph: ModelGraph, prop: Propagation, x_named: Mapping[str, Shape],
                  notes: list[Diagnostic], size_hints: bool) -> Propagation | None:
    """The model's shapes at the sizes x gives the axes its inputs leave open
    (``data_sizes``), where it runs at them; what fails there goes to ``notes``. None when x
    fills no open axis, the model already fails, or it fails at x's sizes."""
    filled = filled_inputs(graph, x_named)
    if not filled or errors_of(prop):
        return None
    sized = at_sizes(graph, filled)
    errors = size_errors(graph, sized, filled, size_hints)
    notes.extend(errors)
    return None if errors else sized


def named(shapes: DataShapes, names: list[str], what: str,
          notes: list[Diagnostic]) -> dict[str, Shape]:
    """Data shapes keyed by model input/output name; a bare shape needs a single one."""
    if shapes is None:
        return {}
    code = diag.INPUT_SHAPE_MISMATCH if what == "x_shape" else diag.TARGET_SHAPE_MISMATCH
    if isinstance(shapes, Mapping):
        unknown = [n for n in shapes if n not in names]
        if unknown:
            notes.append(diag.error(code, None,
                                    f"{what} names {', '.join(unknown)}, which the model does "
                                    f"not have; it has {', '.join(names)}.",
                                    "Use the model's names."))
        return {n: s for n, s in shapes.items() if n in names}
    if len(names) != 1:
        notes.append(diag.error(code, None,
                                f"The model has {len(names)} of them ({', '.join(names)}), but "
                                f"{what} is a single shape.",
                                f"Give {what} as an object name → shape."))
        return {}
    return {names[0]: tuple(shapes)}


# -- x against the inputs ---------------------------------------------------------------------

def check_input(name: str, expected: Shape, x: Shape, several: bool,
                y_counts: Collection[int] = ()) -> list[Diagnostic]:
    """x (batched, as numpy gives it) against one model input (batched, batch maybe None);
    ``y_counts``: the numbers of samples y_shape gives (``target_sample_counts``)."""
    label = f"model input '{name}'" if several or name != "input" else "the model input"
    if len(x) != len(expected):
        return [rank_mismatch(label, expected, x, y_counts)]
    wrong = [i for i in range(1, len(x))  # an axis either leaves unknown (None) fits
             if None not in (expected[i], x[i]) and x[i] != expected[i]]
    if wrong:
        return [axis_mismatch(label, expected, x, wrong)]
    if expected[0] is not None and x[0] is not None and x[0] % expected[0]:
        return [diag.warning(
            diag.INPUT_SHAPE_MISMATCH, None,
            f"{label} has a fixed batch size of {expected[0]}, but x has {x[0]} samples, not a "
            f"multiple of it: the last batch would have {x[0] % expected[0]}.",
            f"Pass a number of samples divisible by {expected[0]}, or drop the fixed batch size.")]
    return []


def rank_mismatch(label: str, expected: Shape, x: Shape,
                  y_counts: Collection[int]) -> Diagnostic:
    sample = expected[1:]
    if declared_as_whole_data(x, sample, y_counts):
        return whole_data_declared(label, expected, x)
    if len(x) == len(sample) and compatible(x, sample):
        return diag.error(
            diag.INPUT_SHAPE_MISMATCH, None,
            f"x_shape {format_shape(x)} is one sample shaped like {label} "
            f"{format_shape(expected)}, with no batch axis. The first axis of x is always the "
            "number of samples.",
            f"Pass a batch: {format_shape((1, *x))} for one sample (x[None] or "
            "np.expand_dims(x, 0)).")
    message = (f"x_shape {format_shape(x)} has rank {len(x)}: {x[0]} samples each shaped "
               f"{format_shape(x[1:])}. But {label} takes samples shaped {format_shape(sample)}, "
               f"so x must have rank {len(expected)}: {format_shape(('N', *sample))}.")
    return diag.error(diag.INPUT_SHAPE_MISMATCH, None, message, rank_hint(x, sample))


def declared_as_whole_data(x: Shape, sample: Shape, y_counts: Collection[int]) -> bool:
    """Whether a model input declared per sample as ``sample`` is x's whole shape, its
    number of samples included (``input_shape=x_train.shape``, a classic), rather than x
    being one sample without its batch axis (``predict(x_test[0])``, as common): so when y
    has as many samples as x's first axis (``y_counts``)."""
    return len(x) > 1 and tuple(x) == tuple(sample) and x[0] in y_counts


def target_sample_counts(y_shape: DataShapes) -> set[int]:
    """The numbers of samples (first axes) of y_shape, a shape or an object name → shape."""
    shapes = y_shape.values() if isinstance(y_shape, Mapping) else [y_shape]
    return {shape[0] for shape in shapes if shape and shape[0] is not None}


def whole_data_declared(label: str, expected: Shape, x: Shape) -> Diagnostic:
    return diag.error(
        diag.INPUT_SHAPE_MISMATCH, None,
        f"{label} is declared {format_shape(expected)}: each sample shaped "
        f"{format_shape(expected[1:])}, which is x's whole shape, its {x[0]:,} samples "
        f"included. Keras keeps the samples on a batch axis of its own, so this model expects "
        f"x of rank {len(expected)} and refuses x_shape {format_shape(x)}.",
        f"Declare the input without the number of samples: keras.Input(shape=x.shape[1:]), "
        f"here {format_shape(x[1:])} (or input_shape=x.shape[1:] on the first layer). If x "
        "really is one sample, pass x[None] instead.")


def rank_hint(x: Shape, sample: Shape) -> str:
    per_sample = num_elements(x[1:])
    if len(x) - 1 == len(sample) - 1 and sample[-1] == 1 and compatible(x[1:], sample[:-1]):
        return (f"Add a channel axis of 1: x.reshape({', '.join(map(str, (*x, 1)))}) or "
                "np.expand_dims(x, -1).")
    size = num_elements(sample)
    if per_sample is not None and per_sample == size:
        target = format_shape((x[0], *sample))
        return f"Each sample has the right number of values: reshape x to {target}."
    total = num_elements(x)
    if total and size and total % size == 0 and len(x) <= len(sample):
        return flattened_hint(total, total // size, sample)
    return (f"Reshape your data to {format_shape(('N', *sample))}, or change the model input "
            f"to shape {format_shape(x[1:])}.")


def flattened_hint(total: int, count: int, sample: Shape) -> str:
    """x of lower rank holding a whole number of samples' values: one sample without its batch
    and channel axes, or flattened samples (MNIST's 784 pixels for a (28, 28, 1) input)."""
    target = format_shape((count, *sample))
    if count == 1:
        return (f"x holds {total:,} values, one sample's worth with no batch axis: reshape it "
                f"to {target}.")
    return (f"x holds {total:,} values, {count} samples' worth: if it is {count} samples, "
            f"reshape it to {target}; else reshape your data to "
            f"{format_shape(('N', *sample))}.")


def axis_mismatch(label: str, expected: Shape, x: Shape, wrong: Sequence[int]) -> Diagnostic:
    details = "; ".join(f"axis {i}: x has {x[i]}, the model expects {expected[i]}" for i in wrong)
    message = (f"x_shape {format_shape(x)} does not fit {label} {format_shape(expected)} "
               f"({details}). The first axis of x, {x[0]}, is the number of samples; the others "
               "must match the input.")
    if len(x) == 2 and x[0] == expected[1]:
        hint = (f"x looks transposed: it has {x[1]} values per sample and {x[0]} samples. "
                f"Pass x.T, shaped {format_shape((x[1], x[0]))}, if each sample has "
                f"{expected[1]} values.")
    elif sorted(map(str, x[1:])) == sorted(map(str, expected[1:])):
        hint = ("The same sizes in another order: transpose the data (np.transpose / "
                "np.moveaxis), or check data_format (channels_first vs channels_last).")
    else:
        target = format_shape((x[0], *expected[1:]))
        hint = f"Reshape the data to {target}, or change the model input."
    return diag.error(diag.INPUT_SHAPE_MISMATCH, None, message, hint)


def compatible(a: Sequence, b: Sequence) -> bool:
    pairs = zip(a, b, strict=False)
    return len(a) == len(b) and all(p is None or q is None or p == q for p, q in pairs)


# -- y against the outputs --------------------------------------------------------------------

@dataclass(frozen=True)
class UnevenDownsampling:
    """A layer that downsamples a spatial axis its stride does not divide: ``length`` rows
    by ``stride`` give ``output`` (a pooling of 2 over 7 rows gives 3)."""

    layer: str
    length: int
    stride: int
    output: int | None


class TargetContext:
    """What the hints of a target mismatch may point at in the analysed model, each found
    when a hint first asks for it (most checks have no mismatch to hint at)."""

    def __init__(self, graph: ModelGraph, prop: Propagation) -> None:
        self.graph = graph
        self.prop = prop

    @cached_property
    def first_high_rank_dense(self) -> tuple[str, Shape] | None:
        return first_high_rank_dense(self.graph, self.prop)

    @cached_property
    def uneven_downsampling(self) -> UnevenDownsampling | None:
        return uneven_downsampling(self.graph, self.prop)

    @cached_property
    def input_grids(self) -> frozenset[tuple]:
        """The model inputs' shapes between the batch and the last axis (their grids)."""
        return frozenset(tuple(i.shape[1:-1]) for i in self.graph.inputs if i.shape)


def first_high_rank_dense(graph: ModelGraph, prop: Propagation) -> tuple[str, Shape] | None:
    for call in prop.order:
        shape = prop.tensors.get(call.inputs[0]) if call.inputs else None
        if isinstance(graph.layers[call.layer], Dense) and shape is not None and len(shape) > 2:
            return call.layer, shape
    return None


def uneven_downsampling(graph: ModelGraph, prop: Propagation) -> UnevenDownsampling | None:
    """The first convolution or pooling whose stride does not divide a spatial axis it
    downsamples: what it drops, the upsampling of a decoder cannot grow back."""
    for call in prop.order:
        layer = graph.layers[call.layer]
        if not isinstance(layer, SlidingWindow) or isinstance(layer, ConvTranspose):
            continue
        shape = prop.tensors.get(call.inputs[0]) if len(call.inputs) == 1 else None
        output = prop.tensors.get(TensorRef(call.layer, call.index))
        for axis, _, stride, _ in layer.axis_windows if shape and output else ():
            if stride > 1 and shape[axis] is not None and shape[axis] % stride:
                return UnevenDownsampling(call.layer, shape[axis], stride, output[axis])
    return None


Problem = tuple[str, str] | None
BATCH = "N"
"""The batch axis during fit: the same size for the targets and the output."""


def check_target(name: str, out: Shape, y: Shape, loss: str | None,
                 context: TargetContext) -> list[Diagnostic]:
    """y (batched) against one model output, as ``loss`` reads it (None: no loss given)."""
    kind = LOSS_KINDS.get(loss or "")
    if kind == UNCHECKED:
        return []
    layer = name.partition(":")[0]
    if kind == BROADCAST:
        return broadcast_check(layer, out, y, loss, context)
    problem = (sparse_problem(out, y, context) if kind == SPARSE
               else strict_problem(out, y, loss, context) if kind == STRICT
               else unlabelled_problem(out, y, context))
    if problem is None:
        return []
    return [diag.error(diag.TARGET_SHAPE_MISMATCH, layer, *problem)]


def batched(shape: Shape) -> tuple:
    return (BATCH, *shape[1:])


def keras_squeeze(y: tuple, out: tuple) -> tuple[tuple, tuple]:
    """Keras' ``squeeze_or_expand_to_same_rank(y, out)``: a trailing 1 evens out a rank gap."""
    if len(y) == len(out) + 1 and y[-1] == 1:
        return (y, (*out, 1)) if len(out) == 1 else (y[:-1], out)
    if len(out) == len(y) + 1 and out[-1] == 1:
        return ((*y, 1), out) if len(y) == 1 else (y, out[:-1])
    return y, out


def fits_sparse(out: Shape, y: Shape) -> bool:
    y_cmp, out_cmp = keras_squeeze(batched(y), batched(out))
    if len(y_cmp) == len(out_cmp) and y_cmp[-1] == 1:
        y_cmp = y_cmp[:-1]
    return compatible(y_cmp, out_cmp[:-1])


def fits_strict(out: Shape, y: Shape) -> bool:
    return compatible(*keras_squeeze(batched(y), batched(out)))


def missing_batch_axis(out: Shape, y: Shape) -> Problem:
    if len(y) == len(out) - 1 and len(y) > 1 and compatible(y, out[1:]):
        return (f"y_shape {format_shape(y)} is one target shaped like the output "
                f"{format_shape(out)}, with no batch axis. The first axis of y is always the "
                "number of samples.",
                f"Pass a batch: {format_shape((1, *y))} for one sample.")
    return None


def sparse_problem(out: Shape, y: Shape, context: TargetContext) -> Problem:
    if fits_sparse(out, y):
        return None
    classes = out[-1]
    if len(y) == len(out) and y[-1] == classes and classes not in (None, 1):
        return (f"sparse_categorical_crossentropy takes integer class ids shaped "
                f"{format_shape(('N', *out[1:-1]))} or {format_shape(('N', *out[1:-1], 1))}, "
                f"but the targets {format_shape(y)} look one-hot ({classes} columns).",
                "Use loss='categorical_crossentropy' with one-hot targets, or pass "
                "np.argmax(y, axis=-1) as targets.")
    return missing_batch_axis(out, y) or (
        f"With sparse_categorical_crossentropy the targets should be shaped "
        f"{format_shape(('N', *out[1:-1]))} (one class id per sample) for the output "
        f"{format_shape(out)}, but they are {format_shape(y)}.",
        target_rank_hint(out[:-1], y, context, "class ids"))


def strict_problem(out: Shape, y: Shape, loss: str | None, context: TargetContext) -> Problem:
    if fits_strict(out, y):
        return None
    classes = out[-1]
    looks_like_ids = len(y) == len(out) - 1 or (len(y) == len(out) and y[-1] == 1)
    if looks_like_ids and classes not in (None, 1) and compatible(y[1:len(out) - 1], out[1:-1]):
        if loss in BINARY_LOSSES:
            return (f"{loss} scores each of the {classes} outputs against its own 0/1 target, "
                    f"so the targets must be shaped like the output {format_shape(out)}; "
                    f"{format_shape(y)} gives one per sample.",
                    "For one yes/no answer per sample, end the model with Dense(1, "
                    "activation='sigmoid'); for one of several classes, use softmax with "
                    "sparse_categorical_crossentropy (integer labels).")
        return (f"{loss} takes one-hot targets shaped like the output {format_shape(out)}, but "
                f"the targets {format_shape(y)} look like integer class ids.",
                "Use loss='sparse_categorical_crossentropy' with integer labels, or one-hot "
                f"encode them: keras.utils.to_categorical(y, {classes}).")
    return missing_batch_axis(out, y) or shape_problem(out, y, f"{loss} needs targets shaped "
                                                      "exactly like the output", context)


def unlabelled_problem(out: Shape, y: Shape, context: TargetContext) -> Problem:
    """No loss given: accept what the usual losses accept (same shape, or sparse class ids)."""
    if fits_strict(out, y) or fits_sparse(out, y):
        return None
    return missing_batch_axis(out, y) or shape_problem(
        out, y, "no loss was given, so the targets must have the output's shape (or be one "
        "class id per sample)", context)


def shape_problem(out: Shape, y: Shape, rule: str, context: TargetContext) -> tuple[str, str]:
    if len(out) != len(y):
        return (f"The model gives {len(out)}-D {format_shape(out)} where the targets are "
                f"{len(y)}-D {format_shape(y)}: {rule}.", target_rank_hint(out, y, context))
    wrong = [i for i in range(1, len(y)) if out[i] is not None and y[i] != out[i]]
    spatial = len(out) > 2 and bool(wrong) and wrong[-1] < len(out) - 1  # last axis agrees
    return (f"The model gives {format_shape(out)} but the targets are {format_shape(y)} ("
            + "; ".join(f"axis {i}: output {out[i]}, targets {y[i]}" for i in wrong)
            + f"): {rule}.",
            spatial_hint(out, y, context) if spatial else units_hint(out, y))


def spatial_hint(out: Shape, y: Shape, context: TargetContext) -> str:
    """For an output of the targets' rank and channels, but another size on a spatial axis;
    where the targets have the input's size (an autoencoder, a segmenter), the layer whose
    stride dropped rows the decoder cannot grow back."""
    pad, crop = (f"{kind}{min(max(len(out) - 2, 1), 3)}D" for kind in ("ZeroPadding", "Cropping"))
    fix = (f"pad or crop the output to the targets' size ({pad} or {crop} before the last "
           "layer)")
    uneven = context.uneven_downsampling
    if uneven is None or tuple(y[1:-1]) not in context.input_grids:
        return f"Make the sizes agree: {fix}, or resize the targets."
    return (f"'{uneven.layer}' downsamples an axis of {uneven.length} by {uneven.stride} to "
            f"{uneven.output}, dropping what its stride does not divide, so the layers after "
            "it cannot grow back to the input's size. Use inputs whose size every stride "
            f"divides (pad or resize the data), or {fix}.")


def broadcast_check(layer: str, out: Shape, y: Shape, loss: str | None,
                    context: TargetContext) -> list[Diagnostic]:
    """Element-wise losses: an error where broadcasting fails, a warning where it hides."""
    y_cmp, out_cmp = keras_squeeze(batched(y), batched(out))
    if compatible(y_cmp, out_cmp):
        return []
    result = broadcast(y_cmp, out_cmp)
    if result is None:
        problem = missing_batch_axis(out, y) or shape_problem(
            out, y, f"{loss} compares them element by element and the shapes do not broadcast",
            context)
        return [diag.error(diag.TARGET_SHAPE_MISMATCH, layer, *problem)]
    return [diag.warning(
        diag.TARGET_BROADCAST, layer,
        f"With {loss} the targets {format_shape(y)} are broadcast against the output "
        f"{format_shape(out)} to {format_shape(result)}: {broadcast_effect(out_cmp, y_cmp)} "
        "Keras trains without an error, but the loss is not what it looks like.",
        units_hint(out, y) if len(out) == len(y) else
        f"Give targets shaped like the output, {format_shape(('N', *out[1:]))}.")]


def broadcast(a: tuple, b: tuple) -> tuple | None:
    """numpy broadcasting of two shapes with a symbolic batch axis; None when it fails."""
    out: list = []
    for p, q in zip(reversed((None,) * (len(b) - len(a)) + a),
                    reversed((None,) * (len(a) - len(b)) + b), strict=True):
        if p is None or q is None:
            out.append(q if p is None else p)
        elif p == q or q == 1:
            out.append(p)
        elif p == 1:
            out.append(q)
        else:
            return None
    return tuple(reversed(out))


def broadcast_effect(out: tuple, y: tuple) -> str:
    if len(out) == len(y) and out[-1] not in (None, 1) and y[-1] == 1:
        return f"each of the {out[-1]} outputs is compared with the same target."
    if len(out) == len(y) and out[-1] == 1 and y[-1] not in (None, 1):
        return f"the single output is compared with each of {y[-1]} targets."
    return "targets and outputs are paired up along axes that do not correspond."


def target_rank_hint(out: Shape, y: Shape, context: TargetContext, what: str = "targets") -> str:
    if len(out) > len(y) and context.first_high_rank_dense:
        name, shape = context.first_high_rank_dense
        pool = global_pooling(len(shape))
        return (f"Dense acts on the last axis only, so the axes {format_shape(shape[1:-1])} "
                f"are still there. Put Flatten or {pool} before '{name}', the first Dense, "
                f"which receives {format_shape(shape)}.")
    if len(out) > len(y):
        return ("The output still has spatial or time axes. Put Flatten or a global pooling "
                "layer (GlobalAveragePooling2D for images) before the first Dense, or set "
                "return_sequences=False on the last recurrent layer.")
    return (f"The output has fewer axes than the {what}: check that the {what} are what the "
            "model predicts, or set return_sequences=True on the last recurrent layer to "
            "predict at every time step.")


def global_pooling(rank: int) -> str:
    """The global average pooling layer for a batched input of ``rank`` axes."""
    return f"GlobalAveragePooling{min(max(rank - 2, 1), 3)}D"


def units_hint(out: Shape, y: Shape) -> str:
    if y[-1] is not None and out[-1] is not None and y[-1] != out[-1]:
        return (f"Make the last layer give {counted(y[-1], 'value')} per sample (e.g. "
                f"Dense({y[-1]})), or check the targets: {counted(y[-1], 'column')} against "
                f"{counted(out[-1], 'output')}.")
    return "Make the output shape match the targets."


def counted(n: int, noun: str) -> str:
    return f"one {noun}" if n == 1 else f"{n} {noun}s"


def sample_counts(x: Mapping[str, Shape], y: Mapping[str, Shape]) -> list[Diagnostic]:
    counts = {f"x_shape[{n}]" if len(x) > 1 else "x_shape": s[0] for n, s in x.items() if s}
    counts |= {f"y_shape[{n}]" if len(y) > 1 else "y_shape": s[0] for n, s in y.items() if s}
    known = {k: v for k, v in counts.items() if v is not None}
    if len(set(known.values())) <= 1:
        return []
    listing = ", ".join(f"{k} has {v}" for k, v in known.items())
    return [diag.error(diag.TARGET_SHAPE_MISMATCH if any(k.startswith("y") for k in known) else
                       diag.INPUT_SHAPE_MISMATCH, None,
                       f"The data disagree on the number of samples (the first axis): {listing}.",
                       "x and y must have one row per sample, the same number of rows.")]


# -- the output activation against the loss ---------------------------------------------------

PROBABILITIES = ("softmax", "sigmoid", "hard_sigmoid")
# Layers that pass their input through unchanged at inference (what a loss sees is before them).
PASS_THROUGH = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                "GaussianNoise", "GaussianDropout", "AlphaDropout", "Identity",
                "ActivityRegularization"}


@dataclass
class OutputActivation:
    layer: str
    """The layer whose activation the output is."""
    activation: str


def output_activation(graph: ModelGraph, name: str) -> OutputActivation | None:
    """The activation that produces the output of ``name`` (looking through dropout)."""
    calls = {call.layer: call for call in graph.calls}
    while name in graph.layers:
        layer = graph.layers[name]
        if layer.keras_name == "Softmax":
            return OutputActivation(name, "softmax")
        if layer.family == "activations":
            return OutputActivation(name, snake_case(layer.keras_name))
        activation = getattr(layer.args, "activation", False)
        if activation is not False:
            return OutputActivation(name, activation or "linear")
        call = calls.get(name)
        if layer.keras_name not in PASS_THROUGH or call is None or len(call.inputs) != 1:
            return None
        name = call.inputs[0].layer
    return None


def output_activation_notes(graph: ModelGraph, prop: Propagation,
                            loss: str | None) -> list[Diagnostic]:
    """Warnings where the output activation does not produce what the loss reads."""
    if loss not in (*CATEGORICAL_LOSSES, *BINARY_LOSSES):
        return []
    notes = []
    for ref in graph.outputs:
        shape = prop.tensors.get(ref)
        found = output_activation(graph, ref.layer) if ref.index == 0 else None
        if shape is None or found is None:
            continue
        message = activation_problem(found.activation, loss, shape[-1])
        if message:
            wanted = "sigmoid" if loss in BINARY_LOSSES or shape[-1] == 1 else "softmax"
            notes.append(diag.warning(
                diag.ACTIVATION_LOSS_MISMATCH, found.layer,
                f"'{found.layer}' gives the output {format_shape(shape)} with activation "
                f"'{found.activation}', but {message}",
                activation_hint(found.activation, wanted, loss, shape[-1])))
    return notes


def activation_problem(activation: str, loss: str, units: int | None) -> str | None:
    if activation == "softmax" and units == 1:
        return None  # single_unit_softmax says it, whatever the loss
    logits = (f"{loss} reads the outputs as probabilities (from_logits=False, the default for a "
              f"loss given by name): '{activation}' outputs are not, so Keras clips them into "
              "(0, 1) and the training goes wrong.")
    if loss in BINARY_LOSSES:
        if activation == "softmax":
            return (f"softmax makes the {units} outputs compete (they sum to 1), while {loss} "
                    "scores each one as an independent yes/no probability.")
        return None if activation in PROBABILITIES else logits
    if units == 1:
        return (f"{loss} over a single output is always 0: Keras rescales the outputs to sum "
                "to 1, so the only class always has probability 1 and nothing is learnt.")
    if activation in ("sigmoid", "hard_sigmoid"):
        return (f"{activation} scores each of the {units} classes independently; {loss} expects "
                "a probability distribution over them (softmax). Keras rescales the outputs to "
                "sum to 1, which hides the mistake but trains worse.")
    return None if activation == "softmax" else logits


def activation_hint(activation: str, wanted: str, loss: str, units: int | None) -> str:
    if loss in CATEGORICAL_LOSSES and units == 1:
        return ("For two classes use Dense(1, activation='sigmoid') with binary_crossentropy; "
                "for more, give the last layer one unit per class with softmax.")
    if activation in PROBABILITIES:
        return f"Use activation='{wanted}' on the output layer."
    return (f"Use activation='{wanted}' on the output layer, or keep the raw outputs and build "
            "the loss with from_logits=True in your code.")
