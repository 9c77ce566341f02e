"""Readers of what the stages write: training histories, metrics, per-seed figures, test predictions.

Each names the file and says to run `dvc repro` when it is missing or damaged.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.data.fashion_mnist import CLASS_NAMES
from pipeline.errors import PipelineError

HISTORY_COLUMNS = ("epoch", "loss", "accuracy")


def read_table(path: Path, what: str, columns: tuple[str, ...], expected: str) -> pd.DataFrame:
    """A CSV that a stage wrote, with at least one row and the given columns; else what to do."""
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise PipelineError(f"{path}: cannot read the {what} ({error}); run `dvc repro`") from None
    if table.empty or not set(columns) <= set(table):
        raise PipelineError(f"{path}: {expected}; run `dvc repro`")
    return table


def read_history(path: Path) -> pd.DataFrame:
    """A training history (Keras's CSVLogger) with at least one epoch, epochs counted from 1."""
    history = read_table(path, "training history", HISTORY_COLUMNS, "no epochs with loss and accuracy recorded")
    return history.assign(epoch=history["epoch"] + 1)


def read_metrics(path: Path) -> dict:
    """A model's test metrics, as the evaluate stage wrote them."""
    try:
        metrics = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise PipelineError(f"{path}: cannot read the metrics ({error}); run `dvc repro`") from None
    if not isinstance(metrics, dict) or "test_accuracy" not in metrics:
        raise PipelineError(f"{path}: no test accuracy in it; run `dvc repro`")
    return metrics


PLAN_KEYS = {"batch_size": int, "learning_rate": float, "precision": str, "replicas": int, "steps_per_execution": int}


def read_plan(path: Path) -> dict:
    """The plan a model was trained with (pipeline.training.fit.Plan), as the train stage wrote it beside the model."""
    try:
        plan = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise PipelineError(f"{path}: cannot read the training plan ({error}); run `dvc repro`") from None
    valid = isinstance(plan, dict) and set(plan) == set(PLAN_KEYS)
    valid = valid and all(type(plan[key]) is kind and (kind is str or plan[key] > 0) for key, kind in PLAN_KEYS.items())
    if not valid:
        expected = ", ".join(f"{key} ({kind.__name__})" for key, kind in PLAN_KEYS.items())
        raise PipelineError(f"{path}: expected the training plan's {expected}, numbers above 0; run `dvc repro`")
    return plan


SEED_COLUMNS = ("seed", "test_accuracy", "train_accuracy", "val_accuracy", "epochs")


def read_seeds(path: Path) -> pd.DataFrame:
    """A model's figures per seed, as the evaluate stage wrote them: one row per seed."""
    return read_table(path, "per-seed figures", SEED_COLUMNS, f"expected a row per seed with {', '.join(SEED_COLUMNS)}")


def read_predictions(path: Path, expected: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Actual and predicted class indices of every test image, from the evaluate stage's CSV
    (`expected`: how many test images there must be)."""
    try:
        table = pd.read_csv(path)
        indices = {name: index for index, name in enumerate(CLASS_NAMES)}
        actual, predicted = (table[column].map(indices) for column in ("actual", "predicted"))
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, KeyError) as error:
        raise PipelineError(f"{path}: cannot read the test predictions ({error}); run `dvc repro`") from None
    if actual.isna().any() or predicted.isna().any():
        raise PipelineError(f"{path}: a class name that is not one of Fashion-MNIST's; run `dvc repro`")
    if expected is not None and len(predicted) != expected:
        raise PipelineError(f"{path}: {len(predicted)} predictions for {expected} test images; run `dvc repro`")
    return actual.to_numpy(int), predicted.to_numpy(int)
