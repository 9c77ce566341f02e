"""Parameter checking: every mistake is one error naming the key, found before any data is read."""

import copy
import re

import pytest
import yaml

from pipeline.configuration.config import read_data_config, read_run_config
from pipeline.configuration.params import (
    GateSettings,
    comparisons,
    data_config,
    data_settings,
    gate_settings,
    insight_settings,
    load_params,
    model_config,
    model_names,
    reference_accuracies,
    report_settings,
    run_config,
    seed,
    seeds,
    training_settings,
)
from pipeline.errors import PipelineError
from tests.conftest import CHECK, REPO, checked_configs, run_module

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
STAGE_DIRS = ("--configs", "configs", "--data", "no/such/dir", "--models-dir", "models", "--history-dir", "history")


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
    assert [(layer["name"], layer["type"]) for layer in cnn_64.layers] == [
        ("conv_1", "conv"), ("pool_1", "maxpool"), ("conv_2", "conv"), ("pool_2", "maxpool"), ("flatten", "flatten"),
        ("dense_1", "dense"), ("dense_2", "dense"),
    ]  # fmt: skip


def test_model_block_overrides_defaults():
    config = model_config(PARAMS, "cnn_32_stop90")
    assert (config.epochs, config.stop_at_accuracy) == (10, 0.9)


def layers_of(params, name):
    return params["models"][name]["layers"]


def conv_1(params):
    return layers_of(params, "cnn_16")["conv_1"]


BAD_MODELS = [
    (lambda p: conv_1(p).update(type="conv3d"), "models.cnn_16.layers.conv_1.type: unknown layer type 'conv3d'"),
    (lambda p: conv_1(p).update(size=3), "models.cnn_16.layers.conv_1.size: unknown key (expected type, filters"),
    (lambda p: conv_1(p).pop("filters"), "models.cnn_16.layers.conv_1.filters: required"),
    (lambda p: conv_1(p).update(kernel=30), "models.cnn_16.layers.conv_1: kernel 30 is larger than its 28x28 input"),
    (
        lambda p: layers_of(p, "cnn_16")["pool_2"].update(pool=12),
        "models.cnn_16.layers.pool_2: pool 12 is larger than its 11x11 input",
    ),
    (lambda p: conv_1(p).update(filters=0), "models.cnn_16.layers.conv_1.filters: must be positive, got 0"),
    (lambda p: conv_1(p).update(filters="16"), "models.cnn_16.layers.conv_1.filters: expected an integer, got '16'"),
    (
        lambda p: conv_1(p).update(padding="full"),
        "models.cnn_16.layers.conv_1.padding: 'full' is not one of valid, same",
    ),
    (lambda p: conv_1(p).update(activation="relu6"), "models.cnn_16.layers.conv_1.activation: 'relu6' is not one of"),
    (
        lambda p: p["models"]["dnn"].update(
            layers={"drop": {"type": "dropout", "rate": 1.5}, "flatten": {"type": "flatten"}}
        ),
        "models.dnn.layers.drop.rate: must be in [0, 1), got 1.5",
    ),
    (
        lambda p: layers_of(p, "dnn").update(conv_1={"type": "conv", "filters": 8}),
        "models.dnn.layers.conv_1: needs an image-shaped input",
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
        lambda p: p["defaults"]["head"]["dense_2"].update(units=9),
        "defaults.head.dense_2: the last layer must be a dense layer of 10 units",
    ),
    (lambda p: p["models"].update(cnn_16=[1, 2]), "models.cnn_16: expected a mapping, got [1, 2]"),
    # null, NaN and infinity where a value is required
    *(
        (lambda p, key=key: conv_1(p).update({key: None}), f"models.cnn_16.layers.conv_1.{key}: expected a")
        for key in ("filters", "kernel", "strides", "l1", "l2", "padding")
    ),
    (
        lambda p: layers_of(p, "cnn_16")["pool_1"].update(pool=None),
        "models.cnn_16.layers.pool_1.pool: expected an integer, got null",
    ),
    (
        lambda p: layers_of(p, "cnn_16")["pool_1"].update(strides=None),
        "models.cnn_16.layers.pool_1.strides: expected an integer, got null",
    ),
    (
        lambda p: p["defaults"]["head"]["dense_1"].update(units=None),
        "defaults.head.dense_1.units: expected an integer, got null",
    ),
    (
        lambda p: p["defaults"].update(learning_rate=float("nan")),
        "defaults.learning_rate: expected a finite number, got nan",
    ),
    (
        lambda p: p["defaults"].update(learning_rate=float("inf")),
        "defaults.learning_rate: expected a finite number, got inf",
    ),
    (
        lambda p: conv_1(p).update(l2=float("-inf")),
        "models.cnn_16.layers.conv_1.l2: expected a finite number, got -inf",
    ),
    (lambda p: p["defaults"].update(epochs=None), "defaults.epochs: expected an integer, got null"),
    # the old list form, and names
    (
        lambda p: p["models"]["cnn_16"].update(layers=[{"type": "flatten"}]),
        "models.cnn_16.layers: is a list, the old form; declare a mapping from layer name to layer",
    ),
    (
        lambda p: layers_of(p, "cnn_16").update({"Conv 3": {"type": "flatten"}}),
        "models.cnn_16.layers.'Conv 3': 'Conv 3' is not a valid name (1 to 64 of a-z, 0-9, _ and -",
    ),
    (
        lambda p: layers_of(p, "cnn_16").update(dense_1={"type": "dense", "units": 4}),
        "defaults.head.dense_1: a layer of this name comes earlier; layer names must be unique",
    ),
]


@pytest.mark.parametrize(("change", "message"), BAD_MODELS, ids=[message for _, message in BAD_MODELS])
def test_bad_model_declarations_name_the_key(change, message):
    params = with_change(change)
    with pytest.raises(PipelineError) as error:
        model_config(params, "dnn" if "models.dnn" in message else "cnn_16")
    assert str(error.value).startswith(f"params.yaml: {message}"), str(error.value)


def test_every_problem_of_a_model_is_reported_at_once():
    def change(params):
        conv_1(params).update(filters=None, kernel="3", size=1)
        params["models"]["cnn_16"]["epochs"] = -1

    with pytest.raises(PipelineError) as error:
        model_config(with_change(change), "cnn_16")
    message = str(error.value)
    assert len(message.splitlines()) == 1
    for key in ("conv_1.size: unknown key", "conv_1.filters: expected", "conv_1.kernel: expected", "epochs: must be"):
        assert key in message, message


def test_a_huge_bad_value_is_quoted_short():
    with pytest.raises(PipelineError) as error:
        model_config(with_change(lambda p: conv_1(p).update(filters="x" * 100_000)), "cnn_16")
    assert len(str(error.value)) < 140 and "..." in str(error.value)


@pytest.mark.parametrize(
    "name", ["..", "../../somewhere", "a/b", "a b", "", "x; touch pwned", "Cnn", "-x", "x" * 65, 7]
)
def test_model_names_are_checked_when_params_are_read(tmp_path, name):
    params = with_change(lambda p: p["models"].update({name: p["models"]["dnn"]}))
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(PipelineError, match=r"models\..*: .* is not a valid name \(1 to 64 of a-z"):
        load_params(path)


def test_study_variant_names_are_checked_too(tmp_path):
    params = with_change(lambda p: p["overfitting"]["models"].update({"../x": {}}))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(PipelineError, match=r"overfitting\.models\.'\.\./x': '\.\./x' is not a valid name"):
        load_params(tmp_path / "params.yaml")


def test_a_misspelt_top_level_key_is_refused_not_ignored(tmp_path):
    params = with_change(lambda p: p.update(threds=2, **{"../x": 1}))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(PipelineError) as error:
        load_params(tmp_path / "params.yaml")
    assert "params.yaml: unknown key(s) threds, '../x' (expected seed, seeds, threads," in str(error.value)


def test_no_models_is_one_clear_error(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(with_change(lambda p: p.update(models={})), sort_keys=False))
    with pytest.raises(PipelineError, match=r"params.yaml: models: declares no model"):
        load_params(tmp_path / "params.yaml")


def test_the_yaml_anchors_of_the_study_still_share_the_layers():
    params = load_params(REPO / "params.yaml")
    base, more = (model_config(params, name, "overfitting") for name in ("base", "more_data"))
    assert base.layers == more.layers and [layer["name"] for layer in base.layers][:2] == ["conv_1", "pool_1"]


def test_removing_the_flatten_puts_dense_on_an_image():
    params = with_change(lambda p: layers_of(p, "cnn_16").pop("flatten"))
    with pytest.raises(PipelineError, match=r"defaults.head.dense_1: needs a flat input, got \(5, 5, 16\)"):
        model_config(params, "cnn_16")


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(PipelineError, match=r"params.yaml: models: no model named 'cnn_128' \(known: dnn, cnn_32"):
        model_config(PARAMS, "cnn_128")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"validation_fraction": 1.0}, "data.validation_fraction: must be in [0, 1), got 1.0"),
        ({"validation_fraction": "10%"}, "data.validation_fraction: expected a finite number, got '10%'"),
        ({"validation_fraction": None}, "data.validation_fraction: expected a finite number, got null"),
        ({"subset": 5}, "data.subset: must be in [100, inf), got 5"),
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


def test_check_stage_refuses_a_bad_value_and_writes_no_configuration(workdir):
    params = with_change(lambda p: conv_1(p).update(kernel=29))
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = run_module("stages.check_params", *CHECK, cwd=workdir)
    assert result.returncode == 1 and not (workdir / "configs").exists()
    assert result.stderr.strip().splitlines()[-1] == (
        "error: params.yaml: models.cnn_16.layers.conv_1: kernel 29 is larger than its 28x28 input"
    )
    assert "Traceback" not in result.stderr


def test_check_stage_writes_each_models_resolved_configuration(workdir):
    checked_configs(workdir)
    params = load_params(workdir / "params.yaml")
    written = read_run_config(workdir / "configs" / "cnn_32_stop90.json")
    assert written == run_config(params, "cnn_32_stop90")
    assert written.model.epochs == 10 and written.model.stop_at_accuracy == 0.9 and written.seeds == (0, 1, 2)
    assert read_run_config(workdir / "study_configs" / "base.json").model.train_fraction == 0.25
    assert read_data_config(workdir / "configs" / "data.json") == data_config(params)
    names = sorted(path.stem for path in (workdir / "configs").glob("*.json") if path.stem != "data")
    assert names == sorted(params["models"])


def test_train_stage_without_its_configuration_says_how_to_make_it(workdir):
    result = run_module("stages.train", "train@resnet", *STAGE_DIRS, cwd=workdir)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: configs/resnet.json: missing; `dvc repro` writes it (stage check_params)"


def load_text(tmp_path, text: str | bytes) -> dict:
    path = tmp_path / "params.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return load_params(path)


def test_numbers_are_read_as_dvc_writes_them(tmp_path):
    """`dvc exp run -S defaults.learning_rate=0.00001` writes 1e-05, a number in YAML 1.2 (not in 1.1)."""
    from dvc.utils.hydra import apply_overrides

    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    apply_overrides(tmp_path / "params.yaml", ["defaults.learning_rate=0.00001"])
    assert "learning_rate: 1e-05" in (tmp_path / "params.yaml").read_text()
    assert model_config(load_params(tmp_path / "params.yaml"), "cnn_16").learning_rate == 1e-05


BILLION_LAUGHS = (
    "seed: [&a [x, x, x, x, x, x, x, x, x], "
    + ", ".join(
        f"&{name} [{', '.join([f'*{previous}'] * 9)}]" for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "]\n"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed: 0\nseed: 1\n", "not valid YAML at line 2, column 1 (found duplicate key"),
        (b"seed: \xff\n", "not valid YAML (ReaderError)"),
        ("seed: " + "[" * 2000 + "]" * 2000 + "\nmodels: {dnn: {}}\n", "seed: expected an integer, got [[[...]]]"),
        ("seed: " + "9" * 5000 + "\n", "not valid YAML (ValueError)"),
        ("seed: 4294967296\nmodels: {dnn: {}}\n", "seed: must be in [0, 4.29497e+09]"),
        (
            BILLION_LAUGHS + "models: {dnn: {}}\n",
            "seed: expected an integer, got [['x', 'x', 'x', 'x', ...], [[...], [...]",
        ),
        ("models: {overfitting: {}}\n", "models.overfitting: 'overfitting' is reserved"),
        (
            "models: {dnn: {}}\noverfitting: {models: {overlay: {}}}\n",
            "overfitting.models.overlay: 'overlay' is reserved",
        ),
        ("seed: 0\n", "models: missing; declare at least one model"),
    ],
    ids=[
        "duplicate key",
        "not UTF-8",
        "deep",
        "huge integer",
        "seed too large",
        "alias bomb",
        "reserved",
        "overlay",
        "none",
    ],
)
def test_hostile_files_are_one_short_error(tmp_path, text, message):
    with pytest.raises(PipelineError) as error:
        params = load_text(tmp_path, text)
        seed(params)
    assert message in str(error.value) and len(str(error.value).splitlines()) == 1 and len(str(error.value)) < 300


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: p["defaults"].update(learning_rate=10**400),
            "defaults.learning_rate: expected a finite number, got",
        ),
        (
            lambda p: conv_1(p).update(type=["flatten"]),
            "models.cnn_16.layers.conv_1.type: unknown layer type ['flatten']",
        ),
        (lambda p: p["defaults"].update({"bad\nkey": 1}), "defaults.'bad\\nkey': unknown key"),
        (lambda p: layers_of(p, "cnn_16").update(input_layer={"type": "flatten"}), "'input_layer' is reserved"),
    ],
)
def test_more_hostile_values_are_one_error(change, message):
    with pytest.raises(PipelineError) as error:
        model_config(with_change(change), "cnn_16")
    assert message in str(error.value) and len(str(error.value).splitlines()) == 1, str(error.value)


@pytest.mark.parametrize(
    ("gates", "message"),
    [
        (None, "gates: expected a mapping, got null"),
        ({"mean_margin": "0.8", "seed_margin_sds": 3}, "gates.mean_margin: expected a finite number, got '0.8'"),
        ({"mean_margin": float("nan"), "seed_margin_sds": 3}, "gates.mean_margin: expected a finite number, got nan"),
        ({"mean_margin": -1, "seed_margin_sds": -2}, "gates.mean_margin: must be in [0, 1), got -1.0; gates.seed"),
        ({"mean_margin": 0.01}, "gates.seed_margin_sds: required"),
        ({"mean_margin": 0.01, "seed_margin_sds": 3, "min_test_accuracy": {}}, "gates.min_test_accuracy: unknown key"),
    ],
)
def test_bad_gate_settings(gates, message):
    with pytest.raises(PipelineError, match=re.escape(message)):
        gate_settings(with_change(lambda p: p.update(gates=gates)))


def test_gate_settings_and_comparisons_as_declared():
    assert gate_settings(PARAMS) == GateSettings(mean_margin=0.015, seed_margin_sds=3.0)
    pairs = comparisons(PARAMS)
    assert ("cnn_32", "dnn") in pairs and ("cnn_64_1conv", "cnn_64") in pairs
    assert all(other == "dnn" for name, other in pairs if name == "cnn_64")


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"cnn_32": ["resnet"]}, "comparisons.cnn_32[0]: no such model 'resnet'"),
        ({"cnn_32": ["cnn_32"]}, "comparisons.cnn_32[0]: a model compared with itself"),
        ({"cnn_32": "dnn"}, "comparisons.cnn_32: expected a list, got 'dnn'"),
        ({"resnet": ["dnn"]}, "comparisons.resnet: no such model"),
        ({"cnn_32": [None]}, "comparisons.cnn_32[0]: no such model null"),
    ],
)
def test_bad_comparisons(declared, message):
    with pytest.raises(PipelineError, match=re.escape(message)):
        comparisons(with_change(lambda p: p.update(comparisons=declared)))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "seeds: expected a list, got null"),
        (0, "seeds: expected a list, got 0"),
        ([], "seeds: expected 1 to 100 seeds, got 0"),
        (list(range(101)), "seeds: expected 1 to 100 seeds, got 101"),
        ([0, 1, 0], "seeds: seed 0 is listed twice"),
        ([0, -1], "seeds[1]: must be in [0, 4.29497e+09], got -1"),
        ([0, 1.5], "seeds[1]: expected an integer, got 1.5"),
        ([True], "seeds[0]: expected an integer, got True"),
    ],
)
def test_bad_seed_lists(value, message):
    with pytest.raises(PipelineError, match=re.escape(message)):
        seeds(with_change(lambda p: p.update(seeds=value)))


def test_seeds_as_declared_and_as_dvc_exp_run_sets_them():
    assert seeds(PARAMS) == (0, 1, 2)
    assert seeds(with_change(lambda p: p.update(seeds=[0, 1, 2, 3, 4]))) == (0, 1, 2, 3, 4)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ([1], "reference: expected a mapping, got [1]"),
        ({"dnn": None}, "reference.dnn: expected a mapping, got null"),
        ({"dnn": {"test_accuracy": True}}, "reference.dnn.test_accuracy: expected a finite number, got True"),
        ({"dnn": {"test_accuracy": 1.5}}, "reference.dnn.test_accuracy: must be in [0, 1], got 1.5"),
        ({"dnn": {"top5": 0.9}}, "reference.dnn.top5: unknown key"),
    ],
)
def test_bad_reference_figures(reference, message):
    with pytest.raises(PipelineError, match=re.escape(message)):
        reference_accuracies(with_change(lambda p: p.update(reference=reference)))


def test_reference_figures_may_be_partial():
    params = with_change(lambda p: p.update(reference={"dnn": {"train_accuracy": 0.9}}))
    assert reference_accuracies(params) == {"dnn": {"train_accuracy": 0.9, "test_accuracy": None}}


def error_of(read, change) -> str:
    with pytest.raises(PipelineError) as error:
        read(with_change(change))
    message = str(error.value)
    assert message.startswith("params.yaml: ") and len(message.splitlines()) == 1, message
    return message


def reported_keys(message: str) -> list[str]:
    """The key paths an error names, in order (a problem's own text may hold `; ` too, never `key: `)."""
    return re.findall(r"(?:^params\.yaml: |; )([\w.\[\]'-]+): ", message)


CNN_16 = "models.cnn_16"
SEVERAL_BAD_KEYS = {
    "insight": (
        insight_settings,
        lambda p: p["insight"].update(patches=0, templates_of="resnet", perplexity=3000),
        [
            "insight.patches: must be in [1, 25], got 0",
            "insight.perplexity: must be in [1, 100], got 3000.0",
            "insight.templates_of: no such model 'resnet'",
        ],
    ),
    "insight rules": (
        insight_settings,
        lambda p: p["insight"].update(projected=["dnn", "dnn"], projection_images=50, neighbours=40),
        ["insight.projected: 'dnn' is listed twice", "insight.neighbours: too many for the 40 images"],
    ),
    "report": (
        report_settings,
        lambda p: p["report"].update(shown=3, explained_images=[0, 10_000]),
        ["report.shown: unknown key", "report.explained_images[1]: must be in [0, 9999], got 10000"],
    ),
    "seeds": (
        seeds,
        lambda p: p.update(seeds=[0, -1, 0]),
        ["seeds[1]: must be in [0, 4.29497e+09], got -1", "seeds: seed 0 is listed twice"],
    ),
    "training": (
        training_settings,
        lambda p: p["training"].update(profile="quick", fast={"batch_multiplier": 0, "precision": "float32"}),
        ["training.profile: 'quick' is not one of", "training.fast.batch_multiplier: must be positive"],
    ),
    "comparisons": (
        comparisons,
        lambda p: p.update(comparisons={"resnet": ["dnn"], "cnn_32": ["cnn_32", "vgg"]}),
        [
            "comparisons.resnet: no such model 'resnet'",
            "comparisons.cnn_32[1]: no such model 'vgg'",
            "comparisons.cnn_32[0]: a model compared with itself",
        ],
    ),
    "model": (
        lambda p: model_config(p, "cnn_16"),
        lambda p: p["models"]["cnn_16"].update(epochs=0, layers={"Conv": {"type": "flatten"}, "x": 3}),
        [
            f"{CNN_16}.layers.Conv: 'Conv' is not a valid name",
            f"{CNN_16}.layers.x: expected a mapping, got 3",
            f"{CNN_16}.epochs: must be positive",
        ],
    ),
}


@pytest.mark.parametrize(("read", "change", "problems"), SEVERAL_BAD_KEYS.values(), ids=SEVERAL_BAD_KEYS)
def test_several_bad_keys_of_a_block_are_reported_together(read, change, problems):
    message = error_of(read, change)
    for problem in problems:
        assert problem in message, message
    assert reported_keys(message) == [problem.split(": ")[0] for problem in problems], message


def test_bad_names_of_models_and_variants_are_reported_together(tmp_path):
    def change(params):
        params["models"]["Big Model"] = params["models"].pop("cnn_16")
        params["overfitting"]["models"]["overlay"] = {}

    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(with_change(change), sort_keys=False))
    message = error_of(lambda _: load_params(path), lambda _: None)
    assert "models.'Big Model': 'Big Model' is not a valid name" in message
    assert "overfitting.models.overlay: 'overlay' is reserved" in message


def test_a_list_of_many_bad_values_is_one_short_error():
    message = error_of(report_settings, lambda p: p["report"].update(explained_images=[-1] * 10_000))
    assert message.endswith("; and 9990 more problems") and len(message) < 700, message
