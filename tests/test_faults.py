"""Faults of the machine: a training process killed, a disk that fills, a model too big for the
memory, and rules that would refuse a model only after it trained. Each is one clear line, with
nothing left behind, and the refusals come before any data loads."""

import errno
import os
import re
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import psutil
import pytest
import yaml

from pipeline.architecture.memory import MIB, RUNTIME_BYTES, training_memory
from pipeline.configuration.params import load_params, memory_estimate, model_config
from pipeline.errors import PipelineError
from pipeline.training import workers
from pipeline.training.workers import run_side_by_side, worker_count
from tests.conftest import CHECK, REPO, checked_configs, prepared_dir, run_module, start_module

POOLING_FIRST = {
    "pool_1": {"type": "maxpool"}, "conv_1": {"type": "conv", "filters": 8}, "flatten": {"type": "flatten"},
}  # fmt: skip
TRAIN = ("--configs", "configs", "--data", "prepared", "--models-dir", "models", "--history-dir", "history")


def edit_params(workdir: Path, edit) -> None:
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    edit(params)
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def exits_with(code: int) -> None:
    """Ends its process at once with `code`, without a result; 0 means work for a while instead."""
    if code:
        os._exit(code)
    time.sleep(30)


def killed_by(signal_number: int) -> None:
    os.kill(os.getpid(), signal_number)
    time.sleep(60)


def test_a_job_whose_process_is_killed_fails_at_once_naming_it_and_the_signal():
    started = time.monotonic()
    with pytest.raises(PipelineError) as raised:
        run_side_by_side(killed_by, [(signal.SIGKILL,)], workers=1, labels=["cnn_16 seed 2"])
    assert str(raised.value) == "cnn_16 seed 2: the training process was killed (SIGKILL); out of memory?"
    assert time.monotonic() - started < 30


def test_a_job_whose_process_exits_without_a_result_is_named_with_its_status():
    with pytest.raises(PipelineError, match=r"^job 2: the training process exited with status 3 before it finished$"):
        run_side_by_side(exits_with, [(0,), (3,)], workers=2)


@pytest.mark.slow
def test_a_dead_job_stops_the_others_and_leaves_no_process():
    before = set(psutil.Process().children())
    with pytest.raises(PipelineError, match="killed"):
        run_side_by_side(killed_by, [(signal.SIGKILL,), (signal.SIGSTOP,)], workers=2)
    assert set(psutil.Process().children()) - before == set(), "a job's process outlived the failure"


def test_workers_are_as_many_as_the_free_memory_holds(monkeypatch):
    monkeypatch.setattr(workers, "cores", lambda: 2)
    monkeypatch.setattr(workers, "available_memory", lambda: 2500 * MIB)
    assert worker_count(3) == 3, "without an estimate, three seeds share two cores"
    assert worker_count(3, memory_each=1000 * MIB) == 2
    assert worker_count(3, memory_each=5000 * MIB) == 1, "one at a time rather than none"


def test_the_estimate_counts_weights_optimizer_activations_and_images():
    estimate = training_memory(parameters=1000, values_per_image=5000, optimizer="adam", batch_size=10, images_held=3)
    assert estimate.weights == 1000 * 4 * 4, "weights, gradients and Adam's two moments, float32"
    assert estimate.activations == 5000 * 10 * 4 * 3
    assert estimate.data == 3 * 784 * 4
    assert estimate.total == RUNTIME_BYTES + estimate.weights + estimate.activations + estimate.data
    assert training_memory(1000, 5000, "sgd", 10, 3).weights == 1000 * 4 * 2


def test_the_estimate_follows_the_models_layers_and_data():
    params = load_params(REPO / "params.yaml")
    dnn, cnn = (memory_estimate(params, model_config(params, name)) for name in ("dnn", "cnn_64"))
    assert dnn.parameters == 101_770 and cnn.parameters == 243_786, "as the shape tables count them"
    assert cnn.activations > 10 * dnn.activations, "64 feature maps of 26x26 per image against 128 units"
    params["data"]["subset"] = 1000
    assert memory_estimate(params, model_config(params, "dnn")).data == 1000 * 784 * 4


def refused_before_tensorflow(workdir: Path, edit) -> str:
    """check_params' one error line for params.yaml edited by `edit`, before any stage that trains:
    given in seconds, without importing TensorFlow, leaving no output behind."""
    edit_params(workdir, edit)
    started = time.monotonic()
    result = run_module("stages.check_params", *CHECK, cwd=workdir, env={"PYTHONPROFILEIMPORTTIME": "1"})
    seconds = time.monotonic() - started
    error = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert result.returncode == 1 and len(error) == 1, result.stderr[-2000:]
    assert not re.search(r"\| +tensorflow$", result.stderr, re.MULTILINE), "TensorFlow was imported first"
    assert seconds < 5, f"refused after {seconds:.1f} s"
    assert not (workdir / "configs").exists() and not (workdir / "study_configs").exists()
    return error[0]


def test_ten_million_filters_are_refused_before_tensorflow(workdir):
    error = refused_before_tensorflow(
        workdir, lambda params: params["models"]["cnn_16"]["layers"]["conv_1"].update(filters=10_000_000)
    )
    assert re.fullmatch(
        r"error: params\.yaml: models\.cnn_16: training needs about [\d,]+ MB per process \(1,540,052,634 parameters,"
        r" batches of 32\), more than this machine's [\d,]+ MB",
        error,
    ), error


def test_a_hundred_million_units_are_refused_before_tensorflow(workdir):
    def edit(params: dict) -> None:
        params["models"]["dnn"]["head"] = {
            "dense_1": {"type": "dense", "units": 100_000_000, "activation": "relu"},
            "dense_2": {"type": "dense", "units": 10, "activation": "softmax"},
        }

    error = refused_before_tensorflow(workdir, edit)
    assert re.fullmatch(
        r"error: params\.yaml: models\.dnn: training needs about [\d,]+ MB per process \(79,500,000,010 parameters,"
        r" batches of 32\), more than this machine's [\d,]+ MB",
        error,
    ), error


def test_a_batch_larger_than_the_training_images_names_both_numbers(workdir):
    error = refused_before_tensorflow(workdir, lambda params: params["defaults"].update(batch_size=1_000_000_000))
    assert error.startswith(
        "error: params.yaml: defaults.batch_size: 1,000,000,000 is more than the 54,000 training images"
    ), error


def test_a_model_that_pools_first_is_refused_before_training_not_after(workdir):
    """Its feature maps have one channel, so report.activation_channel (3) cannot be drawn: the
    figures stage would refuse it after training; the train stage of any model refuses it first."""
    error = refused_before_tensorflow(
        workdir,
        lambda params: params["models"]["cnn_16"].update(layers=POOLING_FIRST),
    )
    assert error == (
        "error: params.yaml: report.activation_channel: 3 is not a channel of models.cnn_16, whose narrowest"
        " convolution or pooling output has 1 channels"
    )


def test_a_study_without_its_base_is_refused_by_the_first_training(workdir):
    error = refused_before_tensorflow(workdir, lambda params: params["overfitting"]["models"].pop("base"))
    assert error == "error: params.yaml: overfitting.models: needs a `base` variant to compare the remedies with"


def worker_processes(stage: subprocess.Popen) -> list[psutil.Process]:
    children = psutil.Process(stage.pid).children()
    return [child for child in children if "spawn_main" in " ".join(child.cmdline())]  # not the resource tracker


@pytest.mark.slow
def test_a_worker_killed_by_sigkill_fails_the_stage_in_seconds_and_a_rerun_trains(workdir):
    """What the out-of-memory killer does: one seed's process gone without a word. The stage must
    not wait for it forever: it stops the other seed, removes everything and names the seed."""
    edit_params(workdir, lambda params: (params["models"]["dnn"].update(epochs=1000), params.update(seeds=[0, 1])))
    checked_configs(workdir)
    prepared_dir(workdir / "prepared", count=200)
    stage = start_module("stages.train", "dnn", *TRAIN, cwd=workdir, stderr=subprocess.PIPE)
    partial = workdir / "history" / "dnn.seeds" / "seed_0.csv.partial"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(partial.read_text().splitlines() if partial.exists() else []) < 3:
        time.sleep(0.2)
    assert partial.exists(), "training never got through two epochs"
    running = worker_processes(stage)
    assert len(running) == 2
    running[0].send_signal(signal.SIGKILL)
    killed = time.monotonic()
    _, stderr = stage.communicate(timeout=60)
    assert time.monotonic() - killed < 10, "the stage went on after its worker died"
    assert stage.returncode == 1 and "Traceback" not in stderr
    killed_line = r"^error: dnn seed [01]: the training process was killed \(SIGKILL\); out of memory\?$"
    assert re.search(killed_line, stderr, re.MULTILINE), stderr[-2000:]
    _, alive = psutil.wait_procs(running, timeout=10)
    assert alive == [], "a worker outlived its stage"
    assert not (workdir / "models" / "dnn.seeds").exists() and not (workdir / "history" / "dnn.seeds").exists()

    edit_params(workdir, lambda params: params["models"]["dnn"].update(epochs=1))
    checked_configs(workdir)
    again = run_module("stages.train", "dnn", *TRAIN, cwd=workdir)
    assert again.returncode == 0, again.stderr[-2000:]
    assert sorted(path.name for path in (workdir / "models" / "dnn.seeds").iterdir()) == [
        "seed_0.keras", "seed_0.plan.json", "seed_1.keras", "seed_1.plan.json",
    ]  # fmt: skip


def test_a_model_that_cannot_be_saved_leaves_no_file_and_says_why(tmp_path, monkeypatch):
    import keras

    from pipeline.training.fit import save_model

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(PipelineError) as raised:
        save_model(model, tmp_path / "seed_0.keras")
    assert str(raised.value) == f"{tmp_path / 'seed_0.keras'}: cannot save the model (No space left on device)"
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 256 KB filesystem (a tmpfs), where the user may mount one: too small for any model."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.mark.slow
def test_a_full_disk_while_saving_gives_one_line_and_leaves_nothing(workdir, small_disk):
    edit_params(workdir, lambda params: (params["models"]["dnn"].update(epochs=1), params.update(seeds=[0])))
    checked_configs(workdir)
    prepared_dir(workdir / "prepared", count=200)
    args = ("--configs", "configs", "--data", "prepared", "--models-dir", str(small_disk), "--history-dir", "history")
    result = run_module("stages.train", "dnn", *args, cwd=workdir)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert (
        result.stderr.splitlines()[-1]
        == (f"error: {small_disk / 'dnn.seeds' / 'seed_0.keras'}: cannot save the model (No space left on device)")
        and result.stderr.count("error:") == 1
    )
    assert list(small_disk.iterdir()) == [], "a partial model or a plan without its model stayed"
    assert not (workdir / "history" / "dnn.seeds").exists()
