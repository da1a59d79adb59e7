"""The ``shapecheck`` command: check model files, list layer types, apply a verified fix.

Exit status: 0 when no model has errors (or the fix was applied), 1 when one has errors (or no
fix is available), 2 on a usage error, a file that cannot be read, when the service fails or
cannot be reached, or refuses a forward pass of a model without errors. ``check`` takes
several files (a CI job checking every model of a repository): it checks each one, reports
each, and exits with the worst status.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO, TypeVar

from ._version import __version__
from .arrays import read_npy
from .client import Client, load_model
from .errors import PayloadTooLarge, ShapecheckError, ValidationError
from .patch import apply_fix
from .results import CheckResult, Diagnostic
from .savedweights import saved_weights

NULL_DIMS = frozenset({"none", "null", "?"})
SEVERITY_COLOURS = {"error": "1;31", "warning": "33", "info": "36"}
Shape = list[int | None]
T = TypeVar("T")


def parse_shape(text: str) -> Shape:
    """``"100,none,3"`` -> ``[100, None, 3]``; brackets, spaces and a trailing comma are fine."""
    items = [item.strip() for item in text.strip().strip("()[]").split(",")]
    if len(items) > 1 and items[-1] == "":
        items.pop()
    if items == [""]:
        raise argparse.ArgumentTypeError("empty shape")
    return [_dimension(item, text) for item in items]


def _dimension(item: str, text: str) -> int | None:
    if item.lower() in NULL_DIMS:
        return None
    if item.isascii() and item.isdigit():
        return int(item)
    raise argparse.ArgumentTypeError(
        f"bad dimension {item!r} in shape {text!r}: use integers, or none or ? for unknown"
    )


def parse_shape_option(text: str) -> tuple[str | None, Shape]:
    """A ``--x-shape`` value: ``1,2,3`` or, for a named input or output, ``name=1,2,3``."""
    name, sep, dims = text.partition("=")
    if not sep:
        return None, parse_shape(text)
    if not name.strip():
        raise argparse.ArgumentTypeError(f"missing name before '=' in {text!r}")
    return name.strip(), parse_shape(dims)


def parse_array_option(text: str) -> tuple[str | None, dict[str, Any]]:
    """A ``--x`` value: ``data.npy`` or, for a named input, ``name=data.npy``; the file is
    read at once, so that a bad one is a usage error."""
    name, sep, path = text.partition("=")
    if not sep or os.sep in name:  # no name, or a '=' inside the path
        name, path = "", text
    elif not name.strip():
        raise argparse.ArgumentTypeError(f"missing name before '=' in {text!r}")
    try:
        return name.strip() or None, read_npy(Path(path))
    except (OSError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def combine_named(values: list[tuple[str | None, T]] | None) -> T | dict[str, T] | None:
    """Repeated shape or array options as the request wants them: one value, or a dict name
    -> value."""
    if not values:
        return None
    names = [name for name, _ in values]
    if names == [None]:
        return values[0][1]
    if None in names:
        raise ValueError("give one unnamed value, or name every one (name=...)")
    if len(set(names)) != len(names):
        raise ValueError("the same name is given twice")
    return {str(name): value for name, value in values}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="service URL, or inprocess: to run the service's app in "
                        "this process (default: $SHAPECHECK_URL, then http://127.0.0.1:8000)")
    common.add_argument("--api-key", help="API key (default: $SHAPECHECK_API_KEY)")
    common.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    common.add_argument("--retries", type=int, default=3, help="retries when overloaded")

    model = argparse.ArgumentParser(add_help=False, parents=[common])
    shape_help = "data shape with the batch axis, e.g. 100,32,32,3 (none or ? for unknown); "
    for option, what in (("--x-shape", "inputs"), ("--y-shape", "outputs")):
        model.add_argument(
            option,
            type=parse_shape_option,
            action="append",
            metavar="SHAPE",
            help=f"{shape_help}repeat as name=SHAPE for several {what}",
        )
    model.add_argument("--loss", help="Keras loss name, for a loss-aware target check")
    model.add_argument("--batch-size", type=int,
                       help="batch size for byte and MAC totals, and of --forward's random data")

    parser = argparse.ArgumentParser(
        prog="shapecheck", description="Find tensor shape errors in Keras models."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    model_help = ("model file: JSON (native, Keras to_json() or get_config()), a Keras .keras "
                  "archive, a legacy .h5 model or a tf.keras 2 SavedModel directory")
    check = commands.add_parser("check", parents=[model], help="check models for shape errors")
    check.add_argument("models", type=Path, nargs="+", metavar="MODEL",
                       help=f"{model_help}; several are checked in turn, with the same options")
    check.add_argument(
        "--forward", action="store_true",
        help="also run the model forward (numpy, on the service) with seeded random data of "
             "--batch-size (default 1) and default weights, and print each output's shape and "
             "statistics")
    check.add_argument(
        "--x", type=parse_array_option, action="append", metavar="FILE.npy",
        help="run the forward pass on this array (numpy.save's file) instead; repeat as "
             "name=FILE.npy for several inputs")
    check.add_argument(
        "--saved-weights", action="store_true",
        help="run --forward with the trained weights saved in MODEL (.keras or .h5) instead "
             "of default ones")
    check.add_argument("--seed", type=int, help="seed of --forward's weights and random data")
    check.add_argument(
        "--layer-stats", action="store_true",
        help="run the forward pass (as --forward) and print the statistics of every layer's "
             "outputs: what each layer computes")
    output = check.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print the raw JSON answer (for several files: an object by file)")
    output.add_argument(
        "--github", action="store_true", default=None,
        help="also print GitHub Actions annotations (::error file=...), which show each "
             "diagnostic on its file in a pull request; the default when GITHUB_ACTIONS=true "
             "(but for --json, which prints JSON only)")
    check.set_defaults(run=run_check)
    layers = commands.add_parser("layers", parents=[common], help="list supported layer types")
    layers.add_argument("--json", action="store_true", help="print the raw JSON answer")
    layers.set_defaults(run=run_layers)
    fix = commands.add_parser("fix", parents=[model], help="apply the best fix for the first error")
    fix.add_argument("model", type=Path, metavar="MODEL", help=model_help)
    fix.add_argument(
        "-o", "--output", required=True, metavar="FIXED.json", help="where to write the fixed model"
    )
    fix.set_defaults(run=run_fix)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        client = Client(args.url, api_key=args.api_key, timeout=args.timeout, retries=args.retries)
        with client:
            return args.run(client, args)
    except BrokenPipeError:
        # The reader went away (`shapecheck layers | head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ShapecheckError, OSError, ValueError) as exc:
        print(f"shapecheck: {exc}", file=sys.stderr)
        return 2


def run_check(client: Client, args: argparse.Namespace) -> int:
    """Check each file and report it; a file that cannot be read or checked is reported on
    stderr and the others are still checked."""
    several = len(args.models) > 1
    github = not args.json and (args.github or os.environ.get("GITHUB_ACTIONS") == "true")
    statuses, answers = [], {}
    for index, path in enumerate(args.models):
        try:
            result, refused = _check_with_forward(client, path, args)
        except (ShapecheckError, OSError, ValueError) as exc:
            if not several:
                raise
            print(f"shapecheck: {path}: {exc}", file=sys.stderr)
            statuses.append(2)
            continue
        statuses.append(0 if result.ok and not refused else 1 if not result.ok else 2)
        answers[str(path)] = result.raw
        if args.json:
            continue
        if several:
            print(f"{chr(10) if index else ''}==> {path} <==")
        for line in annotations(result, str(path)) if github else ():
            print(line)
        print(render(result, colour=use_colour(sys.stdout)))
        if result.forward or refused:
            print(render_forward(result.forward, refused))
    if args.json:
        print(json.dumps(answers if several else next(iter(answers.values())), indent=2))
    return max(statuses)


ANNOTATION_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def annotations(result: CheckResult, path: str) -> list[str]:
    """GitHub Actions workflow commands, one per diagnostic, on the model's file."""
    lines = []
    for diagnostic in result.diagnostics:
        level = ANNOTATION_LEVELS.get(diagnostic.severity, "notice")
        message = diagnostic.message + (f" Hint: {diagnostic.hint}" if diagnostic.hint else "")
        if diagnostic.fixes:
            message += f" Verified fix: {diagnostic.fixes[0].title}."
        properties = f"file={_escape(path, True)},title={_escape(_describe(diagnostic), True)}"
        lines.append(f"::{level} {properties}::{_escape(message, False)}")
    return lines


def _escape(text: str, property_value: bool) -> str:
    """A workflow command's escaping: % and line breaks always, ':' and ',' in properties."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def run_layers(client: Client, args: argparse.Namespace) -> int:
    layers = client.layers()
    if args.json:
        print(json.dumps(layers, indent=2))
        return 0
    for layer in layers:
        description = " ".join(str(layer.get("description") or "").split())
        print(f"{layer.get('type', '?'):<28} {description}".rstrip())
    return 0


def run_fix(client: Client, args: argparse.Namespace) -> int:
    model = load_model(args.model)
    result = _check(client, model, args)
    if result.ok:
        _write(args.output, model)
        print(f"No errors, nothing to fix; wrote the model unchanged to {args.output}.")
        return 0
    diagnostic = next((item for item in result.errors if item.fixes), None)
    if diagnostic is None:
        print(render(result, colour=use_colour(sys.stdout)))
        print("No fix is available for these errors.")
        return 1
    fix = diagnostic.fixes[0]
    fixed = apply_fix(model, fix)
    _write(args.output, fixed)
    print(f"Fixed {_describe(diagnostic)}: {fix.title}.")
    if fix.result:
        print(f"After the fix: {json.dumps(fix.result)}")
    remaining = len(_check(client, fixed, args).errors)
    verdict = "no errors" if not remaining else f"{remaining} error(s) left, run fix again"
    print(f"Wrote {args.output} ({verdict}).")
    return 0


def _check(client: Client, model: dict[str, Any], args: argparse.Namespace,
           forward: dict[str, Any] | None = None) -> CheckResult:
    return client.check(
        model,
        x_shape=x_shapes(args),
        y_shape=combine_named(args.y_shape),
        loss=args.loss,
        batch_size=args.batch_size,
        forward=forward,
    )


def x_shapes(args: argparse.Namespace) -> Any:
    """``--x-shape``, or else the shapes of the ``--x`` arrays: the check then sees the sizes
    of the data, where a model that leaves them open may fail (a U-Net at 250×250)."""
    if args.x_shape:
        return combine_named(args.x_shape)
    arrays = getattr(args, "x", None) or ()  # only check takes arrays
    return combine_named([(name, array["shape"]) for name, array in arrays])


def _check_with_forward(client: Client, path: Path,
                        args: argparse.Namespace) -> tuple[CheckResult, str | None]:
    """The check of the model in ``path``, with the forward pass that ``--forward``, ``--x``
    or ``--saved-weights`` asks for. When the service refuses the forward pass alone (the
    model has errors, the data does not fit it, a budget), the check without it, and why the
    pass was refused."""
    model = load_model(path)
    forward = forward_request(args, path)
    if forward is None:
        return _check(client, model, args), None
    try:
        return _check(client, model, args, forward), None
    except (ValidationError, PayloadTooLarge) as exc:
        errors = exc.errors if isinstance(exc, ValidationError) else {}
        if any(not key.startswith("forward") for key in errors):
            raise
        refused = str(exc)
        if isinstance(exc, PayloadTooLarge) and "weights" in forward:
            refused += SAVED_WEIGHTS_TOO_LARGE
        return _check(client, model, args), refused


SAVED_WEIGHTS_TOO_LARGE = (
    ". The saved weights make the request larger than the service takes: run the forward "
    "pass on a service started with a larger SHAPECHECK_MAX_BODY_BYTES (in this process: "
    "SHAPECHECK_MAX_BODY_BYTES=<bytes> shapecheck check --url inprocess: ..., with the "
    "service's package installed), or without --saved-weights")


def forward_request(args: argparse.Namespace, path: Path) -> dict[str, Any] | None:
    """The request's ``forward`` object, or None when no forward pass is asked for."""
    if not (args.forward or args.x or args.saved_weights or args.layer_stats):
        return None
    forward: dict[str, Any] = {"x": combine_named(args.x)} if args.x else {
        "batch_size": args.batch_size}
    forward["seed"] = args.seed
    forward["layer_stats"] = args.layer_stats or None
    if args.saved_weights:
        forward["weights"] = saved_weights(path)
    return {key: value for key, value in forward.items() if value is not None}


def _write(path: str, model: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")


def use_colour(stream: TextIO) -> bool:
    """ANSI colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def render(result: CheckResult, *, colour: bool) -> str:
    """The summary table, the data the model takes and gives, each diagnostic with its hint
    and fixes, and a verdict line."""
    lines = [result.summary.rstrip()] if result.summary else []
    lines += data_lines(result.model)
    for diagnostic in result.diagnostics:
        severity = _paint(diagnostic.severity, SEVERITY_COLOURS.get(diagnostic.severity), colour)
        lines.append(f"{severity} {_describe(diagnostic)}: {diagnostic.message}")
        if diagnostic.hint:
            lines.append(f"    hint: {diagnostic.hint}")
        lines += [f"    fix: {fix.title}" for fix in diagnostic.fixes]
    errors, warnings = len(result.errors), len(result.warnings)
    if result.ok:
        lines.append(_paint(f"OK: no errors, {warnings} warning(s)", "32", colour))
    else:
        lines.append(_paint(f"FAILED: {errors} error(s), {warnings} warning(s)", "1;31", colour))
    return "\n".join(lines)


def data_lines(model: dict[str, Any]) -> list[str]:
    """What ``predict`` takes and gives, batch axis first: ``x (N, 28, 28, 1) → (N, 10)``,
    N the number of samples (a fixed batch size where the model declares one); several
    inputs or outputs by name; what it gives only where the model computes it."""
    inputs, outputs = model.get("inputs") or [], model.get("outputs") or []
    if not inputs or any(not isinstance(t.get("shape"), list) for t in inputs):
        return []
    line = f"Data: predict(x) takes x {_tensors(inputs)}"
    if outputs and all(isinstance(t.get("shape"), list) for t in outputs):
        line += f" and gives {_tensors(outputs)}"
    batches = {t["shape"][0] for t in inputs if t["shape"]}
    if None in batches:
        line += "; N is the number of samples"
        if len(inputs) == 1:
            line += ", so one sample is x[None]"
    else:
        line += f"; the model fixes the batch size at {', '.join(map(str, sorted(batches)))}"
    if any(None in t["shape"][1:] for t in inputs):
        line += "; ? is a size the model leaves open (--x-shape checks yours)"
    return [line]


def _tensors(tensors: list[dict[str, Any]]) -> str:
    """``(N, 4)``, or ``{image: (N, 8, 8, 3), meta: (N, 4)}`` for several."""
    def spelt(shape: list[Any]) -> str:
        dims = ["N" if k == 0 and d is None else "?" if d is None else str(d)
                for k, d in enumerate(shape)]
        return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
    if len(tensors) == 1:
        return spelt(tensors[0]["shape"])
    return "{" + ", ".join(f"{t.get('name')}: {spelt(t['shape'])}" for t in tensors) + "}"


def render_forward(forward: dict[str, Any] | None, refused: str | None) -> str:
    """The forward pass: each output's shape and statistics, or why it did not run."""
    if refused is not None:
        return f"Forward pass not run: {refused}"
    assert forward is not None
    lines = [f"Forward pass (numpy, {forward.get('elapsed_ms', '?')} ms):"]
    for output in forward.get("outputs") or []:
        lines += _stats_lines(output.get("name"), output.get("shape"), output.get("stats"),
                             output.get("dtype"))
    layers = [row for row in forward.get("layers") or [] if row.get("output_stats")]
    if layers:
        lines.append("Each layer's outputs:")
    for row in layers:
        for shape, stats in zip(row.get("output_shapes") or [], row["output_stats"], strict=False):
            lines += _stats_lines(row.get("name"), shape, stats)
    return "\n".join(lines)


def _stats_lines(name: Any, shape: Any, stats: Any, dtype: Any = None) -> list[str]:
    """``name: (3, 1) float32  min ...  max ...  mean ...  std ...``, and a line for NaN or
    infinite values."""
    stats = stats if isinstance(stats, dict) else {}
    spelt = "(" + ", ".join(map(str, shape or [])) + ")"
    figures = "  ".join(f"{key} {stats[key]:.4g}" for key in ("min", "max", "mean", "std")
                        if isinstance(stats.get(key), (int, float)))
    lines = [f"    {name}: {spelt}{f' {dtype}' if dtype else ''}  {figures}"]
    if stats.get("nonfinite"):
        lines.append(f"    {name}: {stats['nonfinite']:,} values are NaN or infinite")
    return lines


def _describe(diagnostic: Diagnostic) -> str:
    where = f" at {diagnostic.layer}" if diagnostic.layer else ""
    return f"{diagnostic.code}{where}"


def _paint(text: str, code: str | None, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour and code else text


if __name__ == "__main__":
    sys.exit(main())
