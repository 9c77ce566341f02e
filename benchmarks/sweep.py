"""A two-experiment sweep through DVC's queue: side by side (`dvc queue start -j 2`) against one
after another (`-j 1`), in a clone of the repository whose results are checked out.

Each round queues two experiments that change `cnn_16`'s first convolution, so each reruns
that model's stages (all its seeds), `compare` and `front_page`. The rounds use different
filter counts, so that neither reuses the other's runs from DVC's run-cache.
"""

import time
from pathlib import Path

from benchmarks.rebuild import dvc

MODEL_KEY = "models.cnn_16.layers.conv_1.filters"
ROUNDS = {1: (12, 20), 2: (14, 18)}  # jobs at a time: the filter counts of its two experiments


def queued_sweep_seconds(workspace: Path, jobs: int, filters: tuple[int, ...], poll_seconds: float = 2.0) -> float:
    """Queue one experiment per filter count, run the queue `jobs` at a time; wall seconds until all succeed."""
    for count in filters:
        dvc("exp", "run", "--queue", "-S", f"{MODEL_KEY}={count}", cwd=workspace)
    started = time.perf_counter()
    dvc("queue", "start", "-j", str(jobs), cwd=workspace)
    while True:
        _, _, status = dvc("queue", "status", cwd=workspace)
        if not any(state in status for state in ("Queued", "Running")):
            break
        time.sleep(poll_seconds)
    seconds = time.perf_counter() - started
    if status.count("Success") < len(filters) or "Failed" in status:
        raise RuntimeError(f"the queued sweep did not succeed in {workspace}:\n{status}")
    dvc("queue", "remove", "--all", cwd=workspace)
    return seconds


def sweep_rounds(workspace: Path) -> dict[int, float]:
    """Seconds of each round, keyed by the jobs it ran at a time."""
    return {jobs: queued_sweep_seconds(workspace, jobs, filters) for jobs, filters in ROUNDS.items()}
