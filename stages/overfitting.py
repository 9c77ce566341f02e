"""Stage `overfitting_report`: the overfitting study's curves, table and conclusions.

Reads each variant's per-epoch history and test metrics and writes
- reports/figures/overfitting/<variant>.png: training against validation loss and
  accuracy per epoch, the epoch of minimum validation loss marked;
- reports/figures/overfitting/overlay.png: every variant on shared axes;
- reports/overfitting/curves.csv: the same curves in long form, for `dvc plots show`;
- reports/overfitting.md: the table and what it shows, which the front page includes.
"""

import argparse
from pathlib import Path

import pandas as pd
from matplotlib.ticker import MaxNLocator

from pipeline.errors import PipelineError, run
from pipeline.names import named_path
from pipeline.params import load_params, model_config, model_names
from pipeline.plotting import plt, save
from pipeline.results import read_history, read_metrics

STUDY = "overfitting"
BASE = "base"
# What each variant of params.yaml changes, for the table; a variant not listed is "as declared".
REMEDIES = {
    "base": "the source's CNN, long",
    "more_data": "all training images",
    "dropout": "dropout 0.5",
    "l2": "L2 weight penalty",
    "augmentation": "shifts, flips, zoom",
    "smaller": "fewer filters and units",
    "early_stopping": "early stopping",
}


def read_study_history(path: Path) -> pd.DataFrame:
    history = read_history(path)
    if "val_loss" not in history or "val_accuracy" not in history:
        raise PipelineError(
            f"{path}: needs per-epoch validation loss and accuracy; set data.validation_fraction above 0"
        )
    return history


def summarize(history: pd.DataFrame, restores_best: bool) -> dict:
    """Best epoch, and the figures of the epoch whose weights the model keeps.

    A model with early stopping keeps its best epoch's weights; any other its last epoch's.
    """
    best = history.loc[history["val_loss"].idxmin()]
    kept = best if restores_best else history.iloc[-1]
    return {
        "best_epoch": int(best["epoch"]),
        "epochs_run": len(history),
        "train_accuracy": float(kept["accuracy"]),
        "val_accuracy": float(kept["val_accuracy"]),
        "gap": float(kept["accuracy"] - kept["val_accuracy"]),
        "val_loss_rise": float(kept["val_loss"] - best["val_loss"]),
    }


def study_table(histories: dict[str, pd.DataFrame], metrics: dict[str, dict], restores_best: dict[str, bool]):
    rows = []
    for name, history in histories.items():
        rows.append(
            {
                "variant": name,
                "remedy": REMEDIES.get(name, "as declared"),
                **summarize(history, restores_best[name]),
                "test_accuracy": metrics[name]["test_accuracy"],
                "params": metrics[name]["params"],
            }
        )
    return pd.DataFrame(rows).set_index("variant")


def style_epoch_axis(axis: plt.Axes, metric: str) -> None:
    axis.set_xlabel("epoch")
    axis.set_ylabel(metric)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(alpha=0.3)


def curve_figure(name: str, history: pd.DataFrame, best_epoch: int) -> plt.Figure:
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    for axis, metric in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
        axis.plot(history["epoch"], history[metric], color="tab:blue", label="training")
        axis.plot(history["epoch"], history[f"val_{metric}"], color="tab:orange", label="validation")
        axis.axvline(best_epoch, color="grey", linestyle=":", label=f"lowest validation loss (epoch {best_epoch})")
        style_epoch_axis(axis, metric)
    loss_axis.legend(loc="upper center", fontsize=8)
    figure.suptitle(f"{name}: {REMEDIES.get(name, 'as declared')}")
    return figure


def overlay_figure(histories: dict[str, pd.DataFrame], table: pd.DataFrame) -> plt.Figure:
    """Every variant on shared axes: solid training, dashed validation, a dot at the best epoch."""
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    colours = plt.get_cmap("tab10").colors
    for colour, (name, history) in zip(colours, histories.items(), strict=False):
        best = history[history["epoch"] == table.loc[name, "best_epoch"]]
        for axis, metric in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
            axis.plot(history["epoch"], history[metric], color=colour, linewidth=1.2, label=name)
            axis.plot(history["epoch"], history[f"val_{metric}"], color=colour, linewidth=1.2, linestyle="--")
            axis.plot(best["epoch"], best[f"val_{metric}"], "o", color=colour, markersize=4)
    for axis, metric in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
        style_epoch_axis(axis, metric)
    accuracy_axis.legend(fontsize=8, loc="lower right")
    figure.suptitle("Training (solid) and validation (dashed) per epoch; dots: lowest validation loss")
    return figure


def long_curves(histories: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per variant, split and epoch: `dvc plots` colours by variant and dashes by split."""
    parts = []
    for name, history in histories.items():
        for split, prefix in (("training", ""), ("validation", "val_")):
            part = history[["epoch", f"{prefix}loss", f"{prefix}accuracy"]]
            parts.append(part.set_axis(["epoch", "loss", "accuracy"], axis=1).assign(variant=name, split=split))
    return pd.concat(parts)[["variant", "split", "epoch", "loss", "accuracy"]]


def points(value: float) -> str:
    return f"{100 * value:.1f}"


def gap_effect(base: pd.Series, row: pd.Series) -> str:
    if row["gap"] < 0:
        return (
            f"closes the {points(base['gap'])}-point gap entirely: validation accuracy ends {points(-row['gap'])}"
            " points above training accuracy, which is measured while the remedy is active"
        )
    if row["gap"] < base["gap"]:
        return f"narrows the gap from {points(base['gap'])} to {points(row['gap'])} points"
    return f"does not narrow the gap ({points(row['gap'])} points against {points(base['gap'])})"


def loss_effect(row: pd.Series) -> str:
    if row["val_loss_rise"] == 0 and row["best_epoch"] < row["epochs_run"]:
        return f"it keeps the weights of epoch {row['best_epoch']}, its lowest validation loss"
    if row["val_loss_rise"] < 0.02:
        return f"its validation loss stays within {row['val_loss_rise']:.3f} of its minimum (epoch {row['best_epoch']})"
    return (
        f"its validation loss still turns upward, ending {row['val_loss_rise']:.3f} above its minimum"
        f" (epoch {row['best_epoch']})"
    )


def cost(base: pd.Series, row: pd.Series) -> str:
    change = row["test_accuracy"] - base["test_accuracy"]
    direction = "up" if change > 0 else "down"
    return f"test accuracy {row['test_accuracy']:.4f}, {direction} {points(abs(change))} points on the base's"


def conclusions(table: pd.DataFrame) -> list[str]:
    """One sentence per remedy, with its numbers against the base's."""
    base = table.loc[BASE]
    lines = [
        f"- **{BASE}**: training accuracy reaches {base['train_accuracy']:.4f} while validation stays at"
        f" {base['val_accuracy']:.4f}, a gap of {points(base['gap'])} points; the validation loss bottoms out at"
        f" epoch {base['best_epoch']} and ends {base['val_loss_rise']:.3f} above that minimum. That rise is"
        " overfitting: the model keeps fitting the training images and gets worse on new ones."
    ]
    for name, row in table.drop(index=BASE).iterrows():
        lines.append(f"- **{name}** ({row['remedy']}): {gap_effect(base, row)}; {loss_effect(row)}; {cost(base, row)}.")
    narrowest = table.drop(index=BASE)["gap"].idxmin()
    best = table["test_accuracy"].idxmax()
    lines += [
        "",
        f"Narrowest gap: **{narrowest}** ({points(table.loc[narrowest, 'gap'])} points). Best test accuracy:"
        f" **{best}** ({table.loc[best, 'test_accuracy']:.4f}). A narrow gap alone is not the goal: the remedy"
        " that lets the model learn the most while still generalising wins on the test set.",
    ]
    return lines


def markdown(table: pd.DataFrame, epochs: int, fraction: float) -> str:
    shown = pd.DataFrame(
        {
            "remedy": table["remedy"],
            "best epoch": table["best_epoch"],
            "epochs run": table["epochs_run"],
            "train acc": table["train_accuracy"].map("{:.4f}".format),
            "val acc": table["val_accuracy"].map("{:.4f}".format),
            "gap (points)": table["gap"].map(points),
            "val loss rise": table["val_loss_rise"].map("{:.3f}".format),
            "test acc": table["test_accuracy"].map("{:.4f}".format),
            "params": table["params"].map("{:,}".format),
        }
    )
    figures = [f"![{name}: training and validation curves](figures/overfitting/{name}.png)" for name in table.index]
    return "\n".join(
        [
            "## Overfitting and its remedies",
            "",
            f"The source's CNN (`cnn_32`) trained for {epochs} epochs on {fraction:.0%} of the training images, next",
            "to the remedies the course lists, each a variant under `overfitting` in `params.yaml`. Train and",
            "val accuracy are those of the weights each model keeps (the last epoch's; the best epoch's for",
            "early stopping); the gap is their difference; the validation loss rise is how far the kept",
            "epoch's validation loss is above its minimum. Test accuracy is measured once, at the end.",
            "",
            shown.to_markdown(),
            "",
            *conclusions(table),
            "",
            "![Every variant's training and validation curves](figures/overfitting/overlay.png)",
            "",
            *(line for figure in figures for line in (figure, "")),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-dir", type=Path, required=True, help="where <variant>.csv, the histories, are")
    parser.add_argument("--metrics-dir", type=Path, required=True, help="where <variant>.json are")
    parser.add_argument("--figures", type=Path, required=True, help="where the PNGs go")
    parser.add_argument("--curves", type=Path, required=True, help="the curves table (CSV), for `dvc plots`")
    parser.add_argument("--out", type=Path, required=True, help="the study's page (Markdown)")
    args = parser.parse_args()
    params = load_params()
    names = model_names(params, STUDY)
    if BASE not in names:
        raise PipelineError(f"params.yaml: {STUDY}.models: needs a `{BASE}` variant to compare the remedies with")
    configs = {name: model_config(params, name, STUDY) for name in names}
    histories = {name: read_study_history(named_path(args.history_dir, name, ".csv")) for name in names}
    metrics = {name: read_metrics(named_path(args.metrics_dir, name, ".json")) for name in names}
    restores_best = {name: config.early_stopping_patience is not None for name, config in configs.items()}
    table = study_table(histories, metrics, restores_best)

    for name, history in histories.items():
        save(curve_figure(name, history, table.loc[name, "best_epoch"]), named_path(args.figures, name, ".png"))
    save(overlay_figure(histories, table), args.figures / "overlay.png")
    args.curves.parent.mkdir(parents=True, exist_ok=True)
    long_curves(histories).to_csv(args.curves, index=False, float_format="%.4f")
    base = configs[BASE]
    args.out.write_text(markdown(table, base.epochs, base.train_fraction) + "\n")
    print(table.drop(columns="remedy").round(4).to_string())


if __name__ == "__main__":
    run(main)
