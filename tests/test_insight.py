"""What the network looks at: Grad-CAM, receptive-field crops, top patches, projections, sentences."""

import re

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import yaml

from pipeline.analysis.attention import grad_cam, strongest, top_activations, upsampled
from pipeline.architecture.shapes import ReceptiveField, crop, receptive_fields
from pipeline.configuration.params import insight_settings
from pipeline.errors import PipelineError
from pipeline.reporting.plotting import save
from stages import front_page
from stages.feature_space import projection
from stages.gradcam import most_confused
from stages.templates import half_weight_pixels, templates_figure
from tests.conftest import REPO

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
VERTICAL_BAR = (slice(4, 10), 20)  # rows 4-9 of column 20
HORIZONTAL_BAR = (20, slice(3, 9))  # columns 3-8 of row 20


def bar_detector() -> keras.Sequential:
    """Class 1's score is the sum of a vertical-bar detector's map, class 0's of a horizontal one."""
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(2, 3, activation="relu", name="conv_1"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(2, activation="softmax", name="dense_2"),
    ])  # fmt: skip
    vertical = np.array([[-1, 1, -1]] * 3, dtype=np.float32)
    kernel = np.stack([vertical, vertical.T], axis=-1)[:, :, np.newaxis, :]  # (3, 3, 1, 2)
    model.get_layer("conv_1").set_weights([kernel, np.full(2, -2.5, np.float32)])
    channel = np.tile([0, 1], 26 * 26)
    dense = np.stack([channel == 1, channel == 0], axis=1).astype(np.float32)  # class 0: horizontal, 1: vertical
    model.get_layer("dense_2").set_weights([dense, np.zeros(2, np.float32)])
    return model


def test_grad_cam_peaks_on_the_region_its_class_score_depends_on():
    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, VERTICAL_BAR[0], VERTICAL_BAR[1]] = 1
    image[0, HORIZONTAL_BAR[0], HORIZONTAL_BAR[1]] = 1
    model = bar_detector()
    for label, (rows, columns) in ((1, (range(3, 11), range(18, 23))), (0, (range(18, 23), range(2, 10)))):
        raw = grad_cam(model, image, np.array([label]))
        heat = upsampled(raw, 28)[0]
        row, column = np.unravel_index(heat.argmax(), heat.shape)
        assert row in rows and column in columns, (label, row, column)
        assert raw.shape == (1, 26, 26) and raw.max() == pytest.approx(1.0)
    other = upsampled(grad_cam(model, image, np.array([1])), 28)[0]
    assert other[HORIZONTAL_BAR[0], 5] < 0.05, "the vertical class's map lights up the horizontal bar"


def test_grad_cam_of_an_image_with_no_evidence_is_all_zero():
    assert not grad_cam(bar_detector(), np.zeros((2, 28, 28, 1), np.float32), np.array([0, 1])).any()


def conv_model(layers: list[keras.layers.Layer], side: int = 28) -> keras.Sequential:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((side, side, 1)), *layers])


def gradient_support(model: keras.Model, side: int, row: int, column: int) -> tuple[int, int, int, int]:
    """Rows and columns of the input pixels with a nonzero gradient of output (row, column, 0)."""
    image = tf.constant(np.random.default_rng(1).random((1, side, side, 1), dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(image)
        output = model(image)[0, row, column, 0]
    rows, columns = np.nonzero(tape.gradient(output, image).numpy()[0, :, :, 0])
    return rows.min(), rows.max() + 1, columns.min(), columns.max() + 1


@pytest.mark.parametrize("side", [28, 27])
def test_receptive_fields_match_what_each_output_actually_sees(side):
    """Linear convolutions with positive weights: every pixel in the field moves the output, none outside."""
    specs = [
        {"name": "c1", "type": "conv", "kernel": 3, "strides": 2, "padding": "same"},
        {"name": "c2", "type": "conv", "kernel": 3, "strides": 1, "padding": "valid"},
        {"name": "c3", "type": "conv", "kernel": 5, "strides": 2, "padding": "same"},
    ]
    layers = [keras.layers.Conv2D(1, spec["kernel"], strides=spec["strides"], padding=spec["padding"],
                                  kernel_initializer="ones", name=spec["name"]) for spec in specs]  # fmt: skip
    model = conv_model(layers, side)
    field = receptive_fields(specs, side)["c3"]
    assert (field.size, field.jump) == (1 + 2 * 1 + 2 * 2 + 4 * 2, 4)
    last = model.output_shape[1] - 1
    for row, column in ((0, 0), (last, last), (last // 2, 1)):
        (top, bottom), (left, right) = field.window(row), field.window(column)
        expected = (max(top, 0), min(bottom, side), max(left, 0), min(right, side))
        assert gradient_support(model, side, row, column) == expected


def test_pooling_outputs_see_only_pixels_inside_their_field():
    specs = [
        {"name": "c1", "type": "conv", "kernel": 3, "strides": 1, "padding": "valid"},
        {"name": "p1", "type": "maxpool", "pool": 2, "strides": 2, "padding": "valid"},
        {"name": "c2", "type": "conv", "kernel": 3, "strides": 1, "padding": "same"},
    ]
    model = conv_model([keras.layers.Conv2D(1, 3, kernel_initializer="ones"), keras.layers.MaxPooling2D(2),
                        keras.layers.Conv2D(1, 3, padding="same", kernel_initializer="ones")])  # fmt: skip
    field = receptive_fields(specs, 28)["c2"]
    assert field == ReceptiveField(size=8, jump=2, top=-2)
    for row, column in ((0, 0), (6, 12), (12, 12)):
        top, bottom, left, right = gradient_support(model, 28, row, column)
        (field_top, field_bottom), (field_left, field_right) = field.window(row), field.window(column)
        assert field_top <= top and bottom <= field_bottom and field_left <= left and right <= field_right


def test_a_crop_is_the_field_with_background_outside_the_image():
    image = np.arange(1, 26, dtype=np.float32).reshape(5, 5)
    patch = crop(image, ReceptiveField(size=3, jump=2, top=-1), 0, 2)
    assert patch.tolist() == [[0, 0, 0], [4, 5, 0], [9, 10, 0]]


def numpy_convolution(images: np.ndarray, kernels: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A valid, stride-1 convolution (cross-correlation) with ReLU, by loops over the positions."""
    count, side, _, _ = images.shape
    size, filters = kernels.shape[0], kernels.shape[-1]
    out = np.zeros((count, side - size + 1, side - size + 1, filters))
    for row in range(out.shape[1]):
        for column in range(out.shape[2]):
            window = images[:, row : row + size, column : column + size, :]
            out[:, row, column, :] = np.tensordot(window, kernels, axes=([1, 2, 3], [0, 1, 2])) + bias
    return np.maximum(out, 0)


def test_top_patches_are_the_true_maxima():
    model = conv_model([keras.layers.Conv2D(3, 3, activation="relu")], side=10)
    images = np.random.default_rng(2).random((20, 10, 10, 1), dtype=np.float32)
    kernels, bias = model.layers[0].get_weights()
    maps = numpy_convolution(images, kernels, bias)
    found = top_activations(*strongest(model.predict(images, verbose=0)), count=4)
    for channel, top in enumerate(found):
        best = sorted((-maps[i, :, :, channel].max(), i) for i in range(len(images)))[:4]
        assert [image for image, *_ in top] == [image for _, image in best]
        for image, row, column, value in top:
            assert value == pytest.approx(maps[image, :, :, channel].max(), abs=1e-5)
            assert maps[image, row, column, channel] == pytest.approx(value, abs=1e-5)


def test_top_activations_break_ties_by_the_first_image_and_position():
    maps = np.zeros((3, 2, 2, 1))
    maps[2, 1, 1, 0] = maps[0, 1, 0, 0] = maps[0, 1, 1, 0] = 1.0
    assert top_activations(*strongest(maps), count=2) == [[(0, 1, 0, 1.0), (2, 1, 1, 1.0)]]


def test_most_confused_pair_comes_from_the_counts():
    labels = np.array([6, 6, 6, 0, 0, 2])
    predicted = np.array([0, 0, 6, 6, 0, 4])
    assert most_confused(labels, predicted) == (6, 0, 2)


def test_half_weight_pixels_tells_a_local_template_from_a_spread_one():
    local = np.zeros((28, 28))
    local[10:13, 10:13] = 1
    assert half_weight_pixels(local) == 5
    assert half_weight_pixels(np.ones((28, 28))) == 392


def test_figures_and_projections_are_deterministic(tmp_path):
    rng = np.random.default_rng(3)
    paths = [tmp_path / f"{index}.png" for index in range(2)]
    templates, kernels = rng.normal(size=(20, 28, 28)), rng.normal(size=(8, 3, 3))
    for path in paths:
        save(templates_figure("dnn dense_1", templates, "cnn conv_1", kernels), path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    features = rng.normal(size=(120, 16)).astype(np.float32)
    assert np.array_equal(projection(features, 10, seed=0), projection(features, 10, seed=0))


def test_insight_names_models_that_exist():
    params = {**PARAMS, "insight": {**PARAMS["insight"], "every_layer_of": "resnet", "projected": ["dnn", "vgg"]}}
    with pytest.raises(PipelineError) as error:
        insight_settings(params)
    assert "insight.every_layer_of: no such model 'resnet'" in str(error.value)
    assert "insight.projected[1]: no such model 'vgg'" in str(error.value)
    with pytest.raises(PipelineError, match=r"insight.patches: must be in \[1, 25\]"):
        insight_settings({**PARAMS, "insight": {**PARAMS["insight"], "patches": 0}})


def write_insight(reports, on_garment: list[float], filters_specific: tuple[int, int]) -> None:
    gradcam = reports / "insight" / "gradcam"
    gradcam.mkdir(parents=True)
    classes = [f"class {index}" for index in range(len(on_garment))]
    pd.DataFrame(
        {
            "model": "cnn",
            "layer": "conv_2",
            "side": 11,
            "class": classes,
            "images": 100,
            "on_garment": on_garment,
            "garment_share_of_image": 0.5,
            "confused_true": "Shirt",
            "confused_predicted": "Coat",
            "confused_count": 42,
        }
    ).to_csv(gradcam / "summary.csv", index=False)
    filters = reports / "insight" / "filters"
    filters.mkdir(parents=True)
    rows = [{"model": "cnn", "layer": layer, "filter": index, "field": field, "patches": 9,
             "top_class": "Bag", "top_class_patches": 9 if index < specific else 1}
            for layer, field, specific in (("conv_1", 3, filters_specific[0]), ("conv_2", 8, filters_specific[1]))
            for index in range(10)]  # fmt: skip
    pd.DataFrame(rows).to_csv(filters / "summary.csv", index=False)


@pytest.mark.parametrize(("on_garment", "specific", "expected", "unexpected"), [
    ([0.9, 0.2], (2, 7), ["for 1 of 2 classes (most: class 0, 90%", "for class 1 it weighs the background",
                          "2 of 10 filters of `conv_1`", "7 of 10 filters of `conv_2`", "are more often"], ["no more"]),
    ([0.9, 0.8], (7, 2), ["for 2 of 2 classes", "are no more often"], ["weighs the background"]),
])  # fmt: skip
def test_front_page_sentences_follow_the_data(tmp_path, on_garment, specific, expected, unexpected):
    write_insight(tmp_path, on_garment, specific)
    page, insight = tmp_path / "README.md", tmp_path / "insight"
    text = "\n".join(front_page.gradcam_part(insight / "gradcam", page, "cnn")
                     + front_page.filters_part(insight / "filters", page, "cnn"))  # fmt: skip
    assert "Shirt taken for Coat (42 test images)" in text
    assert "](insight/gradcam/cnn/class_average.png)" in text and "](insight/filters/cnn_conv_2.png)" in text
    for sentence in expected:
        assert sentence in text
    for sentence in unexpected:
        assert sentence not in text


def test_front_page_ranks_the_feature_spaces_by_their_score(tmp_path):
    directory = tmp_path / "insight" / "feature_space"
    directory.mkdir(parents=True)
    pd.DataFrame({"space": ["raw pixels", "dnn", "cnn_64"], "features": [784, 128, 128],
                  "knn_accuracy": [0.9, 0.7, 0.8], "images": 500, "neighbours": 3}).to_csv(
        directory / "separability.csv", index=False)  # fmt: skip
    text = "\n".join(front_page.feature_space_part(directory, tmp_path / "README.md"))
    assert "is right for 90.0% in the raw pixels, 80.0% in `cnn_64`'s features and 70.0% in `dnn`'s features" in text
    assert "A 3-nearest-neighbour vote over the first 500 test images" in text


@pytest.mark.parametrize(("changes", "message"), [
    ({"projected": ["dnn", "dnn"]}, "insight.projected: 'dnn' is listed twice"),
    ({"projected": ["dnn"] * 1000}, "insight.projected: expected 1 to 7 models, got 1000"),
    ({"projection_images": 50, "perplexity": 60}, "insight.perplexity: must be below insight.projection_images (50)"),
    ({"projection_images": 50, "neighbours": 40}, "insight.neighbours: too many for the 40 images of a training fold"),
])  # fmt: skip
def test_insight_values_that_the_stages_could_not_use_are_refused(changes, message):
    with pytest.raises(PipelineError, match=re.escape(message)):
        insight_settings({**PARAMS, "insight": {**PARAMS["insight"], **changes}})


def test_a_model_without_mistakes_or_measured_maps_gets_no_such_sentence(tmp_path):
    write_insight(tmp_path, [float("nan"), float("nan")], (1, 1))
    summary = tmp_path / "insight" / "gradcam" / "summary.csv"
    pd.read_csv(summary).assign(confused_count=0).to_csv(summary, index=False)
    text = "\n".join(front_page.gradcam_part(tmp_path / "insight" / "gradcam", tmp_path / "README.md", "cnn"))
    assert "no class has a correctly classified image with a map to average" in text
    assert "most frequent mistake," not in text and "confused.png" not in text and "| none |" in text
