"""The forward plan's rewrites, which give the values of the graph as declared and apply only
where nothing else sees the value they remove; and the faster kernels (shifted products,
Winograd, blockwise activations), which give those of the plain computation."""

from __future__ import annotations

import numpy as np
import pytest
from keras_fixtures import recorded
from shapecheck import activations, forward_plan, winograd
from shapecheck.analysis import analyse
from shapecheck.forward import run_forward
from shapecheck.graph import Call, ModelGraph, Propagation, TensorRef, propagate
from shapecheck.layers import conv
from shapecheck.layers.base import Layer
from shapecheck.layers.conv import TfKerasConv2D
from shapecheck.layers.normalization import BatchNormalization
from shapecheck.winograd import WinogradConv2D


def loaded(model: dict) -> tuple[ModelGraph, Propagation]:
    analysis = analyse(model, {})
    assert analysis.ok, [d.message for d in analysis.diagnostics]
    return analysis.graph, analysis.propagation


def random_weights(prop: Propagation, read_only: bool = True) -> dict[str, list[np.ndarray]]:
    """Weights far from the defaults (gamma 1, mean 0, variance 1), variances positive;
    read-only as the cached default weights are, or writeable as a request's own."""
    rng = np.random.default_rng(0)
    weights = {name: [(rng.uniform(0.5, 1.5, w.shape) if w.name == "moving_variance"
                       else rng.uniform(-1, 1, w.shape)).astype(np.float32)
                      for w in state.weights or ()]
               for name, state in prop.states.items()}
    for arrays in weights.values():
        for a in arrays:
            a.flags.writeable = not read_only
    return weights


def run(graph: ModelGraph, prop: Propagation, weights: dict, x: np.ndarray,
        planned: bool = True) -> list[np.ndarray]:
    """The model outputs, with the plan or with every layer as declared."""
    if not planned:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(forward_plan, "prepare", lambda g, p, w, key=None: (g, w))
            return run(graph, prop, weights, x)
    values = run_forward(graph, prop, {graph.inputs[0].name: x}, weights)
    return [values[ref] for ref in graph.outputs]


def assert_same_values(model: dict, shape: tuple[int, ...]) -> dict[str, Layer]:
    """Run ``model`` with and without the plan; the planned layers."""
    graph, prop = loaded(model)
    weights = random_weights(prop)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    for got, want in zip(run(graph, prop, weights, x), run(graph, prop, weights, x, False),
                         strict=True):
        assert got.shape == want.shape
        assert float(np.max(np.abs(got - want))) <= 1e-5 * float(np.max(np.abs(want)))
    return forward_plan.prepare(graph, prop, weights)[0].layers


def kinds(layers: dict[str, Layer]) -> dict[str, str]:
    """The Keras class of each layer (``Conv2D`` when run by Winograd), or the plan's
    ``Absorbed`` and ``Activated``."""
    return {name: layer.keras_name for name, layer in layers.items()}


BN = {"type": "BatchNormalization", "name": "bn"}
RELU = {"type": "Activation", "activation": "relu", "name": "act"}


@pytest.mark.parametrize(("linear", "shape", "bn"), [
    ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}, (2, 6, 5, 3), {}),
    ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "data_format": "channels_first"},
     (2, 3, 6, 5), {"axis": 1}),
    ({"type": "Conv2D", "filters": 6, "kernel_size": 1, "groups": 3, "use_bias": False},
     (2, 4, 4, 3), {"scale": False}),
    ({"type": "Conv1D", "filters": 4, "kernel_size": 2, "strides": 2}, (2, 9, 3),
     {"center": False, "epsilon": 0.1}),
    ({"type": "Dense", "units": 5}, (2, 7, 3), {}),
    ({"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 2}, (2, 6, 6, 3), {}),
    ({"type": "SeparableConv2D", "filters": 4, "kernel_size": 3}, (2, 6, 6, 3), {}),
    ({"type": "Conv2DTranspose", "filters": 4, "kernel_size": 3, "strides": 2},
     (2, 4, 5, 3), {}),
])
def test_batch_norm_and_activation_fold_into_the_linear_layer(linear: dict, shape: tuple,
                                                              bn: dict) -> None:
    model = {"inputs": list(shape[1:]),
             "layers": [{**linear, "name": "linear"}, {**BN, **bn}, RELU]}
    layers = assert_same_values(model, shape)
    assert kinds(layers) == {"linear": linear["type"], "bn": "Absorbed", "act": "Absorbed"}
    assert layers["linear"].args.use_bias and layers["linear"].args.activation == "relu"


def test_relu6_folds_and_a_leaky_relu_does_not() -> None:
    conv = {"type": "Conv2D", "filters": 3, "kernel_size": 1, "name": "conv"}
    layers = assert_same_values({"inputs": [4, 4, 2], "layers": [
        conv, {"type": "ReLU", "max_value": 6.0, "name": "relu6"}]}, (1, 4, 4, 2))
    assert layers["conv"].args.activation == "relu6" and kinds(layers)["relu6"] == "Absorbed"
    layers = assert_same_values({"inputs": [4, 4, 2], "layers": [
        conv, {"type": "ReLU", "negative_slope": 0.1, "name": "leaky"}]}, (1, 4, 4, 2))
    assert kinds(layers)["leaky"] == "ReLU" and layers["conv"].args.activation is None


def test_a_tf_keras_2_activation_layer_folds_with_its_own_definition() -> None:
    """A tf.keras 2 document's Activation (its variant, which reads tf.keras 2's names) folds
    into the Dense before it, with tf.keras 2's hard_sigmoid."""
    doc = recorded("tfkeras2", "activations:dense_hard_sigmoid")["keras_json"]
    layers = doc["config"]["layers"]
    layers[1]["config"]["activation"] = "linear"
    layers.append({"class_name": "Activation", "name": "act",
                   "config": {"name": "act", "activation": "hard_sigmoid"},
                   "inbound_nodes": [[["dense", 0, 0, {}]]]})
    doc["config"]["output_layers"] = [["act", 0, 0]]
    graph, prop = loaded(doc)
    weights = random_weights(prop)
    x = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32) * 4
    (got,), (want,) = run(graph, prop, weights, x), run(graph, prop, weights, x, False)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    dense = x @ weights["dense"][0] + weights["dense"][1]
    np.testing.assert_allclose(got, np.clip(0.2 * dense + 0.5, 0, 1), rtol=1e-5, atol=1e-6)
    planned = forward_plan.prepare(graph, prop, weights)[0].layers
    assert kinds(planned)["act"] == "Absorbed"


CONV = {"type": "Conv2D", "filters": 4, "kernel_size": 3, "name": "conv"}


@pytest.mark.parametrize("model", [
    # The conv output is also added to the normalised one: it must stay unnormalised.
    {"inputs": {"x": [6, 6, 3]}, "layers": [
        {**CONV, "inputs": ["x"]}, {**BN, "inputs": ["conv"]},
        {"type": "Add", "name": "add", "inputs": ["conv", "bn"]}]},
    # The conv output is a model output.
    {"inputs": {"x": [6, 6, 3]}, "layers": [{**CONV, "inputs": ["x"]}, {**BN, "inputs": ["conv"]}],
     "outputs": ["conv", "bn"]},
    # Batch norm over the rows, not the channels.
    {"inputs": [6, 6, 3], "layers": [CONV, {**BN, "axis": 1}]},
    # The conv has its own activation, before the batch norm.
    {"inputs": [6, 6, 3], "layers": [{**CONV, "activation": "relu"}, BN]},
])
def test_batch_norm_stays_where_folding_would_change_a_value(model: dict) -> None:
    layers = assert_same_values(model, (2, 6, 6, 3))
    assert type(layers["bn"]) is BatchNormalization


def test_a_shared_conv_keeps_its_weights() -> None:
    graph, _ = loaded({"inputs": [6, 6, 3], "layers": [CONV, BN]})
    graph.calls += [Call("conv", [TensorRef("input")], index=1),
                    Call("bn2", [TensorRef("conv", 1)])]
    graph.layers["bn2"] = BatchNormalization("bn2", {**vars(graph.layers["bn"].args)})
    graph.outputs.append(TensorRef("bn2"))
    prop = propagate(graph)
    assert not prop.diagnostics
    weights = random_weights(prop)
    planned, _ = forward_plan.prepare(graph, prop, weights)
    assert {name: planned.layers[name] for name in ("bn", "bn2")} == {
        name: graph.layers[name] for name in ("bn", "bn2")}
    assert kinds(planned.layers) == kinds(graph.layers)


def test_an_activation_after_add_or_batch_norm_is_applied_in_place() -> None:
    layers = assert_same_values({"inputs": {"x": [5, 3]}, "layers": [
        {"type": "Dense", "units": 3, "name": "dense", "activation": "tanh", "inputs": ["x"]},
        {"type": "Add", "name": "add", "inputs": ["x", "dense"]},
        {"type": "Activation", "activation": "relu", "name": "relu", "inputs": ["add"]},
        {"type": "BatchNormalization", "name": "bn", "inputs": ["relu"]},
        {"type": "Activation", "activation": "sigmoid", "name": "sigmoid", "inputs": ["bn"]}]},
        (2, 5, 3))
    assert kinds(layers) == {"dense": "Dense", "add": "Activated", "relu": "Absorbed",
                             "bn": "Activated", "sigmoid": "Absorbed"}


def written_into(layer: Layer) -> int | None:
    """Which input an Add writes its sum into; None when it makes a new array."""
    add = layer.layer if isinstance(layer, forward_plan.Activated) else layer
    return add.into if isinstance(add, forward_plan.AddInPlace) else None


RESIDUAL = [{"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same",
             "name": "conv", "inputs": ["x"]}, {**BN, "inputs": ["conv"]}]


@pytest.mark.parametrize(("layers", "seen", "into"), [
    ([*RESIDUAL, {"type": "Add", "name": "add", "inputs": ["x", "bn"]}], [], 1),
    ([*RESIDUAL, {"type": "Add", "name": "add", "inputs": ["bn", "x"]}], [], 0),
    ([RESIDUAL[0], {"type": "Add", "name": "add", "inputs": ["conv", "x"]}], [], 0),
    # The convolution's output is seen elsewhere: as a model output, or by another layer.
    ([*RESIDUAL, {"type": "Add", "name": "add", "inputs": ["x", "bn"]}], ["bn"], None),
    ([*RESIDUAL, {"type": "Add", "name": "add", "inputs": ["x", "bn"]},
      {"type": "Activation", "activation": "tanh", "name": "tanh", "inputs": ["bn"]}],
     ["tanh"], None),
    # One filter, broadcast over the 4 channels: the sum does not fit in it.
    ([{**RESIDUAL[0], "filters": 1}, {"type": "Add", "name": "add", "inputs": ["conv", "x"]}],
     [], None),
    ([{"type": "Add", "name": "add", "inputs": ["x", "x"]}], [], None),
])
def test_add_writes_into_a_new_array_nothing_else_reads(layers: list, seen: list,
                                                        into: int | None) -> None:
    relu = {"type": "Activation", "activation": "relu", "name": "relu", "inputs": ["add"]}
    model = {"inputs": {"x": [6, 6, 4]}, "layers": [*layers, relu], "outputs": ["relu", *seen]}
    planned = assert_same_values(model, (2, 6, 6, 4))
    assert written_into(planned["add"]) == into


PAD = {"type": "ZeroPadding2D", "padding": [[1, 2], [0, 3]], "name": "pad", "inputs": ["x"]}
POOL = {"type": "MaxPooling2D", "pool_size": 3, "strides": 2, "name": "pool", "inputs": ["pad"]}


@pytest.mark.parametrize(("layers", "outputs", "folds"), [
    ([PAD, POOL], ["pool"], True),
    ([PAD, {**POOL, "pool_size": 2, "strides": 1}], ["pool"], True),
    ([{**PAD, "data_format": "channels_first"}, {**POOL, "data_format": "channels_first"}],
     ["pool"], True),
    # 'same' pads with -inf where the zeros are: the pooling sees them as values.
    ([PAD, {**POOL, "padding": "same"}], ["pool"], False),
    # The padded maps are seen elsewhere: as a model output, or by another layer.
    ([PAD, POOL], ["pool", "pad"], False),
    ([PAD, POOL, {"type": "Activation", "activation": "tanh", "name": "tanh",
                  "inputs": ["pad"]}], ["pool", "tanh"], False),
    ([{**PAD, "data_format": "channels_first"}, POOL], ["pool"], False),
])
def test_a_zero_padding_folds_into_the_valid_max_pooling_after_it(
        layers: list, outputs: list, folds: bool) -> None:
    # Negative inputs: where a window crosses the zeros, its maximum is 0.
    model = {"inputs": {"x": [7, 8, 5]}, "layers": layers, "outputs": outputs}
    planned = assert_same_values(model, (2, 7, 8, 5))
    assert (kinds(planned)["pad"] == "Absorbed") is folds
    assert planned["pool"].margins == (((1, 2), (0, 3)) if folds else ())


@pytest.mark.parametrize(("layers", "planned"), [
    ([{"type": "Dense", "units": 4, "name": "dense"}, BN], {"bn": "Absorbed", "act": "Absorbed"}),
    ([BN], {"bn": "Activated", "act": "Absorbed"}),
])
def test_rewritten_layers_pass_the_masks_on(layers: list, planned: dict) -> None:
    # The LSTM skips the all-zero steps only if the mask crosses the rewritten layers.
    model = {"inputs": [None, 3], "layers": [
        {"type": "Masking", "mask_value": 0.0}, *layers,
        {"type": "Activation", "activation": "tanh", "name": "act"},
        {"type": "LSTM", "units": 2}]}
    rewritten = assert_same_values(model, (2, 6, 3))
    assert {name: kinds(rewritten)[name] for name in planned} == planned
    graph, prop = loaded(model)
    weights = random_weights(prop)
    x = np.random.default_rng(1).standard_normal((2, 6, 3)).astype(np.float32)
    x[:, 3:] = 0.0
    (padded,), (short,) = run(graph, prop, weights, x), run(graph, prop, weights, x[:, :3])
    np.testing.assert_allclose(padded, short, rtol=1e-6)


@pytest.mark.parametrize(("filters", "strides", "size", "padding", "tile"), [
    (64, 1, 20, "same", 4),  # 5×6 blocks of 4×4 outputs
    (64, 1, 20, "valid", 4),  # 5×5
    (128, 1, 14, "same", 2), (8, 1, 5, "valid", 2),
    (128, 2, 28, "same", None),  # strided
    (512, 1, 10, "same", 2),  # 5×6 blocks of 2×2
    (512, 1, 10, "valid", None),  # 4×5 blocks of 2×2, too few to repay reading a large kernel
])
def test_winograd_runs_the_3x3_convolutions_with_stride_1(filters: int, strides: int, size: int,
                                                         padding: str,
                                                         tile: int | None) -> None:
    for data_format in ("channels_last", "channels_first"):
        shape = (filters, size, size + 1) if data_format == "channels_first" else (
            size, size + 1, filters)
        model = {"inputs": list(shape), "layers": [
            {"type": "Conv2D", "filters": filters, "kernel_size": 3, "strides": strides,
             "padding": padding, "data_format": data_format, "name": "conv"}]}
        layers = assert_same_values(model, (1, *shape))
        assert (type(layers["conv"]) is WinogradConv2D) is (tile is not None)
        if tile is not None:
            graph, prop = loaded(model)
            kernel = forward_plan.prepare(graph, prop, random_weights(prop))[1]["conv"][0]
            assert winograd.tile_size(kernel) == tile


def test_derived_kernels_of_read_only_weights_are_kept() -> None:
    graph, prop = loaded({"inputs": [10, 10, 3], "layers": [CONV, BN]})
    weights = random_weights(prop, read_only=False)
    fresh = [forward_plan.prepare(graph, prop, weights)[1]["conv"] for _ in range(2)]
    assert fresh[0][0] is not fresh[1][0] and fresh[0][0].flags.writeable
    for arrays in weights.values():
        for a in arrays:
            a.flags.writeable = False
    kept = [forward_plan.prepare(graph, prop, weights)[1]["conv"] for _ in range(2)]
    assert kept[0][0] is kept[1][0] and not kept[0][0].flags.writeable
    np.testing.assert_array_equal(kept[0][0], winograd.winograd_kernel(fresh[0][0], 2))
    key = next(k for k in forward_plan.DERIVED.entries if id(weights["conv"][0]) in k)
    del weights, kept
    assert key not in forward_plan.DERIVED.entries


def test_a_requests_own_weights_fold_only_where_one_pass_pays() -> None:
    # 3·3·3·4 = 108 kernel values: folding them costs more than a pass over 4·4·4 = 64
    # outputs (not over 8·8·4 = 256); the Winograd transform never pays for one pass.
    for size, folds in ((6, False), (10, True)):
        graph, prop = loaded({"inputs": [size, size, 3], "layers": [CONV, BN, RELU]})
        planned, _ = forward_plan.prepare(graph, prop, random_weights(prop, read_only=False))
        expected = ({"conv": "Conv2D", "bn": "Absorbed", "act": "Absorbed"} if folds
                    else {"conv": "Conv2D", "bn": "Activated", "act": "Absorbed"})
        assert kinds(planned.layers) == expected
    graph, prop = loaded({"inputs": [14, 14, 128], "layers": [
        {"type": "Conv2D", "filters": 128, "kernel_size": 3, "name": "conv"}]})
    planned, _ = forward_plan.prepare(graph, prop, random_weights(prop, read_only=False))
    assert type(planned.layers["conv"]) is not WinogradConv2D


@pytest.mark.parametrize(("shape", "kernel", "dilation", "padding"), [
    ((2, 9, 8, 40), (3, 3), (1, 1), "same"),
    ((1, 12, 40), (5,), (2,), "causal"),
    ((2, 5, 6, 4, 40), (2, 3, 2), (1, 2, 1), "valid"),
    ((1, 7, 9, 40), (3, 2), (2, 3), "same"),
])
def test_shifted_products_equal_the_patch_matrix(shape: tuple, kernel: tuple,
                                                 dilation: tuple, padding: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((*kernel, shape[-1], 6)).astype(np.float32)
    strides = (1,) * len(kernel)
    shifted = conv.convolve(x, w, strides, dilation, padding)
    monkeypatch.setattr(conv, "SHIFTED_CHANNELS", (0, 0))
    patches = conv.convolve(x, w, strides, dilation, padding)
    assert shifted.shape == patches.shape
    assert float(np.max(np.abs(shifted - patches))) <= 1e-5 * float(np.max(np.abs(patches)))


@pytest.mark.parametrize(("shape", "kernel", "strides", "dilation"), [
    ((2, 23, 24, 3), (7, 7), (2, 2), (1, 1)),  # a window row and its channels copied as one
    ((1, 9, 8, 5), (3, 3), (1, 1), (2, 2)),
    ((2, 40, 6), (5,), (2,), (1,)),
    ((1, 7, 9, 6, 4), (3, 2, 2), (2, 1, 2), (1, 1, 1)),
])
@pytest.mark.parametrize("block_rows", [1, None])
def test_patch_matrices_by_blocks_of_rows_give_the_convolution(
        shape: tuple, kernel: tuple, strides: tuple, dilation: tuple, block_rows: int | None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if block_rows is not None:
        monkeypatch.setattr(conv, "PATCH_BYTES", 1)
        monkeypatch.setattr(conv, "PATCH_ROWS", block_rows)
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((*kernel, shape[-1], 6)).astype(np.float32)
    got = conv.convolve(x, w, strides, dilation, "valid")
    windows = conv.windows(x.astype(np.float64), kernel, strides, dilation)  # (N, *out, C, *k)
    want = np.tensordot(windows, np.moveaxis(w, -2, 0), axes=len(kernel) + 1)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.max(np.abs(want))))


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS.keys()
                                         - activations.SHAPE_CHANGING))  # glu: an even axis
def test_blockwise_activations_equal_the_whole_array_computation(name: str) -> None:
    function = activations.ACTIVATIONS[name]
    x = np.random.default_rng(3).standard_normal((3, activations.BLOCK + 7)).astype(np.float32)
    x[0, :5] = [0.0, -0.0, 40.0, -40.0, 1e-30]
    whole = getattr(function, "__wrapped__", function)(x)
    np.testing.assert_array_equal(function(x), whole)
    assert function(x).dtype == np.float32


@pytest.mark.parametrize("shape", [(1, 56, 56, 64), (2, 7, 5, 3), (1, 7, 7, 2048), (3,), (0, 4)])
@pytest.mark.parametrize("ufunc", [np.add, np.maximum])
def test_channelwise_over_long_rows_equals_the_broadcast(ufunc: np.ufunc, shape: tuple) -> None:
    # 56·56 = 3,136 rows of 64 channels: 24 long rows of 128 of them, 64 left over.
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(np.float32)
    for row in (rng.standard_normal(shape[-1]).astype(np.float32), activations.ZERO):
        want = ufunc(x, row)
        got = x.copy()
        assert activations.channelwise(ufunc, got, row) is got
        np.testing.assert_array_equal(got, want)
    strided = x.copy()[..., ::-1]  # not contiguous: the plain broadcast
    np.testing.assert_array_equal(activations.channelwise(ufunc, strided, activations.ZERO),
                                  ufunc(x[..., ::-1], 0))


def test_a_plan_of_read_only_weights_is_kept_under_its_key() -> None:
    graph, prop = loaded({"inputs": [10, 10, 3], "layers": [CONV, BN, RELU]})
    weights = random_weights(prop)
    kept = forward_plan.prepare(graph, prop, weights, key="model")
    assert forward_plan.prepare(graph, prop, weights, key="model") is kept
    assert forward_plan.prepare(graph, prop, weights, key="other") is not kept
    assert forward_plan.prepare(graph, prop, weights) is not kept
    own = random_weights(prop, read_only=False)
    assert forward_plan.prepare(graph, prop, own, key="model") is not forward_plan.prepare(
        graph, prop, own, key="model")
    count = len(forward_plan.PLANS.entries)
    del weights, kept
    assert len(forward_plan.PLANS.entries) == count - 2


def test_tf_keras_2_convolutions_run_by_winograd_on_images_only() -> None:
    """A tf.keras 2 document's Conv2D (its variant, which takes more batch axes) runs by
    Winograd on a batch of images; over more batch axes the plain kernel folds them."""
    doc = recorded("tfkeras2", "conv:conv2d_batch_axes_same_3x3")["keras_json"]
    for shape, by_winograd in (([None, 2, 6, 6, 3], False), ([None, 6, 6, 3], True)):
        doc["config"]["layers"][0]["config"]["batch_input_shape"] = shape
        graph, prop = loaded(doc)
        assert isinstance(graph.layers["conv2d"], TfKerasConv2D)
        planned = forward_plan.prepare(graph, prop, random_weights(prop))[0].layers["conv2d"]
        assert isinstance(planned, WinogradConv2D) is by_winograd


def test_a_batch_norm_folds_into_a_convolution_on_its_channel_axis_only() -> None:
    """tf.keras 2's channels_first convolution over several batch axes has its channels
    before the spatial axes, not at axis 1."""
    conv = TfKerasConv2D.from_config("conv", {"filters": 4, "kernel_size": 3,
                                              "data_format": "channels_first"})
    for shape, channels in (((None, 4, 6, 6), 1), ((None, 3, 4, 6, 6), 2)):
        for axis in (1, 2):
            norm = BatchNormalization.from_config("bn", {"axis": axis})
            assert forward_plan.normalises_channels(norm, conv, shape) is (axis == channels)


@pytest.mark.parametrize("read_only", [True, False])
def test_a_bias_of_zeros_is_left_out(read_only: bool) -> None:
    model = {"inputs": [6, 6, 3], "layers": [
        {"type": "Conv2D", "filters": 4, "kernel_size": 1, "name": "conv"}, BN,
        {"type": "Dense", "units": 2, "name": "dense"}]}
    graph, prop = loaded(model)
    weights = random_weights(prop, read_only)
    # The dense's bias and, once the batch norm folds in, the convolution's are zeros.
    zeros = {**weights, "dense": [weights["dense"][0], np.zeros(2, np.float32)],
             "conv": [weights["conv"][0], np.zeros(4, np.float32)],
             "bn": [np.ones(4, np.float32), *(np.full(4, v, np.float32) for v in (0, 0, 1))]}
    for arrays in zeros.values():
        for a in arrays:
            a.flags.writeable = not read_only
    planned, planned_weights = forward_plan.prepare(graph, prop, zeros)
    assert not planned.layers["conv"].args.use_bias and len(planned_weights["conv"]) == 1
    assert not planned.layers["dense"].args.use_bias and len(planned_weights["dense"]) == 1
    x = np.random.default_rng(1).standard_normal((2, 6, 6, 3)).astype(np.float32)
    for got, want in zip(run(graph, prop, zeros, x), run(graph, prop, zeros, x, False),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    planned, _ = forward_plan.prepare(graph, prop, weights)  # random: not zeros
    assert planned.layers["conv"].args.use_bias and planned.layers["dense"].args.use_bias
