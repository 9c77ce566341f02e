"""A stage's stderr carries its own lines only: no TensorFlow start-up noise, real errors kept."""

import os
import subprocess
import sys

import pytest
import yaml

from pipeline.startup import harmless_lines_dropped
from tests.conftest import REPO, checked_configs, prepared_dir, run_module

NOISE = ("cuInit", "oneDNN", "absl::InitializeLog", "cuda drivers", "cpu_feature_guard")


@pytest.mark.slow
def test_a_training_stage_prints_no_start_up_noise(workdir):
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params["seeds"] = [0, 1]  # the stage and both of its worker processes import TensorFlow
    params["models"]["dnn"]["epochs"] = 1
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    checked_configs(workdir)
    data = prepared_dir(workdir / "prepared", count=200)
    result = run_module(
        "stages.train", "dnn", "--configs", "configs", "--data", str(data), "--models-dir", "out",
        "--history-dir", "out", cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "dnn seed 1: epoch 1/1" in result.stdout
    assert [line for line in result.stderr.splitlines() if any(noise in line for noise in NOISE)] == []


def test_a_real_error_during_the_import_still_shows(tmp_path):
    """Only the known start-up lines are dropped; anything else written to descriptor 2 is passed on."""
    script = (
        "import os, pipeline.startup as s\n"
        "with s.harmless_lines_dropped():\n"
        "    os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called'\n"
        "             b' are written to STDERR\\n')\n"
        "    os.write(2, b'E0000 00:00:1 file.cc:1] a real error\\n')\n"
        "    print('from Python', file=__import__('sys').stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stderr == "E0000 00:00:1 file.cc:1] a real error\nfrom Python\n"


def test_the_captured_lines_come_out_even_when_the_import_fails(capfd):
    try:
        with harmless_lines_dropped():
            os.write(2, b"the reason\n")
            raise ImportError("broken")
    except ImportError:
        pass
    assert capfd.readouterr().err == "the reason\n"


def test_a_fatal_message_survives_an_import_that_aborts_the_process(tmp_path):
    """TensorFlow aborts at import on a CPU without the instructions it was built for: say why."""
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\nos.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to"
        " STDERR\\n')\nos.write(2, b'F0000 fatal.cc:1] this CPU lacks AVX\\n')\nos.abort()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import pipeline, tensorflow"],
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr == "F0000 fatal.cc:1] this CPU lacks AVX\n"


@pytest.mark.slow
def test_an_import_with_stderr_closed_still_works():
    result = subprocess.run(
        [sys.executable, "-c", "import pipeline, keras"], env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
        preexec_fn=lambda: os.close(2),
    )  # fmt: skip
    assert result.returncode == 0
