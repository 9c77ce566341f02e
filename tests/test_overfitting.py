"""The overfitting report: which epoch counts, the table's arithmetic and the sentences."""

import pandas as pd
import pytest

from stages.overfitting import conclusions, long_curves, summarize

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
    last = summarize(HISTORY, restores_best=False)
    assert last["best_epoch"] == 2 and last["epochs_run"] == 4
    assert (last["train_accuracy"], last["val_accuracy"]) == (0.97, 0.86)
    assert last["gap"] == pytest.approx(0.11) and last["val_loss_rise"] == pytest.approx(0.15)
    best = summarize(HISTORY, restores_best=True)
    assert (best["train_accuracy"], best["val_accuracy"], best["val_loss_rise"]) == (0.88, 0.86, 0.0)


def row(gap: float, rise: float, best: int, run: int, test: float) -> dict:
    return {"remedy": "r", "gap": gap, "val_loss_rise": rise, "best_epoch": best, "epochs_run": run,
            "train_accuracy": 0.9, "val_accuracy": 0.9 - gap, "test_accuracy": test}  # fmt: skip


def test_conclusions_say_what_each_remedy_did_with_its_numbers():
    table = pd.DataFrame(
        {
            "base": row(0.09, 0.14, 11, 20, 0.87),
            "dropout": row(-0.008, 0.002, 19, 20, 0.889),
            "early_stopping": row(0.037, 0.0, 11, 14, 0.884),
            "wider": row(0.12, 0.3, 5, 20, 0.86),
        }
    ).T
    text = "\n".join(conclusions(table))
    assert "gap of 9.0 points" in text and "ends 0.140 above that minimum" in text
    assert "closes the 9.0-point gap entirely: validation accuracy ends 0.8 points above" in text
    assert "keeps the weights of epoch 11, its lowest validation loss" in text
    assert "does not narrow the gap (12.0 points against 9.0)" in text
    assert "test accuracy 0.8890, up 1.9 points" in text and "test accuracy 0.8600, down 1.0 points" in text
    assert "Narrowest gap: **dropout**" in text and "Best test accuracy: **dropout** (0.8890)" in text


def test_curves_for_dvc_plots_have_a_training_and_a_validation_line_per_variant():
    curves = long_curves({"base": HISTORY, "l2": HISTORY})
    assert list(curves.columns) == ["variant", "split", "epoch", "loss", "accuracy"]
    assert sorted(set(zip(curves["variant"], curves["split"], strict=True))) == [
        ("base", "training"), ("base", "validation"), ("l2", "training"), ("l2", "validation"),
    ]  # fmt: skip
    validation = curves[(curves["variant"] == "base") & (curves["split"] == "validation")]
    assert validation["loss"].tolist() == [0.50, 0.40, 0.42, 0.55]
