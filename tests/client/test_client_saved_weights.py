"""A user's trained weights, read from the model file Keras saved, without h5py or Keras:
the pure-Python HDF5 reader (``hdf5.py``) and the mapping of both saved layouts to the
service's ``forward.weights`` (``savedweights.py``). Every model here was saved by real
Keras 3 and tf.keras 2 with random, trained-looking weights, next to the digests of each
layer's ``get_weights()``, an input and Keras' ``predict`` output
(tools/keras_fixtures/saved_models.py). None of these tests needs h5py; those that compare
with it are skipped where it is not installed."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import random
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from seed_models import FIXTURES
from shapecheck_client import Client, saved_weights
from shapecheck_client.cli import main
from shapecheck_client.client import load_model, read_hdf5_model_config
from shapecheck_client.hdf5 import HDF5File, UnsupportedHDF5, as_text, read_hdf5

FLAVOURS = ["keras3", "tfkeras2"]
NAMES = ["seed000", "two_towers", "recurrent_bn", "nested_bn"]
SAVED_FILES = [pytest.param(flavour, name, suffix, id=f"{flavour}-{name}{suffix}")
               for flavour in FLAVOURS for name in NAMES for suffix in (".keras", ".h5")]


def record(flavour: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / flavour / "saved" / f"{name}.json").read_text())


def saved(flavour: str, name: str, suffix: str) -> Path:
    return FIXTURES / flavour / "saved" / f"{name}{suffix}"


def hdf5_bytes(path: Path) -> bytes:
    """The HDF5 file itself: a legacy .h5, or the weights inside a .keras archive."""
    if path.suffix == ".keras":
        with zipfile.ZipFile(path) as archive:
            return archive.read("model.weights.h5")
    return path.read_bytes()


def digests(weights: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {name: [{"dtype": a["dtype"], "shape": a["shape"],
                    "sha256": hashlib.sha256(base64.b64decode(a["base64"])).hexdigest()}
                   for a in arrays] for name, arrays in weights.items()}


def decoded(encoded: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(encoded["base64"]), dtype=encoded["dtype"]).reshape(
        encoded["shape"])


def model_inputs(recorded: dict[str, Any]) -> dict[str, np.ndarray]:
    """The input Keras' predict was given: seed000's image pixels divided by 255."""
    forward = recorded["forward"]
    xs = {name: decoded(x) for name, x in forward["x"].items()}
    if forward["x_pixels"]:
        xs = {name: x.astype(np.float32) / 255 for name, x in xs.items()}
    return {name: x.astype(np.float32) for name, x in xs.items()}


@pytest.fixture
def without_h5py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py raises ImportError


@pytest.mark.parametrize(("flavour", "name", "suffix"), SAVED_FILES)
def test_the_weights_read_are_get_weights_of_every_layer(
        flavour: str, name: str, suffix: str, without_h5py: None) -> None:
    assert digests(saved_weights(saved(flavour, name, suffix))) == record(
        flavour, name)["forward"]["weights"]


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("name", NAMES)
def test_the_h5_root_attributes_are_those_h5py_reads(
        flavour: str, name: str, without_h5py: None) -> None:
    path = saved(flavour, name, ".h5")
    recorded = record(flavour, name)["h5_root_attrs"]
    assert read_hdf5(path, str(path), lambda root: root.attrs) == recorded
    assert read_hdf5_model_config(path) == recorded["model_config"]
    assert load_model(path) == json.loads(recorded["model_config"])


def test_a_nested_model_in_a_legacy_h5_is_put_in_layer_order() -> None:
    """The .h5 lists the batch norm's moving statistics after the Dense kernel (trainable
    first); get_weights() and the service want them with their layer, before it."""
    path = saved("keras3", "nested_bn", ".h5")
    listed = read_hdf5(path, str(path), lambda root: root["model_weights/middle"].attrs)
    assert [n.rsplit("/", 1)[-1] for n in listed["weight_names"]] == [
        "gamma", "beta", "kernel", "bias", "kernel", "bias", "moving_mean", "moving_variance"]
    shapes = [a["shape"] for a in saved_weights(path)["middle"]]
    assert shapes == [[6], [6], [6], [6], [6, 4], [4], [4, 3], [3]]


LORA = [pytest.param("keras3", "lora_finetuned", suffix, id=f"keras3-lora_finetuned{suffix}")
        for suffix in (".keras", ".h5")]
"""LoRA on an Embedding and two Dense: ``.keras`` holds merged kernels and no factors."""
INT8 = [pytest.param("keras3", name, suffix, id=f"keras3-{name}{suffix}")
        for name in ("int8_quantized", "int4_quantized") for suffix in (".keras", ".h5")]
"""An Embedding, two Dense and an EinsumDense quantized in int8 (or int4) once trained:
``.keras`` holds each Dense's kernel before its bias."""


@pytest.mark.parametrize(("flavour", "name", "suffix"), INT8)
def test_quantized_weights_are_read_in_get_weights_order(flavour: str, name: str, suffix: str,
                                                         without_h5py: None) -> None:
    weights = saved_weights(saved(flavour, name, suffix))
    assert digests(weights) == record(flavour, name)["forward"]["weights"]
    dense = next(arrays for layer, arrays in weights.items() if layer.startswith("dense"))
    assert [a["dtype"] for a in dense[:2]] == ["float32", "int8"]  # the bias first


def test_a_lora_layer_in_a_legacy_h5_is_put_in_get_weights_order(without_h5py: None) -> None:
    """The .h5 lists the frozen kernel after the trainable bias and factors."""
    path = saved("keras3", "lora_finetuned", ".h5")
    listed = read_hdf5(path, str(path), lambda root: root["model_weights/dense_5"].attrs)
    assert [n.rsplit("/", 1)[-1] for n in listed["weight_names"]] == [
        "bias", "lora_kernel_a", "lora_kernel_b", "kernel"]
    assert digests(saved_weights(path)) == record("keras3", "lora_finetuned")["forward"][
        "weights"]


def test_a_lora_layer_in_a_keras_archive_has_its_update_merged_in(without_h5py: None) -> None:
    shapes = {name: [a["shape"] for a in arrays] for name, arrays in saved_weights(
        saved("keras3", "lora_finetuned", ".keras")).items()}
    assert shapes == {"embedding_1": [[100, 8]], "dense_5": [[8, 16], [16]],
                      "dense_6": [[16, 3], [3]]}


@pytest.mark.parametrize(("flavour", "name", "suffix"), SAVED_FILES + LORA + INT8)
def test_the_forward_pass_with_saved_weights_is_keras_predict(
        flavour: str, name: str, suffix: str) -> None:
    recorded = record(flavour, name)
    xs = model_inputs(recorded)
    with Client("inprocess:") as client:
        result = client.check(saved(flavour, name, suffix), forward={
            "x": xs if len(xs) > 1 else next(iter(xs.values())), "weights": "saved",
            "return": "values"})
    assert result.forward is not None, result.raw
    for output, expected in zip(result.outputs, recorded["forward"]["outputs"], strict=True):
        assert_predicted(output.to_numpy(), expected)


def assert_predicted(values: np.ndarray, expected: dict[str, Any]) -> None:
    """``values`` are Keras' predict output within 1e-4 of its largest magnitude, where it
    was recorded (every ``stride``-th value)."""
    sample = values[tuple(slice(None, None, step) for step in expected["stride"])]
    want = decoded(expected["values"])
    assert sample.shape == want.shape
    assert float(np.max(np.abs(sample - want))) <= 1e-4 * expected["max_abs"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_cli_runs_the_saved_weights_on_the_given_input(
        flavour: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recorded = record("tfkeras2" if flavour == "tfkeras2" else "keras3", "recurrent_bn")
    x = tmp_path / "x.npy"
    np.save(x, model_inputs(recorded)["steps"])
    path = saved(flavour, "recurrent_bn", ".keras")
    assert main(["check", str(path), "--saved-weights", "--x", str(x), "--json",
                 "--url", "inprocess:"]) == 0
    stats = json.loads(capsys.readouterr().out)["forward"]["outputs"][0]["stats"]
    want = decoded(recorded["forward"]["outputs"][0]["values"])
    scale = recorded["forward"]["outputs"][0]["max_abs"]
    assert abs(stats["min"] - want.min()) <= 1e-4 * scale
    assert abs(stats["max"] - want.max()) <= 1e-4 * scale
    assert abs(stats["mean"] - want.mean()) <= 1e-4 * scale


def test_saved_weights_need_a_keras_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model.json"
    model.write_text(json.dumps(record("keras3", "nested_bn")["keras_json"]))
    assert main(["check", str(model), "--saved-weights", "--url", "inprocess:"]) == 2
    assert "is not a Keras .keras or .h5 file, and only those hold weights" in (
        capsys.readouterr().err)
    directory = FIXTURES / "tfkeras2" / "saved" / "seed000_savedmodel"
    with pytest.raises(ValueError, match="SavedModel directory, whose weights are TensorFlow"):
        saved_weights(directory)
    with Client("inprocess:") as client, pytest.raises(ValueError, match=r"path of its \.keras"):
        client.check(json.loads(model.read_text()), forward={"weights": "saved"})


def test_weights_over_the_body_limit_say_what_to_do(
        scripted_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    too_large = {"type": "about:blank", "title": "Payload Too Large", "status": 413,
                 "detail": "The request body is over 8,388,608 bytes"}
    ok = {"ok": True, "layers": [], "diagnostics": [], "summary": "", "totals": {}}
    scripted_server.add(413, too_large).add(200, ok)
    path = saved("keras3", "seed000", ".keras")
    assert main(["check", str(path), "--saved-weights", "--url", scripted_server.url]) == 2
    out = capsys.readouterr().out
    assert "Forward pass not run: " in out
    assert "larger SHAPECHECK_MAX_BODY_BYTES" in out and "--url inprocess:" in out
    assert "weights" in scripted_server.received[0].body["forward"]
    assert "forward" not in scripted_server.received[1].body


@pytest.mark.parametrize(("flavour", "name", "suffix"), SAVED_FILES[::3])
def test_a_truncated_or_garbled_file_is_a_value_error(
        flavour: str, name: str, suffix: str, tmp_path: Path, without_h5py: None) -> None:
    data = hdf5_bytes(saved(flavour, name, suffix))
    rng = random.Random(0)
    damaged = [data[:cut] for cut in range(0, len(data), max(1, len(data) // 60))]
    for _ in range(150):
        garbled = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            garbled[rng.randrange(len(garbled))] = rng.randrange(256)
        damaged.append(bytes(garbled))
    for case in damaged:
        with contextlib.suppress(ValueError):  # any other exception fails the test
            read_everything(case)
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(saved(flavour, name, suffix).read_bytes()[:len(data) // 2])
    with pytest.raises(ValueError):
        saved_weights(path)


def read_everything(data: bytes) -> None:
    root = HDF5File(data, "damaged.h5").root
    for node in [root, *root.walk()]:
        assert isinstance(node.attrs, dict)
        if node.is_dataset:
            node.array()


def test_a_damaged_weights_file_in_an_archive_names_it(tmp_path: Path) -> None:
    original = saved("keras3", "two_towers", ".keras")
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(path, "w") as archive:
        for member in source.namelist():
            data = source.read(member)
            archive.writestr(member, data[:2000] if member == "model.weights.h5" else data)
    with pytest.raises(ValueError, match=r"model\.keras:model\.weights\.h5 is not a readable "
                                         "HDF5 file"):
        saved_weights(path)


# -- the reader against h5py, where it is installed ---------------------------------------------
@pytest.mark.parametrize(("flavour", "name", "suffix"), SAVED_FILES)
def test_the_reader_reads_what_h5py_reads(flavour: str, name: str, suffix: str) -> None:
    assert_as_h5py_reads(hdf5_bytes(saved(flavour, name, suffix)))


@pytest.mark.parametrize("libver", ["earliest", "latest"])
def test_every_supported_feature_reads_as_h5py_reads_it(libver: str) -> None:
    """Superblock 0 and old-style groups (a B-tree of several levels), or superblock 3,
    version 2 object headers and compact link messages; every dtype; compact layout."""
    h5py = pytest.importorskip("h5py")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver=libver) as file:
        for i, dtype in enumerate(["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4",
                                   "u8", "?"]):
            group = "numbers/low" if i < 6 else "numbers/high"
            values = (np.arange(6).reshape(2, 3) * 37 % 5 - 2).astype(dtype)
            file.create_dataset(f"{group}/{dtype}", data=values)
        file.create_dataset("scalar", data=np.float32(3.5))
        file.create_dataset("empty", data=np.zeros((0, 3), "f4"))
        space = h5py.h5s.create_simple((4,))
        compact = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        compact.set_layout(h5py.h5d.COMPACT)
        h5py.h5d.create(file.id, b"compact", h5py.h5t.NATIVE_INT32, space, compact)
        file["compact"][...] = np.arange(4, dtype="i4")
        file.attrs["text"] = "variable-length, ünïcode"
        file.attrs["bytes"] = np.bytes_("fixed length")
        file.attrs["names"] = np.array(["a", "bc", ""], dtype=h5py.string_dtype())
        file.attrs["fixed_names"] = np.array([b"ab", b"cde"])
        file["numbers"].attrs["ints"] = np.arange(5, dtype="i8")
        file["numbers"].attrs["floats"] = np.ones((2, 2), "f4")
        file["numbers"].attrs["empty"] = np.array([], "f8")
        file["numbers"].attrs["flag"] = True
        for i in range(400 if libver == "earliest" else 6):
            file.create_group(f"many/{i:03d}")
    assert_as_h5py_reads(buffer.getvalue())


@pytest.mark.parametrize(("feature", "message"), [
    ("chunked", "chunked"), ("big_endian", "big-endian floats"),
    ("dense_group", "a group in dense storage")])
def test_what_the_reader_does_not_support_is_named_and_h5py_reads_it(
        feature: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "model.h5"
    libver = "latest" if feature == "dense_group" else "earliest"  # dense: HDF5 1.8's groups
    with h5py.File(path, "w", libver=libver) as file:
        if feature == "chunked":
            file.create_dataset("w", data=np.arange(100.0), chunks=(10,), compression="gzip")
        elif feature == "big_endian":
            file.create_dataset("w", data=np.arange(4, dtype=">f4"))
        else:
            for i in range(20):
                file.create_group(f"w/{i}")

    def weights(root: Any) -> Any:
        node = root["w"]
        return node.array().data if node.is_dataset else len(node.keys())

    with h5py.File(path, "r") as file:
        expected = 20 if feature == "dense_group" else file["w"][()].astype(
            file["w"].dtype.newbyteorder("<")).tobytes()
    assert read_hdf5(path, str(path), weights) == expected  # with h5py
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(UnsupportedHDF5, match=f"{path}.*{message}.*pip install h5py"):
        read_hdf5(path, str(path), weights)


def assert_as_h5py_reads(data: bytes) -> None:
    """Every group, dataset and attribute the reader finds is what h5py finds."""
    h5py = pytest.importorskip("h5py")
    root = HDF5File(data, "file.h5").root
    with h5py.File(io.BytesIO(data), "r") as file:
        names: list[str] = []
        file.visit(names.append)
        nodes = list(root.walk())
        assert sorted(node.path.lstrip("/") for node in nodes) == sorted(names)
        for node in [root, *nodes]:
            theirs = file[node.path or "/"]
            assert node.attrs == {k: as_text(v) for k, v in theirs.attrs.items()}, node.path
            if node.is_dataset:
                array, value = node.array(), np.asarray(theirs[()])
                assert (array.dtype, array.shape) == (value.dtype.name, value.shape)
                assert array.data == value.tobytes(), node.path
