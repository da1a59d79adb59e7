"""The user's data against the model: ``x_shape`` against the inputs, ``y_shape`` against the
outputs (loss-aware), with the batch axis understood."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import diagnostics as diag
from .diagnostics import Diagnostic
from .graph import ModelGraph, Propagation
from .layers.core import Dense
from .request import DataShapes
from .shapes import Shape, format_shape, num_elements

SPARSE_LOSSES = {"sparse_categorical_crossentropy", "sparsecategoricalcrossentropy",
                 "sparse_categorical_focal_crossentropy"}
CATEGORICAL_LOSSES = {"categorical_crossentropy", "categoricalcrossentropy",
                      "categorical_focal_crossentropy", "kl_divergence", "kld",
                      "kullback_leibler_divergence", "categorical_hinge"}


def check_data(graph: ModelGraph, prop: Propagation, x_shape: DataShapes, y_shape: DataShapes,
               loss: str | None) -> list[Diagnostic]:
    notes: list[Diagnostic] = []
    x_named = named(x_shape, [i.name for i in graph.inputs], "x_shape", notes)
    for model_input in graph.inputs:
        if model_input.name in x_named:
            notes.extend(check_input(model_input.name, model_input.shape,
                                     x_named[model_input.name], len(graph.inputs) > 1))
    outputs = {ref.layer if ref.index == 0 else f"{ref.layer}:{ref.index}": prop.tensors.get(ref)
               for ref in graph.outputs}
    y_named = named(y_shape, list(outputs), "y_shape", notes)
    context = target_context(graph, prop)
    for name, y in y_named.items():
        if name in outputs and outputs[name] is not None:
            notes.extend(check_target(name, outputs[name], y, loss, context))
    notes.extend(sample_counts(x_named, y_named))
    return notes


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


def check_input(name: str, expected: Shape, x: Shape, several: bool) -> list[Diagnostic]:
    """x (batched, as numpy gives it) against one model input (batched, batch maybe None)."""
    label = f"model input '{name}'" if several or name != "input" else "the model input"
    if len(x) != len(expected):
        return [rank_mismatch(label, expected, x)]
    wrong = [i for i in range(1, len(x)) if expected[i] is not None and x[i] != expected[i]]
    if wrong:
        return [axis_mismatch(label, expected, x, wrong)]
    if expected[0] is not None and x[0] is not None and x[0] % expected[0]:
        return [diag.warning(
            diag.INPUT_SHAPE_MISMATCH, None,
            f"{label} has a fixed batch size of {expected[0]}, but x has {x[0]} samples, not a "
            f"multiple of it: the last batch would have {x[0] % expected[0]}.",
            f"Pass a number of samples divisible by {expected[0]}, or drop the fixed batch size.")]
    return []


def rank_mismatch(label: str, expected: Shape, x: Shape) -> Diagnostic:
    sample = expected[1:]
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


def rank_hint(x: Shape, sample: Shape) -> str:
    per_sample = num_elements(x[1:])
    if len(x) - 1 == len(sample) - 1 and sample[-1] == 1 and compatible(x[1:], sample[:-1]):
        return (f"Add a channel axis of 1: x.reshape({', '.join(map(str, (*x, 1)))}) or "
                "np.expand_dims(x, -1).")
    if per_sample is not None and per_sample == num_elements(sample):
        target = format_shape((x[0], *sample))
        return f"Each sample has the right number of values: reshape x to {target}."
    return (f"Reshape your data to {format_shape(('N', *sample))}, or change the model input "
            f"to shape {format_shape(x[1:])}.")


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


@dataclass
class TargetContext:
    """What the hints of a target mismatch may point at."""

    first_high_rank_dense: tuple[str, Shape] | None = None


def target_context(graph: ModelGraph, prop: Propagation) -> TargetContext:
    for call in prop.order:
        shape = prop.tensors.get(call.inputs[0]) if call.inputs else None
        if isinstance(graph.layers[call.layer], Dense) and shape is not None and len(shape) > 2:
            return TargetContext((call.layer, shape))
    return TargetContext()


def check_target(name: str, out: Shape, y: Shape, loss: str | None,
                 context: TargetContext) -> list[Diagnostic]:
    """y (batched) against one model output, as the loss will read it."""
    key = (loss or "").lower()
    problem = (sparse_problem(out, y, context) if key in SPARSE_LOSSES
               else categorical_problem(out, y, loss, context) if key in CATEGORICAL_LOSSES
               else dense_problem(out, y, context))
    if problem is None:
        return []
    message, hint = problem
    return [diag.error(diag.TARGET_SHAPE_MISMATCH, name.partition(":")[0], message, hint)]


Problem = tuple[str, str] | None


def dense_problem(out: Shape, y: Shape, context: TargetContext) -> Problem:
    """Losses that compare y and the output element by element (after Keras' squeeze)."""
    y_cmp, out_cmp = squeezed_pair(y, out)
    if len(y_cmp) != len(out_cmp):
        return (f"The model gives {len(out)}-D {format_shape(out)} where the targets are "
                f"{len(y)}-D {format_shape(y)}.", target_rank_hint(out, y, context))
    wrong = [i for i in range(1, len(y_cmp)) if out_cmp[i] is not None and y_cmp[i] != out_cmp[i]]
    if wrong:
        return (f"The model gives {format_shape(out)} per batch but the targets are "
                f"{format_shape(y)}: " + "; ".join(
                    f"axis {i}: output {out_cmp[i]}, targets {y_cmp[i]}" for i in wrong) + ".",
                units_hint(out, y))
    return None


def squeezed_pair(y: Shape, out: Shape) -> tuple[Shape, Shape]:
    """Keras' ``squeeze_or_expand_to_same_rank``: a trailing axis of 1 is dropped to match."""
    if len(y) == len(out) + 1 and y[-1] == 1:
        return y[:-1], out
    if len(out) == len(y) + 1 and out[-1] == 1:
        return y, out[:-1]
    return y, out


def sparse_problem(out: Shape, y: Shape, context: TargetContext) -> Problem:
    classes = out[-1]
    if len(y) == len(out) - 1 or (len(y) == len(out) and y[-1] == 1):
        lead = y if len(y) == len(out) - 1 else y[:-1]
        if compatible(lead[1:], out[1:-1]):
            return None
    if len(y) == len(out) and y[-1] == classes and classes not in (None, 1):
        return (f"sparse_categorical_crossentropy takes integer class ids shaped "
                f"{format_shape(('N',))} or {format_shape(('N', 1))}, but the targets "
                f"{format_shape(y)} look one-hot ({classes} columns).",
                "Use loss='categorical_crossentropy' with one-hot targets, or pass "
                "np.argmax(y, axis=-1) as targets.")
    return (f"With sparse_categorical_crossentropy the targets should be shaped "
            f"{format_shape(out[:-1])} (one class id per sample) for the output "
            f"{format_shape(out)}, but they are {format_shape(y)}.",
            target_rank_hint(out, y, context))


def categorical_problem(out: Shape, y: Shape, loss: str | None,
                        context: TargetContext) -> Problem:
    classes = out[-1]
    if (len(y) == len(out) - 1 or (len(y) == len(out) and y[-1] == 1)) and classes not in (None, 1):
        return (f"{loss} takes one-hot targets shaped like the output {format_shape(out)}, but "
                f"the targets {format_shape(y)} look like integer class ids.",
                "Use loss='sparse_categorical_crossentropy' with integer labels, or one-hot "
                f"encode them: keras.utils.to_categorical(y, {classes}).")
    if len(y) != len(out):
        return (f"The model gives {len(out)}-D {format_shape(out)} where the targets are "
                f"{len(y)}-D {format_shape(y)}.", target_rank_hint(out, y, context))
    wrong = [i for i in range(1, len(y)) if out[i] is not None and y[i] != out[i]]
    if wrong:
        return (f"The model gives {format_shape(out)} but the one-hot targets are "
                f"{format_shape(y)}.", units_hint(out, y))
    return None


def target_rank_hint(out: Shape, y: Shape, context: TargetContext) -> str:
    if len(out) > len(y) and context.first_high_rank_dense:
        name, shape = context.first_high_rank_dense
        pool = f"GlobalAveragePooling{min(max(len(shape) - 2, 1), 3)}D"
        return (f"Dense acts on the last axis only, so the axes {format_shape(shape[1:-1])} "
                f"are still there. Put Flatten or {pool} before '{name}', the first Dense, "
                f"which receives {format_shape(shape)}.")
    if len(out) > len(y):
        return ("The output still has spatial or time axes. Put Flatten or a global pooling "
                "layer (GlobalAveragePooling2D for images) before the first Dense, or set "
                "return_sequences=False on the last recurrent layer.")
    return ("The output has fewer axes than the targets: check that the targets are what the "
            "model predicts, or set return_sequences=True on the last recurrent layer.")


def units_hint(out: Shape, y: Shape) -> str:
    if y[-1] is not None and out[-1] is not None and y[-1] != out[-1]:
        return (f"Make the last layer give {y[-1]} values per sample (e.g. Dense({y[-1]})), or "
                f"check the targets: {y[-1]} columns against {out[-1]} outputs.")
    return "Make the output shape match the targets."


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
