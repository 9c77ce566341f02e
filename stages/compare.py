"""Stage `compare`: every model side by side, over its seeds.

Writes <out>, the comparison page: a headline table (each model's size, mean ± SD and 95%
interval against the course's number) narrow enough to read first, how each model trained,
the comparisons of `comparisons` in params.yaml with their intervals, and the test accuracy
per class; <summary>, the results in brief, which the project README includes; <statistics>,
every model's training, validation and test accuracy over the seeds (mean, SD, n, min, max,
interval); <comparisons>, the comparisons as a table, with McNemar's p-value per seed;
<results-figure>, every model's test accuracy per seed with its mean and interval, and
<comparisons-figure>, a forest plot of the comparisons, both drawn from those same tables;
<curves>, every model's training curves of the first seed, and <confusion>, its confusion
counts in label order, both for `dvc plots show`.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.analysis.confusion import confusion_rows, ranked_mistakes
from pipeline.analysis.results import read_history, read_metrics, read_predictions, read_seeds
from pipeline.analysis.statistics import Summary, comparison, p_text, shares_data_order, summarize
from pipeline.architecture.layers import describe
from pipeline.configuration.params import (
    comparisons,
    gate_settings,
    load_params,
    model_config,
    model_names,
    reference_accuracies,
    seeds,
)
from pipeline.data.fashion_mnist import CLASS_NAMES
from pipeline.errors import run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import named_path, seed_path
from pipeline.files.paths import link
from pipeline.reporting import markdown
from pipeline.reporting.plotting import interval_rows, plt, save

CURVE_COLUMNS = ["model", "epoch", "accuracy", "val_accuracy", "loss", "val_loss"]
FIGURES = {"test_accuracy": "test", "train_accuracy": "train", "val_accuracy": "validation"}
NO_DIFFERENCE = "no difference detectable"
VERDICT_COLOURS = {"better": "tab:green", "worse": "tab:red", NO_DIFFERENCE: "tab:gray"}


def accuracy(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def statistics(per_seed: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per model and figure (test, train, validation accuracy): the spread over the seeds."""
    rows = []
    for name, table in per_seed.items():
        for column, figure in FIGURES.items():
            if table[column].isna().any():
                continue
            summary = summarize(table[column])
            rows.append({"model": name, "figure": figure, **vars(summary)})
    return pd.DataFrame(rows).rename(columns={"low": "min", "high": "max"})


def course_check(summary: Summary, source: float | None) -> str:
    """Whether the course's single run lies inside this pipeline's 95% interval."""
    inside = None if source is None else summary.contains(source)
    return "—" if inside is None else ("yes" if inside else "no")


def headline(params: dict, per_seed: dict[str, pd.DataFrame], metrics: dict[str, dict]) -> pd.DataFrame:
    """What a reader compares first, one row per model: its size, mean test accuracy with its interval, and
    the course's figure; narrow enough for a repository host's page (tests/test_page_width.py)."""
    reference = reference_accuracies(params)
    rows = []
    for name, table in per_seed.items():
        test, source = summarize(table["test_accuracy"]), reference.get(name, {}).get("test_accuracy")
        rows.append(
            {
                "model": f"`{name}`",
                "parameters": f"{metrics[name]['params']:,}",
                "test accuracy": test.text(),
                "95% CI": test.interval(),
                "course note": accuracy(source),
                "course inside CI": course_check(test, source),
            }
        )
    return pd.DataFrame(rows)


def training(params: dict, per_seed: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """How each model trained: its layers, final training and validation accuracy, and the course's
    training accuracy."""
    reference = reference_accuracies(params)
    rows = []
    for name, table in per_seed.items():
        config = model_config(params, name)
        rows.append(
            {
                "model": f"`{name}`",
                "layers before the head": describe(config.layers[: len(config.layers) - config.head_size]),
                "train acc": summarize(table["train_accuracy"]).text(),
                "val acc": "—" if table["val_accuracy"].isna().any() else summarize(table["val_accuracy"]).text(),
                "course train": accuracy(reference.get(name, {}).get("train_accuracy")),
            }
        )
    return pd.DataFrame(rows)


def epochs_run(params: dict, per_seed: dict[str, pd.DataFrame]) -> str:
    """Which models stopped before their declared epochs (the source's callback, early stopping), and when."""
    stopped = []
    for name, table in per_seed.items():
        declared, ran = model_config(params, name).epochs, sorted(set(table["epochs"]))
        if ran[0] < declared:
            stopped.append(f"`{name}` (stopped after {'/'.join(map(str, ran))} of {declared})")
    return "Every model ran its declared epochs" + (f" except {', '.join(stopped)}." if stopped else ".")


def below_course(params: dict, per_seed: dict[str, pd.DataFrame], margin: float) -> list[str]:
    """A sentence for every model whose mean lands more than `margin` below the course's figure."""
    lines = []
    for name, source in reference_accuracies(params).items():
        if name not in per_seed or source.get("test_accuracy") is None:
            continue
        test = summarize(per_seed[name]["test_accuracy"])
        gap = source["test_accuracy"] - test.mean
        if gap > margin:
            lines.append(
                f"- `{name}`: mean test accuracy {test.mean:.4f} (95% CI {test.interval()}) is"
                f" {100 * gap:.1f} points below the course's {source['test_accuracy']:.4f}."
            )
    return lines


def model_comparisons(
    params: dict, per_seed: dict[str, pd.DataFrame], correct: dict[str, list[np.ndarray]]
) -> pd.DataFrame:
    """Each pair of `comparisons`: the difference of mean test accuracy, its interval, McNemar per seed."""
    rows = []
    for name, other in comparisons(params):
        paired = shares_data_order(model_config(params, name), model_config(params, other))
        result = comparison(
            per_seed[name]["test_accuracy"], per_seed[other]["test_accuracy"], paired, correct[name], correct[other]
        )
        rows.append({"model": name, "against": other, **result})
    return pd.DataFrame(rows, columns=["model", "against", "difference", "ci_low", "ci_high", "paired", "verdict",
                                       "mcnemar_p"])  # fmt: skip


def comparison_lines(table: pd.DataFrame) -> list[str]:
    """One sentence per comparison: better or worse by X (CI a to b), or no difference detectable, and in how
    many seeds McNemar's test tells the two models' test predictions apart."""
    lines = []
    for _, row in table.iterrows():
        significant = sum(p < 0.05 for p in row["mcnemar_p"])
        lines.append(
            f"- `{row['model']}` against `{row['against']}`: {row['verdict']}{'' if row['paired'] else ', unpaired'};"
            f" McNemar p < 0.05 in {significant} of {len(row['mcnemar_p'])} seeds."
        )
    return lines


def confusion_counts(predictions: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Every model's and seed's 10x10 confusion counts, one row per cell, classes in label order."""
    tables = [
        confusion_rows(actual, predicted).assign(model=name, seed=seed)
        for (name, seed), (actual, predicted) in predictions.items()
    ]
    return pd.concat(tables, ignore_index=True)[["model", "seed", "actual", "predicted", "count"]]


def per_class(counts: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy per class (rows, in label order) and model (columns), the mean over the seeds."""
    keys = ["model", "seed", "actual"]
    totals = counts.groupby(keys, sort=False)["count"].sum()
    right = counts[counts["actual"] == counts["predicted"]].set_index(keys)["count"]
    by_seed = right / totals.where(totals > 0)
    table = by_seed.groupby(level=["model", "actual"], sort=False).mean().unstack("model").reindex(CLASS_NAMES)
    table.index.name = "class"
    return table[counts["model"].unique()]


def most_confused(counts: pd.DataFrame, shown: int = 3) -> str:
    """The class pairs most often mistaken for each other, summed over the models and seeds."""
    pairs = ranked_mistakes(counts)
    models, runs = counts["model"].nunique(), counts["seed"].nunique()
    listed = [f"{actual} taken for {predicted} ({count:,})" for (actual, predicted), count in pairs.head(shown).items()]
    return f"The most frequent mistakes, summed over the {models} models and {runs} seed(s): " + "; ".join(listed) + "."


def curves(history_dir: Path, names: list[str], seed: int) -> pd.DataFrame:
    """Every model's per-epoch history of one seed in one long table, for `dvc plots`."""
    histories = [seed_path(history_dir, name, seed, ".csv", folder_suffix="") for name in names]  # as published
    tables = [read_history(path).assign(model=name) for path, name in zip(histories, names, strict=True)]
    return pd.concat(tables).reindex(columns=CURVE_COLUMNS)


def caption(seed_list: tuple[int, ...]) -> str:
    return (
        f"Test accuracy over {len(seed_list)} seeds ({', '.join(map(str, seed_list))}): the mean ± the sample SD,"
        " and the 95% t interval of the mean."
    )


def summary(params: dict, per_seed: dict[str, pd.DataFrame], metrics: dict[str, dict], compared: pd.DataFrame) -> str:
    """The results in brief, for the project README: the headline table and the verdict of every comparison."""
    verdicts = [f"- `{row['model']}` against `{row['against']}`: {row['verdict']}." for _, row in compared.iterrows()]
    return "\n".join(
        [
            caption(seeds(params)),
            "",
            markdown.table(headline(params, per_seed, metrics)),
            "",
            "Differences of mean test accuracy (95% CI, in points), ranked only where the interval leaves out zero:",
            "",
            *verdicts,
            "",
        ]
    )


def results_figure(per_seed: dict[str, pd.DataFrame], course: dict[str, float | None]) -> plt.Figure:
    """Every model's test accuracy: each seed, the mean and its 95% interval, and the course's figure, the
    best model on top; from the per-seed tables the headline table is made of."""
    summaries = {name: summarize(table["test_accuracy"]) for name, table in per_seed.items()}
    names = sorted(summaries, key=lambda name: -summaries[name].mean)
    intervals = [(summaries[name].ci_low, summaries[name].ci_high) for name in names]
    figure, axis = plt.subplots(figsize=(9, 0.9 + 0.26 * len(names)), layout="constrained")
    rows = interval_rows(
        axis, names, [summaries[name].mean for name in names], *np.array(intervals, dtype=float).T,
        seeds=[per_seed[name]["test_accuracy"].tolist() for name in names],
    )  # fmt: skip
    marked = [(course[name], rows[name]) for name in names if course.get(name) is not None]
    if marked:
        axis.scatter(*zip(*marked, strict=True), marker="D", s=36, facecolor="none", edgecolor="tab:red",
                     linewidth=1.5, zorder=4, label="course note")  # fmt: skip
    axis.set_xlabel("test accuracy")
    figure.legend(loc="outside right upper", fontsize=8, frameon=False)
    count = max(len(table) for table in per_seed.values())
    axis.set_title(f"Test accuracy over {count} seeds: each seed, the mean with its 95% interval, the course's figure")
    return figure


def verdict_kind(verdict: str) -> str:
    """The word a forest plot row is coloured and labelled by, from the sentence the page states."""
    word = verdict.split(" ", 1)[0]
    return word if word in VERDICT_COLOURS else NO_DIFFERENCE


def comparisons_figure(table: pd.DataFrame, count: int) -> plt.Figure:
    """A forest plot of `comparisons.csv`: each difference of means with its interval, a line at zero, and
    the verdict beside each row; `count` is the number of seeds."""
    labels = [f"{row['model']} − {row['against']}" for _, row in table.iterrows()]
    kinds = [verdict_kind(verdict) for verdict in table["verdict"]]
    figure, axis = plt.subplots(figsize=(9, 1.2 + 0.3 * len(labels)), layout="constrained")
    rows = interval_rows(
        axis, labels, *(100 * table[column].to_numpy(dtype=float) for column in ("difference", "ci_low", "ci_high")),
        kinds=kinds, colours=VERDICT_COLOURS,
    )  # fmt: skip
    axis.axvline(0, color="black", linewidth=0.8)
    low, high = axis.get_xlim()
    axis.set_xlim(min(low, -0.5), max(high, 0.5))
    for label, kind in zip(labels, kinds, strict=True):
        axis.annotate(kind, (1, rows[label]), xycoords=("axes fraction", "data"), xytext=(6, 0),
                      textcoords="offset points", va="center", fontsize=8, color=VERDICT_COLOURS[kind])  # fmt: skip
    axis.set_xlabel("difference of mean test accuracy, points (the first model's minus the second's)")
    axis.set_title(f"Each comparison over {count} seeds: the difference of means with its 95% interval")
    return figure


def render(params: dict, per_seed: dict[str, pd.DataFrame], metrics: dict[str, dict], counts: pd.DataFrame,
           compared: pd.DataFrame, links: dict[str, str]) -> str:  # fmt: skip
    """The comparison page; `links` are the figures, raw tables and folders, relative to the page."""
    seed_list = seeds(params)
    margin = gate_settings(params).mean_margin
    below = below_course(params, per_seed, margin)
    return "\n".join(
        [
            "# Models compared",
            "",
            caption(seed_list),
            "",
            markdown.table(headline(params, per_seed, metrics)),
            "",
            f"![Test accuracy of every model: each seed, the mean with its 95% interval, the course's figure]"
            f"({links['results_figure']})",
            "",
            "Every model declared in `params.yaml`, trained by `dvc repro` once per seed and evaluated on the",
            "10,000 test images; the interval is t-based (n − 1 degrees of freedom). *Course note* is the single",
            "5-epoch run the course reported; *course inside CI* says whether it lies inside this pipeline's",
            "interval.",
            *(
                [f"More than {100 * margin:g} points below the course's figure:", "", *below]
                if below
                else [f"Every mean is within {100 * margin:g} points of the course's figure, or above it."]
            ),
            "",
            "## How each model trained",
            "",
            "Final training and validation accuracy, the mean ± the sample SD over the seeds; validation is on",
            "the images held out of the training set (`data.validation_fraction`). *Course train* is the",
            f"course's training accuracy. {epochs_run(params, per_seed)} Training speed is in"
            f" [`{Path(links['performance']).name}`]({links['performance']}).",
            "",
            markdown.table(training(params, per_seed), left=2),
            "",
            "## Which differences the seeds support",
            "",
            "Each comparison is the difference of mean test accuracy (the first model's minus the second's) with",
            "its 95% t interval, paired by seed where the two models' runs of a seed saw the same batches",
            "(Welch's otherwise); a difference whose interval includes zero is not ranked. McNemar's exact test",
            "compares the two models' predictions on the same test images, seed by seed: the test set's share of",
            "the noise. Its p-values are in the `mcnemar_p` column of"
            f" [`{Path(links['comparisons']).name}`]({links['comparisons']}).",
            "",
            f"![Each comparison's difference of means with its 95% interval]({links['comparisons_figure']})",
            "",
            *comparison_lines(compared),
            "",
            "## Test accuracy per class",
            "",
            most_confused(counts),
            "The table gives each class's test accuracy, the mean over the seeds.",
            "",
            markdown.table(per_class(counts), index=True, float_format=".3f"),
            "",
            f"Raw figures: [`{links['metrics_dir']}`]({links['metrics_dir']}) (one JSON per model, over its seeds),"
            f" [`{links['seeds_dir']}`]({links['seeds_dir']})",
            f"(one CSV per model, a row per seed), [`{links['statistics']}`]({links['statistics']}) (every figure's",
            f"spread), [`{links['comparisons']}`]({links['comparisons']}), training curves in"
            f" [`{links['history_dir']}`]({links['history_dir']}),",
            f"the first seed's ({seed_list[0]}) curves and confusion counts in [`{links['curves']}`]({links['curves']})"
            " and",
            f"[`{links['confusion']}`]({links['confusion']}).",
            "",
        ]
    )


def main() -> None:
    args = parse_arguments(
        __doc__, "seeds_dir", "metrics_dir", "history_dir", "predictions_dir", "out", summary="the results in brief",
        statistics="every figure's spread (CSV)", comparisons="the comparisons (CSV)",
        curves="the curves table (CSV)", confusion="the confusion counts table (CSV)",
        performance="the speed report that `make bench` writes, linked",
        results_figure="every model's test accuracy (PNG)", comparisons_figure="the comparisons' forest plot (PNG)",
    )  # fmt: skip
    params = load_params()
    names, seed_list = model_names(params), seeds(params)
    per_seed = {name: read_seeds(named_path(args.seeds_dir, name, ".csv")) for name in names}
    metrics = {name: read_metrics(named_path(args.metrics_dir, name, ".json")) for name in names}
    predictions = {
        (name, seed): read_predictions(seed_path(args.predictions_dir, name, seed, ".csv"))
        for name in names
        for seed in seed_list
    }
    correct = {name: [np.equal(*predictions[name, seed]) for seed in seed_list] for name in names}
    counts = confusion_counts(predictions)
    compared = model_comparisons(params, per_seed, correct)
    statistics(per_seed).to_csv(args.statistics, index=False, float_format="%.4f")
    compared.assign(mcnemar_p=compared["mcnemar_p"].map(p_text)).to_csv(args.comparisons, index=False,
                                                                         float_format="%.4f")  # fmt: skip
    course = {name: source.get("test_accuracy") for name, source in reference_accuracies(params).items()}
    save(results_figure(per_seed, course), args.results_figure)
    save(comparisons_figure(pd.read_csv(args.comparisons), len(seed_list)), args.comparisons_figure)
    linked = ("metrics_dir", "seeds_dir", "statistics", "comparisons", "history_dir", "curves", "confusion",
              "performance", "results_figure", "comparisons_figure")  # fmt: skip
    links = {key: link(getattr(args, key), args.out) for key in linked}
    args.out.write_text(render(params, per_seed, metrics, counts, compared, links))
    args.summary.write_text(summary(params, per_seed, metrics, compared))
    curves(args.history_dir, names, seed_list[0]).to_csv(args.curves, index=False, float_format="%.4f")
    first = counts[counts["seed"] == seed_list[0]].drop(columns="seed")
    first.to_csv(args.confusion, index=False)


if __name__ == "__main__":
    run(main)
