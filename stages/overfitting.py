"""Stage `overfitting_report`: the overfitting study's curves, table and conclusions, over seeds.

Reads each variant's per-epoch histories, per-seed test figures and test predictions and writes
- <figures>/<variant>.png: training against validation loss and
  accuracy per epoch (the first seed), the epoch of minimum validation loss marked;
- <figures>/overlay.png: every variant on shared axes (the first seed);
- <curves>: the same curves in long form, for `dvc plots show`;
- <statistics>: each variant's figures over the seeds;
- <comparisons>: each remedy against the base, with 95% intervals and McNemar's p-value per seed;
- <results-figure>: each variant's test accuracy and gap per seed, with the mean and its interval,
  drawn from the runs the tables are made of;
- <out>: the tables and what they show, which the front page includes.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from pipeline.analysis.results import read_history, read_predictions, read_seeds
from pipeline.analysis.statistics import Difference, comparison, difference, p_text, shares_data_order, summarize
from pipeline.configuration.params import STUDY_BASE, load_params, model_config, seeds, study_variants
from pipeline.errors import PipelineError, run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import named_path, seed_path
from pipeline.files.outputs import OVERLAY
from pipeline.files.paths import link
from pipeline.reporting import markdown
from pipeline.reporting.plotting import interval_rows, plt, save

STUDY = "overfitting"
BASE = STUDY_BASE
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
FIGURES = ["train_accuracy", "val_accuracy", "gap", "val_loss_rise", "test_accuracy"]
# The results figure's panels: a column of the runs, its scale, and the axis title.
RESULT_PANELS = {
    "test_accuracy": (1, "test accuracy"),
    "gap": (100, "training minus validation accuracy, points"),
}


def read_study_history(path: Path) -> pd.DataFrame:
    history = read_history(path)
    if "val_loss" not in history or "val_accuracy" not in history:
        raise PipelineError(
            f"{path}: needs per-epoch validation loss and accuracy; set data.validation_fraction above 0"
        )
    return history


def summarize_run(history: pd.DataFrame, restores_best: bool) -> dict:
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


def runs_table(histories: dict[tuple[str, int], pd.DataFrame], per_seed: dict[str, pd.DataFrame],
               restores_best: dict[str, bool]) -> pd.DataFrame:  # fmt: skip
    """One row per variant and seed: the kept epoch's figures and the test accuracy."""
    rows = []
    for (name, seed), history in histories.items():
        test = per_seed[name].set_index("seed").loc[seed, "test_accuracy"]
        rows.append({"variant": name, "seed": seed, **summarize_run(history, restores_best[name]),
                     "test_accuracy": float(test)})  # fmt: skip
    return pd.DataFrame(rows)


def study_statistics(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per variant and figure: its spread over the seeds."""
    rows = [
        {"variant": name, "figure": figure, **vars(summarize(group[figure]))}
        for name, group in runs.groupby("variant", sort=False)
        for figure in FIGURES
    ]
    return pd.DataFrame(rows).rename(columns={"low": "min", "high": "max"})


def remedy_comparisons(runs: pd.DataFrame, paired: dict[str, bool], correct: dict[str, list[np.ndarray]]):
    """Each remedy against the base: test accuracy (with McNemar per seed) and the gap."""
    base = runs[runs["variant"] == BASE]
    rows = []
    for name, group in runs[runs["variant"] != BASE].groupby("variant", sort=False):
        test = comparison(group["test_accuracy"], base["test_accuracy"], paired[name], correct[name], correct[BASE])
        gap = difference(group["gap"], base["gap"], paired[name])
        rows.append({"variant": name, "against": BASE, **test, "gap_difference": gap.difference,
                     "gap_ci_low": gap.ci_low, "gap_ci_high": gap.ci_high, "gap_verdict": gap_words(gap)})  # fmt: skip
    return pd.DataFrame(rows)


def gap_words(gap: Difference) -> str:
    """The gap's change against the base's, in points, ranked only when its interval leaves out zero."""
    if not gap.detected():
        return f"no change in the gap detectable with {gap.n} seeds"
    word = "narrows" if gap.difference < 0 else "widens"
    return (
        f"{word} the gap by {100 * abs(gap.difference):.1f} points"
        f" (95% CI {100 * gap.ci_low:+.1f} to {100 * gap.ci_high:+.1f})"
    )


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


def overlay_figure(histories: dict[str, pd.DataFrame], best_epochs: dict[str, int]) -> plt.Figure:
    """Every variant on shared axes: solid training, dashed validation, a dot at the best epoch."""
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    colours = plt.get_cmap("tab10").colors
    for colour, (name, history) in zip(colours, histories.items(), strict=False):
        best = history[history["epoch"] == best_epochs[name]]
        for axis, metric in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
            axis.plot(history["epoch"], history[metric], color=colour, linewidth=1.2, label=name)
            axis.plot(history["epoch"], history[f"val_{metric}"], color=colour, linewidth=1.2, linestyle="--")
            axis.plot(best["epoch"], best[f"val_{metric}"], "o", color=colour, markersize=4)
    for axis, metric in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
        style_epoch_axis(axis, metric)
    accuracy_axis.legend(fontsize=8, loc="lower right")
    figure.suptitle("Training (solid) and validation (dashed) per epoch; dots: lowest validation loss")
    return figure


def results_figure(runs: pd.DataFrame) -> plt.Figure:
    """Each variant's test accuracy and train-validation gap: every seed, the mean and its 95% interval, the
    best test accuracy on top and the base's means marked; from the runs the study's table is made of."""
    groups = {name: group for name, group in runs.groupby("variant", sort=False)}
    summaries = {name: summarize(group["test_accuracy"]) for name, group in groups.items()}
    names = sorted(groups, key=lambda name: -summaries[name].mean)
    figure, axes = plt.subplots(1, 2, figsize=(9, 1.3 + 0.3 * len(names)), sharey=True, layout="constrained")
    for axis, (column, (scale, title)) in zip(axes, RESULT_PANELS.items(), strict=True):
        values = {name: scale * groups[name][column] for name in names}
        spreads = {name: summarize(value) for name, value in values.items()}
        intervals = np.array([(spreads[name].ci_low, spreads[name].ci_high) for name in names], dtype=float)
        interval_rows(axis, names, [spreads[name].mean for name in names], *intervals.T,
                      seeds=[values[name].tolist() for name in names])  # fmt: skip
        if BASE in spreads:
            axis.axvline(spreads[BASE].mean, color="tab:blue", linestyle=":", linewidth=1, label="the base's mean")
        axis.set_xlabel(title)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    figure.suptitle(f"Overfitting study over {runs['seed'].nunique()} seeds: each seed, the mean with its 95% interval")
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


def mean_sd(values: pd.Series, scale: float = 1, digits: int = 4) -> str:
    return summarize(values).text(scale, digits)


def epochs_text(values: pd.Series) -> str:
    return "/".join(map(str, values))


def loss_effect(group: pd.DataFrame, restores_best: bool) -> str:
    rise = group["val_loss_rise"].mean()
    best = epochs_text(group["best_epoch"])
    if restores_best:
        return f"it keeps the weights of its lowest-validation-loss epoch (epochs {best} of the seeds)"
    if rise < 0.02:
        return f"its validation loss stays within {rise:.3f} of its minimum on average (best epochs {best})"
    return (
        f"its validation loss still turns upward, ending {rise:.3f} above its minimum on average (best epochs {best})"
    )


def conclusions(runs: pd.DataFrame, compared: pd.DataFrame, restores_best: dict[str, bool]) -> list[str]:
    """One sentence per remedy: its gap and test accuracy against the base's, each with its interval."""
    base = runs[runs["variant"] == BASE]
    n = len(base)
    lines = [
        f"- **{BASE}**: training accuracy reaches {mean_sd(base['train_accuracy'])} while validation stays at"
        f" {mean_sd(base['val_accuracy'])}, a gap of {mean_sd(base['gap'], 100, 1)} points; the validation loss"
        f" bottoms out at epochs {epochs_text(base['best_epoch'])} and ends {base['val_loss_rise'].mean():.3f} above"
        " that minimum on average. That rise is overfitting: the model keeps fitting the training images and gets"
        " worse on new ones."
    ]
    for _, row in compared.iterrows():
        group = runs[runs["variant"] == row["variant"]]
        lines.append(
            f"- **{row['variant']}** ({REMEDIES.get(row['variant'], 'as declared')}): {row['gap_verdict']};"
            f" {loss_effect(group, restores_best[row['variant']])}; test accuracy against the base's:"
            f" {row['verdict']}{'' if row['paired'] else ', unpaired'}."
        )
    detected = compared[compared["verdict"].str.startswith(("better", "worse"))]
    better = detected[detected["difference"] > 0]["variant"].tolist()
    worse = detected[detected["difference"] < 0]["variant"].tolist()
    undecided = compared[~compared["variant"].isin(detected["variant"])]["variant"].tolist()
    summary = [
        f"detectably above the base's: {', '.join(better) or 'none'}",
        f"detectably below: {', '.join(worse) or 'none'}",
        f"no difference detectable with {n} seeds: {', '.join(undecided) or 'none'}",
    ]
    lines += ["", "Test accuracy against the base, over the seeds: " + "; ".join(summary) + "."]
    return lines


def study_page(runs: pd.DataFrame, compared: pd.DataFrame, restores_best: dict[str, bool], epochs: int,
             fraction: float, first_seed: int, curves: dict[str, str], links: dict[str, str]) -> str:  # fmt: skip
    """The study's page; `curves` links each variant's figure, `links` the other figures and the raw tables.

    Two tables, each narrow enough for a repository host's page: what the study found first, how each
    variant trained after."""
    groups = runs.groupby("variant", sort=False)
    names = list(groups.groups)
    found = pd.DataFrame(
        {
            "remedy": [REMEDIES.get(name, "as declared") for name in names],
            "gap (points)": groups["gap"].agg(lambda values: mean_sd(values, 100, 1)),
            "test accuracy": groups["test_accuracy"].agg(mean_sd),
            "95% CI": groups["test_accuracy"].agg(lambda values: summarize(values).interval()),
        }
    )
    trained = pd.DataFrame(
        {
            "best epoch": groups["best_epoch"].agg(epochs_text),
            "epochs run": groups["epochs_run"].agg(epochs_text),
            "train acc": groups["train_accuracy"].agg(mean_sd),
            "val acc": groups["val_accuracy"].agg(mean_sd),
            "val loss rise": groups["val_loss_rise"].agg(lambda values: mean_sd(values, 1, 3)),
        }
    )
    found.index.name = trained.index.name = "variant"
    figures = [f"![{name}: training and validation curves]({curves[name]})" for name in names]
    n = runs["seed"].nunique()
    return "\n".join(
        [
            "## Overfitting and its remedies",
            "",
            f"The source's CNN (`cnn_32`) trained for {epochs} epochs on {fraction:.0%} of the training images, next",
            "to the remedies the course lists, each a variant under `overfitting` in `params.yaml`, each trained",
            f"once per seed ({n} seeds). The gap is training minus validation accuracy of the weights each model",
            "keeps (the last epoch's; the best epoch's for early stopping); test accuracy is measured once per",
            "seed, at the end. Figures are the mean ± the sample SD over the seeds; the interval is t-based.",
            "",
            markdown.table(found, left=2, index=True),
            "",
            f"![Each variant's test accuracy and gap: each seed, the mean with its 95% interval]"
            f"({links['results_figure']})",
            "",
            "Each remedy against the base: the difference of means with its 95% t interval (paired by seed",
            "where the two variants' runs of a seed saw the same batches). A difference whose interval includes",
            "zero is not ranked. McNemar's exact test on each seed's test predictions is in the `mcnemar_p`",
            f"column of [`{Path(links['comparisons']).name}`]({links['comparisons']}).",
            "",
            *conclusions(runs, compared, restores_best),
            "",
            "### How each variant trained",
            "",
            "Train and val accuracy are those of the weights each model keeps; the validation loss rise is how",
            "far the kept epoch's validation loss is above its minimum. Epochs are listed seed by seed.",
            "",
            markdown.table(trained, left=3, index=True),
            "",
            f"The figures show the first seed ({first_seed}).",
            "",
            f"![Every variant's training and validation curves]({links['overlay']})",
            "",
            *(line for figure in figures for line in (figure, "")),
            f"Raw figures: [`{Path(links['statistics']).name}`]({links['statistics']}) (each variant over its seeds),"
            f" [`{Path(links['comparisons']).name}`]({links['comparisons']}) (each remedy against the base),"
            f" [`{Path(links['curves']).name}`]({links['curves']}) (the first seed's curves), every seed's"
            f" histories in [`{Path(links['history']).name}/`]({links['history']}).",
        ]
    )


def main() -> None:
    args = parse_arguments(
        __doc__, "history_dir", "seeds_dir", "predictions_dir", "out", figures="where the PNGs go",
        curves="the curves table (CSV), for `dvc plots`", statistics="each variant's figures over the seeds (CSV)",
        comparisons="each remedy against the base (CSV)",
        results_figure="each variant's test accuracy and gap (PNG)",
    )  # fmt: skip
    params = load_params()
    names, seed_list = study_variants(params, STUDY), seeds(params)
    configs = {name: model_config(params, name, STUDY) for name in names}
    histories = {
        (name, seed): read_study_history(seed_path(args.history_dir, name, seed, ".csv", folder_suffix=""))
        for name in names
        for seed in seed_list
    }
    per_seed = {name: read_seeds(named_path(args.seeds_dir, name, ".csv")) for name in names}
    correct = {
        name: [np.equal(*read_predictions(seed_path(args.predictions_dir, name, seed, ".csv"))) for seed in seed_list]
        for name in names
    }
    restores_best = {name: config.early_stopping_patience is not None for name, config in configs.items()}
    paired = {name: shares_data_order(config, configs[BASE]) for name, config in configs.items()}
    runs = runs_table(histories, per_seed, restores_best)
    compared = remedy_comparisons(runs, paired, correct)

    first = {name: histories[name, seed_list[0]] for name in names}
    best_epochs = {name: int(history.loc[history["val_loss"].idxmin(), "epoch"]) for name, history in first.items()}
    figures = {name: named_path(args.figures, name, ".png") for name in names}
    for name, history in first.items():
        save(curve_figure(name, history, best_epochs[name]), figures[name])
    save(overlay_figure(first, best_epochs), args.figures / OVERLAY)
    save(results_figure(runs), args.results_figure)
    for path in (args.curves, args.statistics, args.comparisons):
        path.parent.mkdir(parents=True, exist_ok=True)
    long_curves(first).to_csv(args.curves, index=False, float_format="%.4f")
    study_statistics(runs).to_csv(args.statistics, index=False, float_format="%.4f")
    compared.assign(mcnemar_p=compared["mcnemar_p"].map(p_text)).to_csv(args.comparisons, index=False,
                                                                         float_format="%.4f")  # fmt: skip
    base = configs[BASE]
    curves = {name: link(path, args.out) for name, path in figures.items()}
    paths = {key: getattr(args, key) for key in ("statistics", "comparisons", "curves")}
    paths |= {"history": args.history_dir, "overlay": args.figures / OVERLAY, "results_figure": args.results_figure}
    links = {key: link(path, args.out) for key, path in paths.items()}
    page = study_page(runs, compared, restores_best, base.epochs, base.train_fraction, seed_list[0], curves, links)
    args.out.write_text(page + "\n")
    print(compared[["variant", "verdict", "gap_verdict"]].to_string(index=False))


if __name__ == "__main__":
    run(main)
