"""Models whose inputs leave sizes open, checked at the sizes of x (``data_sizes``): the check
reports an error where ``predict`` fails at those sizes, at the layer where it fails, and
passes where it runs. Recorded from both Keras (tools/keras_fixtures/data_sizes.py): a U-Net
whose skip connections need sizes divisible by 4, a strided branch added to a pooled one (even
sizes), windows over sequences of open length."""

from __future__ import annotations

import json
from typing import Any

import pytest
from keras_fixtures import FIXTURES
from shapecheck import check

RECORDED = [(flavour, case, size)
            for flavour in ("keras3", "tfkeras2")
            for case in json.loads((FIXTURES / flavour / "data_sizes.json").read_text())["cases"]
            for size in case["sizes"]]

# Where a 'valid' window does not fit x's size, tf.keras 2's predict fails at that layer, but
# Keras 3 on JAX computes an empty tensor there and fails at the next merge, or gives NaN from a
# mean over no step. The check reports the layer whose window does not fit, in both.
# (flavour, case id, x shape) -> that layer.
EMPTY_IN_KERAS_3 = {
    ("keras3", "unet", (2, 3, 3, 1)): "p2",
    ("keras3", "sequence_windows", (2, 5, 4)): "pool",
}


def errors(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in result["diagnostics"] if d["severity"] == "error"]


@pytest.mark.parametrize("flavour, case, size", RECORDED, ids=[
    f"{f}-{c['id']}-{'x'.join(map(str, s['x_shape']))}" for f, c, s in RECORDED])
def test_the_check_at_the_sizes_of_x_fails_where_predict_fails(
        flavour: str, case: dict[str, Any], size: dict[str, Any]) -> None:
    result = check({"model": case["keras_json"], "x_shape": size["x_shape"]})
    found = errors(result)
    classes = {row["name"]: row["type"] for row in result["layers"]}
    empty = EMPTY_IN_KERAS_3.get((flavour, case["id"], tuple(size["x_shape"])))
    if empty is not None:
        [error] = found
        assert error["layer"] == empty and "window does not fit" in error["message"]
        return
    if size["ran"]:
        assert found == []
        return
    [error] = found
    assert (error["code"], classes[error["layer"]]) == ("layer_input_incompatible",
                                                        size["layer_class"])
    assert "This is at the sizes of x" in error["message"]


@pytest.mark.parametrize("flavour", ["keras3", "tfkeras2"])
def test_the_hint_gives_near_sizes_at_which_predict_runs(flavour: str) -> None:
    """Recorded: predict runs at 252 and 248, where 250 fails; and the hint's sizes keep an
    axis that already works (300)."""
    [unet] = [c for f, c, _ in RECORDED if f == flavour and c["id"] == "unet"][:1]
    ran = {tuple(s["x_shape"][1:]) for s in unet["sizes"] if s["ran"]}
    assert {(252, 252, 1), (248, 248, 1)} <= ran
    square = errors(check({"model": unet["keras_json"], "x_shape": [2, 250, 250, 1]}))
    assert square[0]["hint"].startswith(
        "Pad or resize x to (252, 252, 1), or crop it to (248, 248, 1)")
    oblong = errors(check({"model": unet["keras_json"], "x_shape": [2, 250, 300, 1]}))
    assert oblong[0]["hint"].startswith(
        "Pad or resize x to (252, 300, 1), or crop it to (248, 300, 1)")


def test_declared_sizes_and_shapes_that_fill_nothing_are_not_checked_again() -> None:
    """x that fills no open axis (the model declares its sizes), or that the model refuses
    already, gives only the usual diagnostics."""
    declared = {"inputs": [250, 250, 1], "layers": [{"type": "MaxPooling2D"}]}
    assert errors(check({"model": declared, "x_shape": [2, 250, 250, 1]})) == []
    wrong_rank = check({"model": {"inputs": [None, None, 1], "layers": [
        {"type": "MaxPooling2D"}]}, "x_shape": [2, 250, 250]})
    assert [e["code"] for e in errors(wrong_rank)] == ["input_shape_mismatch"]


def test_targets_are_checked_against_the_outputs_at_the_sizes_of_x() -> None:
    """A 'valid' convolution over an open image: the output is 2 rows smaller than x, which
    y of x's size does not fit, though the open output (None, None, None, 1) would take it."""
    result = check({"model": {"inputs": [None, None, 1], "layers": [
        {"type": "Conv2D", "filters": 1, "kernel_size": 3}]},
        "x_shape": [2, 28, 28, 1], "y_shape": [2, 28, 28, 1], "loss": "mse"})
    [error] = errors(result)
    assert error["code"] == "target_shape_mismatch"
    assert "(None, 26, 26, 1)" in error["message"]


@pytest.mark.parametrize("flavour, case", [(f, c) for f, c, s in RECORDED if s is c["sizes"][0]],
                         ids=[f"{f}-{c['id']}" for f, c, s in RECORDED if s is c["sizes"][0]])
def test_the_sizes_an_open_model_runs_at_agree_with_predict(flavour: str,
                                                            case: dict[str, Any]) -> None:
    """Without x, a model whose open sizes it runs at only periodically gets an info note
    (``open_sizes_constrained``) with the period: predict ran at every recorded size that
    is a multiple of it, and at none other. A model without such a constraint gets none."""
    notes = [d for d in check({"model": case["keras_json"]})["diagnostics"]
             if d["code"] == "open_sizes_constrained"]
    periods = {"unet": 4, "strided_shortcut": 2, "sequence_windows": None}
    period = periods[case["id"]]
    if period is None:
        assert notes == []
        return
    [note] = notes
    assert note["severity"] == "info"
    assert f"runs only at sizes that are multiples of {period}" in note["message"]
    for size in case["sizes"]:
        assert size["ran"] == all(n % period == 0 for n in size["x_shape"][1:-1])


def test_an_input_that_x_shape_gives_sizes_for_gets_no_periodic_note() -> None:
    """Its sizes are checked instead: a note about other sizes would only be noise."""
    [unet] = [c for f, c, s in RECORDED if f == "keras3" and c["id"] == "unet"][:1]
    codes = {d["code"] for d in check({"model": unet["keras_json"],
                                        "x_shape": [2, 256, 256, 1]})["diagnostics"]}
    assert "open_sizes_constrained" not in codes


def test_an_axis_x_leaves_unknown_stays_unknown_in_the_sizes_that_run() -> None:
    """x_shape (2, None, 250, 1) fills one open axis of the U-Net: the width fails, and the
    hint moves it alone (the search once raised on the unknown height)."""
    [unet] = [c for f, c, s in RECORDED if f == "keras3" and c["id"] == "unet"][:1]
    [error] = errors(check({"model": unet["keras_json"], "x_shape": [2, None, 250, 1]}))
    assert error["hint"].startswith(
        "Pad or resize x to (None, 252, 1), or crop it to (None, 248, 1)")


def test_an_axis_x_leaves_unknown_fits_the_one_the_model_declares() -> None:
    """x_shape's null is unknown (API.md): (4, 28, 28, None) fits (None, 28, 28, 1); the
    axis that disagrees is still named."""
    model = {"inputs": [28, 28, 1], "layers": [{"type": "Flatten"}]}
    assert errors(check({"model": model, "x_shape": [4, 28, 28, None]})) == []
    [error] = errors(check({"model": model, "x_shape": [4, 28, 27, None]}))
    assert "(axis 2: x has 27, the model expects 28)" in error["message"]
