"""The overfitting report: which epoch counts, the comparisons over seeds and the sentences."""

import numpy as np
import pandas as pd
import pytest

from pipeline.analysis.results import read_seeds
from pipeline.reporting.plotting import plt
from stages.overfitting import conclusions, long_curves, remedy_comparisons, results_figure, runs_table, summarize_run
from tests.test_report import plotted_rows

RESULT_GAP_TITLE = "training minus validation accuracy, points"

HISTORY = pd.DataFrame(
    {
        "epoch": [1, 2, 3, 4],
        "accuracy": [0.80, 0.88, 0.93, 0.97],
        "val_accuracy": [0.82, 0.86, 0.87, 0.86],
        "loss": [0.6, 0.4, 0.25, 0.1],
        "val_loss": [0.50, 0.40, 0.42, 0.55],
    }
)


def test_a_model_keeps_its_last_epoch_unless_early_stopping_restored_the_best():
    last = summarize_run(HISTORY, restores_best=False)
    assert last["best_epoch"] == 2 and last["epochs_run"] == 4
    assert (last["train_accuracy"], last["val_accuracy"]) == (0.97, 0.86)
    assert last["gap"] == pytest.approx(0.11) and last["val_loss_rise"] == pytest.approx(0.15)
    best = summarize_run(HISTORY, restores_best=True)
    assert (best["train_accuracy"], best["val_accuracy"], best["val_loss_rise"]) == (0.88, 0.86, 0.0)


def runs(name: str, gaps: list[float], tests: list[float], best: int = 11, rise: float = 0.14) -> list[dict]:
    return [
        {"variant": name, "seed": seed, "best_epoch": best + seed, "epochs_run": 20, "train_accuracy": 0.9,
         "val_accuracy": 0.9 - gap, "gap": gap, "val_loss_rise": rise, "test_accuracy": test}
        for seed, (gap, test) in enumerate(zip(gaps, tests, strict=True))
    ]  # fmt: skip


def study(paired: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = pd.DataFrame(
        runs("base", [0.090, 0.092, 0.088], [0.870, 0.872, 0.868])
        + runs("dropout", [-0.008, -0.006, -0.010], [0.889, 0.890, 0.888], rise=0.002)
        + runs("wider", [0.091, 0.095, 0.087], [0.869, 0.875, 0.864], rise=0.3)
    )
    correct = {name: [np.ones(10, bool)] * 3 for name in ("base", "dropout", "wider")}
    return table, remedy_comparisons(table, dict.fromkeys(("base", "dropout", "wider"), paired), correct)


def test_each_remedy_is_compared_with_the_base_with_its_interval():
    table, compared = study()
    text = "\n".join(conclusions(table, compared, {"base": False, "dropout": False, "wider": False}))
    assert "a gap of 9.0 ± 0.2 points" in text and "bottoms out at epochs 11/12/13" in text
    dropout = next(line for line in text.splitlines() if line.startswith("- **dropout**"))
    assert "narrows the gap by 9.8 points (95% CI" in dropout
    assert "against the base's: better by 1.9 points (95% CI +1.7 to +2.1)" in dropout
    wider = next(line for line in text.splitlines() if line.startswith("- **wider**"))
    assert "no change in the gap detectable with 3 seeds" in wider
    assert "against the base's: no difference detectable with 3 seeds" in wider
    assert "detectably above the base's: dropout; detectably below: none;" in text
    assert "no difference detectable with 3 seeds: wider." in text


def test_early_stopping_is_said_to_keep_its_best_epoch():
    table, compared = study()
    text = "\n".join(conclusions(table, compared, {"base": False, "dropout": True, "wider": False}))
    assert "keeps the weights of its lowest-validation-loss epoch (epochs 11/12/13 of the seeds)" in text


def test_unpaired_comparisons_say_so():
    table, compared = study(paired=False)
    assert not compared["paired"].any()
    text = "\n".join(conclusions(table, compared, dict.fromkeys(("base", "dropout", "wider"), False)))
    dropout = next(line for line in text.splitlines() if line.startswith("- **dropout**"))
    assert "test accuracy against the base's: better by 1.9 points" in dropout and dropout.endswith(", unpaired.")


def test_curves_for_dvc_plots_have_a_training_and_a_validation_line_per_variant():
    curves = long_curves({"base": HISTORY, "l2": HISTORY})
    assert list(curves.columns) == ["variant", "split", "epoch", "loss", "accuracy"]
    assert sorted(set(zip(curves["variant"], curves["split"], strict=True))) == [
        ("base", "training"), ("base", "validation"), ("l2", "training"), ("l2", "validation"),
    ]  # fmt: skip
    validation = curves[(curves["variant"] == "base") & (curves["split"] == "validation")]
    assert validation["loss"].tolist() == [0.50, 0.40, 0.42, 0.55]


def test_the_results_figure_follows_the_per_seed_tables(tmp_path):
    """Test accuracy comes from the per-seed CSVs and the gap from the histories, as in the study's table:
    change a CSV, and the figure follows."""
    histories = {(name, seed): HISTORY for name in ("base", "dropout") for seed in (0, 1)}
    drawn = []
    for dropout in ([0.88, 0.89], [0.70, 0.72]):
        for name, tests in (("base", [0.85, 0.86]), ("dropout", dropout)):
            pd.DataFrame({"seed": [0, 1], "test_accuracy": tests, "test_loss": 0.4, "train_accuracy": 0.9,
                          "val_accuracy": 0.9, "epochs": 4}).to_csv(tmp_path / f"{name}.csv", index=False)  # fmt: skip
        per_seed = {name: read_seeds(tmp_path / f"{name}.csv") for name in ("base", "dropout")}
        figure = results_figure(runs_table(histories, per_seed, {"base": False, "dropout": True}))
        test_axis, gap_axis = figure.axes
        assert (test_axis.get_xlabel(), gap_axis.get_xlabel()) == ("test accuracy", RESULT_GAP_TITLE)
        assert "2 seeds" in figure.get_suptitle()
        drawn.append((plotted_rows(test_axis), plotted_rows(gap_axis)))
        plt.close(figure)
    (tests, gaps), (edited, _) = drawn
    assert list(tests) == ["dropout", "base"] and list(edited) == ["base", "dropout"], "the best on top"
    assert tests["dropout"]["seeds"] == [0.88, 0.89] and edited["dropout"]["seeds"] == [0.70, 0.72]
    assert edited["dropout"]["centre"] == 0.71
    assert gaps["base"]["seeds"] == [11.0, 11.0] and gaps["dropout"]["seeds"] == [2.0, 2.0], "last or best epoch"
