"""Quality gates: a mean too far below the course's figure, or one seed below the floor, fails."""

import pandas as pd
import pytest
import yaml

from pipeline.analysis.gates import check, pooled_sd
from pipeline.configuration.params import GateSettings
from tests.conftest import run_module

SETTINGS = GateSettings(mean_margin=0.015, seed_margin_sds=3)


def seeds(*values: float) -> pd.Series:
    return pd.Series(values, index=range(len(values)))


def test_pooled_sd_weighs_each_model_by_its_degrees_of_freedom():
    assert pooled_sd({"a": seeds(0.80, 0.82), "b": seeds(0.90, 0.90, 0.90)}) == pytest.approx((0.0002 / 3) ** 0.5)
    assert pooled_sd({"a": seeds(0.8)}) == 0.0


def test_a_mean_within_the_margin_passes_and_one_beyond_it_fails():
    course = {"cnn": 0.90}
    _, failures = check(course, {"cnn": seeds(0.887, 0.888, 0.889)}, SETTINGS)
    assert failures == []
    _, failures = check(course, {"cnn": seeds(0.883, 0.884, 0.885)}, SETTINGS)
    assert failures == ["cnn: mean test accuracy 0.8840 (95% CI 0.8815 to 0.8865) is more than 1.5 points below"
                        " the course's 0.9000"]  # fmt: skip


def test_a_wide_seed_spread_widens_the_mean_margin_to_two_sds():
    """SD 0.01: the mean may lie 2 points below, not just 1.5."""
    _, failures = check({"cnn": 0.90}, {"cnn": seeds(0.872, 0.882, 0.892)}, SETTINGS)
    assert failures == []


def test_one_seed_below_the_floor_fails_even_when_the_mean_passes():
    """The floor comes from the pooled SD, which a steady model with many seeds keeps small."""
    accuracies = {"cnn": seeds(0.899, 0.899, 0.860), "steady": seeds(*[0.9] * 30)}
    report, failures = check({"cnn": 0.90}, accuracies, SETTINGS)
    spread = pooled_sd(accuracies)
    floor = 0.90 - max(0.015, 2 * spread) - 3 * spread
    assert failures == [f"cnn: seed 2: test accuracy 0.8600 is below the floor {floor:.4f}"]
    assert report[0] == f"pooled seed SD over 2 models: {spread:.4f}"


def write_seeds(workdir, accuracies: dict[str, list[float]]):
    (workdir / "reports" / "seeds").mkdir(parents=True)
    for name, values in accuracies.items():
        table = pd.DataFrame({"seed": range(len(values)), "test_accuracy": values, "train_accuracy": 0.9,
                              "val_accuracy": 0.9, "epochs": 5})  # fmt: skip
        table.to_csv(workdir / "reports" / "seeds" / f"{name}.csv", index=False)


def test_check_command_fails_with_the_models_below_the_course(workdir):
    names = list(yaml.safe_load((workdir / "params.yaml").read_text())["models"])
    write_seeds(workdir, {name: [0.95, 0.95, 0.95] for name in names} | {"dnn": [0.5, 0.5, 0.5]})
    result = run_module("pipeline.analysis.gates", "--seeds-dir", "reports/seeds", cwd=workdir)
    assert result.returncode == 1
    assert "dnn: mean test accuracy 0.5000" in result.stderr and "dnn: seed 0: test accuracy 0.5000" in result.stderr
    assert "cnn_32:" not in result.stderr


def test_check_command_passes_when_every_model_is_near_the_course(workdir):
    names = list(yaml.safe_load((workdir / "params.yaml").read_text())["models"])
    write_seeds(workdir, {name: [0.95, 0.951, 0.952] for name in names})
    result = run_module("pipeline.analysis.gates", "--seeds-dir", "reports/seeds", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "Quality gates passed: 6 models with a course figure." in result.stdout


def test_check_command_without_results_says_to_run_the_pipeline(workdir):
    result = run_module("pipeline.analysis.gates", "--seeds-dir", "reports/seeds", cwd=workdir)
    assert result.returncode == 1 and "run `dvc repro`" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_check_command_reads_the_seeds_folder_where_dvc_yaml_declares_it(workdir):
    """`make check` passes no path: it takes dvc.yaml's `paths.reports.seeds`, so a moved folder moves it too."""
    names = list(yaml.safe_load((workdir / "params.yaml").read_text())["models"])
    write_seeds(workdir, {name: [0.95, 0.951, 0.952] for name in names})
    (workdir / "reports" / "seeds").rename(workdir / "moved")
    moved = {"vars": [{"paths": {"reports": {"seeds": "moved"}}}], "stages": {}}
    (workdir / "dvc.yaml").write_text(yaml.safe_dump(moved))
    result = run_module("pipeline.analysis.gates", cwd=workdir)
    assert result.returncode == 0, result.stderr
    (workdir / "dvc.yaml").write_text("stages: {}\n")
    result = run_module("pipeline.analysis.gates", cwd=workdir)
    assert result.returncode == 1 and "dvc.yaml: no path `paths.reports.seeds` under `vars`" in result.stderr
