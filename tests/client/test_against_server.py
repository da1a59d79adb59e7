"""The client and the CLI against the real shapecheck service (`server_url`, tests/conftest.py)."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapecheck_client
from seed_models import (
    FIXTURES,
    SAVED,
    SAVED_TF_KERAS,
    SEED_000,
    SEED_000_ARGS,
    SEED_000_DATA,
    SEED_001,
)
from shapecheck_client import Client, Fix, ModelShapeError, ValidationError, apply_fix
from shapecheck_client.cli import main
from shapecheck_client.client import load_model


@pytest.fixture(scope="module")
def url(server_url: str) -> str:
    """The real server's URL (tests/conftest.py)."""
    return server_url


@pytest.fixture
def client(url: str) -> Iterator[Client]:
    with Client(url) as client:
        yield client


def write(tmp_path: Path, model: dict[str, Any], name: str = "model.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(model))
    return path


def test_seed_001_is_ok_with_114_params(client: Client) -> None:
    result = client.check(SEED_001)
    assert result.ok, str(result)
    assert result.errors == []
    assert result.totals["params"] == 114
    assert [layer.output_shapes for layer in result.layers] == [
        [(None, 3, 4, 8)],
        [(None, 2, 3, 1)],
        [(None, 6)],
        [(None, 5)],
        [(None, 1)],
    ]
    assert [layer.params for layer in result.layers] == [40, 33, 0, 35, 6]
    assert result.raise_for_errors() is result
    assert result.summary


def test_seed_000_has_a_target_mismatch_at_the_last_dense(client: Client) -> None:
    result = client.check(SEED_000, **SEED_000_DATA, loss="categorical_crossentropy")
    assert not result.ok
    last_dense = result.layers[-1].name
    mismatches = [item for item in result.errors if item.code == "target_shape_mismatch"]
    assert [item.layer for item in mismatches] == [last_dense]
    assert result.layers[-1].output_shapes == [(None, 98, 98, 10)]
    with pytest.raises(ModelShapeError, match="target_shape_mismatch"):
        result.raise_for_errors()


def first_fix(client: Client) -> Fix:
    """The fix the service ranks first for seed 000 (skips while the service offers none)."""
    result = client.check(SEED_000, **SEED_000_DATA)
    fixable = [item for item in result.errors if item.fixes]
    if not fixable:
        pytest.skip("the service offers no fix for seed 000 yet")
    return fixable[0].fixes[0]


def test_the_first_fix_for_seed_000_makes_it_check_clean(client: Client) -> None:
    fix = first_fix(client)
    fixed = apply_fix(SEED_000, fix)
    assert fixed != SEED_000
    assert client.check(fixed, **SEED_000_DATA).ok


def test_a_schema_error_is_a_validation_error(client: Client) -> None:
    model = copy.deepcopy(SEED_001)
    model["layers"][0]["units"] = -3
    model["layers"][0]["type"] = "Dense"
    with pytest.raises(ValidationError) as caught:
        client.check(model)
    assert caught.value.status == 422
    assert "model.layers.0.units" in caught.value.errors


class KerasLikeModel:
    """Stands for a Keras model: the client only calls ``to_json()``."""

    def to_json(self) -> str:
        return json.dumps(SEED_001)


def test_an_object_with_to_json(client: Client) -> None:
    assert client.check(KerasLikeModel()).totals["params"] == 114


def test_a_json_file_path(client: Client, tmp_path: Path) -> None:
    path = write(tmp_path, SEED_001)
    assert client.check(path).totals["params"] == 114
    assert client.check(str(path)).totals["params"] == 114


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("flavour", ["keras3", "tfkeras2"])
@pytest.mark.parametrize("name", ["seed000", "two_towers"])
def test_a_saved_keras_model_checks_as_keras_built_it(
    client: Client, name: str, flavour: str, suffix: str
) -> None:
    saved = FIXTURES / flavour / "saved"
    recorded = json.loads((saved / f"{name}.json").read_text())
    result = client.check(saved / f"{name}{suffix}")
    assert result.raw["model"]["format"] == {"keras3": "keras3", "tfkeras2": "keras2"}[flavour]
    assert [o["shape"] for o in result.raw["model"]["outputs"]] == recorded["outputs"]
    assert result.totals["params"] == recorded["params"]
    assert [layer.name for layer in result.layers] == [
        layer["config"]["name"] for layer in recorded["keras_json"]["config"]["layers"]
        if layer["class_name"] != "InputLayer"]
    if (flavour, suffix) == ("keras3", ".keras"):  # to_json(), with the policies' shared ids
        assert without_shared_ids(load_model(saved / f"{name}{suffix}")) == recorded["keras_json"]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("flavour", ["keras3", "tfkeras2"])
def test_the_forward_pass_with_saved_weights_is_keras_predict(
    client: Client, flavour: str, suffix: str
) -> None:
    """The trained weights read from the file the user saved, sent to the real server: its
    forward pass gives what Keras' predict gave (tools/keras_fixtures/saved_models.py)."""
    saved = FIXTURES / flavour / "saved"
    forward = json.loads((saved / "two_towers.json").read_text())["forward"]
    result = client.check(saved / f"two_towers{suffix}", forward={
        "x": forward["x"], "weights": "saved", "return": "values"})
    expected = forward["outputs"][0]
    values = result.outputs[0].to_numpy()
    want = np.frombuffer(base64.b64decode(expected["values"]["base64"]), dtype="<f4").reshape(
        expected["values"]["shape"])
    assert float(np.max(np.abs(values - want))) <= 1e-4 * expected["max_abs"]


def test_cli_runs_a_saved_model_with_its_weights(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = FIXTURES / "keras3" / "saved" / "nested_bn.h5"
    assert main(["check", str(path), "--saved-weights", "--url", url]) == 0
    assert "Forward pass (numpy, " in capsys.readouterr().out


def without_shared_ids(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: without_shared_ids(v) for k, v in document.items() if k != "shared_object_id"}
    if isinstance(document, list):
        return [without_shared_ids(v) for v in document]
    return document


@pytest.mark.parametrize("path", [SAVED / "seed000.keras", SAVED / "seed000.h5",
                                  SAVED_TF_KERAS / "seed000_savedmodel"],
                         ids=["keras", "h5", "tf-keras-savedmodel"])
def test_cli_checks_a_saved_keras_model(
    url: str, path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(path), "--url", url, *SEED_000_ARGS]) == 1
    assert "error target_shape_mismatch at dense_1: " in capsys.readouterr().out


def test_cli_checks_several_files_with_annotations(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(write(tmp_path, SEED_000)), str(SAVED / "seed000.keras")]
    assert main(["check", *files, "--url", url, "--github", *SEED_000_ARGS]) == 1
    out = capsys.readouterr().out
    headed = [line for line in out.splitlines() if line.startswith(("==> ", "::error "))]
    starts = [text for path in files for text in (f"==> {path} <==", f"::error file={path},")]
    assert len(headed) == len(starts)  # each file's header, then its annotation
    assert all(line.startswith(start) for line, start in zip(headed, starts, strict=True))
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    assert [line.partition("::")[2].partition("::")[0] for line in errors] == [
        f"error file={path},title=target_shape_mismatch at dense_1" for path in files]
    assert all("Verified fix: Insert " in line for line in errors)


def test_layers_lists_the_supported_types(client: Client) -> None:
    types = {layer["type"] for layer in client.layers()}
    assert {"Conv2D", "Dense", "Flatten"} <= types


def test_cli_check_exits_0_on_seed_001(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(write(tmp_path, SEED_001)), "--url", url]) == 0
    out = capsys.readouterr().out
    assert "114" in out
    assert out.rstrip().endswith("OK: no errors, 0 warning(s)")
    assert "\033[" not in out  # captured output is not a terminal


def test_cli_check_exits_1_on_seed_000(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(write(tmp_path, SEED_000)), "--url", url, *SEED_000_ARGS]) == 1
    out = capsys.readouterr().out
    assert "error target_shape_mismatch at " in out
    assert "FAILED: " in out


def test_cli_check_json(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(write(tmp_path, SEED_001)), "--url", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["params"] == 114


def test_cli_forward_prints_each_output_with_the_service_statistics(
    url: str, client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["check", str(write(tmp_path, SEED_001)), "--url", url, "--forward", "--seed", "2",
            "--batch-size", "3"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.split("\n")[-3].startswith("Forward pass (numpy, ")
    (output,) = client.check(SEED_001, batch_size=3, forward={"batch_size": 3, "seed": 2}
                             ).forward["outputs"]
    stats = output["stats"]
    assert out.split("\n")[-2] == (f"    dense_1: (3, 1) float32  min {stats['min']:.4g}  max "
                                   f"{stats['max']:.4g}  mean {stats['mean']:.4g}  std "
                                   f"{stats['std']:.4g}")


def test_cli_layer_stats_prints_what_every_layer_computes(
    url: str, client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["check", str(write(tmp_path, SEED_001)), "--url", url, "--layer-stats", "--seed",
            "2", "--batch-size", "3"]
    assert main(args) == 0
    out = capsys.readouterr().out.rstrip("\n").split("\n")
    layers = client.check(SEED_001, forward={"batch_size": 3, "seed": 2, "layer_stats": True}
                          ).forward["layers"]
    start = out.index("Each layer's outputs:")
    assert len(out) - start - 1 == len(layers) == 5
    for line, row in zip(out[start + 1:], layers, strict=True):
        [stats] = row["output_stats"]
        shape = "(" + ", ".join(map(str, row["output_shape"])) + ")"
        assert line.startswith(f"    {row['name']}: {shape}  min {stats['min']:.4g}  ")


def test_cli_forward_runs_on_the_values_of_a_saved_array(
    url: str, client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np = pytest.importorskip("numpy")
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 1)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    args = ["check", str(write(tmp_path, SEED_001)), "--url", url, "--json",
            "--x", f"input={tmp_path / 'x.npy'}"]
    assert main(args) == 0
    (output,) = json.loads(capsys.readouterr().out)["forward"]["outputs"]
    (expected,) = client.check(SEED_001, forward={"x": x.tolist()}).forward["outputs"]
    assert output == expected


def test_numpy_arrays_go_in_and_come_out_as_predict_gives_them(client: Client) -> None:
    np = pytest.importorskip("numpy")
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 1)).astype("float32")
    sent = client.check(SEED_001, forward={"x": x, "return": "values"})
    (output,) = sent.outputs
    as_lists = client.check(SEED_001, forward={"x": x.tolist(), "return": "values"}).outputs[0]
    assert isinstance(output.values, dict)  # base64 back, as the request was
    np.testing.assert_array_equal(output.to_numpy(), as_lists.to_numpy())
    assert output.to_numpy().shape == output.shape == (2, 1)
    ids = {"layers": [{"type": "InputLayer", "name": "ids", "shape": [3], "dtype": "int32"},
                      {"type": "Reshape", "target_shape": [3, 1]}]}
    (back,) = client.check(ids, forward={"x": np.array([[1, -2, 3]], np.int32),
                                         "return": "values"}).outputs
    assert back.dtype == "int32"
    assert back.to_numpy().dtype == np.int32
    assert back.to_numpy().tolist() == [[[1], [-2], [3]]]


def test_cli_forward_of_a_model_with_errors_still_reports_its_check(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = {**SEED_001, "layers": [{"type": "Conv2D", "filters": 8, "kernel_size": 9},
                                    *SEED_001["layers"][1:]]}
    assert main(["check", str(write(tmp_path, model)), "--url", url, "--forward"]) == 1
    out = capsys.readouterr().out
    assert "error layer_input_incompatible at conv2d" in out
    assert "fix: " in out
    assert out.rstrip().split("\n")[-1].startswith("Forward pass not run: HTTP 422: ")
    assert "the model has 1 error(s), so it cannot run" in out


def test_cli_data_that_does_not_fit_is_checked_as_x_shape_and_not_run(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The arrays of --x give the check its x_shape: the data's mismatch is a diagnostic with
    its hint (exit 1, as with --x-shape), and the forward pass is refused."""
    np = pytest.importorskip("numpy")
    np.save(tmp_path / "x.npy", np.zeros((2, 5, 4, 1), np.float32))
    args = ["check", str(write(tmp_path, SEED_001)), "--url", url, "--x", str(tmp_path / "x.npy")]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "error input_shape_mismatch: " in out
    assert "Forward pass not run: HTTP 422: " in out


def test_cli_checks_an_open_model_at_the_sizes_of_the_x_arrays(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model that leaves its sizes open, given 6×6 images its skip connection cannot take
    after a pooling: the check fails at the merge, with the sizes at which it runs."""
    np = pytest.importorskip("numpy")
    np.save(tmp_path / "x.npy", np.zeros((2, 6, 6, 1), np.float32))
    model = {"inputs": {"img": [None, None, 1]}, "outputs": ["merged"], "layers": [
        {"type": "MaxPooling2D", "name": "pool", "inputs": ["img"]},
        {"type": "UpSampling2D", "name": "up", "inputs": ["pool"]},
        {"type": "Add", "name": "merged", "inputs": ["up", "img"]}]}
    args = ["check", str(write(tmp_path, model)), "--url", url, "--x", str(tmp_path / "x.npy")]
    assert main(args) == 0  # 6 is even: the model runs
    assert "Forward pass (numpy" in capsys.readouterr().out
    np.save(tmp_path / "x.npy", np.zeros((2, 7, 7, 1), np.float32))
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "error layer_input_incompatible at merged: " in out
    assert "Pad or resize x to (8, 8, 1), or crop it to (6, 6, 1)" in out


def test_cli_exits_2_on_a_service_error(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = {"inputs": [4], "layers": [{"type": "Dense", "units": -3}]}
    assert main(["check", str(write(tmp_path, model)), "--url", url]) == 2
    captured = capsys.readouterr()
    assert "model.layers.0.units" in captured.err
    assert captured.out == ""


def test_cli_fix_writes_a_model_that_checks_clean(
    url: str, client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first_fix(client)
    fixed_path = tmp_path / "fixed.json"
    args = ["fix", str(write(tmp_path, SEED_000)), "-o", str(fixed_path), "--url", url]
    assert main([*args, *SEED_000_ARGS]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Fixed target_shape_mismatch at ")
    assert "(no errors)" in out
    fixed = json.loads(fixed_path.read_text())
    assert client.check(fixed, **SEED_000_DATA).ok


def test_cli_fix_exits_1_without_a_fix(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = {"inputs": [4], "layers": [{"type": "Qwertyuiop"}]}
    output = tmp_path / "fixed.json"
    assert main(["fix", str(write(tmp_path, model)), "-o", str(output), "--url", url]) == 1
    assert "No fix is available" in capsys.readouterr().out
    assert not output.exists()


def test_cli_layers(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layers", "--url", url]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert {"Conv2D", "Dense", "Flatten"} <= set(names)


def test_cli_as_a_module_in_a_subprocess(url: str, tmp_path: Path) -> None:
    env = {**os.environ, "SHAPECHECK_URL": url, "NO_COLOR": "1"}
    package_root = str(Path(shapecheck_client.__file__).parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    for model, extra, status in [(SEED_001, [], 0), (SEED_000, SEED_000_ARGS, 1)]:
        command = [sys.executable, "-m", "shapecheck_client.cli", "check", *extra]
        done = subprocess.run(
            [*command, str(write(tmp_path, model))],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == status, done.stderr


def test_cli_output_piped_into_a_reader_that_stops_early(url: str) -> None:
    """`shapecheck layers | head -1`: the closed pipe is not reported as an error."""
    env = {**os.environ, "SHAPECHECK_URL": url}
    package_root = str(Path(shapecheck_client.__file__).parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    cli = subprocess.Popen([sys.executable, "-m", "shapecheck_client.cli", "layers"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert cli.stdout is not None and cli.stderr is not None
    cli.stdout.readline()
    cli.stdout.close()  # the reader goes away after one line
    assert cli.wait(timeout=60) == 0
    assert cli.stderr.read() == b""
