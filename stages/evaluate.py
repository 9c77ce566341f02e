"""Stage `evaluate@<model>`: test-set metrics of one trained model.

Writes <metrics-dir>/<model>.json, the model's headline figures and nothing else, so that
`dvc metrics show` reads as one row per model: test accuracy and loss, the final training
and validation accuracy, epochs run, parameters. With --confusion-dir it also writes
<model>.csv there: one row per test image, actual and predicted class names (per-class
accuracy and the confusion matrices are computed from it). `--study` evaluates a model of
a study (see `overfitting` in params.yaml).
"""

import json

import numpy as np
import pandas as pd

from pipeline.arrays import load_split
from pipeline.cli import directory, model_parser
from pipeline.errors import PipelineError, run
from pipeline.fashion_mnist import CLASS_NAMES
from pipeline.names import named_path, remove_old
from pipeline.params import load_params, model_config
from pipeline.results import read_history


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


def main() -> None:
    parser = model_parser(__doc__)
    directory(parser, "--data", "the prepared arrays")
    directory(parser, "--models-dir", "where <model>.keras is")
    directory(parser, "--history-dir", "where <model>.csv, the training history, is")
    directory(parser, "--metrics-dir", "where <model>.json goes")
    directory(parser, "--confusion-dir", "where <model>.csv, the test predictions, goes", required=False)
    args = parser.parse_args()
    name = args.model
    model_config(load_params(), name, args.study)  # the model must still be declared, and valid
    metrics_path = named_path(args.metrics_dir, name, ".json")
    confusion_path = named_path(args.confusion_dir, name, ".csv") if args.confusion_dir else None
    remove_old(metrics_path, *filter(None, [confusion_path]))

    history = read_history(named_path(args.history_dir, name, ".csv"))
    from pipeline.models import load_model  # starts TensorFlow: only once the arguments are checked

    model = load_model(named_path(args.models_dir, name, ".keras"))
    images, labels = load_split(args.data, "test")
    scores, predicted = score_on_test_set(model, images, labels)
    metrics = {**scores, **training_summary(history), "params": model.count_params()}
    if confusion_path:
        confusion_path.parent.mkdir(parents=True, exist_ok=True)
        names = np.array(CLASS_NAMES)
        pd.DataFrame({"actual": names[labels], "predicted": names[predicted]}).to_csv(confusion_path, index=False)
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    print(f"{name}: test accuracy {metrics['test_accuracy']:.4f}, test loss {metrics['test_loss']:.4f}")


if __name__ == "__main__":
    run(main)
