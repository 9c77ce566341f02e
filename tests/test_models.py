"""Building models from declarations, the source's callback, and deterministic training."""

import copy

import keras
import numpy as np
import pytest
import yaml

from pipeline.architecture.layers import layer_output_shape
from pipeline.architecture.shapes import output_size
from pipeline.configuration.params import INPUT_SHAPE, model_config, model_names
from pipeline.training.callbacks import StopAtAccuracy
from pipeline.training.models import build_model
from pipeline.training.runtime import pin_threads, seed_everything
from tests.conftest import REPO, config_of

pin_threads(2)  # before any TensorFlow op of this test session, as the train stage does
PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
# Parameter counts given by the course (REFERENCE.md).
COURSE_PARAMETERS = {
    "dnn": 101_770,
    "cnn_32": 113_386,
    "cnn_16": 55_098,
    "cnn_64": 243_786,
    "cnn_64_1conv": 1_386_506,
    "cnn_64_2conv_1pool": 1_218_634,
}

LINEAR = {"flatten": {"type": "flatten"}, "output": {"type": "dense", "units": 10, "activation": "softmax"}}


@pytest.mark.parametrize("name", COURSE_PARAMETERS)
def test_parameter_counts_equal_the_course(name):
    assert build_model(model_config(PARAMS, name)).count_params() == COURSE_PARAMETERS[name]


def test_every_declared_model_builds():
    for name in model_names(PARAMS):
        model = build_model(model_config(PARAMS, name))
        assert model.output_shape == (None, 10) and model.name == name


def test_cnn_64_shapes_follow_the_formula():
    model = build_model(model_config(PARAMS, "cnn_64"))
    assert [layer.output.shape[1:3] for layer in model.layers[:4]] == [(26, 26), (13, 13), (11, 11), (5, 5)]


@pytest.mark.parametrize(
    "layer",
    [
        {"type": "conv", "filters": 8, "kernel": 3},
        {"type": "conv", "filters": 8, "kernel": 5, "strides": 2},
        {"type": "conv", "filters": 8, "kernel": 4, "strides": 3, "padding": "same"},
        {"type": "conv", "filters": 8, "kernel": 3, "padding": "same"},
        {"type": "maxpool", "pool": 2},
        {"type": "maxpool", "pool": 3},
        {"type": "maxpool", "pool": 3, "strides": 2},
        {"type": "maxpool", "pool": 3, "padding": "same"},
        {"type": "maxpool", "pool": 2, "strides": 1, "padding": "same"},
        {"type": "dropout", "rate": 0.25},
        {"type": "flatten"},
    ],
    ids=str,
)
def test_shape_arithmetic_matches_keras(layer):
    head = {"flatten": {"type": "flatten"}} if layer["type"] != "flatten" else {}
    config = config_of({"probe": layer, **head, "output": {"type": "dense", "units": 10, "activation": "softmax"}})
    model = build_model(config)
    assert layer_output_shape(config.layers[0], INPUT_SHAPE) == tuple(model.layers[0].output.shape[1:])


def test_output_size_formula():
    assert [output_size(28, 3, 1, "valid"), output_size(26, 2, 2, "valid"), output_size(11, 2, 2, "valid")] == [
        26,
        13,
        5,
    ]
    assert output_size(28, 3, 2, "same") == 14 and output_size(5, 3, 2, "same") == 3


def test_dropout_and_regularisation_are_built_as_declared():
    model = build_model(
        config_of({
            "conv_1": {"type": "conv", "filters": 4, "kernel": 3, "l2": 0.001},
            "flatten": {"type": "flatten"},
            "dropout_1": {"type": "dropout", "rate": 0.3},
            "dense_1": {"type": "dense", "units": 10, "activation": "softmax", "l1": 0.01},
        })
    )  # fmt: skip
    conv, _, dropout, dense = model.layers
    assert conv.kernel_regularizer.get_config() == {"l1": 0.0, "l2": pytest.approx(0.001)}
    assert isinstance(dropout, keras.layers.Dropout) and dropout.rate == 0.3
    assert dense.kernel_regularizer.get_config()["l1"] == pytest.approx(0.01)
    assert [layer.name for layer in model.layers] == ["conv_1", "flatten", "dropout_1", "dense_1"]  # as declared


def test_optimizer_and_learning_rate_come_from_the_declaration():
    model = build_model(config_of(LINEAR, optimizer="sgd", learning_rate=0.05))
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)


class FakeModel:
    stop_training = False


@pytest.mark.parametrize(
    ("epoch_logs", "stops_after"),
    [
        ([{"accuracy": 0.5}, {"accuracy": 0.89}, {"accuracy": 0.9}, {"accuracy": 0.95}], 3),
        ([{"accuracy": 0.95}], 1),
        ([{"loss": 0.1}, {}, None, {"accuracy": 0.2}], None),
    ],
)
def test_stop_at_accuracy_stops_at_the_first_epoch_reaching_the_threshold(epoch_logs, stops_after):
    callback = StopAtAccuracy(0.9)
    callback.set_model(FakeModel())
    for epoch, logs in enumerate(epoch_logs):
        callback.on_epoch_end(epoch, logs)
        if callback.model.stop_training:
            break
    assert callback.stopped_epoch == stops_after
    assert callback.model.stop_training == (stops_after is not None)


def tiny_dataset(count: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noise images with a bright 3x3 patch at a place given by the label: learnt in a few epochs."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.random((count, 28, 28, 1), dtype=np.float32) * 0.5
    for image, label in zip(images, labels, strict=True):
        image[2 * label : 2 * label + 3, 2 * label : 2 * label + 3] = 1.0
    return images, labels


def test_callback_stops_a_real_training_at_the_right_epoch():
    seed_everything(0)
    images, labels = tiny_dataset()
    model = build_model(config_of(LINEAR, learning_rate=0.003))
    callback = StopAtAccuracy(0.9)
    history = model.fit(images, labels, epochs=50, batch_size=32, callbacks=[callback], verbose=0).history
    accuracies = history["accuracy"]
    first_reaching = next(epoch for epoch, accuracy in enumerate(accuracies, 1) if accuracy >= 0.9)
    assert 1 < first_reaching < 50
    assert len(accuracies) == first_reaching == callback.stopped_epoch


def train_once(layers: dict) -> list[np.ndarray]:
    seed_everything(7)
    images, labels = tiny_dataset(512)
    model = build_model(config_of(copy.deepcopy(layers)))
    model.fit(images, labels, epochs=2, batch_size=32, verbose=0)
    return model.get_weights()


@pytest.mark.slow
def test_training_twice_gives_identical_weights():
    layers = {
        "conv_1": {"type": "conv", "filters": 8, "kernel": 3},
        "pool_1": {"type": "maxpool", "pool": 2},
        "flatten": {"type": "flatten"},
        "dropout_1": {"type": "dropout", "rate": 0.2},
        "dense_1": {"type": "dense", "units": 10, "activation": "softmax"},
    }
    first, second = train_once(layers), train_once(layers)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    seed_everything(8)
    other = build_model(config_of(layers)).get_weights()
    assert not np.array_equal(first[0], other[0]), "a different seed should give different weights"
