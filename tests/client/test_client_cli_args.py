"""The CLI's argument handling and output rendering, without a server."""

from __future__ import annotations

import argparse
import io
import socket
from pathlib import Path

import pytest
from shapecheck_client import CheckResult
from shapecheck_client.cli import (
    combine_shapes,
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


def test_combine_shapes() -> None:
    assert combine_shapes(None) is None
    assert combine_shapes([(None, [1, 2])]) == [1, 2]
    assert combine_shapes([("a", [1]), ("b", [None, 2])]) == {"a": [1], "b": [None, 2]}
    with pytest.raises(ValueError, match="name every shape"):
        combine_shapes([(None, [1]), (None, [2])])
    with pytest.raises(ValueError, match="name every shape"):
        combine_shapes([("a", [1]), (None, [2])])
    with pytest.raises(ValueError, match="twice"):
        combine_shapes([("a", [1]), ("a", [2])])


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
