"""Stage `train@<model>`: fit one model declared in params.yaml once per seed, side by side.

Each seed's model goes to <models-dir>/<model>/seed_<seed>.keras (Keras's native format), with
the plan it was trained with (global batch, learning rate, precision, replicas) beside it in
seed_<seed>.plan.json; its
per-epoch loss, accuracy, validation loss and accuracy to <history-dir>/<model>/seed_<seed>.csv
(no wall-clock times: the history feeds other stages and is kept in git, so a rebuild must
give the same bytes). The seeds train in parallel, a process each (pipeline/workers.py says how
many at a time), each process with `threads` TensorFlow threads. Files are written under temporary names and
moved into place when a seed's training has finished; a loss that turns NaN stops training
with an error and saves nothing. `--study overfitting` trains a model of that study instead.
"""

import json
import math
import os
from dataclasses import asdict
from pathlib import Path

from pipeline.arrays import load_split
from pipeline.cli import parse_arguments
from pipeline.errors import PipelineError, run
from pipeline.names import named_path, remove_old, seed_path
from pipeline.outputs import PLAN_SUFFIX
from pipeline.params import load_params, model_config, seeds, threads, training_settings
from pipeline.workers import run_side_by_side, threads_per_worker, worker_count


def train_seed(
    name: str, study: str | None, seed: int, thread_count: int, data: Path, model_path: Path, history_path: Path
) -> None:
    """One training run, in a worker process of its own: model, plan and history of one seed."""
    params = load_params()
    config, settings = model_config(params, name, study), training_settings(params)
    train_split, validation_split = load_split(data, "train"), load_split(data, "validation")

    import keras

    from pipeline.callbacks import EpochLog, StopAtAccuracy
    from pipeline.runtime import configure
    from pipeline.training import save_model, train

    strategy = configure(seed, thread_count, settings.strategy)
    history_path.parent.mkdir(parents=True, exist_ok=True)
    partial_history = history_path.with_name(history_path.name + ".partial")
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(str(partial_history)),
        EpochLog(f"{name} seed {seed}"),
    ]
    if config.stop_at_accuracy is not None:
        callbacks.append(StopAtAccuracy(config.stop_at_accuracy))
    try:
        model, history, plan = train(config, settings, seed, train_split, validation_split, callbacks, 0, strategy)
        if not all(map(math.isfinite, history.history["loss"])):
            raise PipelineError(
                f"{name} seed {seed}: the training loss became NaN or infinite; lower the learning rate"
                f" ({config.learning_rate:g}) or check the data. No model was saved."
            )
    except PipelineError:
        partial_history.unlink(missing_ok=True)
        raise
    plan_path = model_path.with_name(model_path.stem + PLAN_SUFFIX)
    partial_plan = plan_path.with_name(".partial." + plan_path.name)
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    partial_plan.write_text(json.dumps(asdict(plan), indent=2) + "\n")
    os.replace(partial_plan, plan_path)  # before the model: a model in place always has its plan
    save_model(model, model_path)
    os.replace(partial_history, history_path)


def main() -> None:
    args = parse_arguments(__doc__, "data", "models_dir", "history_dir", model=True, study=True)
    name = args.model
    params = load_params()
    model_config(params, name, args.study)  # every check before any process starts
    settings, run_seeds = training_settings(params), seeds(params)
    # A strategy over several devices or machines takes the whole machine: one seed at a time.
    workers = 1 if settings.strategy in ("mirrored", "multi_worker") else worker_count(len(run_seeds))
    thread_count = threads_per_worker(threads(params), workers)
    models_dir, history_dir = named_path(args.models_dir, name), named_path(args.history_dir, name)
    remove_old(models_dir, history_dir)
    jobs = [
        (name, args.study, seed, thread_count, args.data, seed_path(args.models_dir, name, seed, ".keras"),
         seed_path(args.history_dir, name, seed, ".csv"))
        for seed in run_seeds
    ]  # fmt: skip
    print(f"{name}: {len(jobs)} seed(s) on {workers} worker process(es), {thread_count} TensorFlow thread(s) each")
    # A multi-worker cluster's processes wait for each other: none may wait for a training slot.
    run_side_by_side(train_seed, jobs, workers, None if settings.strategy == "multi_worker" else thread_count)


if __name__ == "__main__":
    run(main)
