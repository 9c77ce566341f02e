"""CI's choice of stages to rebuild (.ci/rebuilt_stages.py, .ci/run's LEFT_OUT) on the real dvc.yaml."""

import re
import runpy

import pytest

from tests.conftest import REPO

# DVC 3.67's trie code warns on every node, by the hundred; the warning is DVC's business.
pytestmark = pytest.mark.filterwarnings("ignore:_NoneStep.value:DeprecationWarning")
rebuilt_stages = runpy.run_path(str(REPO / ".ci" / "rebuilt_stages.py"))["rebuilt_stages"]


def left_out_in_ci() -> list[str]:
    (names,) = re.findall(r"^LEFT_OUT=\((.*)\)$", (REPO / ".ci" / "run").read_text(), re.MULTILINE)
    return names.split()


def test_a_left_out_training_takes_what_depends_on_it_and_nothing_else(monkeypatch):
    monkeypatch.chdir(REPO)
    rebuilt, skipped = rebuilt_stages(["train@cnn_64"])
    assert {"train@cnn_64", "evaluate@cnn_64", "figures@cnn_64", "compare", "front_page"} <= set(skipped)
    assert {"download", "prepare", "train@dnn", "evaluate@dnn", "shapes@cnn_64"} <= set(rebuilt)
    assert not set(rebuilt) & set(skipped)
    assert rebuilt.index("prepare") < rebuilt.index("train@dnn") < rebuilt.index("evaluate@dnn")


def test_ci_leaves_out_only_stages_that_exist_and_rebuilds_every_kind_of_training(monkeypatch):
    monkeypatch.chdir(REPO)
    left_out = left_out_in_ci()
    assert len(left_out) == 4
    rebuilt, _ = rebuilt_stages(left_out)
    assert not set(left_out) & set(rebuilt)
    trainings = [name for name in rebuilt if name.startswith(("train@", "overfitting_train@"))]
    assert any(name.startswith("train@") for name in trainings)
    assert any(name.startswith("overfitting_train@") for name in trainings)
    assert {"overfitting_train@augmentation", "overfitting_train@dropout", "overfitting_train@l2"} <= set(trainings)


def test_an_unknown_stage_name_stops_ci_with_its_name(monkeypatch):
    monkeypatch.chdir(REPO)
    with pytest.raises(SystemExit, match=re.escape("no such stage in dvc.yaml: train@renamed")):
        rebuilt_stages(["train@dnn", "train@renamed"])
