"""Real-world Keras mistakes (the ones Stack Overflow is full of), through the real server.

Each mistake names the diagnostic it must produce (code and layer) and the fix that must be
offered with its result. The test then applies the fix's patch with the client's own RFC 6902
implementation (independent of the service's), checks the patched model again, and asserts that
the diagnostic is gone and that the model gives what the fix promised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from shapecheck_client import apply_fix


def L(type_name: str, **args: Any) -> dict[str, Any]:
    return {"type": type_name, **args}


def seq(inputs: Any, *layers: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {"model": {"inputs": inputs, "layers": list(layers)}, **data}


def graph(inputs: dict[str, Any], outputs: list[str], *layers: dict[str, Any],
          **data: Any) -> dict[str, Any]:
    return {"model": {"inputs": inputs, "layers": list(layers), "outputs": outputs}, **data}


@dataclass
class Mistake:
    name: str
    request: dict[str, Any]
    code: str
    layer: str | None
    fix: str
    """The title of a fix that must be offered."""
    result: dict[str, Any]
    severity: str = "error"
    first: bool = False
    """Whether that fix must be ranked first."""
    notes: dict[str, str] = field(default_factory=dict)
    """Words the message or the hint must contain."""


KERAS_FIXES = json.loads((Path(__file__).parent / "fixtures" / "keras3" / "fixes.json")
                         .read_text())
KERAS_SEED_000 = next(c for c in KERAS_FIXES if c["name"] == "seed000_functional")["request"]
KERAS_INCEPTION = next(c for c in KERAS_FIXES
                       if c["name"] == "inception_valid_branches")["request"]

MISTAKES = [
    Mistake("dense_straight_after_conv2d (seed 000)",
            seq([100, 100, 3], L("Conv2D", filters=32, kernel_size=[3, 3], activation="relu"),
                L("Dense", units=256, activation="relu"),
                L("Dense", units=10, activation="softmax"),
                x_shape=[100, 100, 100, 3], y_shape=[100, 10], loss="categorical_crossentropy"),
            "target_shape_mismatch", "dense_1", "Insert Flatten before 'dense'",
            {"output_shape": [None, 10], "params": 78_679_690},
            notes={"hint": "Put Flatten or GlobalAveragePooling2D before 'dense'"}),
    Mistake("global pooling ranks first for seed 000: 11,914 parameters, not 78 million",
            seq([100, 100, 3], L("Conv2D", filters=32, kernel_size=[3, 3], activation="relu"),
                L("Dense", units=256, activation="relu"),
                L("Dense", units=10, activation="softmax"), y_shape=[100, 10]),
            "target_shape_mismatch", "dense_1", "Insert GlobalAveragePooling2D before 'dense'",
            {"output_shape": [None, 10], "params": 11_914}, first=True),
    Mistake("mnist images without a channel axis",
            seq([28, 28], L("Conv2D", filters=32, kernel_size=3, activation="relu"),
                L("MaxPooling2D"), L("Flatten"), L("Dense", units=10, activation="softmax"),
                x_shape=[60000, 28, 28], y_shape=[60000], loss="sparse_categorical_crossentropy"),
            "layer_input_incompatible", "conv2d",
            "Insert Reshape(target_shape=(28, 28, 1)) before 'conv2d'",
            {"output_shape": [None, 10], "params": 54_410}, first=True,
            notes={"message": "received (None, 28, 28) of rank 3"}),
    Mistake("x without the channel axis the model declares",
            seq([28, 28, 1], L("Conv2D", filters=8, kernel_size=3), L("Flatten"),
                L("Dense", units=10, activation="softmax"), x_shape=[60000, 28, 28]),
            "input_shape_mismatch", None,
            "Give the model input 'input' the shape (28, 28) and insert "
            "Reshape(target_shape=(28, 28, 1)) before 'conv2d'",
            {"output_shape": [None, 10], "params": 54_170},
            notes={"hint": "np.expand_dims(x, -1)"}),
    Mistake("LSTM fed 2-D tabular data",
            seq([20], L("LSTM", units=32), L("Dense", units=1), x_shape=[500, 20],
                y_shape=[500, 1], loss="mse"),
            "layer_input_incompatible", "lstm",
            "Insert Reshape(target_shape=(20, 1)) before 'lstm'",
            {"output_shape": [None, 1], "params": 4_385}, first=True),
    Mistake("stacked LSTMs without return_sequences",
            seq([10, 8], L("LSTM", units=32), L("LSTM", units=16), L("Dense", units=1)),
            "layer_input_incompatible", "lstm_1", "Set return_sequences=True on 'lstm'",
            {"output_shape": [None, 1], "params": 8_401}, first=True),
    Mistake("Conv1D on flat feature vectors",
            seq([20], L("Conv1D", filters=16, kernel_size=3, activation="relu"),
                L("GlobalMaxPooling1D"), L("Dense", units=1)),
            "layer_input_incompatible", "conv1d",
            "Give the model input 'input' the shape (20, 1) instead of (20,)",
            {"output_shape": [None, 1], "params": 81}),
    Mistake("ten softmax units for five classes",
            seq([20], L("Dense", units=64, activation="relu"),
                L("Dense", units=10, activation="softmax"), y_shape=[500, 5],
                loss="categorical_crossentropy"),
            "target_shape_mismatch", "dense_1", "Set units=5 on 'dense_1'",
            {"output_shape": [None, 5], "params": 1_669}, first=True),
    Mistake("two softmax units with binary labels and binary_crossentropy",
            seq([20], L("Dense", units=2, activation="softmax"), y_shape=[500],
                loss="binary_crossentropy"),
            "target_shape_mismatch", "dense", "Set units=1, activation='sigmoid' on 'dense'",
            {"output_shape": [None, 1], "params": 21}, first=True),
    Mistake("inception branches that disagree",
            graph({"img": [32, 32, 3]}, ["out"],
                  L("Conv2D", name="b1", filters=16, kernel_size=1, inputs=["img"]),
                  L("Conv2D", name="b3", filters=16, kernel_size=3, inputs=["img"]),
                  L("Conv2D", name="b5", filters=16, kernel_size=5, inputs=["img"]),
                  L("Concatenate", name="cat", inputs=["b1", "b3", "b5"]),
                  L("GlobalAveragePooling2D", name="gap"), L("Dense", name="out", units=10)),
            "layer_input_incompatible", "cat", "Set padding='same' on 'b3', 'b5'",
            {"output_shape": [None, 10], "params": 2_218}, first=True),
    Mistake("inception branches cropped to the smallest",
            graph({"img": [32, 32, 3]}, ["cat"],
                  L("Conv2D", name="b1", filters=4, kernel_size=1, inputs=["img"]),
                  L("MaxPooling2D", name="pool", pool_size=3, strides=1, inputs=["img"]),
                  L("Concatenate", name="cat", inputs=["b1", "pool"])),
            "layer_input_incompatible", "cat",
            "Insert Cropping2D(cropping=((1, 1), (1, 1))) on input 0 of 'cat'",
            {"output_shape": [None, 30, 30, 7], "params": 16}),
    Mistake("sequences of different lengths concatenated",
            graph({"seq": [50, 8]}, ["cat"],
                  L("Conv1D", name="narrow", filters=4, kernel_size=5, inputs=["seq"]),
                  L("Conv1D", name="wide", filters=4, kernel_size=1, inputs=["seq"]),
                  L("Concatenate", name="cat", inputs=["narrow", "wide"])),
            "layer_input_incompatible", "cat",
            "Insert ZeroPadding1D(padding=(2, 2)) on input 0 of 'cat'",
            {"output_shape": [None, 50, 8], "params": 200}),
    Mistake("residual block whose shortcut has fewer channels",
            graph({"img": [32, 32, 32]}, ["gap"],
                  L("Conv2D", name="c1", filters=64, kernel_size=3, padding="same",
                    inputs=["img"]),
                  L("Add", name="add", inputs=["c1", "img"]),
                  L("GlobalAveragePooling2D", name="gap")),
            "layer_input_incompatible", "add",
            "Insert Conv2D(filters=64, kernel_size=1) on input 1 of 'add' (a projection to 64 "
            "channels)",
            {"output_shape": [None, 64], "params": 20_608}),
    Mistake("residual shortcut that skipped the strided convolution",
            graph({"img": [32, 32, 64]}, ["gap"],
                  L("Conv2D", name="c1", filters=64, kernel_size=3, strides=2, padding="same",
                    inputs=["img"]),
                  L("Add", name="add", inputs=["c1", "img"]),
                  L("GlobalAveragePooling2D", name="gap")),
            "layer_input_incompatible", "add",
            "Insert Conv2D(filters=64, kernel_size=1, strides=(2, 2)) on input 1 of 'add' "
            "(a strided projection shortcut)",
            {"output_shape": [None, 64], "params": 41_088}, first=True),
    Mistake("kernel larger than the image",
            seq([5, 5, 1], L("Conv2D", filters=8, kernel_size=7), L("Flatten"),
                L("Dense", units=1)),
            "layer_input_incompatible", "conv2d", "Set padding='same' on 'conv2d'",
            {"output_shape": [None, 1], "params": 601},
            notes={"message": "window of 7 over an axis of length 5"}),
    Mistake("one pooling too many",
            seq([28, 28, 1], *[L("MaxPooling2D", pool_size=2)] * 5, L("Flatten"),
                L("Dense", units=1)),
            "layer_input_incompatible", "max_pooling2d_4",
            "Set padding='same' on 'max_pooling2d_4'",
            {"output_shape": [None, 1], "params": 2}, first=True),
    Mistake("return_sequences=True in front of per-sample targets",
            seq([10, 8], L("LSTM", units=32, return_sequences=True), L("Dense", units=1),
                y_shape=[500, 1], loss="mse"),
            "target_broadcast", "dense", "Set return_sequences=False on 'lstm'",
            {"output_shape": [None, 1], "params": 5_281}, severity="warning", first=True),
    Mistake("per-time-step targets without return_sequences",
            seq([10, 8], L("LSTM", units=32), L("Dense", units=4, activation="softmax"),
                y_shape=[500, 10, 4], loss="categorical_crossentropy"),
            "target_shape_mismatch", "dense", "Set return_sequences=True on 'lstm'",
            {"output_shape": [None, 10, 4], "params": 5_380}, first=True),
    Mistake("a Bidirectional LSTM still returning sequences for one label per text",
            seq([20], L("Embedding", input_dim=100, output_dim=8),
                L("Bidirectional", layer=L("LSTM", units=4, return_sequences=True)),
                L("Dense", units=1, activation="sigmoid"), y_shape=[64],
                loss="binary_crossentropy"),
            "target_shape_mismatch", "dense",
            "Set return_sequences=False on the layers 'bidirectional' wraps",
            {"output_shape": [None, 1], "params": 1_225}, first=True),
    Mistake("Embedding straight into Dense",
            seq([50], L("Embedding", input_dim=1000, output_dim=16),
                L("Dense", units=1, activation="sigmoid"), y_shape=[500],
                loss="binary_crossentropy"),
            "target_shape_mismatch", "dense", "Insert GlobalAveragePooling1D before 'dense'",
            {"output_shape": [None, 1], "params": 16_017}, first=True),
    Mistake("channels-first CIFAR arrays read as channels_last",
            seq([3, 32, 32], L("Conv2D", filters=16, kernel_size=3), L("Flatten"),
                L("Dense", units=10), x_shape=[50000, 3, 32, 32]),
            "suspicious_data_format", "conv2d",
            "Read the data as channels_first: set data_format='channels_first' on 'conv2d', "
            "'flatten'", {"output_shape": [None, 10], "params": 144_458},
            severity="warning", first=True),
    Mistake("channels-first grey images: a 1×28 image for a 3×3 kernel",
            seq([1, 28, 28], L("Conv2D", filters=16, kernel_size=3), L("Flatten"),
                L("Dense", units=10), x_shape=[60000, 1, 28, 28]),
            "layer_input_incompatible", "conv2d",
            "Read the data as channels_first: set data_format='channels_first' on 'conv2d', "
            "'flatten'", {"output_shape": [None, 10], "params": 108_330}, first=True),
    Mistake("a single softmax unit for a binary label",
            seq([20], L("Dense", units=1, activation="softmax"), y_shape=[500, 1],
                loss="binary_crossentropy"),
            "single_unit_softmax", "dense", "Set activation='sigmoid' on 'dense'",
            {"output_shape": [None, 1], "params": 21}, severity="warning",
            notes={"message": "always 1.0"}),
    Mistake("softmax with binary_crossentropy on multi-label targets",
            seq([20], L("Dense", units=5, activation="softmax"), y_shape=[500, 5],
                loss="binary_crossentropy"),
            "activation_loss_mismatch", "dense", "Set activation='sigmoid' on 'dense'",
            {"output_shape": [None, 5], "params": 105}, severity="warning"),
    Mistake("sigmoid with categorical_crossentropy, given as a class name",
            seq([20], L("Dense", units=5, activation="sigmoid"), y_shape=[500, 5],
                loss="CategoricalCrossentropy"),
            "activation_loss_mismatch", "dense", "Set activation='softmax' on 'dense'",
            {"output_shape": [None, 5], "params": 105}, severity="warning"),
    Mistake("a misspelt layer type",
            seq([20], L("Dense", units=16), L("Dropuot", rate=0.5), L("Dense", units=1)),
            "unknown_layer", "dropuot", "Use Dropout for 'dropuot' (not Dropuot)",
            {"output_shape": [None, 1], "params": 353}, first=True),
    Mistake("Flatten of images of any size",
            seq([None, None, 3], L("Conv2D", filters=8, kernel_size=3), L("Flatten"),
                L("Dense", units=1)),
            "layer_input_incompatible", "dense",
            "Replace 'flatten' by GlobalAveragePooling2D",
            {"output_shape": [None, 1], "params": 233}, first=True),
    Mistake("Flatten → Dense holding 99.9 % of the parameters",
            seq([64, 64, 3], L("Conv2D", filters=32, kernel_size=3, activation="relu"),
                L("Flatten"), L("Dense", units=128, activation="relu"),
                L("Dense", units=10, activation="softmax")),
            "large_flatten_dense", "dense", "Replace 'flatten' by GlobalAveragePooling2D",
            {"output_shape": [None, 10], "params": 6_410}, severity="warning",
            notes={"message": "15,745,152 of the model's 15,747,338 parameters"}),
    Mistake("wrong feature count for one of two named inputs",
            graph({"image": [32, 32, 3], "meta": [10]}, ["out"],
                  L("GlobalAveragePooling2D", name="gap", inputs=["image"]),
                  L("Dense", name="m", units=8, inputs=["meta"]),
                  L("Concatenate", name="cat", inputs=["gap", "m"]),
                  L("Dense", name="out", units=1),
                  x_shape={"image": [64, 32, 32, 3], "meta": [64, 12]}),
            "input_shape_mismatch", None, "Give the model input 'meta' the shape of the data, "
            "(12,)", {"output_shape": [None, 1], "params": 116},
            notes={"message": "model input 'meta'"}),
    Mistake("input_shape=x_train.shape: the number of samples declared as an axis",
            {"model": {"layers": [L("Dense", units=64, activation="relu",
                                    input_shape=[8000, 20]),
                                  L("Dense", units=1, activation="sigmoid")]},
             "x_shape": [8000, 20], "y_shape": [8000, 1], "loss": "binary_crossentropy"},
            "input_shape_mismatch", None,
            "Give the model input 'input' the shape (20,): x's without its 8,000 samples",
            {"output_shape": [None, 1], "params": 1_409}, first=True,
            notes={"message": "its 8,000 samples included",
                   "hint": "keras.Input(shape=x.shape[1:]), here (20,)"}),
    Mistake("a decoder's Dense too small for the Reshape after it",
            seq([16], L("Dense", units=7 * 7 * 32, activation="relu"),
                L("Reshape", target_shape=[7, 7, 64]),
                L("Conv2DTranspose", filters=1, kernel_size=3, strides=2, padding="same",
                  activation="sigmoid"), y_shape=[50, 14, 14, 1]),
            "layer_input_incompatible", "reshape", "Set units=3136 on 'dense'",
            {"output_shape": [None, 14, 14, 1], "params": 53_889}, first=True,
            notes={"message": "each sample has 1,568 elements, and (7, 7, 64) holds 3,136"}),
    Mistake("a tagger's LSTM without return_sequences before TimeDistributed(Dense)",
            seq([10, 8], L("LSTM", units=16),
                L("TimeDistributed", layer={"type": "Dense", "units": 4,
                                            "activation": "softmax"}),
                y_shape=[32, 10, 4], loss="categorical_crossentropy"),
            "layer_input_incompatible", "time_distributed",
            "Set return_sequences=True on 'lstm'",
            {"output_shape": [None, 10, 4], "params": 1_668}, first=True,
            notes={"message": "received (None, 16)"}),
    Mistake("a convolutional autoencoder whose third pooling floors 7 rows to 3",
            seq([28, 28, 1], *[L("Conv2D", filters=8, kernel_size=3, padding="same"),
                               L("MaxPooling2D")] * 3,
                *[L("Conv2D", filters=8, kernel_size=3, padding="same"),
                  L("UpSampling2D")] * 3,
                L("Conv2D", filters=1, kernel_size=3, padding="same", activation="sigmoid"),
                y_shape=[100, 28, 28, 1], loss="binary_crossentropy"),
            "target_shape_mismatch", "conv2d_6",
            "Insert ZeroPadding2D(padding=((2, 2), (2, 2))) before 'conv2d_6'",
            {"output_shape": [None, 28, 28, 1], "params": 3_073}, first=True,
            notes={"hint": "'max_pooling2d_2' downsamples an axis of 7 by 2 to 3"}),
    Mistake("Keras 3 functional JSON of seed 000",
            KERAS_SEED_000, "target_shape_mismatch", "dense_3",
            "Insert GlobalAveragePooling2D before 'dense_2'",
            {"output_shape": [None, 10], "params": 538}, first=True),
    Mistake("Keras 3 functional JSON of inception branches made 'valid'",
            KERAS_INCEPTION, "layer_input_incompatible", "cat",
            "Insert ZeroPadding2D(padding=((1, 1), (1, 1))) on input 1, "
            "ZeroPadding2D(padding=((2, 2), (2, 2))) on input 2 of 'cat'",
            {"output_shape": [None, 2], "params": 458}),
]


def post(http: requests.Session, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(f"{url}/v1/check", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def matching(answer: dict[str, Any], mistake: Mistake) -> list[dict[str, Any]]:
    return [d for d in answer["diagnostics"]
            if (d["severity"], d["code"], d["layer"]) ==
            (mistake.severity, mistake.code, mistake.layer)]


def test_there_are_at_least_twenty_distinct_mistakes() -> None:
    assert len({m.name for m in MISTAKES}) == len(MISTAKES) >= 20
    assert len({m.code for m in MISTAKES}) >= 8


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_the_mistake_is_located_explained_and_fixed(mistake: Mistake, http: requests.Session,
                                                    server_url: str) -> None:
    answer = post(http, server_url, mistake.request)
    [found] = matching(answer, mistake)
    for part, words in mistake.notes.items():
        assert words in found[part]
    titles = [f["title"] for f in found["fixes"]]
    assert mistake.fix in titles
    if mistake.first:
        assert titles[0] == mistake.fix
    fix = found["fixes"][titles.index(mistake.fix)]
    assert {k: fix["result"][k] for k in ("output_shape", "params")} == mistake.result

    fixed = apply_fix(mistake.request["model"], fix)
    again = post(http, server_url, {**mistake.request, "model": fixed})
    assert matching(again, mistake) == []
    errors_before = {(d["code"], d["layer"]) for d in answer["diagnostics"]
                     if d["severity"] == "error"}
    assert {(d["code"], d["layer"]) for d in again["diagnostics"]
            if d["severity"] == "error"} <= errors_before
    assert again["model"]["outputs"][0]["shape"] == mistake.result["output_shape"]
    assert again["totals"]["params"] == mistake.result["params"]


@pytest.mark.parametrize("request_body, code, words", [
    (seq([20], L("Dense", units=10, activation="softmax"), y_shape=[500],
         loss="categorical_crossentropy"), "target_shape_mismatch",
     "loss='sparse_categorical_crossentropy'"),
    # A column of class ids: one unit would be no classifier at all.
    (seq([20], L("Dense", units=10, activation="softmax"), y_shape=[500, 1],
         loss="categorical_crossentropy"), "target_shape_mismatch",
     "keras.utils.to_categorical(y, 10)"),
    (seq([20], L("Dense", units=10, activation="softmax"), y_shape=[500, 10],
         loss="sparse_categorical_crossentropy"), "target_shape_mismatch", "np.argmax(y, axis=-1)"),
    (seq([28, 28, 1], L("Flatten"), L("Dense", units=10), x_shape=[28, 28, 1]),
     "input_shape_mismatch", "(1, 28, 28, 1)"),
    (seq([64], L("Dense", units=1), x_shape=[64, 1000]), "input_shape_mismatch", "x.T"),
    (seq([8], L("Dense", units=1), x_shape=[100, 8], y_shape=[90, 1]), "target_shape_mismatch",
     "one row per sample"),
    # A U-Net over images of any size, given 250×250 ones: its skip connection fails in predict.
    (graph({"img": [None, None, 1]}, ["out"],
           L("Conv2D", name="c1", filters=4, kernel_size=3, padding="same", inputs=["img"]),
           L("MaxPooling2D", name="p1", inputs=["c1"]),
           L("Conv2D", name="c2", filters=8, kernel_size=3, padding="same", inputs=["p1"]),
           L("MaxPooling2D", name="p2", inputs=["c2"]),
           L("UpSampling2D", name="u2", inputs=["p2"]),
           L("Concatenate", name="m2", inputs=["u2", "c2"]),
           L("UpSampling2D", name="u1", inputs=["m2"]),
           L("Concatenate", name="m1", inputs=["u1", "c1"]),
           L("Conv2D", name="out", filters=1, kernel_size=1, inputs=["m1"]),
           x_shape=[16, 250, 250, 1]),
     "layer_input_incompatible", "Pad or resize x to (252, 252, 1), or crop it to (248, 248, 1)"),
])
def test_data_mistakes_are_explained_without_a_model_fix(
        request_body: dict[str, Any], code: str, words: str, http: requests.Session,
        server_url: str) -> None:
    """Only the data (or the loss) can change: the hint says how, no patch is offered."""
    answer = post(http, server_url, request_body)
    found = [d for d in answer["diagnostics"] if d["code"] == code]
    assert found and words in found[0]["hint"]
    assert found[0]["fixes"] == []
