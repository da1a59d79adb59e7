"""Keras ``model.to_json()`` import: whole models recorded from real Keras 3 and tf.keras 2
(tools/keras_fixtures/keras_json.py), every layer fixture's ``keras_json``, and the loader's
own rules (paths, nested models, masks, operations, custom code)."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from keras_fixtures import (
    FIXTURES,
    assert_forward_as_recorded,
    cases,
    check_as_read_back,
)
from shapecheck import check
from shapecheck.analysis import analyse
from shapecheck.errors import LayerInputIncompatible, RequestInvalid
from shapecheck.formats.keras import detect_format, load_keras
from shapecheck.formats.keras_ops import mask_shape, ops_broadcast
from shapecheck.forward import run_forward
from shapecheck.graph import MaskOp, TensorRef
from shapecheck.layers import REGISTRY
from shapecheck.layers.base import memo_key
from shapecheck.layers.core import Activation, Dense
from shapecheck.layers.recurrent import Bidirectional
from shapecheck.layers.reshaping import Reshape


def model_fixtures(flavour: str) -> list:
    return [pytest.param(json.loads(p.read_text()), id=f"{flavour}:{p.stem}")
            for p in sorted((FIXTURES / flavour / "models").glob("*.json"))]


MODELS = [*model_fixtures("keras3"), *model_fixtures("tfkeras2")]

# Layers that run code or are custom classes: the loader must refuse to compute them.
REFUSED = {
    "lambda_in_the_middle": {"double": "unsupported_layer"},
    "custom_layer": {"scale": "unknown_layer"},
}


def flavour_of(record: dict) -> str:
    return "keras3" if record["keras_version"].startswith("3") else "keras2"


def refused(record: dict) -> dict[str, str]:
    """The layers the loader must refuse in this record, with the diagnostic code."""
    return REFUSED.get(record["id"]) or REFUSED.get(f"{flavour_of(record)}:{record['id']}", {})


def mask_only_operations(document: dict) -> set[str]:
    """The operations of a Keras 3 ``document`` whose results feed only masks: those not
    reached walking back from its outputs over the arguments that are not masks."""
    if document["class_name"] == "Sequential":
        return set()
    entries = {entry["name"]: entry for entry in document["config"]["layers"]}
    needed: set[str] = set()
    pending = layers_read(document["config"]["output_layers"])
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending += layers_read([[node["args"], {key: value for key, value in
                                                    node["kwargs"].items()
                                                    if not key.endswith("mask")}]
                                    for node in entries[name]["inbound_nodes"]])
    return {name for name, entry in entries.items()
            if str(entry.get("module")).startswith("keras.src.ops.") and name not in needed}


def layers_read(value: object) -> list[str]:
    """The layers whose tensors ``value`` names: ``__keras_tensor__`` objects and
    ``[layer, node, index]`` triples, however nested."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [value["config"]["keras_history"][0]]
        return [name for item in value.values() for name in layers_read(item)]
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value[0]]
    return [name for item in value for name in layers_read(item)] \
        if isinstance(value, list) else []


def assert_matches_keras(result: dict, record: dict) -> None:
    """The answer's layers are the record's but for the Keras 3 operations that compute only
    masks, which are not checked as layers (the summary lists them)."""
    rows = {row["name"]: row for row in result["layers"]}
    left_out = mask_only_operations(record["keras_json"]) if flavour_of(record) == "keras3" \
        else set()
    recorded = [r for r in record["layers"] if r["name"] not in left_out]
    assert list(rows) == [r["name"] for r in recorded]
    for expected in recorded:
        row = rows[expected["name"]]
        assert row["output_shapes"] == expected["output_shapes"], expected["name"]
        assert row["type"] == expected["type"], expected["name"]
        for key in ("params", "trainable_params", "non_trainable_params"):
            assert row[key] == expected[key], (expected["name"], key)
    for key in ("params", "trainable_params", "non_trainable_params"):
        assert result["totals"][key] == record["totals"][key], key


@pytest.mark.parametrize("record", MODELS)
def test_model_matches_keras(record: dict) -> None:
    assert_checks_as_keras(record["keras_json"], record, refused(record))


def assert_checks_as_keras(document: dict, record: dict, refusals: dict[str, str],
                           names: dict[str, str] | None = None) -> None:
    """``document``, a form of the model of ``record``, checks as Keras built that model, but
    for the layers in ``refusals`` (name: diagnostic code), which are all that it refuses.
    ``names``: the record's name of each layer that ``document`` names otherwise."""
    result = check({"model": document})
    for item in [*result["layers"], *result["diagnostics"]]:
        key = "name" if "name" in item else "layer"
        item[key] = (names or {}).get(item[key], item[key])
    assert result["model"]["format"] == flavour_of(record)
    if refusals:
        errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
        assert {d["layer"]: d["code"] for d in errors} == refusals
        return
    assert result["ok"], result["diagnostics"]
    assert_matches_keras(result, record)
    outputs = [o["shape"] for o in result["model"]["outputs"]]
    assert outputs == record["outputs"]


def saved_documents(flavour: str) -> list:
    """The documents of the recorded models in the files model.save() writes (.keras, .h5)."""
    documents = json.loads(gzip.decompress(
        (FIXTURES / flavour / "saved" / "models.json.gz").read_bytes()))
    return [pytest.param(flavour, name, form, document, id=f"{flavour}:{name}:{form}")
            for name, forms in sorted(documents.items()) for form, document in forms.items()
            if form != "savedmodel_metadata"]  # bytes the client reads: test_client_savedmodel


@pytest.mark.parametrize(("flavour", "name", "form", "document"),
                         [*saved_documents("keras3"), *saved_documents("tfkeras2")])
def test_saved_model_files_check_as_keras_built_the_model(
        flavour: str, name: str, form: str, document: dict) -> None:
    """A .keras archive's config.json and a .h5 file's model_config (what the client reads
    from them) give what Keras computed for the model, as its to_json() does."""
    record = json.loads((FIXTURES / flavour / "models" / f"{name}.json").read_text())
    # The same model built again: Keras may number its unnamed layers from elsewhere.
    names = dict(zip(top_layer_names(document), top_layer_names(record["keras_json"]),
                     strict=True))
    assert_checks_as_keras(document, record,
                           refused(record), names)


KERAS_3_H5 = [param for param in saved_documents("keras3") if param.values[2] == "h5"]


@pytest.mark.parametrize(("flavour", "name", "form", "document"), KERAS_3_H5)
def test_operations_in_a_keras_3_h5_file_are_read_with_a_warning(
        flavour: str, name: str, form: str, document: dict) -> None:
    """Keras 3 writes its operations on tensors into a .h5 file without their module, as layer
    classes ("NotEqual", "Add"), and its own load_model cannot rebuild the model ("Unknown
    layer: 'NotEqual'"): the check reads them as the operations (``assert_checks_as_keras``)
    and says so, for exactly the models that hold operations."""
    record = json.loads((FIXTURES / flavour / "models" / f"{name}.json").read_text())
    operations = [entry["class_name"] for entry in record["keras_json"]["config"]["layers"]
                  if (entry.get("module") or "").startswith("keras.src.ops")]
    warnings = [d for d in check({"model": document})["diagnostics"]
                if d["code"] == "legacy_h5_operations"]
    assert len(warnings) == (1 if operations else 0)
    unknown = [name for name in operations if name not in REGISTRY]
    if unknown:
        assert f"Unknown layer: '{unknown[0]}'" in warnings[0]["message"]


def test_several_keras_3_h5_files_hold_operations() -> None:
    holding = [param.values[1] for param in KERAS_3_H5
               if '"NotEqual"' in json.dumps(param.values[3])]
    assert len(holding) >= 5, holding


def top_layer_names(document: dict) -> list[str]:
    return [entry["config"]["name"] for entry in document["config"]["layers"]]


@pytest.mark.parametrize("record", [m for m in MODELS if refused(m.values[0])])
def test_overrides_stand_in_for_code_layers(record: dict) -> None:
    recorded = {r["name"]: r for r in record["layers"]}
    overrides = {name: {"output_shape": recorded[name]["output_shapes"][0],
                        "params": recorded[name]["params"]} for name in refused(record)}
    result = check({"model": record["keras_json"], "overrides": overrides})
    assert result["ok"], result["diagnostics"]
    rows = {row["name"]: row for row in result["layers"]}
    assert rows["after"]["output_shapes"] == [[None, 2]]
    assert result["totals"]["params"] == record["totals"]["params"]


@pytest.mark.parametrize("record", [m for m in MODELS if "summary" in m.values[0]])
def test_the_summary_is_the_one_keras_prints(record: dict) -> None:
    """``model.summary()`` as the Keras that wrote the document prints it (Keras 3 in a wide
    terminal, tf.keras 2), line for line; code layers are given their shapes by overrides, as
    above. Keras 3 also lists the operations that compute only masks (masked_* models)."""
    recorded = {r["name"]: r for r in record["layers"]}
    overrides = {name: {"output_shape": recorded[name]["output_shapes"][0],
                        "params": recorded[name]["params"]} for name in refused(record)}
    summary = check({"model": record["keras_json"], "overrides": overrides})["summary"]
    assert summary.splitlines() == record["summary"].splitlines()


@pytest.mark.parametrize("record", [m for m in MODELS if "forward" in m.values[0]])
def test_forward_matches_keras_predict(record: dict) -> None:
    """Random weights in the order of Keras' get_weights() (a nested model's flattened), the
    same input: the numpy forward pass gives what Keras' predict gave."""
    assert_forward_as_recorded(record["keras_json"], record["forward"])


LAYER_CASES = [c for c in cases() if "keras_json" in c.values[0]]


@pytest.mark.parametrize("case", LAYER_CASES)
def test_layer_fixture_imports_from_keras_json(case: dict) -> None:
    """Every accepted layer case, submitted as the to_json() Keras wrote for it: the shapes of
    the model Keras reads back from it (``keras_json_layers`` where they differ)."""
    assert check_as_read_back(case)["model"]["format"] == "keras3"


# The layer families recorded with tf.keras 2 where it computes otherwise than Keras 3 (the
# preprocessing ones are replayed in tests/layers/test_preprocessing.py).
TF_KERAS_LAYER_CASES = [c for c in cases("tfkeras2")
                        if "keras_json" in c.values[0] and not c.id.startswith("preprocessing")]


@pytest.mark.parametrize("case", TF_KERAS_LAYER_CASES)
def test_tf_keras_2_layer_fixture_imports_from_keras_json(case: dict) -> None:
    """A tf.keras 2 to_json() gets tf.keras 2's shapes, and predict's numbers where recorded."""
    assert check_as_read_back(case)["model"]["format"] == "keras2"
    if "forward" in case:
        assert_forward_as_recorded(case["keras_json"], case["forward"])


# -- the loader's rules ----------------------------------------------------------------------------
def fixture(flavour: str, name: str) -> dict:
    return json.loads((FIXTURES / flavour / "models" / f"{name}.json").read_text())["keras_json"]


def test_format_detection() -> None:
    assert detect_format(fixture("keras3", "functional_mlp")) == "keras3"
    assert detect_format(fixture("tfkeras2", "functional_mlp")) == "keras2"
    no_version = fixture("tfkeras2", "functional_mlp")
    del no_version["keras_version"]
    assert detect_format(no_version) == "keras2"  # from the list form of inbound nodes
    keras1 = {"class_name": "Sequential", "config": [
        {"class_name": "Dense", "config": {"name": "d", "output_dim": 3,
                                           "batch_input_shape": [None, 5]}}]}
    assert detect_format(keras1) == "keras2"


@pytest.mark.parametrize("name", ["seed000", "two_towers"])
def test_format_detection_of_the_config_in_saved_archives(name: str) -> None:
    """A .keras archive's config.json has Keras 3's ``module`` keys and no version, whichever
    Keras saved it: tf.keras 2's is told by its inbound nodes or its ``batch_input_shape``."""
    for flavour, expected in (("keras3", "keras3"), ("tfkeras2", "keras2")):
        with zipfile.ZipFile(FIXTURES / flavour / "saved" / f"{name}.keras") as archive:
            config = json.loads(archive.read("config.json"))
        assert "module" in config and "keras_version" not in config
        assert detect_format(config) == expected


def test_keras1_sequential_list_config_with_legacy_names() -> None:
    doc = {"class_name": "Sequential", "config": [
        {"class_name": "Dense", "config": {"name": "d", "output_dim": 3,
                                           "batch_input_shape": [None, 5]}},
        {"class_name": "Dense", "config": {"name": "e", "output_dim": 2, "init": "uniform"}}]}
    result = check({"model": doc})
    assert result["model"]["format"] == "keras2"
    assert [r["output_shapes"] for r in result["layers"]] == [[[None, 3]], [[None, 2]]]
    assert result["model"]["inputs"] == [{"name": "d_input", "shape": [None, 5]}]
    legacy = [d for d in result["diagnostics"] if d["code"] == "legacy_argument"]
    assert {d["layer"] for d in legacy} == {"d", "e"}


def test_keras1_names_inside_wrappers_are_translated_too() -> None:
    """A Keras 1 document wraps layers with Keras 1 names: each is read as Keras 3 would write
    it, with a warning at the wrapper, and the request is left as it was."""
    conv = {"class_name": "Convolution2D", "config": {"nb_filter": 4, "nb_row": 3, "nb_col": 3,
                                                      "border_mode": "same"}}
    lstm = {"class_name": "LSTM", "config": {"output_dim": 5, "inner_activation": "sigmoid"}}
    doc = {"class_name": "Sequential", "config": [
        {"class_name": "TimeDistributed", "config": {
            "name": "frames", "layer": conv, "batch_input_shape": [None, 3, 8, 8, 2]}},
        {"class_name": "TimeDistributed", "config": {
            "name": "flat", "layer": {"class_name": "Flatten", "config": {}}}},
        {"class_name": "Bidirectional", "config": {"name": "both", "layer": lstm}}]}
    sent = json.loads(json.dumps(doc))
    result = check({"model": doc})
    assert result["ok"], result["diagnostics"]
    assert [r["output_shapes"] for r in result["layers"]] == [
        [[None, 3, 8, 8, 4]], [[None, 3, 256]], [[None, 10]]]
    assert result["layers"][2]["params"] == 2 * 4 * (256 + 5 + 1) * 5
    legacy = [(d["layer"], d["message"].split(" is ")[0])
              for d in result["diagnostics"] if d["code"] == "legacy_argument"]
    assert legacy == [("frames", "Convolution2D"), ("frames", "'nb_filter'"),
                      ("frames", "'border_mode'"), ("frames", "'nb_row/nb_col'"),
                      ("both", "'output_dim'"), ("both", "'inner_activation'")]
    assert doc == sent


def test_tf_keras_sequential_with_batch_input_shape_on_first_layer() -> None:
    doc = fixture("tfkeras2", "sequential_cnn")
    entries = doc["config"]["layers"]
    first_input = entries.pop(0)
    entries[0]["config"]["batch_input_shape"] = first_input["config"]["batch_input_shape"]
    result = check({"model": doc})
    assert result["ok"], result["diagnostics"]
    assert result["model"]["inputs"][0]["shape"] == [None, 28, 28, 1]
    assert result["layers"][-1]["output_shapes"] == [[None, 10]]


def test_sequential_without_any_input_is_a_422() -> None:
    doc = fixture("keras3", "sequential_cnn")
    doc["config"]["layers"].pop(0)
    built = check({"model": doc})  # the shape it was built with is the last resort
    assert built["model"]["inputs"][0]["shape"] == [None, 28, 28, 1]
    del doc["config"]["build_input_shape"], doc["build_config"]
    with pytest.raises(RequestInvalid) as info:
        check({"model": doc})
    assert list(info.value.errors) == ["model.config.layers"]


def test_invalid_argument_path_points_into_the_document() -> None:
    doc = fixture("keras3", "functional_mlp")
    doc["config"]["layers"][2]["config"]["units"] = 0
    with pytest.raises(RequestInvalid) as info:
        check({"model": doc})
    assert list(info.value.errors) == ["model.config.layers.2.config.units"]


def test_invalid_argument_inside_a_nested_model() -> None:
    doc = fixture("keras3", "nested_sequential_called_twice")
    nested = next(i for i, e in enumerate(doc["config"]["layers"])
                  if e["class_name"] == "Sequential")
    doc["config"]["layers"][nested]["config"]["layers"][1]["config"]["units"] = -3
    with pytest.raises(RequestInvalid) as info:
        check({"model": doc})
    assert list(info.value.errors) == [
        f"model.config.layers.{nested}.config.layers.1.config.units"]


def test_paths_are_json_pointers_to_layer_entries() -> None:
    graph = load_keras(fixture("keras3", "functional_mlp"), {})
    assert graph.paths["hidden"] == "/config/layers/1"
    assert graph.paths["probs"] == "/config/layers/3"


def test_malformed_documents_are_422s_with_paths() -> None:
    bad_history = fixture("keras3", "functional_mlp")
    bad_history["config"]["layers"][1]["inbound_nodes"][0]["args"][0]["config"][
        "keras_history"] = "features"
    bad_outputs = fixture("keras3", "functional_mlp")
    del bad_outputs["config"]["output_layers"]
    not_a_model = {"class_name": "Dense", "config": {"units": 3}}
    expected = [(bad_history, "model.config.layers.1.inbound_nodes.0.args.0.config.keras_history"),
                (bad_outputs, "model.config.output_layers"),
                (not_a_model, "model.class_name")]
    for doc, path in expected:
        with pytest.raises(RequestInvalid) as info:
            check({"model": doc})
        assert list(info.value.errors) == [path]


def test_duplicate_layer_names_are_a_422() -> None:
    doc = fixture("keras3", "functional_mlp")
    doc["config"]["layers"][2]["config"]["name"] = "hidden"
    doc["config"]["layers"][2]["name"] = "hidden"
    with pytest.raises(RequestInvalid) as info:
        check({"model": doc})
    assert list(info.value.errors) == ["model.config.layers.2.config.name"]


def test_dangling_reference_is_an_invalid_graph() -> None:
    doc = fixture("tfkeras2", "functional_mlp")
    doc["config"]["layers"][2]["inbound_nodes"][0][0][0] = "nowhere"
    result = check({"model": doc})
    errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert {d["code"] for d in errors} == {"invalid_graph"}
    assert errors[0]["layer"] == "dense" and "'nowhere'" in errors[0]["message"]


def test_shared_layer_calls_and_tensor_kwargs() -> None:
    graph = load_keras(fixture("keras3", "shared_dense"), {})
    shared = [c for c in graph.calls if c.layer == "shared"]
    assert [c.index for c in shared] == [0, 1, 2]
    assert shared[1].inputs == [TensorRef("shared", 0, 0)]
    lstm = load_keras(fixture("keras3", "lstm_states"), {})
    decoder = next(c for c in lstm.calls if c.layer == "decoder")
    assert decoder.inputs == [TensorRef("encoder", 0, 0), TensorRef("encoder", 0, 1),
                              TensorRef("encoder", 0, 2)]
    for flavour in ("keras3", "tfkeras2"):
        mha = load_keras(fixture(flavour, "attention_with_key_and_scores"), {}).calls[0]
        assert [r.layer for r in mha.inputs] == ["query", "value", "key"]
        assert mha.options == {"return_attention_scores": True}


def test_mask_only_operations_are_left_out() -> None:
    doc = fixture("keras3", "embedding_mask_lstm")
    assert any(e["class_name"] == "NotEqual" for e in doc["config"]["layers"])
    graph = load_keras(doc, {})
    assert "not_equal" not in graph.layers
    lstm = next(c for c in graph.calls if graph.layers[c.layer].keras_name == "LSTM")
    assert len(lstm.inputs) == 1 and lstm.options == {"training": False}


def test_operation_on_the_data_path_is_reported() -> None:
    doc = fixture("keras3", "functional_mlp")
    hidden = doc["config"]["layers"][1]
    hidden.update({"module": "keras.src.ops.numpy", "class_name": "Add",
                   "registered_name": "Add"})
    result = check({"model": doc})
    errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert [(d["layer"], d["code"]) for d in errors] == [("hidden", "unknown_layer")]
    assert "operation" in errors[0]["message"]


def test_lambda_bytecode_is_never_decoded() -> None:
    doc = fixture("keras3", "lambda_in_the_middle")
    lam = next(e for e in doc["config"]["layers"] if e["class_name"] == "Lambda")
    lam["config"]["function"]["config"]["code"] = "not base64 at all !!"
    result = check({"model": doc})
    codes = [d["code"] for d in result["diagnostics"] if d["severity"] == "error"]
    assert codes == ["unsupported_layer"]


@pytest.mark.parametrize("class_name, runs", [
    ("TorchModuleWrapper", "runs a PyTorch module"), ("JaxLayer", "runs a JAX function"),
    ("FlaxLayer", "runs a Flax module"), ("TFSMLayer", "runs a TensorFlow SavedModel")])
def test_layers_that_wrap_code_are_unsupported_with_what_they_run(class_name: str,
                                                                 runs: str) -> None:
    doc = fixture("keras3", "functional_mlp")
    doc["config"]["layers"][1].update({"class_name": class_name, "registered_name": None})
    errors = [d for d in check({"model": doc})["diagnostics"] if d["severity"] == "error"]
    assert [(d["layer"], d["code"]) for d in errors] == [("hidden", "unsupported_layer")]
    assert f"'hidden' is a {class_name}, which {runs}" in errors[0]["message"]


def test_custom_class_with_a_builtin_name_is_not_taken_for_the_builtin() -> None:
    doc = fixture("keras3", "functional_mlp")
    doc["config"]["layers"][1].update({"module": None, "registered_name": "MyPkg>Dense"})
    result = check({"model": doc})
    errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert [(d["layer"], d["code"]) for d in errors] == [("hidden", "unknown_layer")]
    assert "MyPkg>Dense" in errors[0]["message"]
    doc["config"]["layers"][1].update({"module": "__main__", "registered_name": "Dense"})
    errors = [d for d in check({"model": doc})["diagnostics"] if d["severity"] == "error"]
    assert "type __main__.Dense" in errors[0]["message"]


def test_nested_model_is_one_row_with_the_inner_total() -> None:
    result = check({"model": fixture("keras3", "nested_two_levels_frozen")})
    middle = next(r for r in result["layers"] if r["name"] == "middle")
    assert middle["type"] == "Functional"
    assert (middle["params"], middle["trainable_params"]) == (87, 0)
    assert "nested Functional" in middle["explain"]
    flat = check({"model": {"inputs": [6], "layers": [
        {"type": "Dense", "units": 6}, {"type": "BatchNormalization"},
        {"type": "Dense", "units": 3}]}})
    assert middle["macs"] == flat["totals"]["macs"] > 0


def test_nested_model_refuses_an_input_it_was_not_built_for() -> None:
    doc = fixture("keras3", "nested_sequential_called_twice")
    for entry in doc["config"]["layers"]:
        if entry["class_name"] == "InputLayer":
            entry["config"]["batch_shape"] = [None, 12]
    result = check({"model": doc})
    errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert errors[0]["layer"] == "encoder"
    assert "(None, 10)" in errors[0]["message"] and "(None, 12)" in errors[0]["message"]


def test_error_inside_a_nested_model_names_the_inner_layer() -> None:
    doc = fixture("keras3", "nested_multi_input_model")
    pair = next(e for e in doc["config"]["layers"] if e["name"] == "pair")
    for entry in pair["config"]["layers"]:
        if entry["class_name"] == "InputLayer" and entry["name"] == "inner_b":
            entry["config"]["batch_shape"] = [None, None]
    for entry in doc["config"]["layers"]:
        if entry["name"] == "b":
            entry["config"]["batch_shape"] = [None, None]
    result = check({"model": doc})
    errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert errors[0]["layer"] == "pair"
    assert errors[0]["message"].startswith("Inside Functional 'pair', layer '")


def test_nested_model_forward_equals_its_layers_run_in_turn() -> None:
    analysis = analyse(fixture("keras3", "nested_sequential_called_twice"), {})
    rng = np.random.default_rng(0)
    weights = {}
    for name, state in analysis.propagation.states.items():
        weights[name] = [rng.standard_normal(w.shape).astype(np.float32)
                         for w in state.weights or ()]
    a, b = (rng.standard_normal((2, 10)).astype(np.float32) for _ in range(2))
    outputs = run_forward(analysis.graph, analysis.propagation, {"a": a, "b": b}, weights)
    k1, b1, k2, b2 = weights["encoder"]
    kernel, bias = weights[analysis.graph.outputs[0].layer]

    def encode(x: np.ndarray) -> np.ndarray:
        return np.maximum(x @ k1 + b1, 0) @ k2 + b2

    expected = np.concatenate([encode(a), encode(b)], axis=-1) @ kernel + bias
    assert np.allclose(outputs[analysis.graph.outputs[0]], expected, atol=1e-4)


def test_overrides_apply_by_layer_name_to_a_nested_model() -> None:
    doc = fixture("keras3", "nested_sequential_called_twice")
    result = check({"model": doc, "overrides": {"encoder": {"output_shape": [None, 4],
                                                            "params": 7}}})
    encoder = next(r for r in result["layers"] if r["name"] == "encoder")
    assert (encoder["type"], encoder["params"]) == ("Sequential", 7)
    assert result["ok"]


def test_unknown_layer_inside_a_nested_model_leaves_it_unresolved() -> None:
    doc = fixture("keras3", "nested_sequential_called_twice")
    nested = next(e for e in doc["config"]["layers"] if e["class_name"] == "Sequential")
    inner = nested["config"]["layers"][1]
    inner["class_name"] = "Dense2"
    result = check({"model": doc})
    errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert [(d["layer"], d["code"]) for d in errors] == [(inner["config"]["name"],
                                                          "unknown_layer")]
    encoder = next(r for r in result["layers"] if r["name"] == "encoder")
    assert (encoder["type"], encoder["output_shapes"]) == ("Sequential", None)


def test_fixtures_exist() -> None:
    assert len(MODELS) >= 30 and len(LAYER_CASES) > 100
    assert Path(FIXTURES / "tfkeras2" / "models").is_dir()


def test_operations_compute_like_keras() -> None:
    analysis = analyse(fixture("keras3", "operations_on_tensors"), {})
    rng = np.random.default_rng(1)
    weights = {name: [rng.standard_normal(w.shape).astype(np.float32) for w in state.weights]
               for name, state in analysis.propagation.states.items() if state.weights}
    x = rng.standard_normal((3, 5)).astype(np.float32)
    outputs = run_forward(analysis.graph, analysis.propagation, {"x": x}, weights)
    h = x @ weights["h"][0] + weights["h"][1]
    gate = np.clip(h + 3.0, 0, 6) * (1.0 / 6.0)
    expected = (h * gate - h) @ weights["after"][0] + weights["after"][1]
    assert np.allclose(outputs[analysis.graph.outputs[0]], expected, atol=1e-5)


def test_operations_broadcast_as_keras_ops_do() -> None:
    assert ops_broadcast((None, 1, 5), (4, 1)) == (None, 4, 5)
    assert ops_broadcast((None, 3), (None, None)) == (None, 3)
    assert ops_broadcast((None,), (1,)) == (None,)
    with pytest.raises(LayerInputIncompatible, match="Cannot broadcast"):
        ops_broadcast((None, 3), (4,))


def test_operations_of_masks_have_the_shapes_keras_ops_compute() -> None:
    """Keras 3.15's ``compute_output_spec`` of each (the masked_* models and the masked
    fixtures record the usual ones in whole models); None where there is no knowing."""
    x, y, z = TensorRef("x"), TensorRef("y"), TensorRef("z")
    tensors = {x: (None, 6, 1), y: (None, 1, 4, 5), z: (None, None, 3), TensorRef("w"): None}

    def shape(operation: str, *arguments: object, **config: object) -> object:
        return mask_shape(MaskOp(operation, arguments, tuple(config.items())), tensors)

    assert shape("Squeeze", x, axis=-1) == shape("Squeeze", x) == (None, 6)
    assert shape("All", y, axis=[1, -1], keepdims=True) == (None, 1, 4, 1)
    assert shape("Any", y) == () and shape("Any", y, keepdims=True) == (1, 1, 1, 1)
    assert shape("ExpandDims", z, axis=[0, -1]) == (1, None, None, 3, 1)
    assert shape("ExpandDims", z, axis=1) == (None, 1, None, 3)
    tensors[TensorRef("a")], tensors[TensorRef("b")] = (None, 4, 2), (None, 4, 3)
    assert shape("Concatenate", (z, TensorRef("a")), axis=-1) == (None, None, 5)
    assert shape("Concatenate", (z, TensorRef("b")), axis=1) == (None, None, 3)
    tensors[TensorRef("c")] = (6, 1, 5)
    assert shape("NotEqual", y, TensorRef("c")) == (None, 6, 4, 5)
    assert shape("LogicalNot", z) == shape("ZerosLike", z, dtype="bool") == (None, None, 3)
    assert shape("LogicalOr", MaskOp("ExpandDims", (MaskOp("NotEqual", (x, 0)),), (("axis", -1),)),
                 y) == (None, 6, 4, 5)
    # What cannot be known: another operation, an unknown shape read, an axis too far.
    assert shape("Cumsum", x) is None
    assert shape("NotEqual", TensorRef("w"), 0) is None
    assert shape("Squeeze", x, axis=1) is None and shape("Any", x, axis=3) is None


def test_memoised_arguments_tell_types_apart() -> None:
    """Validated arguments are reused between layers with equal arguments; 1 is not True."""
    dense = {"inputs": [3], "layers": [{"type": "Dense", "units": 2}]}
    assert check({"model": dense})["layers"][0]["output_shapes"] == [[None, 2]]
    dense["layers"][0]["units"] = True
    with pytest.raises(RequestInvalid) as info:
        check({"model": dense})
    assert list(info.value.errors) == ["model.layers.0.units"]
    # Only small values make memo keys: nested layer configs and long lists never stay behind.
    assert memo_key(Dense, {"units": 1}) != memo_key(Dense, {"units": True})
    assert memo_key(Dense, {"units": 1}) != memo_key(Dense, {"units": 1.0})
    assert memo_key(Dense, {"units": 2, "use_bias": None}) != memo_key(Dense, {"units": 2})
    assert memo_key(Reshape, {"target_shape": [1, [2, 3]]}) is not None
    assert memo_key(Bidirectional, {"layer": {"class_name": "LSTM"}}) is None
    assert memo_key(Reshape, {"target_shape": list(range(100))}) is None
    assert memo_key(Activation, {"activation": "x" * 300}) is None


@pytest.mark.parametrize("flavour", ["keras3", "tfkeras2"])
def test_sequential_without_input_layer_takes_its_first_models_input(flavour: str) -> None:
    doc = fixture(flavour, "sequential_starting_with_a_model")
    assert doc["config"]["layers"].pop(0)["class_name"] == "InputLayer"
    doc.pop("build_config", None)
    doc["config"].pop("build_input_shape", None)
    result = check({"model": doc})
    assert result["ok"], result["diagnostics"]
    assert result["model"]["inputs"][0]["shape"] == [None, 8, 8, 3]
    assert result["layers"][-1]["output_shapes"] == [[None, 2]]


def tf_op_entry(doc: dict, name: str) -> dict:
    return next(e for e in doc["config"]["layers"] if e["name"] == name)


def test_tf_keras_constant_first_operand() -> None:
    """``3.0 - h`` in tf.keras: the constant is the first argument, the tensor is ``y``."""
    doc = fixture("tfkeras2", "operations_on_tensors")
    add = tf_op_entry(doc, "tf.__operators__.add")
    add["config"]["function"] = "math.subtract"
    add["inbound_nodes"] = [["_CONSTANT_VALUE", -1, 3.0, {"y": ["h", 0, 0], "name": None}]]
    analysis = analyse(doc, {})
    operation = analysis.graph.layers["tf.__operators__.add"]
    assert (operation.operation, operation.arguments) == ("Subtract", [3.0, None])
    h = np.ones((1, 4), dtype=np.float32)
    assert operation.forward([h], [])[0].tolist() == [[2.0] * 4]
    assert analysis.ok


def test_tf_keras_other_tensorflow_functions_stay_unsupported() -> None:
    doc = fixture("tfkeras2", "operations_on_tensors")
    tf_op_entry(doc, "tf.math.multiply")["config"]["function"] = "math.reduce_sum"
    tf_op_entry(doc, "tf.math.subtract")["inbound_nodes"][0][3]["axis"] = 1
    result = check({"model": doc})
    errors = {d["layer"]: d["code"] for d in result["diagnostics"] if d["severity"] == "error"}
    assert errors == {"tf.math.multiply": "unsupported_layer",
                      "tf.math.subtract": "unsupported_layer"}


def test_a_nested_model_follows_and_reports_a_shape_its_layers_compute() -> None:
    """A MelSpectrogram inside a nested model frames one step fewer than Keras declares: the
    check warns at the nested model, naming the layer inside, and the forward pass gives the
    shape predict gives (sweep 34101 found the pass refusing it as a disagreement)."""
    sweep = json.loads((FIXTURES / "keras3" / "random" / "random_models_34101.json").read_text())
    case = next(c for c in sweep["cases"] if c["id"] == "sequential_091")
    nested = case["nested"]
    result = check({"model": nested["keras_json"]})
    warning, = result["diagnostics"]
    assert (warning["code"], warning["layer"]) == ("declared_shape_differs", "sequential_091")
    assert warning["message"].startswith(
        "Inside Functional 'sequential_091', layer 'mel_spectrogram': ")
    assert_forward_as_recorded(nested["keras_json"], nested["forward"])
