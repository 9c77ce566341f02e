"""Quality gates: models under their test-accuracy floor are listed and fail the check."""

import json

import yaml

from pipeline.gates import failures
from tests.conftest import run_module


def test_failures_lists_only_models_below_their_floor():
    floors = {"dnn": 0.86, "cnn_32": 0.88}
    assert failures(floors, {"dnn": 0.87, "cnn_32": 0.8799}) == [
        "cnn_32: test accuracy 0.8799 is below its floor 0.8800"
    ]
    assert failures(floors, {"dnn": 0.86, "cnn_32": 0.9}) == []


def write_metrics(workdir, accuracies):
    (workdir / "reports" / "metrics").mkdir(parents=True)
    for name, accuracy in accuracies.items():
        (workdir / "reports" / "metrics" / f"{name}.json").write_text(json.dumps({"test_accuracy": accuracy}))


def test_check_command_fails_with_the_list_of_models_below_floor(workdir):
    names = list(yaml.safe_load((workdir / "params.yaml").read_text())["models"])
    write_metrics(workdir, {name: 0.95 for name in names} | {"dnn": 0.5, "cnn_16": 0.6})
    result = run_module("pipeline.gates", cwd=workdir)
    assert result.returncode == 1
    assert "dnn: test accuracy 0.5000 is below its floor" in result.stderr
    assert "cnn_16: test accuracy 0.6000 is below its floor" in result.stderr
    assert "cnn_32:" not in result.stderr


def test_check_command_passes_when_all_reach_their_floor(workdir):
    names = list(yaml.safe_load((workdir / "params.yaml").read_text())["models"])
    write_metrics(workdir, dict.fromkeys(names, 0.95))
    result = run_module("pipeline.gates", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert f"Quality gates passed: {len(names)} models" in result.stdout


def test_check_command_without_metrics_says_to_run_the_pipeline(workdir):
    result = run_module("pipeline.gates", cwd=workdir)
    assert result.returncode == 1 and "run `dvc repro`" in result.stderr and "Traceback" not in result.stderr
