"""The training path: remedies built as declared, early stopping, profiles, strategies, saving."""

import json
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import fields
from pathlib import Path

import keras
import numpy as np
import psutil
import pytest
import yaml

from pipeline.configuration.params import TrainingSettings, model_config, training_settings
from pipeline.errors import PipelineError
from pipeline.training import cluster, fit, runtime
from pipeline.training.models import build_model, load_model
from pipeline.training.runtime import pin_threads, seed_everything
from tests.conftest import REPO, checked_configs, config_of, prepared_dir
from tests.test_models import tiny_dataset

pin_threads(2)
PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
SETTINGS = training_settings(PARAMS)
SMALL = {
    "conv_1": {"type": "conv", "filters": 4, "kernel": 3},
    "pool_1": {"type": "maxpool", "pool": 2},
    "flatten": {"type": "flatten"},
    "dense_1": {"type": "dense", "units": 10, "activation": "softmax"},
}


def study_model(name: str) -> keras.Model:
    return build_model(model_config(PARAMS, name, "overfitting"))


def layers_of(model: keras.Model, kind: type) -> list:
    return [layer for layer in model.layers if isinstance(layer, kind)]


def test_dropout_variant_has_its_dropout_layers():
    rates = [layer.rate for layer in layers_of(study_model("dropout"), keras.layers.Dropout)]
    assert rates == [0.5, 0.5]
    assert layers_of(study_model("base"), keras.layers.Dropout) == []


def test_l2_variant_penalises_every_weight_layer():
    model = study_model("l2")
    weighted = layers_of(model, keras.layers.Conv2D) + layers_of(model, keras.layers.Dense)
    penalties = [layer.kernel_regularizer.get_config()["l2"] for layer in weighted[:-1]]
    assert penalties == pytest.approx([0.001] * 3)
    assert all(layer.kernel_regularizer is None for layer in study_model("base").layers if hasattr(layer, "kernel"))


def test_smaller_variant_has_fewer_parameters():
    assert study_model("smaller").count_params() < study_model("base").count_params() / 10


def test_more_data_and_early_stopping_differ_from_base_only_in_training():
    base, more, early = (model_config(PARAMS, name, "overfitting") for name in ("base", "more_data", "early_stopping"))
    assert more.layers == base.layers == early.layers
    assert (base.train_fraction, more.train_fraction) == (0.25, 1.0)
    assert (base.early_stopping_patience, early.early_stopping_patience) == (None, 3)


def test_augmentation_changes_images_only_while_training():
    model = study_model("augmentation")
    augmentations = [layer for layer in model.layers if layer.name.startswith("random_")]
    assert [type(layer).__name__ for layer in augmentations] == ["RandomTranslation", "RandomFlip", "RandomZoom"]
    images, _ = tiny_dataset(16)
    augment = keras.Sequential(augmentations)
    assert np.array_equal(keras.ops.convert_to_numpy(augment(images, training=False)), images)
    assert not np.allclose(keras.ops.convert_to_numpy(augment(images, training=True)), images)
    assert np.array_equal(model.predict(images, verbose=0), model.predict(images, verbose=0))


def test_early_stopping_keeps_the_weights_of_the_lowest_validation_loss():
    """Validation labels are noise, so the validation loss rises as the model fits the training set."""
    seed_everything(0)
    train_split = tiny_dataset(256)
    validation = (tiny_dataset(128)[0], np.random.default_rng(1).integers(0, 10, 128).astype(np.uint8))
    snapshots = []
    keep = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append((logs["val_loss"], snapshots_model[0].get_weights()))
    )
    config = config_of(SMALL, epochs=30, learning_rate=0.01, early_stopping_patience=2)
    snapshots_model = []

    class Remember(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            snapshots_model.append(self.model)

    model, history, _ = fit.train(config, SETTINGS, 0, train_split, validation, [Remember(), keep], verbose=0)
    losses = [loss for loss, _ in snapshots]
    best = int(np.argmin(losses))
    assert len(losses) == best + 3 < 30, "stops two epochs after the lowest validation loss"
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), snapshots[best][1], strict=True))
    assert history.history["val_loss"] == pytest.approx(losses)


def test_early_stopping_without_validation_data_is_a_clear_error():
    config = config_of(SMALL, early_stopping_patience=2)
    empty = (np.zeros((0, 28, 28, 1), np.float32), np.zeros(0, np.uint8))
    with pytest.raises(PipelineError, match="validation_fraction must be above 0"):
        fit.train(config, SETTINGS, 0, tiny_dataset(64), empty, verbose=0)


def test_training_share_is_stratified_and_seeded():
    images, labels = np.zeros((1000, 28, 28, 1), np.float32), (np.arange(1000) % 10).astype(np.uint8)
    share = fit.training_share((images, labels), 0.25, seed=0)
    assert np.bincount(share[1]).tolist() == [25] * 10
    assert fit.training_share((images, labels), 1.0, seed=0)[1] is labels


@pytest.mark.slow
def test_steps_per_execution_does_not_change_the_math():
    """Several steps per compiled call is an execution detail: the weights come out identical."""

    def weights(steps: int) -> list[np.ndarray]:
        seed_everything(3)
        settings = TrainingSettings(steps, "default", "none", 4, "mixed_bfloat16")
        config = config_of(SMALL, epochs=2)
        model, _, _ = fit.train(config, settings, 3, tiny_dataset(320), tiny_dataset(64), verbose=0)
        return model.get_weights()

    one, many = weights(1), weights(64)
    assert all(np.array_equal(a, b) for a, b in zip(one, many, strict=True))


def test_plan_scales_batch_and_learning_rate_with_replicas_and_profile(monkeypatch):
    monkeypatch.setattr(fit, "cpu_has_amx", lambda: True)
    config = config_of(SMALL)
    fast = TrainingSettings(64, "fast", "none", 4, "mixed_bfloat16")
    plan = fit.training_plan(config, fast, replicas=1)
    assert (plan.batch_size, plan.learning_rate, plan.precision) == (128, pytest.approx(0.002), "mixed_bfloat16")
    plan = fit.training_plan(config, SETTINGS, replicas=2)
    assert (plan.batch_size, plan.learning_rate, plan.steps_per_execution) == (64, pytest.approx(0.001 * 2**0.5), 1)
    assert fit.training_plan(config, SETTINGS, replicas=1) == fit.Plan(32, 0.001, "float32", 1, 64)


def test_fast_profile_falls_back_to_float32_without_amx(monkeypatch, capsys):
    monkeypatch.setattr(fit, "cpu_has_amx", lambda: False)
    fast = TrainingSettings(64, "fast", "none", 4, "mixed_bfloat16")
    assert fit.training_precision(fast) == "float32"
    assert "no GPU and no AMX on this CPU, where mixed_bfloat16 is slower: float32" in capsys.readouterr().out


def test_mixed_precision_model_keeps_a_float32_output():
    model = build_model(config_of(SMALL), precision="mixed_bfloat16")
    assert model.layers[0].compute_dtype == "bfloat16" and model.layers[0].variable_dtype == "float32"
    assert model.layers[-1].compute_dtype == "float32"
    assert keras.mixed_precision.global_policy().name == "float32", "the global policy is restored"


def test_saved_model_has_the_same_bytes_every_time(tmp_path):
    model = build_model(config_of(SMALL))
    first, second = tmp_path / "a.keras", tmp_path / "b.keras"
    fit.save_model(model, first)
    fit.save_model(model, second)
    assert first.read_bytes() == second.read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.keras", "b.keras"], "no temporary files left"
    loaded = load_model(first)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True))


SAVE_IN_A_NEW_PROCESS = """
import sys
from pipeline.training.runtime import seed_everything
from pipeline.training.models import build_model
from pipeline.training.fit import save_model
from tests.conftest import config_of
from tests.test_training import SMALL
seed_everything(0)
save_model(build_model(config_of(SMALL), precision=sys.argv[2]), __import__("pathlib").Path(sys.argv[1]))
"""


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
@pytest.mark.slow
def test_two_processes_save_the_same_model_with_the_same_bytes(tmp_path, precision):
    """Across processes too: Keras numbers shared objects by memory address, renumbered on saving."""
    paths = [tmp_path / f"{index}.keras" for index in range(2)]
    for path in paths:
        result = subprocess.run(
            [sys.executable, "-c", SAVE_IN_A_NEW_PROCESS, str(path), precision],
            env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert b'"shared_object_id": 1' in zipfile.ZipFile(paths[0]).read("config.json")


def test_multi_worker_without_a_cluster_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(PipelineError, match=r"training.strategy: multi_worker needs the cluster in \$TF_CONFIG"):
        runtime.distribution_strategy("multi_worker")


def worker(strategy: str, logical_cpus: int, env: dict | None = None) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.train_worker", strategy, str(logical_cpus)],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def result_of(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def single_device() -> dict:
    return result_of(worker("none", 1))


@pytest.mark.slow
def test_mirrored_strategy_over_two_cpus_matches_one_device(single_device):
    """Two replicas see a global batch twice as large: results agree within 0.05 accuracy."""
    mirrored = result_of(worker("mirrored", 2))
    assert (single_device["replicas"], mirrored["replicas"]) == (1, 2)
    assert single_device["val_accuracy"] > 0.9
    assert mirrored["val_accuracy"] == pytest.approx(single_device["val_accuracy"], abs=0.05)


@pytest.mark.slow
def test_two_workers_train_as_one_process_with_their_global_batch(tmp_path):
    """Two worker processes on loopback (pipeline.training.cluster, one thread each) end with the same
    weights, bit for bit, and match one process fed the same global batch within 1e-5: weights,
    training losses and the validation pass (Keras's evaluate path) after every epoch.
    """
    single = subprocess.run(
        [sys.executable, "-m", "tests.train_worker", "none", "1", str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr[-3000:]
    cluster = subprocess.run(
        [sys.executable, "-m", "pipeline.training.cluster", "--local", "2", "--timeout", "300", "--",
         sys.executable, "-m", "tests.train_worker", "multi_worker", "1", str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=360,
    )  # fmt: skip
    assert cluster.returncode == 0, cluster.stderr[-3000:]
    workers = [np.load(tmp_path / f"{index}.npz") for index in (0, 1)]
    one_process = np.load(tmp_path / "single.npz")
    assert [int(run["replicas"]) for run in (*workers, one_process)] == [2, 2, 1]
    weight_names = [name for name in one_process.files if name.startswith("weight_")]
    for name in weight_names:
        assert workers[0][name].tobytes() == workers[1][name].tobytes(), name
        np.testing.assert_allclose(workers[0][name], one_process[name], rtol=0, atol=1e-5, err_msg=name)
    for log in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(workers[0][log], one_process[log], rtol=0, atol=1e-5, err_msg=log)
    assert one_process["val_accuracy"][-1] > 0.9  # it learnt: the comparison is not of two untrained models
    assert (tmp_path / "0.keras").read_bytes() == (tmp_path / "1.keras").read_bytes()
    assert isinstance(load_model(tmp_path / "0.keras"), keras.Sequential)


@pytest.mark.slow
def test_the_train_stage_on_two_machines_gives_both_the_same_models(tmp_path):
    """README's two-machine commands, each "machine" a checkout of its own: `pipeline.training.cluster
    --workers ... --index i -- python -m stages.train`. Seeds train one after another over the
    cluster, and each machine ends with the same models and histories, byte for byte."""
    ports = cluster.free_loopback_ports(2)
    workers = ",".join(f"127.0.0.1:{port}" for port in ports)
    processes = []
    for index in range(2):
        checkout = tmp_path / f"machine_{index}"
        checkout.mkdir()
        params = yaml.safe_load((REPO / "params.yaml").read_text())
        params["seeds"], params["training"]["strategy"] = [0, 1], "multi_worker"
        params["models"]["cnn_16"]["epochs"] = 1
        (checkout / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        checked_configs(checkout)
        prepared_dir(checkout / "prepared", count=300)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "pipeline.training.cluster", "--workers", workers, "--index", str(index), "--",
             sys.executable, "-m", "stages.train", "cnn_16", "--configs", "configs", "--data", "prepared",
             "--models-dir", "models", "--history-dir", "history"],
            cwd=checkout, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        ))  # fmt: skip
    try:
        outputs = [process.communicate(timeout=300) for process in processes]
    finally:
        for process in processes:
            process.kill()
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err[-3000:]
        assert "cnn_16: batch 64, learning rate 0.00141421, float32, 2 replica(s), 1 steps per compiled call" in out
    files = [
        {path.relative_to(checkout): path.read_bytes() for path in sorted(checkout.glob("[mh]*/cnn_16.seeds/*"))}
        for checkout in (tmp_path / "machine_0", tmp_path / "machine_1")
    ]
    assert [str(name) for name in files[0]] == [
        "history/cnn_16.seeds/seed_0.csv", "history/cnn_16.seeds/seed_1.csv", "models/cnn_16.seeds/seed_0.keras",
        "models/cnn_16.seeds/seed_0.plan.json", "models/cnn_16.seeds/seed_1.keras",
        "models/cnn_16.seeds/seed_1.plan.json",
    ]  # fmt: skip
    assert files[0] == files[1]
    plan = json.loads(files[0][Path("models/cnn_16.seeds/seed_0.plan.json")])
    assert plan == {
        "batch_size": 64,
        "learning_rate": pytest.approx(0.001 * 2**0.5),
        "precision": "float32",
        "replicas": 2,
        "steps_per_execution": 1,
    }, "the plan records what the cluster trained with"


def test_a_failing_worker_stops_the_local_cluster_and_all_it_started(tmp_path):
    """Its peer would wait for it forever; the launcher stops it, and what it started, and exits
    with the failure's status."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.training.cluster", "--local", "2", "--timeout", "60", "--",
         sys.executable, "-c", "import json, os, subprocess, sys, time\n"
         "if json.loads(os.environ['TF_CONFIG'])['task']['index'] == 1: time.sleep(1); sys.exit(3)\n"
         f"child = subprocess.Popen(['sleep', '60'])\nopen({str(tmp_path / 'child')!r}, 'w').write(str(child.pid))\n"
         "time.sleep(60)"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    child = int((tmp_path / "child").read_text())
    time.sleep(0.5)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--workers", "a:1,b", "--index", "0", "--", "true"], "--workers: 'b' is not host:port"),
        (["--workers", "a:1,b:99999", "--index", "0", "--", "true"], "--workers: 'b:99999' is not host:port"),
        (["--workers", "a:1,b:2", "--index", "2", "--", "true"], "--index 2: the cluster has workers 0 to 1"),
        (["--workers", "a:1,b:2", "--", "true"], "--workers needs --index"),
        (["--local", "2", "--"], "no command given"),
        (["--local", "0", "--", "true"], "--local 0: between 1 and 64 workers"),
        (["--local", "2", "--timeout", "nan", "--", "true"], "--timeout nan: a number of seconds above 0"),
        (["--workers", "a:1,b:\u00b2", "--index", "0", "--", "true"], "--workers: 'b:\u00b2' is not host:port"),
    ],
)
def test_cluster_arguments_are_checked(arguments, message):
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.training.cluster", *arguments],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"error: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_worker_gets_its_tf_config():
    config = json.loads(cluster.tf_config(["hosta:2222", "hostb:2222"], 1))
    assert config == {"cluster": {"worker": ["hosta:2222", "hostb:2222"]}, "task": {"type": "worker", "index": 1}}


def test_a_train_fraction_that_leaves_fewer_images_than_classes_is_an_error():
    with pytest.raises(PipelineError, match=r"train_fraction 0.01 of 256 training images leaves 3; at least 10"):
        fit.training_share(tiny_dataset(256), 0.01, seed=0)


def test_the_plan_reader_expects_what_training_writes():
    """pipeline.analysis.results reads the plan without importing TensorFlow, so it names the fields itself."""
    from pipeline.analysis.results import PLAN_KEYS

    assert {field.name: field.type for field in fields(fit.Plan)} == PLAN_KEYS
