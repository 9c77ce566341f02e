"""Seeds side by side: jobs in their own processes, failures that stop the rest, and results that
do not depend on how many cores ran them."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from pipeline.errors import PipelineError
from pipeline.training import workers
from pipeline.training.workers import cores, run_side_by_side, slot_count, threads_per_worker, worker_count
from tests.conftest import REPO, checked_configs, prepared_dir, run_module


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


def interval_of(seconds: float) -> tuple[float, float]:
    """When this job held its slot: a training stand-in."""
    started = time.time()
    time.sleep(seconds)
    return started, time.time()


TWO_STAGES = (
    "import json\nfrom pipeline.training.workers import run_side_by_side\nfrom tests.test_workers import interval_of\n"
    "print(json.dumps(run_side_by_side(interval_of, [(1.5,)], workers=1)))"
)


def intervals_of_two_stages_at_once(tmp_path, prefix: tuple[str, ...]) -> list[tuple[float, float]]:
    """Two stages, each training one job, started together as two queued experiments would be."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_RUNTIME_DIR": str(tmp_path)}
    stages = [
        subprocess.Popen([*prefix, sys.executable, "-c", TWO_STAGES], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [stage.communicate(timeout=120)[0] for stage in stages]
    assert [stage.returncode for stage in stages] == [0, 0]
    return sorted(tuple(json.loads(output.splitlines()[-1])[0]) for output in outputs)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or cores() < 2, reason="needs two cores and Linux")
@pytest.mark.slow
def test_trainings_of_concurrent_stages_share_the_machines_slots(tmp_path):
    """On one core there is one slot: the second stage's job waits for the first's, though the two
    stages know nothing of each other. On two cores (three slots) the same two run at once."""
    (_, first_end), (second_start, _) = intervals_of_two_stages_at_once(tmp_path, ("taskset", "-c", "0"))
    assert second_start >= first_end
    (_, first_end), (second_start, _) = intervals_of_two_stages_at_once(tmp_path, ())
    assert second_start < first_end


def test_a_slot_is_freed_when_its_process_is_killed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time\nfrom pipeline.training.workers import training_slot\n"
         "with training_slot(threads_each=64):\n    print('held', flush=True)\n    time.sleep(60)"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline() == "held\n"
    holder.kill()
    holder.wait()
    with workers.training_slot(threads_each=64) as indices:  # every slot, for a 64-thread process
        assert indices == list(range(slot_count()))


def test_a_slots_directory_others_can_write_to_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    directory = workers.slots_directory()
    directory.chmod(0o777)
    with pytest.raises(PipelineError, match="not a directory of this user's own that others cannot write to"):
        workers.slots_directory()


def test_worker_and_thread_counts():
    assert worker_count(1) == 1 and worker_count(100) == cores()
    assert worker_count(cores() + cores() // 2) == cores() + cores() // 2, "three seeds on two cores: all at once"
    assert threads_per_worker(1, workers=2) == 1
    assert threads_per_worker(0, workers=1) == cores()
    assert slot_count() == cores() + cores() // 2


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or cores() < 2, reason="needs two cores and Linux")
@pytest.mark.slow
def test_seeds_side_by_side_on_two_cores_give_the_bytes_of_one_core_one_after_another(workdir):
    """With one thread per worker, a seed's model is the same however many cores ran the stage."""
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params["seeds"] = [0, 1]
    params["models"]["cnn_16"]["epochs"] = 1
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    checked_configs(workdir)
    data = prepared_dir(workdir / "prepared", count=300)
    outputs = {}
    for label, taskset in (("two cores", ()), ("one core", ("taskset", "--cpu-list", "0"))):
        out = workdir / label.replace(" ", "_")
        result = run_module(
            "stages.train", "cnn_16", "--configs", "configs", "--data", str(data), "--models-dir", str(out),
            "--history-dir", str(out), cwd=workdir, prefix=taskset,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        expected = "2 worker process(es)" if label == "two cores" else "1 worker process(es)"
        assert expected in result.stdout
        outputs[label] = {path.name: path.read_bytes() for path in sorted((out / "cnn_16.seeds").iterdir())}
        shutil.rmtree(out)
    assert sorted(outputs["two cores"]) == [f"seed_{seed}{suffix}" for seed in (0, 1)
                                            for suffix in (".csv", ".keras", ".plan.json")]  # fmt: skip
    assert outputs["two cores"] == outputs["one core"]
    assert outputs["two cores"]["seed_0.keras"] != outputs["two cores"]["seed_1.keras"]
