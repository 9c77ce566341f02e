"""Stage `compare`: every model side by side.

reports/models.md compares them with the source's numbers; reports/curves.csv gathers
their training curves for `dvc plots show` (one line per model on shared axes).
"""

import argparse
import json
from pathlib import Path

import pandas as pd

from pipeline.errors import PipelineError, run
from pipeline.params import load_params, model_names

LAYER_LABELS = {
    "conv": "Conv{filters}",
    "maxpool": "Pool",
    "flatten": "Flatten",
    "dense": "Dense{units}",
    "dropout": "Dropout",
}


def describe(layers: list[dict]) -> str:
    """A model's own layers in the source's shorthand, e.g. Conv32-Pool-Conv32-Pool."""
    labels = [LAYER_LABELS[layer["type"]].format(**layer) for layer in layers]
    return "-".join(label for label in labels if label != "Flatten") or "Flatten"


def load_metrics(metrics_dir: Path, names: list[str]) -> dict[str, dict]:
    metrics = {}
    for name in names:
        path = metrics_dir / f"{name}.json"
        try:
            metrics[name] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise PipelineError(f"{path}: cannot read the metrics ({error}); run `dvc repro evaluate@{name}`") from None
    return metrics


def accuracy(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def comparison(params: dict, metrics: dict[str, dict]) -> pd.DataFrame:
    """One row per model: size, training, accuracies, and the source's accuracies."""
    reference = params.get("reference") or {}
    rows = []
    for name, result in metrics.items():
        source = reference.get(name, {})
        epochs = str(result["epochs_run"])
        if result["epochs_run"] < result["epochs_planned"]:
            epochs += f" of {result['epochs_planned']}"
        gap = 100 * (result["test_accuracy"] - source["test_accuracy"]) if source else None
        rows.append(
            {
                "model": name,
                "layers before the head": describe(params["models"][name]["layers"]),
                "parameters": f"{result['params']:,}",
                "epochs": epochs,
                "train acc": accuracy(result["train_accuracy"]),
                "val acc": accuracy(result.get("val_accuracy")),
                "test acc": accuracy(result["test_accuracy"]),
                "source train acc": accuracy(source.get("train_accuracy")),
                "source test acc": accuracy(source.get("test_accuracy")),
                "test vs source (points)": "—" if gap is None else f"{gap:+.2f}",
            }
        )
    return pd.DataFrame(rows)


def per_class(metrics: dict[str, dict]) -> pd.DataFrame:
    """Test accuracy per class (rows) and model (columns)."""
    table = pd.DataFrame({name: result["per_class_accuracy"] for name, result in metrics.items()})
    table.index.name = "class"
    return table


def curves(history_dir: Path, names: list[str]) -> pd.DataFrame:
    """Every model's per-epoch history in one long table (epochs counted from 1), for `dvc plots`."""
    tables = []
    for name in names:
        path = history_dir / f"{name}.csv"
        try:
            history = pd.read_csv(path)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise PipelineError(f"{path}: cannot read the training history ({error})") from None
        tables.append(history.assign(model=name, epoch=history["epoch"] + 1))
    columns = ["model", "epoch", "accuracy", "val_accuracy", "loss", "val_loss"]
    return pd.concat(tables).reindex(columns=columns)


def render(params: dict, metrics: dict[str, dict]) -> str:
    table = comparison(params, metrics)
    return "\n".join(
        [
            "# Models compared",
            "",
            "Every model declared in `params.yaml`, trained by `dvc repro` and evaluated once on the",
            "10,000 test images. *Source* columns are the single 5-epoch runs reported in the course",
            "note; a few tenths of a point either way is run-to-run noise. Validation accuracy is on",
            "the images held out of the training set (`data.validation_fraction`). Training times are",
            "in the histories and in [`performance.md`](performance.md).",
            "",
            table.to_markdown(
                index=False, disable_numparse=True, colalign=["left", "left"] + ["right"] * (table.shape[1] - 2)
            ),
            "",
            "## Test accuracy per class",
            "",
            "Shirt, T-shirt/top, Pullover and Coat are the classes the models confuse most.",
            "",
            per_class(metrics).to_markdown(floatfmt=".3f"),
            "",
            "Raw figures: [`metrics/`](metrics/) (one JSON per model), training curves in",
            "[`history/`](history/), confusion data in [`confusion/`](confusion/).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=Path, default=Path("reports/metrics"))
    parser.add_argument("--history", type=Path, default=Path("reports/history"))
    parser.add_argument("--out", type=Path, default=Path("reports/models.md"))
    parser.add_argument("--curves", type=Path, default=Path("reports/curves.csv"))
    args = parser.parse_args()
    params = load_params()
    names = model_names(params)
    metrics = load_metrics(args.metrics, names)
    args.out.write_text(render(params, metrics))
    curves(args.history, names).to_csv(args.curves, index=False, float_format="%.4f")


if __name__ == "__main__":
    run(main)
