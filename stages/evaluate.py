"""Stage `evaluate@<model>`: test-set figures of one model, per seed and over its seeds.

The model and its seeds come from <configs>/<model>.json (see `check_params`). Writes
- <seeds-dir>/<model>.seeds.csv: one row per seed: test accuracy and loss, the final training and
  validation accuracy, epochs run;
- <metrics-dir>/<model>.metrics.json: what `dvc metrics show` lists, one row per model: the mean over
  the seeds of test accuracy with its sample SD and 95% t interval (ci_low, ci_high), the mean
  training and validation accuracy, the parameter count and the number of seeds, and under `plan`
  each seed's training plan (global batch, learning rate, precision, replicas, steps per call):
  a list, which `dvc metrics show` leaves out of its columns;
- <predictions-dir>/<model>.seeds/seed_<seed>.csv: one row per test image, actual and predicted class
  names (confusion matrices, per-class accuracy and McNemar's test are computed from them).
`publish` copies the first two into reports/ for git.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.analysis.results import read_history, read_plan
from pipeline.analysis.statistics import summarize
from pipeline.configuration.config import read_run_config
from pipeline.data.arrays import load_split
from pipeline.data.fashion_mnist import CLASS_NAMES
from pipeline.errors import PipelineError, run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import METRICS, PER_SEED, PLAN, SEED_TABLE, named_path, remove_old, seed_path


def training_summary(history: pd.DataFrame) -> dict:
    """Final-epoch training and validation accuracy (null without validation), and epochs run.

    No wall-clock time: metrics must come out byte for byte the same in every rebuild."""
    last = history.iloc[-1]
    return {
        "train_accuracy": round(float(last["accuracy"]), 4),
        "val_accuracy": round(float(last["val_accuracy"]), 4) if "val_accuracy" in history else None,
        "epochs": len(history),
    }


def score_on_test_set(model, images: np.ndarray, labels: np.ndarray) -> tuple[dict, np.ndarray]:
    """Test accuracy and loss, and the predicted class of every image."""
    probabilities = model.predict(images, batch_size=1000, verbose=0)
    predicted = probabilities.argmax(axis=1)
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    loss = float(-np.log(picked).mean())
    if not np.isfinite(probabilities).all():
        raise PipelineError(f"{model.name}: the model predicts NaN; retrain it (`dvc repro -f train@{model.name}`)")
    return {"test_accuracy": round(float((predicted == labels).mean()), 4), "test_loss": round(loss, 4)}, predicted


def headline(per_seed: pd.DataFrame, params: int, plans: dict[int, dict]) -> dict:
    """The metrics file: means over the seeds, test accuracy's spread, the model's size, each seed's plan."""
    test = summarize(per_seed["test_accuracy"])
    mean = {column: round(float(per_seed[column].mean()), 4) for column in ("train_accuracy", "val_accuracy")}
    return {
        "test_accuracy": round(test.mean, 4),
        "test_sd": None if test.sd is None else round(test.sd, 4),
        "ci_low": None if test.ci_low is None else round(test.ci_low, 4),
        "ci_high": None if test.ci_high is None else round(test.ci_high, 4),
        "train_accuracy": mean["train_accuracy"],
        "val_accuracy": None if per_seed["val_accuracy"].isna().any() else mean["val_accuracy"],
        "params": params,
        "seeds": test.n,
        "plan": [{"seed": seed, **plan} for seed, plan in plans.items()],
    }


def write_predictions(path: Path, labels: np.ndarray, predicted: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = np.array(CLASS_NAMES)
    pd.DataFrame({"actual": names[labels], "predicted": names[predicted]}).to_csv(path, index=False)


def main() -> None:
    args = parse_arguments(
        __doc__,
        "configs",
        "data",
        "models_dir",
        "history_dir",
        "seeds_dir",
        "metrics_dir",
        "predictions_dir",
        model=True,
    )
    name = args.model
    run_seeds = read_run_config(named_path(args.configs, name, ".json")).seeds
    seeds_path, metrics_path = named_path(args.seeds_dir, name, SEED_TABLE), named_path(args.metrics_dir, name, METRICS)
    remove_old(seeds_path, metrics_path, named_path(args.predictions_dir, name, PER_SEED))
    histories = {seed: read_history(seed_path(args.history_dir, name, seed, ".csv")) for seed in run_seeds}
    plans = {seed: read_plan(seed_path(args.models_dir, name, seed, PLAN)) for seed in run_seeds}

    from pipeline.training.models import load_model  # starts TensorFlow: only once the arguments are checked

    images, labels = load_split(args.data, "test")
    rows = []
    for seed in run_seeds:
        model = load_model(seed_path(args.models_dir, name, seed, ".keras"))
        scores, predicted = score_on_test_set(model, images, labels)
        write_predictions(seed_path(args.predictions_dir, name, seed, ".csv"), labels, predicted)
        rows.append({"seed": seed, **scores, **training_summary(histories[seed])})
        print(f"{name} seed {seed}: test accuracy {scores['test_accuracy']:.4f}, test loss {scores['test_loss']:.4f}")
    per_seed = pd.DataFrame(rows)
    metrics = headline(per_seed, model.count_params(), plans)
    for path in (seeds_path, metrics_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    per_seed.to_csv(seeds_path, index=False)
    metrics_path.write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    print(f"{name}: mean test accuracy {metrics['test_accuracy']:.4f} over {len(run_seeds)} seed(s)")


if __name__ == "__main__":
    run(main)
