"""Parameter checking: every mistake is one error naming the key, found before any data is read."""

import copy

import pytest
import yaml

from pipeline.errors import PipelineError
from pipeline.params import data_settings, load_params, model_config, model_names, seed
from tests.conftest import REPO, run_module

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())


def with_change(change) -> dict:
    params = copy.deepcopy(PARAMS)
    change(params)
    return params


def test_every_declared_model_is_valid():
    configs = [model_config(PARAMS, name) for name in model_names(PARAMS)]
    assert [config.name for config in configs][:6] == [
        "dnn", "cnn_32", "cnn_16", "cnn_64", "cnn_64_1conv", "cnn_64_2conv_1pool",
    ]  # fmt: skip
    cnn_64 = model_config(PARAMS, "cnn_64")
    assert (cnn_64.optimizer, cnn_64.learning_rate, cnn_64.batch_size, cnn_64.epochs) == ("adam", 0.001, 32, 5)
    assert [layer["type"] for layer in cnn_64.layers] == [
        "conv", "maxpool", "conv", "maxpool", "flatten", "dense", "dense",
    ]  # fmt: skip


def test_model_block_overrides_defaults():
    config = model_config(PARAMS, "cnn_32_stop90")
    assert (config.epochs, config.stop_at_accuracy) == (10, 0.9)


def layers_of(params, name):
    return params["models"][name]["layers"]


BAD_MODELS = [
    (
        lambda p: layers_of(p, "cnn_16")[0].update(type="conv3d"),
        "models.cnn_16.layers[0].type: unknown layer type 'conv3d'",
    ),
    (
        lambda p: layers_of(p, "cnn_16")[0].update(size=3),
        "models.cnn_16.layers[0].size: unknown argument of a conv layer",
    ),
    (lambda p: layers_of(p, "cnn_16")[0].pop("filters"), "models.cnn_16.layers[0].filters: required by a conv layer"),
    (
        lambda p: layers_of(p, "cnn_16")[0].update(kernel=30),
        "models.cnn_16.layers[0]: kernel 30 is larger than its 28x28 input",
    ),
    (
        lambda p: layers_of(p, "cnn_16")[3].update(pool=12),
        "models.cnn_16.layers[3]: pool 12 is larger than its 11x11 input",
    ),
    (lambda p: layers_of(p, "cnn_16")[0].update(filters=0), "models.cnn_16.layers[0].filters: must be positive, got 0"),
    (
        lambda p: layers_of(p, "cnn_16")[0].update(filters="16"),
        "models.cnn_16.layers[0].filters: expected an integer, got '16'",
    ),
    (
        lambda p: layers_of(p, "cnn_16")[0].update(padding="full"),
        "models.cnn_16.layers[0].padding: 'full' is not one of valid, same",
    ),
    (
        lambda p: layers_of(p, "cnn_16")[0].update(activation="relu6"),
        "models.cnn_16.layers[0].activation: 'relu6' is not one of",
    ),
    (
        lambda p: layers_of(p, "dnn").insert(0, {"type": "dropout", "rate": 1.5}),
        "models.dnn.layers[0].rate: must be in [0, 1), got 1.5",
    ),
    (
        lambda p: layers_of(p, "dnn").append({"type": "conv", "filters": 8}),
        "models.dnn.layers[1]: needs an image-shaped input",
    ),
    (lambda p: p["models"]["cnn_16"].update(epochs=0), "models.cnn_16.epochs: must be positive, got 0"),
    (lambda p: p["models"]["cnn_16"].update(epochs="five"), "models.cnn_16.epochs: expected an integer, got 'five'"),
    (lambda p: p["defaults"].update(batch_size=-32), "defaults.batch_size: must be positive, got -32"),
    (lambda p: p["defaults"].update(learning_rate=0), "defaults.learning_rate: must be positive, got 0.0"),
    (lambda p: p["defaults"].update(optimizer="adamw"), "defaults.optimizer: 'adamw' is not one of adam, sgd, rmsprop"),
    (
        lambda p: p["models"]["cnn_16"].update(stop_at_accuracy=1.5),
        "models.cnn_16.stop_at_accuracy: must be in (0, 1], got 1.5",
    ),
    (
        lambda p: p["models"]["cnn_16"].update(stop_at_accuracy=0),
        "models.cnn_16.stop_at_accuracy: must be in (0, 1], got 0.0",
    ),
    (lambda p: p["models"]["cnn_16"].update(epoch=3), "models.cnn_16.epoch: unknown key"),
    (
        lambda p: p["defaults"]["head"][-1].update(units=9),
        "defaults.head[1]: the last layer must be a dense layer of 10 units",
    ),
    (lambda p: p["models"].update(cnn_16=[1, 2]), "models.cnn_16: expected a mapping, got [1, 2]"),
]


@pytest.mark.parametrize(("change", "message"), BAD_MODELS, ids=[message for _, message in BAD_MODELS])
def test_bad_model_declarations_name_the_key(change, message):
    params = with_change(change)
    with pytest.raises(PipelineError) as error:
        model_config(params, "dnn" if "models.dnn" in message else "cnn_16")
    assert str(error.value).startswith(f"params.yaml: {message}"), str(error.value)


def test_removing_the_flatten_puts_dense_on_an_image():
    params = with_change(lambda p: layers_of(p, "cnn_16").pop())
    with pytest.raises(PipelineError, match=r"defaults.head\[0\]: needs a flat input, got \(5, 5, 16\)"):
        model_config(params, "cnn_16")


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(PipelineError, match=r"params.yaml: models: no model named 'cnn_128' \(known: dnn, cnn_32"):
        model_config(PARAMS, "cnn_128")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"validation_fraction": 1.0}, "data.validation_fraction: must be in [0, 1), got 1.0"),
        ({"validation_fraction": "10%"}, "data.validation_fraction: expected a number, got '10%'"),
        ({"subset": 5}, "data.subset: must be at least 100 images, got 5"),
        ({"subset": True}, "data.subset: expected an integer, got True"),
        ({"split": 0.1}, "data.split: unknown key"),
    ],
)
def test_bad_data_settings(data, message):
    with pytest.raises(PipelineError) as error:
        data_settings({"data": data})
    assert str(error.value).startswith(f"params.yaml: {message}")


def test_seed_must_be_a_non_negative_integer():
    assert seed({"seed": 3}) == 3
    with pytest.raises(PipelineError, match=r"params.yaml: seed: expected an integer, got 1\.5"):
        seed({"seed": 1.5})


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 0\nmodels:\n  dnn: {layers: [\n")
    with pytest.raises(PipelineError, match=rf"{path}: not valid YAML at line 4"):
        load_params(path)


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(PipelineError, match="not valid YAML"):
        load_params(path)


def test_train_stage_checks_parameters_before_loading_data(workdir):
    params = with_change(lambda p: layers_of(p, "cnn_16")[0].update(kernel=29))
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    result = run_module("stages.train", "cnn_16", "--data", "no/such/dir", cwd=workdir)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: params.yaml: models.cnn_16.layers[0]: kernel 29 is larger than its 28x28 input"
    )
    assert "Traceback" not in result.stderr


def test_train_stage_rejects_an_unknown_model(workdir):
    result = run_module("stages.train", "resnet", cwd=workdir)
    assert result.returncode == 1
    assert "error: params.yaml: models: no model named 'resnet'" in result.stderr
    assert "Traceback" not in result.stderr
