"""Stage `evaluate@<model>`: test-set metrics of one trained model.

Writes reports/metrics/<model>.json (test loss and accuracy, accuracy per class, the
final training and validation accuracy, epochs run, parameters) and
reports/confusion/<model>.csv (one row per test image: actual and predicted class names,
the layout of DVC's `confusion` plot template). `--study` evaluates a model of a study
(see `overfitting` in params.yaml).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.arrays import load_split
from pipeline.errors import PipelineError, run
from pipeline.fashion_mnist import CLASS_NAMES
from pipeline.models import load_model
from pipeline.params import STUDIES, load_params, model_config


def training_summary(history_path: Path) -> dict:
    """Final-epoch training figures from the CSVLogger history.

    Its wall-clock seconds stay out: metrics are compared byte for byte between rebuilds.
    """
    try:
        history = pd.read_csv(history_path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise PipelineError(f"{history_path}: cannot read the training history ({error})") from None
    if history.empty or "accuracy" not in history:
        raise PipelineError(f"{history_path}: no epochs with accuracy recorded; run `dvc repro`")
    last = history.iloc[-1]
    summary = {
        "epochs_run": len(history),
        "train_accuracy": round(float(last["accuracy"]), 4),
        "train_loss": round(float(last["loss"]), 4),
    }
    if "val_accuracy" in history:
        summary["val_accuracy"] = round(float(last["val_accuracy"]), 4)
        summary["val_loss"] = round(float(last["val_loss"]), 4)
    return summary


def score_on_test_set(model, images: np.ndarray, labels: np.ndarray) -> tuple[dict, np.ndarray]:
    """Test loss, accuracy, accuracy per class, and the predicted class of every image."""
    probabilities = model.predict(images, batch_size=1000, verbose=0)
    predicted = probabilities.argmax(axis=1)
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    per_class = {
        name: round(float((predicted[labels == index] == index).mean()), 4) if (labels == index).any() else None
        for index, name in enumerate(CLASS_NAMES)
    }
    metrics = {
        "test_loss": round(float(-np.log(picked).mean()), 4),
        "test_accuracy": round(float((predicted == labels).mean()), 4),
        "per_class_accuracy": per_class,
    }
    return metrics, predicted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model name under `models` (or `<study>.models`) in params.yaml")
    parser.add_argument("--study", choices=STUDIES, help="the study the model belongs to")
    parser.add_argument("--data", type=Path, default=Path("data/prepared"))
    parser.add_argument("--model-file", type=Path, help="default: data/models/<model>.keras")
    parser.add_argument("--history", type=Path, help="default: reports/history/<model>.csv")
    parser.add_argument("--metrics-out", type=Path, help="default: reports/metrics/<model>.json")
    parser.add_argument("--confusion-out", type=Path, help="test predictions as CSV; default: none written")
    args = parser.parse_args()
    name = args.model
    config = model_config(load_params(), name, args.study)
    model_path = args.model_file or Path("data/models") / f"{name}.keras"
    history_path = args.history or Path("reports/history") / f"{name}.csv"
    metrics_path = args.metrics_out or Path("reports/metrics") / f"{name}.json"

    model = load_model(model_path)
    images, labels = load_split(args.data, "test")
    scores, predicted = score_on_test_set(model, images, labels)
    metrics = {
        **scores,
        **training_summary(history_path),
        "epochs_planned": config.epochs,
        "params": model.count_params(),
    }
    if args.confusion_out:
        args.confusion_out.parent.mkdir(parents=True, exist_ok=True)
        names = np.array(CLASS_NAMES)
        pd.DataFrame({"actual": names[labels], "predicted": names[predicted]}).to_csv(args.confusion_out, index=False)
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"{name}: test accuracy {metrics['test_accuracy']:.4f}, test loss {metrics['test_loss']:.4f}")


if __name__ == "__main__":
    run(main)
