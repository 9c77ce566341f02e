"""Seeds side by side: jobs in their own processes, failures that stop the rest, and results that
do not depend on how many cores ran them."""

import os
import shutil
import time

import pytest
import yaml

from pipeline.errors import PipelineError
from pipeline.workers import cores, run_side_by_side, threads_per_worker, worker_count
from tests.conftest import prepared_dir, run_module


def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def fail_now(message: str) -> None:
    raise PipelineError(message)


def test_each_job_runs_in_a_fresh_process_and_results_keep_the_jobs_order():
    pids = run_side_by_side(pid_after, [(0.3,), (0.0,), (0.0,)], workers=2)
    assert len(set(pids)) == 3 and os.getpid() not in pids


def test_a_failed_job_stops_the_others_at_once():
    started = time.monotonic()
    with pytest.raises(PipelineError, match="seed 1 diverged"):
        run_side_by_side(_slow_or_failing, [(0,), (1,)], workers=2)
    assert time.monotonic() - started < 20, "the 60-second job was left running"


def _slow_or_failing(job: int) -> None:
    if job == 1:
        fail_now("seed 1 diverged")
    time.sleep(60)


def test_worker_and_thread_counts():
    assert worker_count(1) == 1 and worker_count(100) == cores()
    assert worker_count(cores() + cores() // 2) == cores() + cores() // 2, "three seeds on two cores: all at once"
    assert threads_per_worker(1, workers=2) == 1
    assert threads_per_worker(0, workers=1) == cores()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or cores() < 2, reason="needs two cores and Linux")
def test_seeds_side_by_side_on_two_cores_give_the_bytes_of_one_core_one_after_another(workdir):
    """With one thread per worker, a seed's model is the same however many cores ran the stage."""
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params["seeds"] = [0, 1]
    params["models"]["cnn_16"]["epochs"] = 1
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    data = prepared_dir(workdir / "prepared", count=300)
    outputs = {}
    for label, taskset in (("two cores", ()), ("one core", ("taskset", "--cpu-list", "0"))):
        out = workdir / label.replace(" ", "_")
        result = run_module(
            "stages.train", "cnn_16", "--data", str(data), "--models-dir", str(out), "--history-dir", str(out),
            cwd=workdir, prefix=taskset,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        expected = "2 worker process(es)" if label == "two cores" else "1 worker process(es)"
        assert expected in result.stdout
        outputs[label] = {path.name: path.read_bytes() for path in sorted((out / "cnn_16").iterdir())}
        shutil.rmtree(out)
    assert sorted(outputs["two cores"]) == ["seed_0.csv", "seed_0.keras", "seed_1.csv", "seed_1.keras"]
    assert outputs["two cores"] == outputs["one core"]
    assert outputs["two cores"]["seed_0.keras"] != outputs["two cores"]["seed_1.keras"]
