"""The forward pass through ``check()``: data, weights, outputs and the request's 422s."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from shapecheck import check
from shapecheck.errors import RequestInvalid
from shapecheck.forward import random_inputs

DENSE = {"inputs": [3], "layers": [{"type": "Dense", "units": 2, "name": "dense"}]}
KERNEL = [[1.0, 0.0], [0.0, 2.0], [1.0, -1.0]]
BIAS = [0.5, -0.5]


def forward(model: dict, **spec) -> dict:
    return check({"model": model, "forward": spec})["forward"]


def encoded(array: np.ndarray) -> dict:
    data = np.ascontiguousarray(array, dtype="<f4")
    return {"dtype": "float32", "shape": list(array.shape),
            "base64": base64.b64encode(data.tobytes()).decode()}


def errors_of(body: dict) -> dict[str, list[str]]:
    with pytest.raises(RequestInvalid) as caught:
        check(body)
    return caught.value.errors


def test_given_weights_compute_x_at_kernel_plus_bias():
    x = [[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]]
    result = forward(DENSE, x=x, weights={"dense": [KERNEL, BIAS]}, **{"return": "values"})
    want = np.array(x) @ np.array(KERNEL) + np.array(BIAS)
    (out,) = result["outputs"]
    assert out["name"] == "dense" and out["shape"] == [2, 2] and out["dtype"] == "float32"
    np.testing.assert_allclose(out["values"], want, rtol=1e-6)
    assert out["stats"] == pytest.approx({"min": want.min(), "max": want.max(),
                                          "mean": want.mean(), "std": want.std(),
                                          "nonfinite": 0})
    assert result["layers"] == [{"name": "dense", "output_shape": [2, 2],
                                 "output_shapes": [[2, 2]]}]
    assert result["elapsed_ms"] > 0


def test_values_only_when_asked():
    result = forward(DENSE, x=[[1.0, 2.0, 3.0]])
    assert "values" not in result["outputs"][0]
    assert result["outputs"][0]["stats"]["nonfinite"] == 0


def test_base64_x_gives_base64_values():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    result = forward(DENSE, x=encoded(x), weights={"dense": [KERNEL, BIAS]},
                     **{"return": "values"})
    values = result["outputs"][0]["values"]
    assert values["dtype"] == "float32" and values["shape"] == [2, 2]
    got = np.frombuffer(base64.b64decode(values["base64"]), dtype="<f4").reshape(2, 2)
    np.testing.assert_allclose(got, x @ np.array(KERNEL) + np.array(BIAS), rtol=1e-6)


def test_base64_weights_and_other_dtypes():
    x = np.array([[1, 2, 3]], dtype=np.int32)
    x_b64 = {"dtype": "int32", "shape": [1, 3], "base64": base64.b64encode(
        x.astype("<i4").tobytes()).decode()}
    kernel = encoded(np.array(KERNEL, dtype=np.float32))
    result = forward(DENSE, x=x_b64, weights={"dense": [kernel, BIAS]}, **{"return": "values"})
    got = np.frombuffer(base64.b64decode(result["outputs"][0]["values"]["base64"]), "<f4")
    np.testing.assert_allclose(got, (x @ np.array(KERNEL) + BIAS).ravel(), rtol=1e-6)


def test_absent_x_is_seeded_random_data_of_batch_size():
    first = forward(DENSE, batch_size=4, seed=3, **{"return": "values"})
    again = forward(DENSE, batch_size=4, seed=3, **{"return": "values"})
    other = forward(DENSE, batch_size=4, seed=4, **{"return": "values"})
    assert first["outputs"][0]["shape"] == [4, 2]
    assert first["outputs"][0]["values"] == again["outputs"][0]["values"]
    assert first["outputs"][0]["values"] != other["outputs"][0]["values"]
    assert forward(DENSE)["outputs"][0]["shape"] == [1, 2]


def test_random_inputs_are_drawn_once_in_order_and_read_only():
    # normal data, indices below 7, uint8 values (below 256), int8 ones (below 128), booleans
    layouts = (((2, 3), None, None), ((2, 4), 7, "int32"), ((3, 5), None, "uint8"),
               ((4, 40), None, "int8"), ((2, 2), None, "bool"))
    first = random_inputs(layouts, seed=5)
    assert all(a is b for a, b in zip(random_inputs(layouts, seed=5), first, strict=True))
    with pytest.raises(ValueError, match="read-only"):
        first[0][0, 0] = 1.0
    rng = np.random.default_rng([1, 5])
    np.testing.assert_array_equal(first[0], rng.standard_normal((2, 3), dtype=np.float32))
    np.testing.assert_array_equal(first[1], rng.integers(0, 7, size=(2, 4)))
    np.testing.assert_array_equal(first[2], rng.integers(0, 256, size=(3, 5)))
    np.testing.assert_array_equal(first[3], rng.integers(0, 128, size=(4, 40)))
    np.testing.assert_array_equal(first[4], rng.integers(0, 2, size=(2, 2)))
    assert all(a.dtype == np.float32 for a in first)


def test_default_weights_do_not_depend_on_the_batch_size():
    one = forward(DENSE, x=[[1.0, 2.0, 3.0]], **{"return": "values"})
    two = forward(DENSE, x=[[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], **{"return": "values"})
    assert two["outputs"][0]["values"][1] == one["outputs"][0]["values"][0]


def test_given_weights_for_one_layer_leave_the_others_default():
    model = {"inputs": [3], "layers": [{"type": "Dense", "units": 2, "name": "a"},
                                       {"type": "Dense", "units": 2, "name": "b"}]}
    identity = [[[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0]]
    mixed = forward(model, x=[[1.0, 2.0, 3.0]], weights={"b": identity}, **{"return": "values"})
    only_a = forward({**model, "layers": model["layers"][:1]}, x=[[1.0, 2.0, 3.0]],
                     **{"return": "values"})
    np.testing.assert_allclose(mixed["outputs"][0]["values"], only_a["outputs"][0]["values"])


def test_named_inputs_and_several_outputs():
    model = {"inputs": {"a": [3], "b": [4]},
             "layers": [{"type": "Dense", "units": 2, "name": "from_a", "inputs": ["a"]},
                        {"type": "Dense", "units": 5, "name": "from_b", "inputs": ["b"]}],
             "outputs": ["from_a", "from_b"]}
    result = forward(model, x={"a": [[1.0, 2.0, 3.0]], "b": [[1.0, 2.0, 3.0, 4.0]]})
    assert [(o["name"], o["shape"]) for o in result["outputs"]] == [("from_a", [1, 2]),
                                                                     ("from_b", [1, 5])]
    errors = errors_of({"model": model, "forward": {"x": [[1.0, 2.0, 3.0]]}})
    assert "give x as an object" in errors["forward.x"][0]
    errors = errors_of({"model": model, "forward": {"x": {"a": [[1.0, 2.0, 3.0]]}}})
    assert "lacks b" in errors["forward.x"][0]
    errors = errors_of({"model": model, "forward": {
        "x": {"a": [[1.0, 2.0, 3.0]], "b": [[1.0, 2.0, 3.0, 4.0]] * 2}}})
    assert "different numbers of samples" in errors["forward.x"][0]


def test_x_not_matching_the_input_names_the_input_and_both_shapes():
    errors = errors_of({"model": DENSE, "forward": {"x": [[1.0, 2.0]]}})
    assert errors == {"forward.x": [
        "x has shape (1, 2), but model input 'input' takes (None, 3) (batch axis first)"]}


def test_x_of_a_named_input_is_reported_under_its_name():
    model = {"inputs": {"pixels": [3]}, "layers": DENSE["layers"]}
    errors = errors_of({"model": model, "forward": {"x": {"pixels": [1.0, 2.0, 3.0]}}})
    assert "model input 'pixels' takes (None, 3)" in errors["forward.x.pixels"][0]


def test_weights_shape_mismatch_names_the_layer_and_both_shapes():
    errors = errors_of({"model": DENSE, "forward": {"weights": {"dense": [BIAS, BIAS]}}})
    assert errors == {"forward.weights.dense.0": [
        "layer 'dense' kernel has shape (3, 2), the array given has shape (2,)"]}


def test_weights_count_and_names_are_checked():
    errors = errors_of({"model": DENSE, "forward": {"weights": {"dense": [KERNEL]}}})
    assert errors["forward.weights.dense"] == [
        "layer 'dense' has 2 weight arrays (kernel (3, 2), bias (2,)), 1 given"]
    errors = errors_of({"model": DENSE, "forward": {"weights": {"dens": [KERNEL, BIAS]}}})
    assert errors["forward.weights.dens"] == ["the model has no layer named 'dens'"]


@pytest.mark.parametrize(("spec", "path"), [
    ({"seed": -1}, "forward.seed"),
    ({"seed": "1"}, "forward.seed"),
    ({"batch_size": 0}, "forward.batch_size"),
    ({"return": "everything"}, "forward.return"),
    ({"weights": {"dense": "x"}}, "forward.weights.dense.value"),
    ({"x": [[1.0, "a", 3.0]]}, "forward.x"),
    ({"x": [[1.0, 2.0, 3.0], [1.0]]}, "forward.x"),
    ({"x": {"dtype": "complex64", "shape": [1, 3], "base64": ""}}, "forward.x.dtype"),
    ({"x": {"dtype": "float32", "shape": [1, 3], "base64": "AAAA"}}, "forward.x.base64"),
])
def test_invalid_forward_requests_are_422_with_their_path(spec, path):
    assert path in errors_of({"model": DENSE, "forward": spec})


def test_forward_is_not_an_object():
    assert "forward" in errors_of({"model": DENSE, "forward": [1, 2]})


def test_a_model_with_errors_is_refused():
    broken = {"inputs": [3], "layers": [{"type": "Conv2D", "filters": 2, "kernel_size": 3}]}
    result = check({"model": broken})
    assert not result["ok"]
    (message,) = errors_of({"model": broken, "forward": {}})["forward"]
    assert message.startswith("the model has 1 error(s), so it cannot run. The first at layer "
                              "'conv2d': Conv2D expects inputs of rank 4")


def test_a_data_shape_diagnostic_does_not_stop_the_forward_pass():
    result = check({"model": DENSE, "x_shape": [10, 4], "forward": {}})
    assert not result["ok"]
    assert result["forward"]["outputs"][0]["shape"] == [1, 2]


def test_a_layer_without_kernel_is_refused():
    model = {"inputs": [3], "layers": [{"type": "Opaque", "output_shape": [None, 4],
                                        "name": "custom"}]}
    (message,) = errors_of({"model": model, "forward": {}})["forward"]
    assert message == ("layer 'custom' (Opaque) has no numpy kernel, so the forward pass cannot "
                       "run it: a layer declared by 'overrides' only says what shape it gives, "
                       "not what it computes.")


def test_random_data_needs_known_axes():
    model = {"inputs": [None, 3], "layers": [{"type": "Dense", "units": 2}]}
    (message,) = errors_of({"model": model, "forward": {}})["forward.x"]
    assert "model input 'input' has an unknown axis (None, None, 3): give x" in message
    result = forward(model, x=[[[1.0, 2.0, 3.0]] * 7])
    assert result["outputs"][0]["shape"] == [1, 7, 2]


def test_data_a_layer_cannot_take_is_refused_with_that_layer():
    model = {"inputs": [None, 1], "layers": [{"type": "Conv1D", "filters": 2, "kernel_size": 5}]}
    assert check({"model": model})["ok"]
    (message,) = errors_of({"model": model, "forward": {"x": [[[1.0]] * 3]}})["forward.x"]
    assert message.startswith("with data of shape input (1, 3, 1), layer 'conv1d' cannot run: ")


def test_fixed_batch_size_of_the_input():
    model = {"layers": [{"type": "InputLayer", "batch_shape": [3, 2]},
                        {"type": "Dense", "units": 1}]}
    assert forward(model)["outputs"][0]["shape"] == [3, 1]
    assert "forward.batch_size" in errors_of({"model": model, "forward": {"batch_size": 2}})


def test_embedding_gets_random_indices_in_its_range():
    model = {"inputs": [5], "layers": [{"type": "Embedding", "input_dim": 7, "output_dim": 4}]}
    weights = [np.arange(28, dtype=float).reshape(7, 4).tolist()]
    result = forward(model, batch_size=20, weights={"embedding": weights},
                     **{"return": "values"})
    rows = np.array(result["outputs"][0]["values"]).reshape(-1, 4)
    indices = rows[:, 0] / 4
    assert set(indices) <= set(range(7)) and len(set(indices)) > 3


def test_non_finite_outputs_are_counted_and_null_in_lists():
    huge = [[3e38, 0.0], [3e38, 0.0], [0.0, 0.0]]
    result = forward(DENSE, x=[[1.0, 1.0, 0.0]], weights={"dense": [huge, [0.0, 0.0]]},
                     **{"return": "values"})
    out = result["outputs"][0]
    assert out["values"] == [[None, 0.0]]
    assert out["stats"] == {"min": 0.0, "max": 0.0, "mean": 0.0, "std": 0.0, "nonfinite": 1}


def test_the_runtime_shapes_are_checked_against_the_shape_rule(monkeypatch):
    from shapecheck.forward import ShapeDisagreement
    from shapecheck.layers.core import Dense

    monkeypatch.setattr(Dense, "apply", lambda self, x, weights: x)
    with pytest.raises(ShapeDisagreement, match="dense output 0: the kernel gave"):
        check({"model": DENSE, "forward": {}})


def test_the_kernels_number_of_outputs_is_checked_too(monkeypatch):
    from shapecheck.forward import ShapeDisagreement
    from shapecheck.layers.core import Dense

    monkeypatch.setattr(Dense, "forward", lambda self, inputs, weights: [inputs[0]] * 2)
    with pytest.raises(ShapeDisagreement, match="dense: the kernel gave 2 output"):
        check({"model": DENSE, "forward": {}})


def test_an_empty_axis_is_refused_before_the_kernels():
    model = {"inputs": [0, 3], "layers": [{"type": "Dense", "units": 2}]}
    (message,) = errors_of({"model": model, "forward": {}})["forward.x"]
    assert message.startswith("'input' gives an empty tensor (1, 0, 3)")


def test_models_with_the_same_weights_and_other_arguments_keep_their_own_plans():
    # Both draw the same default weights; the setups and plans kept for one must not serve
    # the other.
    from shapecheck import forward as forward_module
    from shapecheck import forward_plan

    def model(activation: str, size: int = 6) -> dict:
        return {"inputs": [size, size, 3], "layers": [
            {"type": "Conv2D", "filters": 4, "kernel_size": 3, "activation": activation},
            {"type": "BatchNormalization"}]}

    def stats(body_model: dict) -> dict:
        return forward(body_model, **{"return": "values"})["outputs"][0]

    models = [model("relu"), model("tanh"), model("relu", 7)]
    kept = [stats(m) for m in (*models, *models)]
    assert kept[:3] == kept[3:]
    assert kept[0] != kept[1] and kept[0]["shape"] != kept[2]["shape"]
    for m, seen in zip(models, kept, strict=False):
        forward_module.SETUPS.clear()
        forward_plan.PLANS.entries.clear()
        assert stats(m) == seen


def test_the_model_key_tells_graphs_apart():
    from shapecheck.analysis import analyse
    from shapecheck.forward import model_key

    def key(activation: str = "relu", inputs: list | None = None, options: dict | None = None):
        graph = analyse({"inputs": inputs or [4], "layers": [
            {"type": "Dense", "units": 2, "activation": activation}]}, {}).graph
        graph.calls[-1].options = options or {}
        return model_key(graph)

    assert key() == key() and key() is not None
    assert len({key(), key("tanh"), key(inputs=[5])}) == 3
    assert key(options={"training": False}) is None
