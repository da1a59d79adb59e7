"""Budgets of the forward pass: estimated exactly from the shapes and enforced before anything
is allocated; the wall-clock deadline between layers; the 413 over HTTP."""

from __future__ import annotations

import time

import pytest
from shapecheck import check
from shapecheck.analysis import analyse
from shapecheck.api import create_app
from shapecheck.budget import STEP_MACS, ForwardTimeout, estimate
from shapecheck.config import Limits
from shapecheck.errors import LimitExceeded
from shapecheck.forward import forward_pass
from shapecheck.graph import ModelInput, propagate
from shapecheck.layers.base import Layer

CHAIN = {"inputs": [10], "layers": [{"type": "Dense", "units": 20},
                                    {"type": "Dense", "units": 30}]}
SKIP = {"inputs": [1], "layers": [
    {"type": "Dense", "units": 100, "name": "a"},
    {"type": "Dense", "units": 1, "name": "b"},
    {"type": "Dense", "units": 100, "name": "c"},
    {"type": "Add", "name": "d", "inputs": ["a", "c"]},
]}


def estimate_of(model: dict, batch: int):
    graph = analyse(model, {}).graph
    graph.inputs = [ModelInput(i.name, (batch, *i.shape[1:])) for i in graph.inputs]
    return estimate(graph, propagate(graph), batch)


def test_estimate_of_a_chain_counts_live_tensors_and_one_temporary():
    needed = estimate_of(CHAIN, batch=3)
    # input 3·10; dense: + output 3·20 + temporary 3·20; the input is freed after it;
    # dense_1: 3·20 live + output 3·30 + temporary 3·30.
    assert needed.activation_bytes == 4 * max(30 + 60 + 60, 60 + 90 + 90)
    assert needed.weight_bytes == 4 * (10 * 20 + 20 + 20 * 30 + 30)
    assert needed.macs == 3 * (10 * 20 + 20 * 30)
    assert needed.values == 3 * (20 + 30)
    assert needed.total_bytes == needed.activation_bytes + needed.weight_bytes


def test_estimate_keeps_a_tensor_alive_until_its_last_reader():
    # When d runs, a (read by d only) is still alive, with c, d's output and its temporary.
    needed = estimate_of(SKIP, batch=1)
    assert needed.activation_bytes == 4 * (100 + 100 + 100 + 100)


def test_macs_come_from_the_layers_times_the_batch():
    conv = {"inputs": [6, 6, 3], "layers": [{"type": "Conv2D", "filters": 4, "kernel_size": 3}]}
    assert estimate_of(conv, batch=5).macs == 5 * (4 * 4 * 4) * (3 * 3 * 3)


def test_convolution_temporaries_include_the_patch_matrix():
    conv = {"inputs": [6, 6, 3], "layers": [{"type": "Conv2D", "filters": 4, "kernel_size": 3}]}
    needed = estimate_of(conv, batch=2)
    x, y, patches = 2 * 6 * 6 * 3, 2 * 4 * 4 * 4, 2 * 4 * 4 * 3 * 3 * 3
    assert needed.activation_bytes == 4 * (x + y + y + patches)


def refuse_running(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args, **kwargs):
        raise AssertionError("a kernel ran although the budget refuses the forward pass")

    monkeypatch.setattr(Layer, "forward", never)


def test_over_the_macs_limit_is_refused_before_any_kernel_runs(monkeypatch):
    refuse_running(monkeypatch)
    analysis = analyse(CHAIN, {})
    limits = Limits(forward_max_macs=799)
    with pytest.raises(LimitExceeded) as caught:
        forward_pass(analysis, {"batch_size": 1}, limits)
    assert (caught.value.value, caught.value.limit) == (800, 799)
    assert "800 multiply-accumulates" in caught.value.detail
    assert "SHAPECHECK_FORWARD_MAX_MACS" in caught.value.detail


def test_over_the_memory_limit_is_refused_before_any_kernel_runs(monkeypatch):
    refuse_running(monkeypatch)
    analysis = analyse(CHAIN, {})
    needed = estimate_of(CHAIN, batch=2).total_bytes
    with pytest.raises(LimitExceeded) as caught:
        forward_pass(analysis, {"batch_size": 2}, Limits(forward_max_bytes=needed - 1))
    assert (caught.value.value, caught.value.limit) == (needed, needed - 1)
    assert "SHAPECHECK_FORWARD_MAX_BYTES" in caught.value.detail


def test_values_count_every_output_at_its_computed_shape():
    """Attention across the batch computes (B, B, 64) where Keras declares (B, 64)."""
    model = {"inputs": {"q": [64], "v": [1, 64]}, "layers": [
        {"type": "Attention", "inputs": ["q", "v"]},
        {"type": "Dropout", "rate": 0.1}]}
    assert estimate_of(model, batch=8).values == 2 * 8 * 8 * 64


# Like a model the fuzzer found (there with growing paddings: 3.1 G multiply-accumulates, under
# their limit, and ~5 s of padding copies, rescaling and gelu over 100 M values at a time).
ELEMENTWISE_STACK = {"inputs": [60, 60, 60, 8], "layers": [
    layer for _ in range(40) for layer in (
        {"type": "ZeroPadding3D", "padding": 0},
        {"type": "Rescaling", "scale": 0.5},
        {"type": "Dense", "units": 8, "activation": "gelu"})]}


def test_element_wise_work_is_refused_by_the_values_budget_in_milliseconds(monkeypatch):
    refuse_running(monkeypatch)
    needed = estimate_of(ELEMENTWISE_STACK, batch=16)
    assert needed.values == 120 * 16 * 60**3 * 8
    assert needed.total_macs < Limits().forward_max_macs
    started = time.perf_counter()
    with pytest.raises(LimitExceeded) as caught:
        check({"model": ELEMENTWISE_STACK, "forward": {"batch_size": 16}})
    assert time.perf_counter() - started < 0.5
    assert (caught.value.what, caught.value.value) == ("forward values", needed.values)
    assert caught.value.limit == Limits().forward_max_values
    assert "SHAPECHECK_FORWARD_MAX_VALUES" in caught.value.detail


def test_the_values_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHAPECHECK_FORWARD_MAX_VALUES", "149")
    with pytest.raises(LimitExceeded) as caught:
        check({"model": CHAIN, "forward": {"batch_size": 3}})
    assert (caught.value.value, caught.value.limit) == (150, 149)
    monkeypatch.setenv("SHAPECHECK_FORWARD_MAX_VALUES", "150")
    assert check({"model": CHAIN, "forward": {"batch_size": 3}})["forward"]["estimate"][
        "values"] == 150


def test_huge_dimensions_are_exact_and_refused_in_milliseconds():
    model = {"inputs": [1], "layers": [{"type": "Dense", "units": 2**40},
                                       {"type": "Dense", "units": 2**40}]}
    started = time.perf_counter()
    with pytest.raises(LimitExceeded) as caught:
        check({"model": model, "forward": {"batch_size": 3}})
    assert time.perf_counter() - started < 0.5
    assert caught.value.value == 3 * (2**40 + 2**80)  # Python ints: no int64 overflow


def test_x_is_sized_from_its_declared_shape_before_decoding():
    model = {"inputs": [4], "layers": [{"type": "Dense", "units": 1}]}
    x = {"dtype": "float32", "shape": [2**31, 4], "base64": "not even base64"}
    with pytest.raises(LimitExceeded) as caught:
        check({"model": model, "forward": {"x": x}})
    assert caught.value.value == 2**31 * 4 * 4
    assert caught.value.what == "forward.x bytes"


def test_the_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHAPECHECK_FORWARD_MAX_MACS", "100")
    with pytest.raises(LimitExceeded) as caught:
        check({"model": CHAIN, "forward": {}})
    assert caught.value.limit == 100


def slow_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each Dense takes 0.4 s."""
    from shapecheck.layers.core import Dense

    slow = Dense.apply

    def sleepy(self, x, weights):
        time.sleep(0.4)
        return slow(self, x, weights)

    monkeypatch.setattr(Dense, "apply", sleepy)


def test_the_deadline_stops_between_layers(monkeypatch):
    slow_dense(monkeypatch)
    analysis = analyse(CHAIN, {})
    with pytest.raises(ForwardTimeout) as caught:
        forward_pass(analysis, {}, Limits(forward_timeout_s=0.2))
    assert "before layer 'dense_1'" in caught.value.detail
    assert "SHAPECHECK_FORWARD_TIMEOUT_S" in caught.value.detail
    assert caught.value.limit == 0.2


def test_over_http_a_budget_is_a_413_problem_naming_estimate_and_limit():
    app = create_app(Limits())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHAPECHECK_FORWARD_MAX_MACS", "100")
        response = app.test_client().post("/v1/check", json={"model": CHAIN, "forward": {}})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["limit"] == {"name": "forward multiply-accumulates", "value": 800,
                             "limit": 100}
    assert "800" in body["detail"] and "100" in body["detail"]


def test_the_response_reports_the_estimate():
    result = check({"model": CHAIN, "forward": {"batch_size": 3}})
    needed = estimate_of(CHAIN, batch=3)
    assert result["forward"]["estimate"] == needed.to_json()


def test_drawing_orthogonal_weights_counts_against_the_macs_budget(monkeypatch):
    lstm = {"inputs": [3, 2], "layers": [{"type": "LSTM", "units": 16}]}
    needed = estimate_of(lstm, batch=1)
    # the QR of the (16, 64) recurrent kernel, and 3 time steps
    assert needed.other_macs == (4 * 16) * 16**2 + 3 * STEP_MACS
    assert needed.total_macs == needed.macs + needed.other_macs
    refuse_running(monkeypatch)
    big = {"inputs": [3, 2], "layers": [{"type": "LSTM", "units": 4096}]}
    with pytest.raises(LimitExceeded) as caught:
        check({"model": big, "forward": {}})
    assert caught.value.value > 4 * 4096**3
    assert "outside the layers' weights" in caught.value.detail


def test_attention_scores_count_in_memory_and_macs():
    mha = {"inputs": [50, 8], "layers": [
        {"type": "MultiHeadAttention", "num_heads": 3, "key_dim": 4, "value_dim": 5,
         "inputs": ["input", "input"]}]}
    needed = estimate_of(mha, batch=2)
    scores = 2 * 3 * 50 * 50
    assert needed.other_macs == scores * (4 + 5)
    x = out = 2 * 50 * 8
    assert needed.activation_bytes == 4 * (x + out + out + 2 * scores)
    across_heads = {"inputs": [8], "layers": [  # vectors: the heads attend to each other
        {"type": "MultiHeadAttention", "num_heads": 6, "key_dim": 4, "attention_axes": [1],
         "inputs": ["input", "input"]}]}
    assert estimate_of(across_heads, batch=2).other_macs == 2 * 6 * 6 * (4 + 4)
    additive = {"inputs": {"q": [30, 6], "v": [40, 6]}, "layers": [
        {"type": "AdditiveAttention", "inputs": ["q", "v"]}]}
    needed = estimate_of(additive, batch=1)
    assert needed.other_macs == 30 * 40 * (6 + 6)
    pairwise = 30 * 40 * 6  # query + key for every pair, before the tanh and the sum
    assert needed.activation_bytes == 4 * (30 * 6 + 40 * 6 + 2 * 30 * 6 + 2 * pairwise)


def test_layers_passing_a_computed_shape_on_are_counted_at_its_size():
    """Attention across the batch computes (B, B, 64) where Keras declares (B, 64); the Dropout
    and GaussianNoise after it pass that shape on (as predict does), and are counted at it."""
    model = {"inputs": {"q": [64], "v": [1, 64]}, "layers": [
        {"type": "Attention", "inputs": ["q", "v"]},
        {"type": "Dropout", "rate": 0.1, "inputs": "attention"},
        {"type": "GaussianNoise", "stddev": 0.1, "inputs": "dropout"}],
        "outputs": ["attention", "dropout", "gaussian_noise"]}
    computed = 64 * 64 * 64
    # The last step: the two outputs before it live, its own output and one temporary.
    assert estimate_of(model, batch=64).activation_bytes == 4 * 4 * computed
    answer = check({"model": model, "forward": {"batch_size": 64}})
    assert [o["shape"] for o in answer["forward"]["outputs"]] == [[64, 64, 64]] * 3


@pytest.mark.parametrize(("layer", "steps"), [
    ({"type": "GRU", "units": 4}, 1000),
    ({"type": "Bidirectional", "layer": {"type": "LSTM", "units": 4}}, 2000),
    ({"type": "TimeDistributed", "layer": {"type": "SimpleRNN", "units": 4}}, 1000),
])
def test_recurrent_time_steps_count_against_the_macs_budget(monkeypatch, layer, steps):
    model = {"inputs": [1000, 3], "layers": [layer]}
    if layer["type"] == "TimeDistributed":
        model["inputs"] = [7, 1000, 3]
    needed = estimate_of(model, batch=1)
    assert needed.other_macs - estimate_of_draws(model) == steps * STEP_MACS
    refuse_running(monkeypatch)
    with pytest.raises(LimitExceeded):
        forward_pass(analyse(model, {}), {}, Limits(forward_max_macs=steps * STEP_MACS))


def estimate_of_draws(model: dict) -> int:
    from shapecheck.initializers import draw_macs

    analysis = analyse(model, {})
    return sum(draw_macs(w) for s in analysis.propagation.states.values() for w in s.weights)


def test_over_http_the_deadline_is_a_problem_not_a_crash(monkeypatch):
    from shapecheck.layers.core import Dense

    slow = Dense.apply
    monkeypatch.setattr(Dense, "apply",
                        lambda self, x, weights: (time.sleep(0.4), slow(self, x, weights))[1])
    monkeypatch.setenv("SHAPECHECK_FORWARD_TIMEOUT_S", "0.2")
    response = create_app(Limits()).test_client().post(
        "/v1/check", json={"model": CHAIN, "forward": {}})
    assert response.status_code in (413, 503)  # 503 once the HTTP layer maps ForwardTimeout
    assert response.mimetype == "application/problem+json"
    assert "SHAPECHECK_FORWARD_TIMEOUT_S" in response.get_json()["detail"]


def test_patches_only_for_convolutions_that_build_them():
    depthwise = {"inputs": [6, 6, 3], "layers": [{"type": "DepthwiseConv2D", "kernel_size": 3}]}
    x, y = 6 * 6 * 3, 4 * 4 * 3
    assert estimate_of(depthwise, batch=1).activation_bytes == 4 * (x + y + y)
    wrapped = {"inputs": [5, 6, 6, 3], "layers": [{"type": "TimeDistributed", "layer": {
        "type": "Conv2D", "filters": 4, "kernel_size": 3}}]}
    x, y, patches = 5 * 6 * 6 * 3, 5 * 4 * 4 * 4, 5 * 4 * 4 * 3 * 3 * 3
    assert estimate_of(wrapped, batch=1).activation_bytes == 4 * (x + y + y + patches)


def test_values_are_returned_up_to_the_body_limit(monkeypatch):
    refuse_running(monkeypatch)
    analysis = analyse(CHAIN, {})
    limits = Limits(max_body_bytes=4 * 2 * 30 - 1)
    with pytest.raises(LimitExceeded) as caught:
        forward_pass(analysis, {"batch_size": 2, "return": "values"}, limits)
    assert (caught.value.value, caught.value.what) == (4 * 2 * 30, "forward values bytes")
    assert '"return": "summary"' in caught.value.detail


def test_estimate_keeps_a_tensor_alive_until_a_mask_argument_reads_it():
    # 'flag' is read by no call's inputs, only as the LSTM's mask: the pass keeps it from its
    # own call to the LSTM's, so at 'wide' x, flag, wide's output and its temporary are alive.
    masked = {"inputs": {"x": [6, 4], "t": [6, 1]}, "layers": [
        {"type": "Flatten", "name": "flag", "inputs": "t"},
        {"type": "Dense", "units": 50, "name": "wide", "inputs": "x"},
        {"type": "LSTM", "units": 2, "name": "lstm", "inputs": "wide", "call": {"mask": "flag"}}],
        "outputs": ["lstm"]}
    x, flag, wide = 6 * 4, 6, 6 * 50
    assert estimate_of(masked, batch=1).activation_bytes == 4 * (x + flag + wide + wide)
    assert check({"model": masked, "forward": {"seed": 1}})["forward"]["outputs"][0]["shape"] \
        == [1, 2]


def test_a_padded_copy_of_the_input_counts_as_a_temporary():
    same = {"inputs": [6, 6, 3], "layers": [
        {"type": "DepthwiseConv2D", "kernel_size": 3, "padding": "same"}]}
    x, y, padded = 6 * 6 * 3, 6 * 6 * 3, 8 * 8 * 3
    assert estimate_of(same, batch=1).activation_bytes == 4 * (x + y + y + padded)
    causal = {"inputs": [10, 2], "layers": [
        {"type": "Conv1D", "filters": 1, "kernel_size": 2, "padding": "causal",
         "dilation_rate": 3}]}
    x, y, padded, patches = 10 * 2, 10 * 1, 13 * 2, 10 * 2 * 2
    assert estimate_of(causal, batch=1).activation_bytes == 4 * (x + y + y + padded + patches)


@pytest.mark.parametrize(("inputs", "layer", "steps"), [
    ([9, 9, 3], {"type": "MaxPooling2D", "pool_size": [3, 5], "padding": "same"}, 3 + 5),
    ([12, 3], {"type": "AveragePooling1D", "pool_size": 4, "padding": "same"}, 4),
    ([9, 9, 3], {"type": "Conv2D", "filters": 2, "kernel_size": 3, "padding": "same"},
     2 * 9 + 3 * 3),
    ([9, 9, 3], {"type": "DepthwiseConv2D", "kernel_size": [2, 4]}, 2 * 8 + 2 * 4),
])
def test_the_loops_of_pooling_and_convolution_kernels_count_as_steps(inputs, layer, steps):
    """Pooling loops over each window element of each axis; a convolution over the samples
    and blocks of output rows (at most one per row: 2 samples here), and kernel positions."""
    model = {"inputs": inputs, "layers": [layer]}
    assert estimate_of(model, batch=2).other_macs - estimate_of_draws(model) == steps * STEP_MACS


@pytest.mark.parametrize("layer", [
    {"type": "MaxPooling2D", "pool_size": 10**9, "padding": "same"},
    {"type": "Conv1D", "filters": 6, "kernel_size": 2, "padding": "causal",
     "dilation_rate": 2 * 10**9},
])
def test_huge_windows_on_small_inputs_are_refused_before_running(monkeypatch, layer):
    """These once hung a worker in a Python loop of 10^9 steps, or asked numpy for 44 GiB."""
    model = {"inputs": [6, 6, 3] if "Pool" in layer["type"] else [6, 3], "layers": [layer]}
    refuse_running(monkeypatch)
    started = time.monotonic()
    with pytest.raises(LimitExceeded):
        forward_pass(analyse(model, {}), {"batch_size": 2}, Limits())
    assert time.monotonic() - started < 1


def nested(layers: list[dict], shape: list[int]) -> dict:
    """A tf.keras 2 Sequential of ``layers`` on ``shape``, called as the one layer of another."""
    def sequential(name: str, entries: list[dict]) -> dict:
        first = {"class_name": "InputLayer",
                 "config": {"batch_input_shape": [None, *shape], "name": f"{name}_input"}}
        return {"class_name": "Sequential", "config": {"name": name, "layers": [first, *entries]}}

    entries = [{"class_name": e["type"], "config": {k: v for k, v in e.items() if k != "type"}}
               for e in layers]
    return sequential("outer", [sequential("inner", entries)])


@pytest.mark.parametrize("layers", [
    [{"type": "MaxPooling2D", "pool_size": 10**9, "padding": "same"}],
    [{"type": "UpSampling2D", "size": 3000}, {"type": "GlobalMaxPooling2D"}],
])
def test_what_a_nested_model_does_inside_counts_against_the_budgets(monkeypatch, layers):
    """A huge window, or an upsampled map of 6·3000 × 6·3000 pooled to 3 values, once ran
    inside a nested model (the fuzzer hung a worker on the window): the budgets saw only the
    nested model's outputs."""
    refuse_running(monkeypatch)
    started = time.monotonic()
    with pytest.raises(LimitExceeded):
        forward_pass(analyse(nested(layers, [6, 6, 3]), {}), {"batch_size": 2}, Limits())
    assert time.monotonic() - started < 1


def test_a_nested_model_is_estimated_as_its_layers_plus_its_outputs():
    layers = [{"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"},
              {"type": "MaxPooling2D", "pool_size": 2}, {"type": "Flatten"},
              {"type": "Dense", "units": 5}]
    flat = estimate_of({"inputs": [8, 8, 3], "layers": layers}, batch=3)
    outer = estimate_of(nested(layers, [8, 8, 3]), batch=3)
    assert (outer.macs, outer.other_macs, outer.weight_bytes) == (
        flat.macs, flat.other_macs, flat.weight_bytes)
    assert outer.values == flat.values + 3 * 5  # the nested model's output, once more
    # An upper bound: the input, live outside, is counted inside again; the output once more.
    x, y = 4 * 3 * 8 * 8 * 3, 4 * 3 * 5
    assert flat.activation_bytes < outer.activation_bytes <= flat.activation_bytes + x + y


def test_the_deadline_stops_between_the_layers_of_a_nested_model(monkeypatch):
    slow_dense(monkeypatch)
    layers = [{"type": "Dense", "units": 20, "name": "first"},
              {"type": "Dense", "units": 30, "name": "second"}]
    with pytest.raises(ForwardTimeout) as caught:
        forward_pass(analyse(nested(layers, [10]), {}), {}, Limits(forward_timeout_s=0.2))
    assert "before layer 'second'" in caught.value.detail
