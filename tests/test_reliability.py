"""Reliability and safety: fuzzed input files, interrupted stages, unwritable outputs, safe loading."""

import re
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import psutil
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.data.arrays import load_split
from pipeline.data.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx
from pipeline.errors import PipelineError
from pipeline.files.names import FIGURES, METRICS, PER_SEED, SEED_TABLE, SHAPES_PAGE, SHAPES_TABLE
from pipeline.training.models import load_model
from pipeline.training.workers import worker_count
from tests.conftest import (
    REPO,
    checked_configs,
    idx_bytes,
    prepared_dir,
    run_module,
    start_module,
    synthetic_split,
    write_raw_dir,
)

SUFFIXES = (PER_SEED, SEED_TABLE, METRICS, SHAPES_PAGE, SHAPES_TABLE, FIGURES)
VALID_IMAGES = idx_bytes(synthetic_split(3)[0], IMAGES_MAGIC)
VALID_LABELS = idx_bytes(synthetic_split(3)[1], LABELS_MAGIC)
FUZZ = settings(max_examples=400, deadline=1000, suppress_health_check=[HealthCheck.too_slow])


def parse_or_clear_error(payload: bytes, magic: int) -> None:
    """The reader returns a well-shaped array or raises its own error: nothing else."""
    try:
        array = parse_idx(payload, "fuzzed.idx", magic)
    except PipelineError as error:
        assert str(error).startswith("fuzzed.idx: ")
        return
    assert array.dtype == np.uint8 and array.ndim == (3 if magic == IMAGES_MAGIC else 1)
    assert array.nbytes == len(payload) - 4 - 4 * array.ndim


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from([IMAGES_MAGIC, LABELS_MAGIC]))
def test_arbitrary_bytes_give_only_the_readers_error(payload, magic):
    parse_or_clear_error(payload, magic)


@FUZZ
@given(st.data())
def test_mutated_valid_files_give_only_the_readers_error(data):
    valid, magic = data.draw(st.sampled_from([(VALID_IMAGES, IMAGES_MAGIC), (VALID_LABELS, LABELS_MAGIC)]))
    payload = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(payload) - 1))
        payload[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(payload)))
    parse_or_clear_error(bytes(payload[:cut]) + data.draw(st.binary(max_size=50)), magic)


def test_huge_declared_dimensions_are_refused_without_allocating():
    header = struct.pack(">4i", IMAGES_MAGIC, 2**31 - 1, 2**31 - 1, 2**31 - 1)
    with pytest.raises(PipelineError, match=r"expected .* for an array of shape"):
        parse_idx(header + bytes(100), "huge.idx", IMAGES_MAGIC)


@pytest.mark.slow
def test_a_training_stage_killed_mid_epoch_leaves_no_model_or_history_and_no_worker(workdir):
    """SIGKILL to the stage alone gives no chance to clean up: its worker processes, which train
    the seeds, must notice and exit, and no model or history may ever have been written."""
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params["models"]["cnn_64"]["epochs"] = 500
    params["seeds"] = [0, 1]
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    checked_configs(workdir)
    data = prepared_dir(workdir / "prepared")
    out = workdir / "out" / "cnn_64.seeds"
    process = start_module(
        "stages.train", "cnn_64", "--configs", "configs", "--data", str(data), "--models-dir", "out",
        "--history-dir", "out", cwd=workdir,
    )  # fmt: skip
    partial = out / "seed_0.csv.partial"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(partial.read_text().splitlines() if partial.exists() else []) < 3:
        time.sleep(0.2)
    assert partial.exists(), "training never got through two epochs"
    children = psutil.Process(process.pid).children()
    workers = [child for child in children if "spawn_main" in " ".join(child.cmdline())]  # not the resource tracker
    assert len(workers) == worker_count(2), "one worker process per seed, up to one per core"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert alive == [], "a worker outlived its stage"
    assert not any(path.suffix in (".keras", ".csv") for path in out.iterdir())


@pytest.mark.slow
def test_a_training_whose_loss_turns_nan_fails_and_saves_nothing(workdir):
    """A learning rate of 1e30 diverges at once: Keras's TerminateOnNaN stops it, the stage says so."""
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params["models"]["dnn"]["learning_rate"] = 1e30
    params["seeds"] = [0]
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    checked_configs(workdir)
    data = prepared_dir(workdir / "prepared", count=200)
    result = run_module(
        "stages.train", "dnn", "--configs", "configs", "--data", str(data), "--models-dir", "out",
        "--history-dir", "out", cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        "error: dnn seed 0: the training loss became NaN or infinite; lower the learning rate (1e+30)" in result.stderr
    )
    assert not (workdir / "out" / "dnn.seeds").exists(), "the failed stage's model and history folders stay"


def test_an_unwritable_output_directory_is_a_clear_error(workdir):
    """An output path through a regular file: unwritable even for root, as CI runs."""
    raw = write_raw_dir(workdir / "raw")
    blocker = workdir / "blocker"
    blocker.write_text("a file, not a directory")
    checked_configs(workdir)
    result = run_module(
        "stages.prepare", "--raw", str(raw), "--data-config", "configs/data.json", "--out", str(blocker / "prepared"),
        "--summary", "data.json", cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {blocker / 'prepared.partial'}: Not a directory")


def test_prepared_arrays_holding_pickled_objects_are_refused(tmp_path):
    np.save(tmp_path / "x_train.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "y_train.npy", np.zeros(1, np.uint8))
    with pytest.raises(PipelineError, match=r"x_train.npy: cannot load the prepared array .*pickle"):
        load_split(tmp_path, "train")


def test_a_model_with_a_lambda_layer_is_refused_by_safe_mode(tmp_path):
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Lambda(lambda x: x * 2)(keras.layers.Flatten()(inputs))
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(PipelineError, match=rf"{path}: cannot load the Keras model .*safe_mode"):
        load_model(path)


def source_files() -> list[Path]:
    return [path for folder in ("pipeline", "stages", "benchmarks") for path in (REPO / folder).glob("*.py")]


def test_no_pickle_or_unsafe_loading_in_the_code():
    unsafe = re.compile(r"\bimport pickle\b|allow_pickle=True|safe_mode=False|yaml\.(unsafe_)?load\(|typ=.unsafe")
    offenders = [f"{path.name}: {line.strip()}" for path in source_files()
                 for line in path.read_text().splitlines() if unsafe.search(line)]  # fmt: skip
    assert offenders == []


def test_no_shell_command_is_built_from_parameters():
    """Stages run as argument lists; dvc.yaml interpolates nothing from params.yaml into a command (only
    its own `vars: paths`), and every output made from a model name ends in one of pipeline/files/names.py's
    suffixes, so that the path DVC deletes before the stage runs is never a folder of other files."""
    shell = re.compile(r"shell=True|os\.system|os\.popen")
    assert [path.name for path in source_files() if shell.search(path.read_text())] == []
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    commands = [stage.get("do", stage)["cmd"] for stage in stages.values()]
    assert len(commands) == len(stages) > 5
    assert [cmd for cmd in commands if re.search(r"\$\{(?!paths\.)", cmd)] == []
    per_model = [stage["do"] for stage in stages.values() if "do" in stage]
    for stage in per_model:
        assert stage["cmd"].split()[3] == '"$DVC_STAGE"', stage["cmd"]
        for out in stage.get("outs", []) + stage.get("metrics", []):
            path = next(iter(out)) if isinstance(out, dict) else out
            assert "${key}" in path and path.split("${key}")[1] in SUFFIXES, path
    assert "persist" not in (REPO / "dvc.yaml").read_text()


def test_params_yaml_cannot_redefine_the_paths_dvc_yaml_declares(tmp_path):
    """`dvc exp run -S paths.raw=...` writes `paths` into params.yaml, which DVC also reads as
    variables: it must stop at parsing, before any command runs, rather than override dvc.yaml's."""
    shutil.copy(REPO / "dvc.yaml", tmp_path / "dvc.yaml")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    hostile = f"x; touch {tmp_path / 'pwned'}"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**params, "paths": {"raw": hostile}}))
    subprocess.run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    result = subprocess.run([sys.executable, "-m", "dvc", "repro", "download"], cwd=tmp_path, capture_output=True,
                            text=True)  # fmt: skip
    assert result.returncode != 0 and "cannot redefine 'paths.raw'" in result.stderr, result.stderr
    assert not (tmp_path / "pwned").exists()
