"""The overfitting report: which epoch counts, the comparisons over seeds and the sentences."""

import numpy as np
import pandas as pd
import pytest

from stages.overfitting import conclusions, long_curves, remedy_comparisons, summarize_run

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
    assert "(unpaired;" in "\n".join(conclusions(table, compared, dict.fromkeys(("base", "dropout", "wider"), False)))


def test_curves_for_dvc_plots_have_a_training_and_a_validation_line_per_variant():
    curves = long_curves({"base": HISTORY, "l2": HISTORY})
    assert list(curves.columns) == ["variant", "split", "epoch", "loss", "accuracy"]
    assert sorted(set(zip(curves["variant"], curves["split"], strict=True))) == [
        ("base", "training"), ("base", "validation"), ("l2", "training"), ("l2", "validation"),
    ]  # fmt: skip
    validation = curves[(curves["variant"] == "base") & (curves["split"] == "validation")]
    assert validation["loss"].tolist() == [0.50, 0.40, 0.42, 0.55]
