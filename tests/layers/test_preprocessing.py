"""Preprocessing layers: what the Keras fixtures do not show (422 paths, inputs Keras builds on
but cannot run, explanations, kernels without a Keras recording)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from keras_fixtures import assert_forward_as_recorded, cases, check_as_read_back
from layer_checks import (
    codes,
    error_of,
    forward_refusal_where_predict_fails,
    only_diagnostic,
    only_row,
    refused_paths,
    run,
    tf_keras_2_refusal,
)
from shapecheck import check
from shapecheck.analysis import analyse
from shapecheck.errors import LimitExceeded, RequestInvalid
from shapecheck.layers import REGISTRY
from shapecheck.layers.preprocessing import resize_matrix
from shapecheck.layers.reshaping import RESIZE_KERNELS, tf_bicubic_matrix
from shapecheck.layers.tf_keras import TF_KERAS_VARIANTS


def layer(type_: str, **config: object):
    return REGISTRY[type_].from_config(type_.lower(), config)


@pytest.mark.parametrize(("entry", "path"), [
    ({"type": "Normalization", "mean": 1.0}, "model.layers.0.variance"),
    ({"type": "Normalization", "variance": 1.0}, "model.layers.0.mean"),
    ({"type": "Normalization", "mean": "zero", "variance": 1.0}, "model.layers.0.mean"),
    ({"type": "Rescaling"}, "model.layers.0.scale"),
    # Beyond a double: Keras' cast to float32 fails too.
    ({"type": "Rescaling", "scale": 1.0, "offset": [0.0, 10**400]}, "model.layers.0.offset"),
    ({"type": "CategoryEncoding", "num_tokens": 0}, "model.layers.0.num_tokens"),
    ({"type": "Discretization"}, "model.layers.0.bin_boundaries"),
    ({"type": "Discretization", "bin_boundaries": [0.0], "sparse": True},
     "model.layers.0.sparse"),
    ({"type": "Resizing", "height": 4, "width": 4, "crop_to_aspect_ratio": True,
      "pad_to_aspect_ratio": True}, "model.layers.0.pad_to_aspect_ratio"),
    ({"type": "Resizing", "height": 4, "width": 4, "interpolation": "cubic"},
     "model.layers.0.interpolation"),
    ({"type": "CenterCrop", "height": 4}, "model.layers.0.width"),
    ({"type": "RandomRotation", "factor": 1.5}, "model.layers.0.factor"),
    ({"type": "RandomZoom", "height_factor": [0.1, 0.2, 0.3]}, "model.layers.0.height_factor"),
    ({"type": "RandomFlip", "mode": "diagonal"}, "model.layers.0.mode"),
    ({"type": "RandomBrightness", "factor": 0.1, "value_range": [0]},
     "model.layers.0.value_range"),
    ({"type": "StringLookup", "pad_to_max_tokens": True}, "model.layers.0.pad_to_max_tokens"),
    ({"type": "StringLookup", "vocabulary": ["a", "a"]}, "model.layers.0.vocabulary"),
    ({"type": "TextVectorization", "output_mode": "count", "output_sequence_length": 4},
     "model.layers.0.output_sequence_length"),
])
def test_invalid_arguments_are_refused_with_their_path(entry: dict, path: str) -> None:
    assert refused_paths([6, 8, 3], entry) == [path]


@pytest.mark.parametrize("entry", [
    {"type": "Resizing", "height": 4, "width": 4},
    {"type": "RandomFlip"},
    {"type": "RandomContrast", "factor": 0.1},
])
@pytest.mark.parametrize("shape", [[8], [2, 6, 8, 3]])
def test_images_of_rank_2_or_5_are_refused(entry: dict, shape: list) -> None:
    """Keras builds these models, but their predict fails on the image rank."""
    error = error_of(run(shape, entry))
    assert "takes images" in error["message"]
    assert f"rank {len(shape) + 1}" in error["message"]
    assert "Reshape" in error["hint"]


def test_an_adapted_discretization_keeps_its_learnt_boundaries() -> None:
    """An adapted layer's config has both num_bins and bin_boundaries (Keras' from_config
    accepts that; its constructor does not)."""
    row = only_row(run([3], {"type": "Discretization", "num_bins": 3,
                             "bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}))
    assert row["output_shapes"] == [[None, 3, 3]]
    assert "3 bins = 2 boundaries + 1" in row["explain"]


def test_auto_contrast_sorts_its_value_range_as_keras_does() -> None:
    """Keras keeps ``sorted(value_range)`` (its config says [-1, 1]); the numbers do not change
    (the auto_contrast_reversed_range fixture), the explanation does."""
    row = only_row(run([6, 8, 3], {"type": "AutoContrast", "value_range": [1, -1]}))
    assert "stretched to [-1, 1]" in row["explain"]


def test_discretization_without_boundaries_cannot_run() -> None:
    with pytest.raises(NotImplementedError, match="never adapted"):
        layer("Discretization", num_bins=4).apply(np.zeros((2, 3), np.float32), [])


def forward_refusal(shape: list, *entries: dict) -> str:
    """The 422 of the forward pass of a model Keras builds but cannot predict with."""
    model = {"inputs": shape, "layers": list(entries)}
    assert check({"model": model})["ok"]
    with pytest.raises(RequestInvalid) as exc:
        check({"model": model, "forward": {"seed": 1}})
    (message,) = exc.value.errors["forward"]
    return message


def test_discretization_with_unsorted_boundaries_cannot_run() -> None:
    message = forward_refusal([3], {"type": "Discretization", "bin_boundaries": [0, 1, 0, 1]})
    assert message.startswith("layer 'discretization' (Discretization) cannot run on this data")
    assert "bin_boundaries are not sorted" in message


def test_discretization_with_decreasing_boundaries_bins_as_keras_3() -> None:
    """Keras 3 (JAX) gives these values; np.digitize would put 0 in bin 2."""
    x = np.array([-1, 0, 0.5, 1, 2], np.float32)
    bins = layer("Discretization", bin_boundaries=[1.0, 0.0]).apply(x, [])
    np.testing.assert_array_equal(bins, [2, 1, 1, 0, 0])
    with pytest.raises(NotImplementedError, match="Expected sorted boundaries"):
        TF_KERAS_VARIANTS["Discretization"].from_config(
            "d", {"bin_boundaries": [1.0, 0.0]}).apply(x, [])


def test_rescaling_whose_scale_does_not_fit_the_channels_cannot_run() -> None:
    message = forward_refusal([6, 8, 3], {"type": "Rescaling", "scale": [1.0, 2.0],
                                          "offset": [0.0, 1.0, -1.0]})
    assert message.startswith("layer 'rescaling' (Rescaling) cannot run on this data: "
                              "Rescaling's scale of shape [2] and offset of shape [3] do not "
                              "broadcast to its input (1, 6, 8, 3)")


def test_normalization_keeping_one_axis_twice_is_reported() -> None:
    """Keras 3 fails to build it ("cannot reshape array of shape (2, 2)")."""
    error = error_of(run([3, 4, 2], {"type": "Normalization", "axis": [-1, 3]}))
    assert error["message"] == ("Normalization keeps axis 3, which is axis 3 of its input "
                                "(None, 3, 4, 2), listed already in axis [-1, 3]: Keras cannot "
                                "build it.")


def test_augmentation_bounds_are_kept_exact() -> None:
    """Keras takes these (a factor pair only has to overlap its bounds) and uses neither at
    inference."""
    huge = 10**400
    rotation = run([6, 8, 3], {"type": "RandomRotation", "factor": [-0.1, huge]})
    assert only_row(rotation)["output_shapes"] == [[None, 6, 8, 3]]
    augment = run([6, 8, 3], {"type": "RandAugment", "value_range": [0, huge]})
    assert only_row(augment)["output_shapes"] == [[None, 6, 8, 3]]


def test_auto_contrast_cannot_run_beyond_float32() -> None:
    message = forward_refusal([6, 8, 3], {"type": "AutoContrast", "value_range": [0, 10**40]})
    assert message.startswith("layer 'auto_contrast' (AutoContrast) cannot run on this data: "
                              "AutoContrast's value_range [0, 10000000000000000000000000000000"
                              "000000000] goes beyond float32")


@pytest.mark.parametrize(("type_", "oov"), [("StringLookup", 2**63 - 1),
                                            ("IntegerLookup", 10**9)])
def test_lookup_depth_counts_oov_indices_up_to_int64(type_: str, oov: int) -> None:
    vocabulary = ["a", "b", "c"] if type_ == "StringLookup" else [4, 5, 6]
    row = only_row(run([3], {"type": type_, "vocabulary": vocabulary, "num_oov_indices": oov,
                             "output_mode": "multi_hot"}))
    assert row["output_shapes"] == [[None, oov + 3]]


def test_random_crop_returns_its_images_at_inference_as_keras_3_does() -> None:
    crop = layer("RandomCrop", height=2, width=3)
    images = np.ones((1, 4, 4, 1), np.float32)
    assert crop.apply(images, []) is images
    assert crop.output_shapes([(None, 4, 4, 1)]) == [(None, 2, 3, 1)]
    assert crop.computed_output_shape([(None, 4, 4, 1)]) == (None, 4, 4, 1)
    assert crop.computed_output_shape([(None, 2, 3, 1)]) is None


def test_random_crop_warns_that_predict_runs_on_uncropped_images_and_fixes_it() -> None:
    """The fix, a CenterCrop of the crop's size after it, is verified by running it: the
    CenterCrop computes the declared shape from either size (fixture random_crop_then_center_crop
    records Keras' predict on it)."""
    case = recorded("keras3", "preprocessing:random_crop_then_conv_pool_dense")
    result = check({"model": case["native"]})
    (warning,) = result["diagnostics"]
    assert (warning["code"], warning["layer"]) == ("declared_shape_differs", "random_crop")
    assert warning["message"].startswith(
        "'random_crop' declares (None, 4, 4, 3), as the summary shows, but Keras 3 crops in "
        "training only: at inference (predict, evaluate) it returns the 6×8 images unchanged, "
        "(None, 6, 8, 3)")
    (fix,) = warning["fixes"]
    assert fix["title"] == "Insert CenterCrop(height=4, width=4) before 'conv2d'"
    fixed = recorded("keras3", "preprocessing:random_crop_then_center_crop")["native"]
    assert check({"model": fixed})["diagnostics"] == []


def test_random_crop_warns_where_the_image_size_is_unknown() -> None:
    (warning,) = run([None, None, 3], {"type": "RandomCrop", "height": 4, "width": 4})[
        "diagnostics"]
    assert "returns the ?×? images unchanged, (None, None, None, 3)" in warning["message"]


def test_tf_keras_2_random_crop_crops_at_inference_without_a_warning() -> None:
    case = recorded("tfkeras2", "preprocessing:random_crop_then_conv_pool_dense")
    assert check({"model": case["keras_json"]})["diagnostics"] == []


def test_a_flatten_after_random_crop_stops_the_forward_pass_where_predict_fails() -> None:
    message = forward_refusal_where_predict_fails(
        "preprocessing:random_crop_then_flatten_dense", "incompatible with the layer")
    assert message == (
        "layer 'random_crop' (RandomCrop) computes output 0 with shape (2, 6, 8, 3) where Keras "
        "declares (2, 4, 4, 3) (Keras 3's RandomCrop crops in training only: predict returns "
        "the images unchanged); layer 'dense', which reads it, was built for the declared "
        "shape: its kernel has shape (48, 2), these inputs need (144, 2). Keras' predict fails "
        "there too.")


def test_a_normalization_per_channel_runs_on_the_uncropped_images() -> None:
    """Its statistics, built for the declared 4×4 crops, fit the 6×8 images channel by
    channel, as in predict (fixture random_crop_then_normalization_adapted)."""
    case = recorded("keras3", "preprocessing:random_crop_then_normalization_adapted")
    result = check({"model": case["native"], "forward": {"batch_size": 2}})
    assert [layer["output_shape"] for layer in result["forward"]["layers"]] == [
        [2, 6, 8, 3], [2, 6, 8, 3], [2, 4, 6, 2], [2, 2]]


def test_a_normalization_per_pixel_stops_the_forward_pass_where_predict_fails() -> None:
    message = forward_refusal_where_predict_fails(
        "preprocessing:random_crop_then_normalization_per_pixel",
        "incompatible shapes for broadcasting")
    assert message.endswith(
        "layer 'normalization', which reads it, cannot take them: Normalization broadcasts its "
        "statistics, shaped (1, 4, 4, 1) at build for the declared shape (2, 4, 4, 3), against "
        "its input (2, 6, 8, 3), which they do not fit. Keras' predict fails there too.")


def test_a_normalization_broadcasts_its_built_statistics_into_a_larger_tensor() -> None:
    """glu halves the Dense's 2 units to 1 where Keras declares 2; the Normalization, built
    for 2 features, broadcasts its statistics of shape (1, 2) against (3, 1), as predict does
    (random models keras3 13101 sequential_088 and 17101 sequential_345)."""
    model = {"inputs": [8], "layers": [
        {"type": "Dense", "units": 2, "activation": "glu"},
        {"type": "Normalization", "mean": 0.5, "variance": 4.0}]}
    forward = check({"model": model, "forward": {"batch_size": 3, "return": "values"}})["forward"]
    assert [layer["output_shape"] for layer in forward["layers"]] == [[3, 1], [3, 2]]
    assert forward["estimate"]["values"] == 3 * 1 + 3 * 2
    values = np.array(forward["outputs"][0]["values"])
    np.testing.assert_allclose(values[:, 0], values[:, 1])  # one feature, broadcast


def test_the_budget_counts_the_uncropped_images() -> None:
    """A RandomCrop to 4×4 of 64×64 images: the convolution after it runs on 64×64."""
    model = {"inputs": [64, 64, 3], "layers": [
        {"type": "RandomCrop", "height": 4, "width": 4},
        {"type": "Conv2D", "filters": 8, "kernel_size": 3, "name": "conv"},
        {"type": "GlobalAveragePooling2D"}]}
    forward = check({"model": model, "forward": {"batch_size": 1}})["forward"]
    assert forward["estimate"]["macs"] == 62 * 62 * 3 * 3 * 3 * 8
    conv = next(row for row in forward["layers"] if row["name"] == "conv")
    assert conv["output_shape"] == [1, 62, 62, 8]


def test_lookups_have_shapes_but_no_kernel() -> None:
    lookup = layer("StringLookup", vocabulary=["a", "b"], output_mode="multi_hot")
    assert lookup.output_shapes([(None, 5)]) == [(None, 3)]
    with pytest.raises(NotImplementedError, match="no forward kernel"):
        lookup.apply(np.zeros((1, 5), np.float32), [])


def test_category_encoding_refuses_to_run_where_keras_disagrees_with_itself() -> None:
    """Keras declares (batch, 2, 4) for multi_hot of (batch, 2, 3) but reduces axis 1."""
    encoding = layer("CategoryEncoding", num_tokens=4)
    assert encoding.output_shapes([(None, 2, 3)]) == [(None, 2, 4)]
    with pytest.raises(NotImplementedError, match="reduces axis 1"):
        encoding.apply(np.zeros((1, 2, 3), np.float32), [])


def test_rescaling_reads_a_serialised_numpy_scale() -> None:
    scale = {"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float32"}}
    rescaling = layer("Rescaling", scale=scale, offset=1.0)
    np.testing.assert_allclose(rescaling.apply(np.ones((1, 2), np.float32), []), [[2.0, 3.0]])


def test_normalization_explains_where_the_statistics_come_from() -> None:
    adapted = only_row(run([4, 3], {"type": "Normalization"}))
    assert "statistics of shape (3,), learnt by adapt()" in adapted["explain"]
    assert "= 7 (7 non-trainable)" in adapted["explain"]
    given = only_row(run([3], {"type": "Normalization", "mean": 1.0, "variance": 4.0}))
    assert "given in the config" in given["explain"] and given["params"] == 0


def test_normalization_mean_of_the_wrong_size_is_explained() -> None:
    error = error_of(run([4], {"type": "Normalization", "mean": [1, 2], "variance": [1, 2]}))
    assert "mean of shape [2]" in error["message"] and "sizes [4]" in error["message"]


def test_resizing_and_cropping_explain_the_sizes() -> None:
    resized = only_row(run([6, 8, 3], {"type": "Resizing", "height": 3, "width": 5}))
    assert "resized from 6×8 to 3×5 (bilinear)" in resized["explain"]
    cropped = only_row(run([6, 8, 3], {"type": "CenterCrop", "height": 4, "width": 5}))
    assert "2 rows and 3 columns cut" in cropped["explain"]
    augmented = only_row(run([6, 8, 3], {"type": "RandomZoom", "height_factor": 0.1}))
    assert "random zooms in training only" in augmented["explain"]


def test_encodings_explain_the_depth() -> None:
    row = only_row(run([3], {"type": "CategoryEncoding", "num_tokens": 6}))
    assert "multi-hot vector of its sample of 6 values" in row["explain"]


def test_resize_matrix_columns_are_weights_summing_to_one() -> None:
    for method in ("bilinear", "bicubic", "lanczos3", "area"):
        weights = resize_matrix(5, 8, method, antialias=False)
        assert weights.shape == (5, 8)
        np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=1e-5)


def test_antialiasing_widens_the_kernel_when_downsampling() -> None:
    plain = resize_matrix(8, 2, "bilinear", antialias=False)
    smooth = resize_matrix(8, 2, "bilinear", antialias=True)
    assert (plain > 0).sum() < (smooth > 0).sum()


def test_stft_explains_frames_and_frequencies() -> None:
    row = only_row(run([64, 1], {"type": "STFTSpectrogram", "frame_length": 16}))
    assert "7 = floor((64 − 16) / 8) + 1 frames of 16 samples every 8" in row["explain"]
    assert "9 = 16 // 2 + 1 frequencies per channel" in row["explain"]
    assert row["macs"] == 7 * 2 * 16 * 9


def test_stft_needs_a_frame_of_samples() -> None:
    error = error_of(run([6, 1], {"type": "STFTSpectrogram", "frame_length": 8}))
    assert "frames of 8 samples" in error["message"] and "only 6" in error["message"]
    error = error_of(run([40, 2], {"type": "STFTSpectrogram", "frame_length": 10**30,
                                   "frame_step": 3}))
    assert f"frames of {10**30} samples" in error["message"] and "only 40" in error["message"]


def test_stft_fft_length_of_a_huge_frame_is_exact() -> None:
    """Keras' default fft_length, 2 ** ceil(log2(frame_length)), on exact integers; the forward
    pass is refused by its budget."""
    model = {"inputs": [40, 2], "layers": [{"type": "STFTSpectrogram", "frame_length": 10**30,
                                            "frame_step": 3, "padding": "same"}]}
    row = only_row(check({"model": model}))
    assert row["output_shapes"] == [[None, 14, 2 * (2**99 + 1)]]
    with pytest.raises(LimitExceeded):
        check({"model": model, "forward": {"seed": 1}})


def test_mel_spectrogram_frames_keras_computes_but_does_not_declare() -> None:
    """399 samples, a frame every 40: Keras declares (399 + 41) // 40 = 11 frames, its stft
    computes 1 + 399 // 40 = 10 (mel_frames_differ*: predict gives 10, and fails at a Dense
    built for 11)."""
    mel = {"type": "MelSpectrogram", "fft_length": 64, "sequence_stride": 40,
           "num_mel_bins": 6}
    result = run([399], mel, {"type": "Dense", "units": 3})
    warning = only_diagnostic(result, "declared_shape_differs", layer="mel_spectrogram")
    assert "declares (None, 6, 11)" in warning["message"]
    assert "predict gives (None, 6, 10)" in warning["message"]
    message = forward_refusal([399], mel, {"type": "Dense", "units": 3})
    assert message.startswith("layer 'mel_spectrogram' (MelSpectrogram) computes output 0 "
                              "with shape (1, 6, 10) where Keras declares (1, 6, 11)")
    assert "layer 'dense', which reads it, was built for the declared shape" in message
    assert codes(run([400], mel)) == []  # 1 + 400 // 40 = (400 + 41) // 40 = 11


def test_mel_spectrogram_explains_keras_frame_count() -> None:
    row = only_row(run([1000], {"type": "MelSpectrogram", "sequence_stride": 100,
                                "num_mel_bins": 20}))
    assert "20 mel bins × 11 = (1000 + 100 + 1) // 100 frames" in row["explain"]


def test_pipeline_chains_its_layers() -> None:
    row = only_row(run([6, 8, 3], {"type": "Pipeline", "layers": [
        {"type": "Resizing", "height": 4, "width": 4}, {"type": "RandomFlip"}]}))
    assert "Resizing → RandomFlip, one after the other" in row["explain"]
    assert row["output_shapes"] == [[None, 4, 4, 3]]


def test_pipeline_reports_an_inner_argument_by_its_path() -> None:
    pipeline = {"type": "Pipeline", "layers": [{"type": "Resizing", "height": 4}]}
    assert refused_paths([6, 8, 3], pipeline) == ["model.layers.0.layers.0.width"]


def test_clahe_on_a_grid_of_three_axes_cannot_run() -> None:
    """Keras 3 builds it, and its predict fails unpacking the grid into rows and columns."""
    message = forward_refusal([6, 8, 3], {"type": "ContrastLimitedAdaptiveHistogramEqualization",
                                          "tile_grid_size": [2, 2, 2]})
    assert "its tile_grid_size [2, 2, 2] is not two positive numbers of tiles" in message


def test_clahe_histograms_count_against_the_forward_budget() -> None:
    """A grid of 4000 × 4000 tiles pads a 6 × 8 image to 4000 × 4000 pixels, each with the
    histograms of its neighbours: refused before any of it is allocated."""
    with pytest.raises(LimitExceeded):
        run([6, 8, 3], {"type": "ContrastLimitedAdaptiveHistogramEqualization",
                        "tile_grid_size": [4000, 4000]}, forward={"batch_size": 1})


def keras_json_case(case_id: str) -> dict:
    return next(c.values[0] for c in cases() if c.id == f"preprocessing_tf:{case_id}")


@pytest.mark.parametrize(("case_id", "built_shape"), [
    ("text_no_vocabulary_multi_hot", [None, 1, None]),
    ("text_one_hot", [None, 1, None, None]),
])
def test_text_vectorization_saved_before_adapt_reads_back_with_depth_1(
        case_id: str, built_shape: list) -> None:
    """Keras declares an unknown depth for the layer it built, but the layer its to_json()
    reads back (model_from_json, summary, compute_output_shape) takes the saved
    vocabulary_size 1, the OOV index, as its depth: so does shapecheck."""
    case = keras_json_case(case_id)
    assert case["layers"][0]["output_shapes"] == [built_shape]
    reloaded = [*built_shape[:-1], 1]
    assert case["keras_json_layers"][0]["output_shapes"] == [reloaded]
    row = only_row(check({"model": case["keras_json"]}))
    assert row["output_shapes"] == [reloaded]
    assert row["explain"].endswith(
        "the depth is the config's vocabulary_size 1 (the OOV index only: the layer was saved "
        "before adapt()); no weights")
    assert only_row(check({"model": case["native"]}))["output_shapes"] == [built_shape]


def test_lookup_depth_from_a_saved_vocabulary_size_is_explained() -> None:
    row = only_row(run([3], {"type": "StringLookup", "output_mode": "count",
                             "vocabulary_size": 2, "num_oov_indices": 2}))
    assert row["output_shapes"] == [[None, 2]]
    assert "vocabulary_size 2 (the 2 OOV indices only: the layer was saved before adapt())" \
        in row["explain"]
    adapted = only_row(run([3], {"type": "IntegerLookup", "output_mode": "one_hot",
                                 "vocabulary_size": 7}))
    assert adapted["output_shapes"] == [[None, 3, 7]]
    assert adapted["explain"].endswith("the depth is the config's vocabulary_size 7; no weights")
    listed = only_row(run([3], {"type": "StringLookup", "output_mode": "multi_hot",
                                "vocabulary": ["a", "b"], "vocabulary_size": 9}))
    assert listed["output_shapes"] == [[None, 3]]  # the vocabulary wins, as in Keras
    assert "vocabulary_size" not in listed["explain"]


# -- tf.keras 2 documents ------------------------------------------------------------------------
# The preprocessing cases recorded with tf.keras 2 too (tests/fixtures/tfkeras2/layers/): its
# to_json() must give tf.keras 2's shapes and predict output. Where tf.keras 2 refuses a case,
# it wrote no document; the tests after these submit tf.keras 2 documents edited to those inputs.
TF_KERAS_CASES = [c for c in cases("tfkeras2")
                  if "keras_json" in c.values[0] and c.id.startswith("preprocessing")]

# tf.keras 2 builds these, but they cannot run (its predict fails); shapecheck refuses their
# arguments as for Keras 3, with a 422 at this path.
TF_KERAS_REFUSED = {
    "preprocessing:discretization_nothing": "model.config.layers.1.config.bin_boundaries",
}


@pytest.mark.parametrize("case", [c for c in TF_KERAS_CASES if c.id not in TF_KERAS_REFUSED])
def test_tf_keras_2_documents_get_tf_keras_2_shapes(case: dict) -> None:
    assert check_as_read_back(case)["model"]["format"] == "keras2"


@pytest.mark.parametrize(("case", "path"), [
    pytest.param(c.values[0], TF_KERAS_REFUSED[c.id], id=c.id)
    for c in TF_KERAS_CASES if c.id in TF_KERAS_REFUSED])
def test_tf_keras_2_layers_that_cannot_run_are_refused(case: dict, path: str) -> None:
    assert "predict_refused" in case
    with pytest.raises(RequestInvalid) as exc:
        check({"model": case["keras_json"]})
    assert list(exc.value.errors) == [path]


TF_KERAS_FORWARD_GAPS = {
    # tf.keras 2 keeps TF-IDF weights in a variable that get_weights() lists but
    # count_params() leaves out; the forward pass refuses the mode.
    "preprocessing_tf:integer_lookup_tf_idf_run": "TF-IDF weights in a variable"}


@pytest.mark.parametrize("case", [c for c in TF_KERAS_CASES if "forward" in c.values[0]
                                  and c.id not in TF_KERAS_FORWARD_GAPS])
def test_tf_keras_2_documents_run_as_tf_keras_2_predicts(case: dict) -> None:
    assert_forward_as_recorded(case["keras_json"], case["forward"])


@pytest.mark.parametrize(("case", "why"), [
    pytest.param(c.values[0], TF_KERAS_FORWARD_GAPS[c.id], id=c.id)
    for c in TF_KERAS_CASES if c.id in TF_KERAS_FORWARD_GAPS])
def test_tf_keras_2_forward_gaps_are_refused(case: dict, why: str) -> None:
    with pytest.raises(RequestInvalid, match=why):
        assert_forward_as_recorded(case["keras_json"], case["forward"])


def recorded(flavour: str, case_id: str) -> dict:
    """A deep copy of a recorded case (it is edited by the tests)."""
    return copy.deepcopy(next(c.values[0] for c in cases(flavour) if c.id == case_id))


def with_inputs(doc: dict, shape: list) -> dict:
    """The document with every model input of batched ``shape``."""
    for entry in doc["config"]["layers"]:
        if entry["class_name"] == "InputLayer":
            entry["config"]["batch_input_shape"] = shape
    return doc


@pytest.mark.parametrize(("case_id", "keras3_shape", "tf_keras_shape"), [
    ("preprocessing_tf:text_multi_hot", [None, 1, 4], [None, 4]),
    ("preprocessing_tf:text_no_split_int_length", [None, 4], [None, None]),
    ("preprocessing_tf:hashing_one_hot_scalar", [5], [None, 5]),
])
def test_the_same_layer_follows_the_keras_that_wrote_the_document(
        case_id: str, keras3_shape: list, tf_keras_shape: list) -> None:
    """One layer config, three documents: the native one and Keras 3's to_json() get Keras 3's
    class and shapes, tf.keras 2's to_json() gets the tf.keras 2 variant and its shapes."""
    keras3, tf_keras = recorded("keras3", case_id), recorded("tfkeras2", case_id)
    documents = [(keras3["native"], keras3_shape), (keras3["keras_json"], keras3_shape),
                 (tf_keras["keras_json"], tf_keras_shape)]
    for doc, shape in documents:
        layer = analyse(doc, {}).graph.layers[keras3["layers"][0]["name"]]
        is_tf_keras = doc is tf_keras["keras_json"]
        assert type(layer) is (TF_KERAS_VARIANTS if is_tf_keras else REGISTRY)[layer.keras_name]
        assert only_row(check({"model": doc}))["output_shapes"] == [shape]


def test_the_variants_are_the_keras_3_classes_but_for_their_rules() -> None:
    for name, variant in TF_KERAS_VARIANTS.items():
        assert variant.keras_name == name and issubclass(variant, REGISTRY[name])
        assert REGISTRY[name] is not variant


@pytest.mark.parametrize(("case_id", "shape", "layer", "message", "hint"), [
    ("preprocessing_tf:text_multi_hot", [None, 3], "text_vectorization",
     "splits one string per sample into tokens: it takes (batch,) or (…, 1) strings, but "
     "received (None, 3)", "set split=None"),
    ("preprocessing_tf:text_count_column", [None, 2, 1], "text_vectorization",
     "encodes the values of each sample into one vector of 4 and gives at most (batch, 4); its "
     "input (None, 2, None) would give a rank-3 output", "flatten or reshape the input"),
    ("preprocessing:category_one_hot_column", [None, 3], "category_encoding",
     "with output_mode='one_hot' encodes one value into one vector of 4", "(batch, 1)"),
    ("preprocessing_tf:string_lookup_multi_hot", [None, 2, 4], "string_lookup",
     "its input (None, 2, 4) would give a rank-3 output, which tf.keras 2 refuses",
     "use output_mode='int' and an Embedding"),
    ("preprocessing_tf:hashed_crossing_int", [None, 3], "hashed_crossing",
     "takes (batch,) or (batch, 1), but received (None, 3)", "shape (batch, 1)"),
])
def test_tf_keras_2_refuses_what_keras_3_encodes_position_by_position(
        case_id: str, shape: list, layer: str, message: str, hint: str) -> None:
    """tf.keras 2 documents edited to inputs tf.keras 2 refuses (it writes no document for
    them): the layer fails with tf.keras 2's reason; Keras 3's document of it passes."""
    error = error_of(check({"model": with_inputs(recorded("tfkeras2", case_id)["keras_json"],
                                                 shape)}))
    assert error["layer"] == layer
    assert message in error["message"] and hint in error["hint"]
    assert check({"model": with_inputs(recorded("keras3", case_id)["keras_json"], shape)})["ok"]


def test_tf_keras_2_one_hot_of_scalars_keeps_a_batch_of_one() -> None:
    """tf.keras 2's predict sees the batch axis unknown: one_hot of one scalar is (1, 3), as it
    is for any batch."""
    doc = recorded("tfkeras2", "preprocessing:discretization_one_hot_scalar")["keras_json"]
    result = check({"model": doc, "forward": {"x": [0.5], "return": "values"}})
    (output,) = result["forward"]["outputs"]
    assert output["shape"] == [1, 3] and output["values"] == [[0.0, 1.0, 0.0]]


def test_tf_keras_2_text_vectorization_has_no_one_hot_mode() -> None:
    assert tf_keras_2_refusal("preprocessing_tf:text_multi_hot", "output_mode", "one_hot") == [
        "tf.keras 2's TextVectorization has no 'one_hot' mode: use 'int', 'multi_hot', "
        "'count' or 'tf_idf'"]


def test_tf_keras_2_variants_say_so_in_their_explanations() -> None:
    row = only_row(check({"model": recorded("tfkeras2", "preprocessing_tf:text_multi_hot")[
        "keras_json"]}))
    assert row["explain"].startswith(
        "output_mode='multi_hot': each index becomes a multi-hot vector of its sample of 4 "
        "values, (None, 1) → (None, 4) (tf.keras 2: one vector per sample)")
    crop = only_row(check({"model": recorded(
        "tfkeras2", "preprocessing:random_crop_resizes_in_tf_keras")["keras_json"]}))
    assert "the centre resized to it at inference (tf.keras 2): (None, 6, 8, 3) → " \
        "(None, 4, 4, 3)" in crop["explain"]


def test_tensorflow_bicubic_tabulates_the_kernel_offset() -> None:
    """Keys' kernel at offsets rounded to 1/1024: a sample 1/3 past a pixel is weighted as
    341/1024 past it; a same-size resize is the identity."""
    np.testing.assert_array_equal(tf_bicubic_matrix(5, 5), np.eye(5, dtype=np.float32))
    weights = tf_bicubic_matrix(4, 6)[:, 2]  # sample 2 at (2 + 0.5) · 4/6 − 0.5 = 7/6
    expected = RESIZE_KERNELS["bicubic"](np.abs(171 / 1024 - np.array([-1, 0, 1, 2])))
    np.testing.assert_allclose(weights, expected / expected.sum(), rtol=1e-6)


@pytest.mark.parametrize("layer", [
    {"type": "RandomRotation", "factor": 0.1, "fill_mode": "REFLECT"},
    {"type": "RandomZoom", "height_factor": 0.1, "interpolation": "BILINEAR"},
    {"type": "RandomPerspective", "interpolation": "Nearest"},
    {"type": "STFTSpectrogram", "frame_length": 3, "padding": "VALID"},  # random sweep 22101
])
def test_names_keras_takes_in_lower_case_only_are_case_sensitive(layer: dict) -> None:
    # Keras 3: "Unknown `fill_mode` REFLECT. Expected of one ('reflect', ...)".
    with pytest.raises(RequestInvalid) as exc:
        check({"model": {"inputs": [6, 6, 3], "layers": [layer]}})
    key = next(k for k in ("fill_mode", "interpolation", "padding") if k in layer)
    assert list(exc.value.errors) == [f"model.layers.0.{key}"]


def equalized(model: dict) -> dict:
    """``check`` of a model with an Equalization, with a forward pass when Keras builds it."""
    result = check({"model": model})
    if result["ok"]:
        result = check({"model": model, "forward": {"batch_size": 2, "return": "values"}})
    return result


def test_equalization_on_an_input_read_by_others_too_is_dropped_as_keras_3_does() -> None:
    """Keras 3 builds this model without the layer (recorded: a model input read by the
    Equalization and by another layer); both branches see the same, unequalised images."""
    result = equalized({"inputs": {"image": [6, 8, 3]}, "layers": [
        {"type": "Equalization", "inputs": ["image"]},
        {"type": "Conv2D", "name": "after", "filters": 2, "kernel_size": 3,
         "inputs": ["equalization"]},
        {"type": "Conv2D", "name": "beside", "filters": 2, "kernel_size": 3,
         "inputs": ["image"]}], "outputs": ["after", "beside"]})
    assert codes(result) == ["layer_not_applied"]
    only_diagnostic(result, "layer_not_applied", severity="warning", layer="equalization")
    row = result["layers"][0]
    assert row["output_shapes"] == [[None, 6, 8, 3]] and row["params"] == 0
    assert "never equalises" in row["explain"]
    assert [o["shape"] for o in result["forward"]["outputs"]] == [[2, 4, 6, 2]] * 2


@pytest.mark.parametrize("outputs", [["equalization"], ["equalization", "conv2d"]])
def test_equalization_as_a_model_output_is_a_cycle_to_keras_3(outputs: list) -> None:
    """Keras 3 refuses these ("... from operation 'equalization' is part of a cycle")."""
    result = run([6, 8, 3], {"type": "Equalization"},
                 {"type": "Conv2D", "filters": 2, "kernel_size": 3}, outputs=outputs)
    error = error_of(result)
    assert (error["code"], error["layer"]) == ("invalid_graph", "equalization")
    assert not result["ok"]
    assert "cycle" in error["message"]
    assert "before the model" in error["hint"]


def test_equalization_keeps_its_arguments_as_keras_does() -> None:
    """Keras sorts value_range; any bins is taken (the layer never runs in a model)."""
    equalization = layer("Equalization", value_range=[1, 0], bins=0)
    assert (equalization.args.value_range, equalization.args.bins) == ((0, 1), 0)
    assert refused_paths([6, 8, 3], {"type": "Equalization", "value_range": [1]}) == [
        "model.layers.0.value_range"]
