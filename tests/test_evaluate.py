"""The evaluate stage's arithmetic and its refusal of files that are not Keras models."""

import json

import numpy as np
import pandas as pd
import pytest

from pipeline.analysis.results import read_history, read_plan
from pipeline.errors import PipelineError
from pipeline.training.models import load_model
from stages.evaluate import headline, score_on_test_set, training_summary


class FixedPredictions:
    """Stands in for a model: returns given class probabilities."""

    name = "fixed"

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, dtype=np.float32)

    def predict(self, images, batch_size, verbose):
        return self.probabilities


def test_scores_on_the_test_set():
    probabilities = np.full((4, 10), 0.01)
    for row, predicted in enumerate([0, 0, 1, 9]):
        probabilities[row, predicted] = 0.91
    labels = np.array([0, 1, 1, 9], dtype=np.uint8)
    metrics, predicted = score_on_test_set(FixedPredictions(probabilities), np.zeros((4, 28, 28, 1)), labels)
    assert predicted.tolist() == [0, 0, 1, 9]
    assert metrics["test_accuracy"] == 0.75
    expected_loss = -(3 * np.log(0.91) + np.log(0.01)) / 4
    assert metrics["test_loss"] == pytest.approx(expected_loss, abs=1e-4)


def test_a_model_that_predicts_nan_is_an_error_not_a_nan_metric():
    probabilities = np.full((2, 10), np.nan)
    with pytest.raises(PipelineError, match="predicts NaN"):
        score_on_test_set(FixedPredictions(probabilities), np.zeros((2, 28, 28, 1)), np.array([0, 1]))


def test_training_summary_is_the_last_epoch_without_timing(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.8,0.5,0.79,0.55\n1,0.9,0.3,0.85,0.45\n")
    assert training_summary(read_history(path)) == {"train_accuracy": 0.9, "val_accuracy": 0.85, "epochs": 2}


def test_without_validation_the_validation_accuracy_is_null(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,accuracy,loss\n0,0.8,0.5\n")
    assert training_summary(read_history(path))["val_accuracy"] is None


def test_empty_history_is_a_clear_error(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("")
    with pytest.raises(PipelineError, match=rf"{path}: cannot read the training history"):
        read_history(path)


@pytest.mark.parametrize("content", [b"not a model", b"PK\x03\x04 truncated zip"])
def test_a_file_that_is_not_a_keras_model_is_refused(tmp_path, content):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(PipelineError, match=rf"{path}: (not a Keras model file|cannot load the Keras model)"):
        load_model(path)


def test_a_zip_that_is_not_a_keras_model_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(PipelineError, match=rf"{path}: cannot load the Keras model"):
        load_model(path)


def test_a_missing_model_file_says_to_run_the_pipeline(tmp_path):
    with pytest.raises(PipelineError, match=rf"{tmp_path / 'absent.keras'}: no such model file; run `dvc repro`"):
        load_model(tmp_path / "absent.keras")


def test_predictions_for_another_number_of_test_images_are_refused(tmp_path):
    from pipeline.analysis.results import read_predictions

    path = tmp_path / "seed_0.csv"
    path.write_text("actual,predicted\nShirt,T-shirt/top\nBag,Bag\n")
    actual, predicted = read_predictions(path, expected=2)
    assert actual.tolist() == [6, 8] and predicted.tolist() == [0, 8]
    with pytest.raises(PipelineError, match=r"seed_0.csv: 2 predictions for 10000 test images; run `dvc repro`"):
        read_predictions(path, expected=10_000)


def test_the_metrics_keep_each_seeds_training_plan_as_a_list(tmp_path):
    """A list: `dvc metrics show` leaves it out of its columns, the file keeps it for the record."""
    plan = {"batch_size": 128, "learning_rate": 0.002, "precision": "mixed_bfloat16", "replicas": 1,
            "steps_per_execution": 64}  # fmt: skip
    path = tmp_path / "seed_0.plan.json"
    path.write_text(json.dumps(plan))
    per_seed = pd.DataFrame({"test_accuracy": [0.9, 0.91], "train_accuracy": 0.95, "val_accuracy": 0.92})
    metrics = headline(per_seed, 1000, {0: read_plan(path), 1: plan})
    assert metrics["plan"] == [{"seed": 0, **plan}, {"seed": 1, **plan}]
    for broken in ({**plan, "extra": 1}, {**plan, "replicas": None}, {**plan, "batch_size": "32"},
                   {**plan, "learning_rate": -0.1}, {**plan, "steps_per_execution": True}):  # fmt: skip
        path.write_text(json.dumps(broken))
        with pytest.raises(PipelineError, match=r"seed_0.plan.json: expected the training plan's batch_size \(int\), "):
            read_plan(path)
    path.write_text("{")
    with pytest.raises(PipelineError, match=r"seed_0.plan.json: cannot read the training plan .*; run `dvc repro`"):
        read_plan(path)
