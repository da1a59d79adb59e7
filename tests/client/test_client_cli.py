"""The CLI: argument handling, rendering, and its commands against a scripted server."""

from __future__ import annotations

import argparse
import io
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from seed_models import SEED_000
from shapecheck_client import CheckResult
from shapecheck_client.cli import (
    combine_named,
    main,
    parse_shape,
    parse_shape_option,
    render,
    use_colour,
)


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("100,100,100,3", [100, 100, 100, 3]),
        ("none,16", [None, 16]),
        ("None, 16", [None, 16]),
        ("?,?,3", [None, None, 3]),
        ("null,4", [None, 4]),
        ("(100, 10)", [100, 10]),
        ("[32,10]", [32, 10]),
        ("100,", [100]),
        ("7", [7]),
        ("0,5", [0, 5]),
    ],
)
def test_parse_shape(text: str, shape: list[int | None]) -> None:
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["", "()", "1,,2", "1,-2", "a,b", "1.5,2", "1,2,,", "²"])
def test_parse_shape_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_shape(text)


def test_named_shapes() -> None:
    assert parse_shape_option("image=1,2,3") == ("image", [1, 2, 3])
    assert parse_shape_option("1,2") == (None, [1, 2])
    with pytest.raises(argparse.ArgumentTypeError, match="missing name"):
        parse_shape_option("=1,2")


def test_combine_named() -> None:
    assert combine_named(None) is None
    assert combine_named([(None, [1, 2])]) == [1, 2]
    assert combine_named([("a", [1]), ("b", [None, 2])]) == {"a": [1], "b": [None, 2]}
    with pytest.raises(ValueError, match="name every one"):
        combine_named([(None, [1]), (None, [2])])
    with pytest.raises(ValueError, match="name every one"):
        combine_named([("a", [1]), (None, [2])])
    with pytest.raises(ValueError, match="twice"):
        combine_named([("a", [1]), ("a", [2])])


def test_bad_shape_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["check", "model.json", "--x-shape", "1,x"])
    assert caught.value.code == 2
    assert "bad dimension 'x'" in capsys.readouterr().err


def test_missing_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2


def test_missing_model_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "absent.json"), "--url", "http://127.0.0.1:9"]) == 2
    assert "absent.json" in capsys.readouterr().err


def test_invalid_json_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.json"
    path.write_text("{not json")
    assert main(["check", str(path), "--url", "http://127.0.0.1:9"]) == 2
    assert "shapecheck:" in capsys.readouterr().err


def test_unreachable_service_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    assert main(["layers", "--url", url, "--retries", "0"]) == 2
    assert "cannot reach" in capsys.readouterr().err


RESULT = CheckResult.from_dict(
    {
        "ok": False,
        "summary": "TABLE",
        "diagnostics": [
            {
                "severity": "error",
                "code": "target_shape_mismatch",
                "layer": "dense_1",
                "message": "bad target",
                "hint": "flatten first",
                "fixes": [{"title": "Insert Flatten before dense", "patch": []}],
            },
            {"severity": "warning", "code": "legacy_argument", "layer": None, "message": "old"},
        ],
    }
)


def test_render_plain() -> None:
    assert render(RESULT, colour=False).splitlines() == [
        "TABLE",
        "error target_shape_mismatch at dense_1: bad target",
        "    hint: flatten first",
        "    fix: Insert Flatten before dense",
        "warning legacy_argument: old",
        "FAILED: 1 error(s), 1 warning(s)",
    ]


@pytest.mark.parametrize("model, line", [
    ({"inputs": [{"name": "input", "shape": [None, 28, 28, 1]}],
      "outputs": [{"name": "dense", "shape": [None, 10]}]},
     "Data: predict(x) takes x (N, 28, 28, 1) and gives (N, 10); N is the number of samples, "
     "so one sample is x[None]"),
    ({"inputs": [{"name": "tokens", "shape": [None, None, 16]}],
      "outputs": [{"name": "out", "shape": [None, 1]}, {"name": "aux", "shape": [None, 4]}]},
     "Data: predict(x) takes x (N, ?, 16) and gives {out: (N, 1), aux: (N, 4)}; N is the "
     "number of samples, so one sample is x[None]; ? is a size the model leaves open "
     "(--x-shape checks yours)"),
    ({"inputs": [{"name": "a", "shape": [8, 3]}, {"name": "b", "shape": [8, 5]}],
      "outputs": [{"name": "broken", "shape": None}]},
     "Data: predict(x) takes x {a: (8, 3), b: (8, 5)}; the model fixes the batch size at 8"),
])
def test_the_data_a_model_takes_and_gives(model: dict, line: str) -> None:
    """The shapes of predict's x and outputs, the batch axis spelt N (or the batch size the
    model fixes); what it gives only where it is computed."""
    result = CheckResult.from_dict({"ok": True, "summary": "TABLE", "model": model})
    assert render(result, colour=False).splitlines()[1] == line


def test_render_colour() -> None:
    text = render(RESULT, colour=True)
    assert "\033[1;31merror\033[0m target_shape_mismatch" in text
    assert "\033[33mwarning\033[0m legacy_argument" in text


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_tty_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(FakeTty())
    assert not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(FakeTty())


FLATTEN = {"op": "add", "path": "/layers/1", "value": {"type": "Flatten"}}
WRONG = {
    "ok": False,
    "summary": "TABLE",
    "diagnostics": [
        {
            "severity": "error",
            "code": "target_shape_mismatch",
            "layer": "dense_1",
            "message": "4-D output, 2-D targets",
            "fixes": [
                {
                    "title": "Insert Flatten before dense",
                    "patch": [FLATTEN],
                    "result": {"output_shape": [None, 10]},
                },
                {"title": "A worse fix", "patch": [{"op": "remove", "path": "/layers/1"}]},
            ],
        }
    ],
}
RIGHT = {"ok": True, "summary": "TABLE", "diagnostics": []}
DATA_ARGS = ["--x-shape", "100,100,100,3", "--y-shape", "100,10"]


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(SEED_000))
    return path


@pytest.mark.parametrize(("answer", "status"), [(RIGHT, 0), (WRONG, 1)])
def test_check_exit_status(
    scripted_server: Any,
    model_path: Path,
    capsys: pytest.CaptureFixture[str],
    answer: dict[str, Any],
    status: int,
) -> None:
    scripted_server.add(200, answer)
    args = ["check", str(model_path), "--url", scripted_server.url, "--api-key", "k", *DATA_ARGS]
    assert main(args) == status
    assert capsys.readouterr().out.startswith("TABLE\n")
    (request,) = scripted_server.received
    assert request.body == {"model": SEED_000, "x_shape": [100, 100, 100, 3], "y_shape": [100, 10]}
    assert request.headers["Authorization"] == "Bearer k"


def test_check_named_shapes_and_json(
    scripted_server: Any, model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_server.add(200, WRONG)
    args = ["check", str(model_path), "--url", scripted_server.url, "--json"]
    assert main([*args, "--x-shape", "a=?,3", "--x-shape", "b=none,4", "--batch-size", "8"]) == 1
    assert json.loads(capsys.readouterr().out) == WRONG
    assert scripted_server.received[0].body["x_shape"] == {"a": [None, 3], "b": [None, 4]}
    assert scripted_server.received[0].body["batch_size"] == 8


def test_check_several_files_reports_each_and_exits_with_the_worst(
    scripted_server: Any, model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_server.add(200, RIGHT).add(200, WRONG)
    absent = tmp_path / "absent.json"
    args = ["check", str(model_path), str(absent), str(model_path), "--url", scripted_server.url]
    assert main(args) == 2  # a file that cannot be read outranks a model with errors
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == f"==> {model_path} <=="
    assert captured.out.count(f"==> {model_path} <==") == 2
    assert "OK: no errors" in captured.out and "FAILED: 1 error(s)" in captured.out
    assert captured.err.startswith(f"shapecheck: {absent}: ")
    assert len(scripted_server.received) == 2  # the others were still checked
    scripted_server.add(200, RIGHT)
    assert main(["check", str(model_path), str(model_path), "--url", scripted_server.url]) == 0


def test_check_several_files_as_json_gives_an_object_by_file(
    scripted_server: Any, model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps(SEED_000))
    scripted_server.add(200, WRONG).add(200, RIGHT)
    args = ["check", str(model_path), str(other), "--url", scripted_server.url, "--json"]
    assert main(args) == 1
    assert json.loads(capsys.readouterr().out) == {str(model_path): WRONG, str(other): RIGHT}


def test_github_annotations_put_each_diagnostic_on_its_file(
    scripted_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "odd: name, v2.json"  # ':' and ',' are escaped in a property
    path.write_text(json.dumps(SEED_000))
    answer = {**RESULT.raw, "diagnostics": [
        {**RESULT.raw["diagnostics"][0], "message": "100% bad\nreally"},
        RESULT.raw["diagnostics"][1],
        {"severity": "info", "code": "dense_on_high_rank", "layer": "dense", "message": "note"}]}
    scripted_server.add(200, answer)
    assert main(["check", str(path), "--url", scripted_server.url, "--github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    escaped = str(path).replace(":", "%3A").replace(",", "%2C")
    assert lines[:3] == [
        f"::error file={escaped},title=target_shape_mismatch at dense_1::100%25 bad%0Areally "
        "Hint: flatten first Verified fix: Insert Flatten before dense.",
        f"::warning file={escaped},title=legacy_argument::old",
        f"::notice file={escaped},title=dense_on_high_rank at dense::note",
    ]
    assert lines[3] == "TABLE"  # the report follows, as without annotations
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # in a GitHub Actions job: on by default
    scripted_server.add(200, answer)
    assert main(["check", str(path), "--url", scripted_server.url]) == 1
    assert capsys.readouterr().out.startswith("::error file=")
    assert main(["check", str(path), "--url", scripted_server.url, "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == answer  # JSON only, even there
    with pytest.raises(SystemExit):
        main(["check", str(path), "--url", scripted_server.url, "--json", "--github"])


def test_fix_applies_the_first_fix_and_checks_again(
    scripted_server: Any, model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_server.add(200, WRONG).add(200, RIGHT)
    output = tmp_path / "fixed.json"
    args = ["fix", str(model_path), "-o", str(output), "--url", scripted_server.url, *DATA_ARGS]
    assert main(args) == 0
    fixed = json.loads(output.read_text())
    assert [layer["type"] for layer in fixed["layers"]] == ["Conv2D", "Flatten", "Dense", "Dense"]
    first, again = scripted_server.received
    assert first.body["model"] == SEED_000
    assert again.body == {**first.body, "model": fixed}
    assert capsys.readouterr().out.splitlines() == [
        "Fixed target_shape_mismatch at dense_1: Insert Flatten before dense.",
        'After the fix: {"output_shape": [null, 10]}',
        f"Wrote {output} (no errors).",
    ]


def test_fix_says_when_errors_remain(
    scripted_server: Any, model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_server.add(200, WRONG)
    output = tmp_path / "fixed.json"
    assert main(["fix", str(model_path), "-o", str(output), "--url", scripted_server.url]) == 0
    assert "(1 error(s) left, run fix again)" in capsys.readouterr().out
    assert output.exists()


def test_fix_without_a_fix_exits_1(
    scripted_server: Any, model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    without_fixes = {**WRONG, "diagnostics": [{**WRONG["diagnostics"][0], "fixes": []}]}
    scripted_server.add(200, without_fixes)
    output = tmp_path / "fixed.json"
    assert main(["fix", str(model_path), "-o", str(output), "--url", scripted_server.url]) == 1
    assert capsys.readouterr().out.rstrip().endswith("No fix is available for these errors.")
    assert not output.exists()


def test_fix_on_a_right_model_copies_it(
    scripted_server: Any, model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_server.add(200, RIGHT)
    output = tmp_path / "fixed.json"
    assert main(["fix", str(model_path), "-o", str(output), "--url", scripted_server.url]) == 0
    assert json.loads(output.read_text()) == SEED_000
    assert "nothing to fix" in capsys.readouterr().out


def test_layers_command(scripted_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    layers = [
        {"type": "Dense", "description": "Fully connected,\n    on the last axis."},
        {"type": "Flatten"},
    ]
    body = {"layers": layers}
    scripted_server.add(200, body).add(200, body)
    assert main(["layers", "--url", scripted_server.url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{'Dense':<28} Fully connected, on the last axis.",
        "Flatten",
    ]
    assert main(["layers", "--url", scripted_server.url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == body["layers"]


def test_service_error_exits_2(
    scripted_server: Any, model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_server.add(401, {"title": "Unauthorized", "detail": "missing API key"})
    assert main(["check", str(model_path), "--url", scripted_server.url]) == 2
    captured = capsys.readouterr()
    assert captured.err == "shapecheck: HTTP 401: Unauthorized: missing API key\n"
    assert captured.out == ""
