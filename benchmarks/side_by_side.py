"""Seeds side by side: two trainings of one model at once, against the same two one after another.

One after another is how the pipeline trained before seeds ran in parallel: one process at a
time with a TensorFlow thread per core (`threads: 0`). Side by side is how `train@` stages
run them now: a process per core, one thread each. Both paths run each training in a fresh
process (pipeline.training.workers), so both pay TensorFlow's start-up per training.
"""

import statistics
import time
from pathlib import Path

from pipeline.configuration.params import load_params, model_config, training_settings
from pipeline.data.arrays import load_split
from pipeline.training.workers import cores, run_side_by_side


def training_run(name: str, seed: int, thread_count: int, data: Path) -> float:
    """Train one model on the prepared data in this process; seconds from the process's start of work."""
    started = time.perf_counter()
    params = load_params()
    config, settings = model_config(params, name), training_settings(params)
    train_split, validation_split = load_split(data, "train"), load_split(data, "validation")

    from pipeline.training.fit import train
    from pipeline.training.runtime import configure

    configure(seed, thread_count, "none")
    train(config, settings, seed, train_split, validation_split, verbose=0)
    return time.perf_counter() - started


def two_trainings(name: str, data: Path, repeats: int = 2) -> dict[str, float]:
    """Wall seconds for seeds 0 and 1 of `name`, each way, alternated; medians over `repeats`."""
    ways = {
        "one after another": ([(name, seed, cores(), data) for seed in (0, 1)], 1),
        "side by side": ([(name, seed, 1, data) for seed in (0, 1)], min(2, cores())),
    }
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(repeats):
        for way, (jobs, workers) in ways.items():
            started = time.perf_counter()
            run_side_by_side(training_run, jobs, workers)
            seconds[way].append(time.perf_counter() - started)
            print(f"{name}, two trainings {way}: {seconds[way][-1]:.1f} s", flush=True)
    return {way: statistics.median(values) for way, values in seconds.items()}
