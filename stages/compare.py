"""Stage `compare`: every model side by side.

Writes <out>, the comparison with the source's numbers and the test accuracy per class;
<curves>, every model's training curves in one table, and <confusion>, every model's
confusion counts in label order, both for `dvc plots show`.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import run
from pipeline.fashion_mnist import CLASS_NAMES
from pipeline.layers import describe
from pipeline.names import named_path
from pipeline.params import load_params, model_config, model_names, reference_accuracies
from pipeline.results import read_history, read_metrics, read_predictions

CURVE_COLUMNS = ["model", "epoch", "accuracy", "val_accuracy", "loss", "val_loss"]


def accuracy(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def comparison(params: dict, metrics: dict[str, dict]) -> pd.DataFrame:
    """One row per model: size, training, accuracies, and the source's accuracies."""
    reference = reference_accuracies(params)
    rows = []
    for name, result in metrics.items():
        config, source = model_config(params, name), reference.get(name, {})
        own_layers = config.layers[: len(config.layers) - config.head_size]
        epochs = str(result["epochs"]) + (f" of {config.epochs}" if result["epochs"] < config.epochs else "")
        source_test = source.get("test_accuracy")
        gap = None if source_test is None else 100 * (result["test_accuracy"] - source_test)
        rows.append(
            {
                "model": name,
                "layers before the head": describe(own_layers),
                "parameters": f"{result['params']:,}",
                "epochs": epochs,
                "train acc": accuracy(result["train_accuracy"]),
                "val acc": accuracy(result["val_accuracy"]),
                "test acc": accuracy(result["test_accuracy"]),
                "source train acc": accuracy(source.get("train_accuracy")),
                "source test acc": accuracy(source.get("test_accuracy")),
                "test vs source (points)": "—" if gap is None else f"{gap:+.2f}",
            }
        )
    return pd.DataFrame(rows)


def confusion_counts(predictions: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Every model's 10x10 confusion counts, one row per cell, classes in label order."""
    rows = []
    for name, (actual, predicted) in predictions.items():
        matrix = np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), dtype=int)
        np.add.at(matrix, (actual, predicted), 1)
        rows += [
            {"model": name, "actual": CLASS_NAMES[true], "predicted": CLASS_NAMES[said], "count": int(count)}
            for (true, said), count in np.ndenumerate(matrix)
        ]
    return pd.DataFrame(rows)


def per_class(counts: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy per class (rows, in label order) and model (columns); empty classes are blank."""
    totals = counts.groupby(["model", "actual"], sort=False)["count"].sum()
    right = counts[counts["actual"] == counts["predicted"]].set_index(["model", "actual"])["count"]
    table = (right / totals.where(totals > 0)).unstack("model").reindex(CLASS_NAMES)
    table.index.name = "class"
    return table[counts["model"].unique()]


def most_confused(counts: pd.DataFrame, shown: int = 3) -> str:
    """The class pairs most often mistaken for each other, summed over the models."""
    wrong = counts[counts["actual"] != counts["predicted"]]
    pairs = (
        wrong.groupby(["actual", "predicted"], sort=False)["count"].sum().sort_values(ascending=False, kind="stable")
    )
    models = counts["model"].nunique()
    listed = [f"{actual} taken for {predicted} ({count:,})" for (actual, predicted), count in pairs.head(shown).items()]
    return f"The most frequent mistakes, summed over the {models} models: " + "; ".join(listed) + "."


def curves(history_dir: Path, names: list[str]) -> pd.DataFrame:
    """Every model's per-epoch history in one long table, for `dvc plots`."""
    tables = [read_history(named_path(history_dir, name, ".csv")).assign(model=name) for name in names]
    return pd.concat(tables).reindex(columns=CURVE_COLUMNS)


def render(params: dict, metrics: dict[str, dict], counts: pd.DataFrame) -> str:
    table = comparison(params, metrics)
    return "\n".join(
        [
            "# Models compared",
            "",
            "Every model declared in `params.yaml`, trained by `dvc repro` and evaluated once on the",
            "10,000 test images. *Source* columns are the single 5-epoch runs reported in the course",
            "note. Validation accuracy is on the images held out of the training set",
            "(`data.validation_fraction`). Training speed is in [`performance.md`](performance.md).",
            "",
            table.to_markdown(
                index=False, disable_numparse=True, colalign=["left", "left"] + ["right"] * (table.shape[1] - 2)
            ),
            "",
            "## Test accuracy per class",
            "",
            most_confused(counts),
            "",
            per_class(counts).to_markdown(floatfmt=".3f"),
            "",
            "Raw figures: [`metrics/`](metrics/) (one JSON per model), training curves in",
            "[`history/`](history/), test predictions in [`confusion/`](confusion/), confusion counts in",
            "[`confusion.csv`](confusion.csv).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics-dir", type=Path, required=True, help="where <model>.json are")
    parser.add_argument("--history-dir", type=Path, required=True, help="where <model>.csv, the histories, are")
    parser.add_argument("--confusion-dir", type=Path, required=True, help="where <model>.csv, the predictions, are")
    parser.add_argument("--out", type=Path, required=True, help="the comparison page (Markdown)")
    parser.add_argument("--curves", type=Path, required=True, help="the curves table (CSV)")
    parser.add_argument("--confusion", type=Path, required=True, help="the confusion counts table (CSV)")
    args = parser.parse_args()
    params = load_params()
    names = model_names(params)
    metrics = {name: read_metrics(named_path(args.metrics_dir, name, ".json")) for name in names}
    predictions = {name: read_predictions(named_path(args.confusion_dir, name, ".csv")) for name in names}
    counts = confusion_counts(predictions)
    args.out.write_text(render(params, metrics, counts))
    curves(args.history_dir, names).to_csv(args.curves, index=False, float_format="%.4f")
    counts.to_csv(args.confusion, index=False)


if __name__ == "__main__":
    run(main)
