"""Stage `train@<model>`: fit one model declared in params.yaml once per seed, side by side.

The model, its training settings, seeds, threads and memory estimate come from
<configs>/<model>.json, written by `check_params` once every rule of params.yaml has passed
(a study's variant: its study's configs folder). Each seed's model goes to
<models-dir>/<model>.seeds/seed_<seed>.keras (Keras's native format), with the plan it was
trained with (global batch, learning rate, precision, replicas) beside it in
seed_<seed>.plan.json; its per-epoch loss, accuracy, validation loss and accuracy to
<history-dir>/<model>.seeds/seed_<seed>.csv (no wall-clock times: a rebuild must give the same
bytes, and `publish` copies the histories into reports/ for git).

The seeds train in parallel, a process each, as many at a time as the cores and the free
memory allow (pipeline/training/workers.py), each with `threads` TensorFlow threads. Files are
written under temporary names and moved into place when a seed's training has finished; a
loss that turns NaN, a failed write (a full disk) or a worker killed (the out-of-memory
killer) fails the stage and leaves nothing of it.
"""

import json
import math
import os
from dataclasses import asdict
from pathlib import Path

from pipeline.architecture.memory import megabytes
from pipeline.configuration.config import read_run_config
from pipeline.data.arrays import load_split
from pipeline.errors import PipelineError, run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import PER_SEED, PLAN, named_path, remove_old, seed_path
from pipeline.training.workers import run_side_by_side, threads_per_worker, worker_count


def train_seed(
    name: str, config_path: Path, seed: int, thread_count: int, data: Path, model_path: Path, history_path: Path
) -> None:
    """One training run, in a worker process of its own: model, plan and history of one seed."""
    run_config = read_run_config(config_path)
    config, settings = run_config.model, run_config.training
    train_split, validation_split = load_split(data, "train"), load_split(data, "validation")

    import keras

    from pipeline.training.callbacks import EpochLog, StopAtAccuracy
    from pipeline.training.fit import save_model, train
    from pipeline.training.runtime import configure

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
    plan_path = model_path.with_name(model_path.stem + PLAN)
    try:
        write_plan(plan, plan_path)  # before the model: a model in place always has its plan
        save_model(model, model_path)
        os.replace(partial_history, history_path)
    except (OSError, PipelineError) as error:  # a full disk, a folder made read-only or removed meanwhile
        for path in (plan_path, model_path, partial_history, history_path):
            path.unlink(missing_ok=True)  # a plan without its model would pass for a trained seed
        if isinstance(error, PipelineError):
            raise
        raise PipelineError(f"{error.filename or model_path}: cannot write ({error.strerror or error})") from None


def write_plan(plan: object, path: Path) -> None:
    """The plan as JSON, under a temporary name moved into place: whole or not at all."""
    partial = path.with_name(".partial." + path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        partial.write_text(json.dumps(asdict(plan), indent=2) + "\n")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def main() -> None:
    args = parse_arguments(__doc__, "configs", "data", "models_dir", "history_dir", model=True)
    name = args.model
    config_path = named_path(args.configs, name, ".json")
    run_config = read_run_config(config_path)
    settings, run_seeds, estimate = run_config.training, run_config.seeds, run_config.memory
    # A strategy over several devices or machines takes the whole machine: one seed at a time.
    if settings.strategy in ("mirrored", "multi_worker"):
        workers = 1
    else:
        workers = worker_count(len(run_seeds), estimate.total)
    thread_count = threads_per_worker(run_config.threads, workers)
    models_dir, history_dir = named_path(args.models_dir, name, PER_SEED), named_path(args.history_dir, name, PER_SEED)
    remove_old(models_dir, history_dir)
    jobs = [
        (name, config_path, seed, thread_count, args.data, seed_path(args.models_dir, name, seed, ".keras"),
         seed_path(args.history_dir, name, seed, ".csv"))
        for seed in run_seeds
    ]  # fmt: skip
    print(
        f"{name}: {len(jobs)} seed(s) on {workers} worker process(es), {thread_count} TensorFlow thread(s) each,"
        f" about {megabytes(estimate.total)} each"
    )
    # A multi-worker cluster's processes wait for each other: none may wait for a training slot.
    slots = None if settings.strategy == "multi_worker" else thread_count
    try:
        run_side_by_side(train_seed, jobs, workers, slots, labels=[f"{name} seed {seed}" for seed in run_seeds])
    except BaseException:
        remove_old(models_dir, history_dir)  # one failed seed fails the stage: nothing of it stays
        raise


if __name__ == "__main__":
    run(main)
