"""End to end: `dvc repro` of the real pipeline on a small subset, in a temporary copy."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline.sources import DEBIAN_DIR, ENV_DIR, local_copy
from tests.conftest import REPO
from tests.test_readme import readme_output
from tests.test_report import broken_links

SUBSET = 1000
SEEDS = [0, 1]  # two seeds: every statistic over seeds is computed, and both workers are busy
# A model of each kind (dense, convolutional, one convolution, the source's callback) and of the
# study (paired and unpaired comparisons, early stopping): the behaviours under test, at half the
# cost of every model. CI rebuilds every model and variant of params.yaml at full size but the four
# costliest (.ci/run).
MODELS = ["dnn", "cnn_16", "cnn_64_1conv", "cnn_32_stop90"]
VARIANTS = ["base", "more_data", "dropout", "early_stopping"]
# DVC names a metric <file>:<key> in `dvc exp show` when files share keys, as every model's do,
# and lists changed dependencies: the README's comparison keeps the parameters and test accuracy,
# what a sweep is judged by, to fit 160 columns.
ONLY_TEST_ACCURACY = "State|Executor|.*/(?!.*:test_accuracy$)"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        local_copy([Path(os.environ.get(ENV_DIR, DEBIAN_DIR)), DEBIAN_DIR]) is None,
        reason="needs the real Fashion-MNIST (apt-get install dataset-fashion-mnist)",
    ),
]


def dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def reproduced_copy(copy: Path) -> Path:
    """The repository's files (as git sees them) in a new git repo, with a quick params.yaml, reproduced."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in listed:
        is_output = name.startswith(("reports/", "dvc.lock")) and name != "reports/performance.md"  # make bench's
        if (REPO / name).is_file() and not is_output:
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    params = yaml.safe_load((copy / "params.yaml").read_text())
    params["data"]["subset"] = SUBSET
    params["seeds"] = SEEDS
    params["models"] = {name: params["models"][name] for name in MODELS}
    params["overfitting"]["models"] = {name: params["overfitting"]["models"][name] for name in VARIANTS}
    params["reference"] = {name: params["reference"][name] for name in MODELS if name in params["reference"]}
    params["comparisons"] = {"cnn_16": ["dnn"], "cnn_64_1conv": ["dnn", "cnn_16"], "cnn_32_stop90": ["dnn"]}
    for block in params["models"].values():
        block["epochs"] = 1
    params["models"]["cnn_32_stop90"].update(epochs=3, stop_at_accuracy=0.01)
    params["overfitting"]["defaults"]["epochs"] = 3
    params["overfitting"]["models"]["early_stopping"]["early_stopping_patience"] = 1
    params["insight"].update(every_layer_of="cnn_16", kernels_of="cnn_16", projected=["dnn", "cnn_16"],
                             cam_per_class=20, patch_images=500, projection_images=300)  # fmt: skip
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    dvc("repro", cwd=copy)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "add", "-A"], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-qm", "reproduced"], cwd=copy, check=True)
    return copy


@pytest.fixture(scope="module")
def pipeline_copy(tmp_path_factory) -> Path:
    return reproduced_copy(tmp_path_factory.mktemp("pipeline"))


def model_names(group: str | None = None) -> list[str]:
    return VARIANTS if group else MODELS


def test_data_stages_make_verified_raw_files_and_prepared_arrays(pipeline_copy):
    raw = sorted(path.name for path in (pipeline_copy / "data" / "raw").iterdir())
    assert raw == sorted(["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                          "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"])  # fmt: skip
    prepared = pipeline_copy / "data" / "prepared"
    assert np.load(prepared / "x_train.npy").shape == (900, 28, 28, 1)
    assert np.load(prepared / "x_validation.npy").shape == (100, 28, 28, 1)
    assert np.load(prepared / "x_test.npy").shape == (10_000, 28, 28, 1)
    summary = json.loads((pipeline_copy / "reports" / "data.json").read_text())
    assert summary["test"]["per_class"] == dict.fromkeys(summary["test"]["per_class"], 1000)
    assert summary["test"]["pixel_mean"] == pytest.approx(0.2868, abs=0.001)


def test_every_model_is_trained_and_evaluated_once_per_seed(pipeline_copy):
    for name in model_names():
        metrics = json.loads((pipeline_copy / "reports" / "metrics" / f"{name}.json").read_text())
        assert metrics["test_accuracy"] > 0.4, f"{name} learnt nothing in one epoch"
        assert list(metrics) == [
            "test_accuracy", "test_sd", "ci_low", "ci_high", "train_accuracy", "val_accuracy", "params", "seeds",
            "plan",
        ]  # fmt: skip
        declared = yaml.safe_load((pipeline_copy / "params.yaml").read_text())
        defaults, steps = declared["defaults"], declared["training"]["steps_per_execution"]
        assert metrics["plan"] == [{"seed": seed, "batch_size": defaults["batch_size"], "learning_rate":
                                    defaults["learning_rate"], "precision": "float32", "replicas": 1,
                                    "steps_per_execution": steps} for seed in SEEDS]  # fmt: skip
        per_seed = pd.read_csv(pipeline_copy / "reports" / "seeds" / f"{name}.csv")
        assert per_seed["seed"].tolist() == SEEDS and metrics["seeds"] == len(SEEDS)
        assert metrics["test_accuracy"] == pytest.approx(per_seed["test_accuracy"].mean(), abs=1e-4)
        assert metrics["ci_low"] < metrics["test_accuracy"] < metrics["ci_high"]
        for seed in SEEDS:
            assert (pipeline_copy / "data" / "models" / name / f"seed_{seed}.keras").is_file()
            predictions = (pipeline_copy / "data" / "predictions" / name / f"seed_{seed}.csv").read_text()
            assert predictions.startswith("actual,predicted\n") and len(predictions.splitlines()) == 10_001
    models = [(pipeline_copy / "data" / "models" / "cnn_16" / f"seed_{seed}.keras").read_bytes() for seed in SEEDS]
    assert models[0] != models[1], "two seeds gave the same model"
    stopped = pd.read_csv(pipeline_copy / "reports" / "seeds" / "cnn_32_stop90.csv")
    assert (stopped["epochs"] == 1).all()
    counts = pd.read_csv(pipeline_copy / "reports" / "confusion.csv")
    assert len(counts) == 100 * len(model_names()) and (counts.groupby("model")["count"].sum() == 10_000).all()


def test_comparison_table_lists_every_model(pipeline_copy):
    table = (pipeline_copy / "reports" / "models.md").read_text()
    for name in model_names():
        assert f"| `{name}` " in table
    assert "| Ankle boot " in table and "0.8809" in table
    assert "(figures/results.png)" in table and "(figures/comparisons.png)" in table
    comparisons = pd.read_csv(pipeline_copy / "reports" / "comparisons.csv")
    declared = yaml.safe_load((pipeline_copy / "params.yaml").read_text())["comparisons"]
    assert len(comparisons) == sum(map(len, declared.values()))
    for _, row in comparisons.iterrows():
        assert f"- `{row['model']}` against `{row['against']}`: {row['verdict']}; McNemar p < 0.05 in" in table
    statistics = pd.read_csv(pipeline_copy / "reports" / "statistics.csv")
    assert len(statistics) == 3 * len(model_names()) and (statistics["n"] == len(SEEDS)).all()


def test_second_repro_does_nothing(pipeline_copy):
    result = dvc("repro", cwd=pipeline_copy)
    assert "Running stage" not in result.stdout
    assert "Data and pipelines are up to date." in result.stdout


def test_metrics_show_is_one_readable_row_per_model(pipeline_copy):
    shown = json.loads(dvc("metrics", "show", "--json", cwd=pipeline_copy).stdout)
    (workspace,) = shown.values()  # one revision: the workspace
    files = workspace["data"]
    models = [f"reports/metrics/{name}.json" for name in model_names()]
    variants = [f"reports/overfitting/metrics/{name}.json" for name in model_names("overfitting")]
    assert sorted(files) == sorted(models + variants)
    assert all(files[name]["data"]["test_accuracy"] > 0 for name in models)
    table = dvc("metrics", "show", cwd=pipeline_copy).stdout.splitlines()
    assert len(table) == 1 + len(models) + len(variants)
    assert max(map(len, table)) <= 160, "\n".join(table)
    assert "plan" not in table[0] and "batch_size" not in table[0], "the training plan is a record, not a column"


def test_editing_one_model_invalidates_only_its_stages(pipeline_copy):
    params_path = pipeline_copy / "params.yaml"
    original = params_path.read_text()
    params = yaml.safe_load(original)
    params["models"]["cnn_16"]["layers"]["conv_1"]["filters"] = 24  # as `dvc exp run -S` does in the README
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        changed = set(json.loads(dvc("status", "--json", cwd=pipeline_copy).stdout))
        diff = json.loads(dvc("params", "diff", "--json", cwd=pipeline_copy).stdout)
        shown = dvc("params", "diff", cwd=pipeline_copy).stdout.strip().splitlines()
    finally:
        params_path.write_text(original)
    assert changed == {"train@cnn_16", "evaluate@cnn_16", "shapes@cnn_16", "figures@cnn_16", "compare", "front_page",
                       "gradcam", "filters", "templates", "feature_space"}  # a stage per kind of insight, all models
    assert diff["params.yaml"] == {"models.cnn_16.layers.conv_1.filters": {"old": 16, "new": 24, "diff": 8}}
    assert shown == readme_output("dvc params diff")


@pytest.mark.parametrize("name", ["x;touch pwned;", "x$(touch pwned)", "..", "../../outside"])
def test_a_hostile_model_name_reaches_no_shell_and_no_path(pipeline_copy, name):
    """A model name goes into dvc.yaml's `outs` but never into a shell command or an rmtree."""
    params_path = pipeline_copy / "params.yaml"
    original = params_path.read_text()
    params = yaml.safe_load(original)
    params["models"][name] = params["models"]["dnn"]
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    before = sorted(str(path) for path in (pipeline_copy / "reports").rglob("*"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    try:
        for stage in (f"train@{name}", f"figures@{name}"):
            result = subprocess.run([sys.executable, "-m", "dvc", "repro", "-s", stage], cwd=pipeline_copy, env=env,
                                    capture_output=True, text=True, timeout=300)  # fmt: skip
            assert result.returncode != 0, result.stdout
            assert "Traceback" not in result.stderr
    finally:
        params_path.write_text(original)
    assert not (pipeline_copy / "pwned").exists() and not (pipeline_copy.parent / "outside").exists()
    assert sorted(str(path) for path in (pipeline_copy / "reports").rglob("*")) == before
    assert "Running stage" not in dvc("repro", cwd=pipeline_copy).stdout


def test_front_page_shows_every_model_without_broken_links(pipeline_copy):
    page = pipeline_copy / "reports" / "README.md"
    assert broken_links(page) == []
    for name in model_names():
        assert f"figures/{name}/misclassified.png" in page.read_text()
        assert (pipeline_copy / "reports" / "shapes" / f"{name}.csv").is_file()
    assert (pipeline_copy / "reports" / "figures" / "cnn_64_1conv" / "activations.png").is_file()
    assert not (pipeline_copy / "reports" / "figures" / "dnn" / "activations.png").exists()


def test_insight_stages_explain_every_cnn(pipeline_copy):
    insight = pipeline_copy / "reports" / "insight"
    cnns = ["cnn_16", "cnn_64_1conv", "cnn_32_stop90"]
    gradcam = pd.read_csv(insight / "gradcam" / "summary.csv")
    assert gradcam["model"].unique().tolist() == cnns and (gradcam.groupby("model").size() == 10).all()
    for name in cnns:
        for figure in ("activation_images", "confused", "class_average"):
            assert (insight / "gradcam" / name / f"{figure}.png").stat().st_size > 5_000
    filters = pd.read_csv(insight / "filters" / "summary.csv")
    layers = filters.groupby(["model", "layer"], sort=False).size()
    assert layers.to_dict() == {("cnn_16", "conv_1"): 16, ("cnn_16", "conv_2"): 16, ("cnn_64_1conv", "conv_1"): 64,
                                ("cnn_32_stop90", "conv_1"): 32}  # fmt: skip
    assert filters[filters["layer"] == "conv_2"]["field"].eq(8).all()
    assert (filters["top_class_patches"].between(1, 9)).all()
    templates = json.loads((insight / "templates" / "summary.json").read_text())
    assert (templates["units"], templates["kernels"], templates["positions_per_kernel"]) == (128, 16, 676)
    scores = pd.read_csv(insight / "feature_space" / "separability.csv")
    assert scores["space"].tolist() == ["raw pixels", "dnn", "cnn_16"] and scores["knn_accuracy"].between(0.3, 1).all()
    page = (pipeline_copy / "reports" / "README.md").read_text()
    assert "## What the network looks at" in page
    assert f"{templates['silent_units']} of `dnn`'s 128 ReLU units never fire" in page


def test_overfitting_study_reports_every_variant(pipeline_copy):
    reports = pipeline_copy / "reports"
    study = (reports / "overfitting.md").read_text()
    for name in model_names("overfitting"):
        per_seed = pd.read_csv(reports / "overfitting" / "seeds" / f"{name}.csv")
        assert per_seed["seed"].tolist() == SEEDS and per_seed["epochs"].between(1, 3).all()
        assert f"| {name} " in study
        assert (reports / "figures" / "overfitting" / f"{name}.png").is_file()
    assert (reports / "figures" / "overfitting" / "overlay.png").is_file()
    assert "figures/overfitting/overlay.png" in (reports / "README.md").read_text()
    assert "figures/overfitting_results.png" in (reports / "README.md").read_text()
    curves = (reports / "overfitting" / "curves.csv").read_text().splitlines()
    assert curves[0] == "variant,split,epoch,loss,accuracy"
    assert any(line.startswith("base,validation,") for line in curves)
    compared = pd.read_csv(reports / "overfitting" / "comparisons.csv")
    assert sorted(compared["variant"]) == sorted(set(model_names("overfitting")) - {"base"})
    assert not compared.set_index("variant").loc["more_data", "paired"], "more data: other batches, not paired"


def test_queued_sweep_runs_two_experiments_in_parallel(pipeline_copy):
    """`dvc exp run --queue -S ...` twice, `dvc queue start -j 2`: both experiments' metrics exist,
    `dvc exp show --only-changed` fits 160 columns, and each changed exactly one parameter.

    Each experiment reproduces its model's metrics (`evaluate@cnn_16` and what it needs), not
    the pages downstream, which the other tests of this module already cover."""
    for filters in (24, 8):
        dvc(
            "exp", "run", "--queue", "-S", f"models.cnn_16.layers.conv_1.filters={filters}", "evaluate@cnn_16",
            cwd=pipeline_copy,
        )  # fmt: skip
    dvc("queue", "start", "-j", "2", cwd=pipeline_copy)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = dvc("queue", "status", cwd=pipeline_copy).stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            break
        time.sleep(2)
    assert "Success" in status and "Failed" not in status, status
    shown = json.loads(dvc("exp", "show", "--json", cwd=pipeline_copy).stdout)
    experiments = [exp for commit in shown for exp in commit.get("experiments") or []]
    results = {}
    for experiment in experiments:
        (revision,) = experiment["revs"]
        data = revision["data"]
        filters = data["params"]["params.yaml"]["data"]["models"]["cnn_16"]["layers"]["conv_1"]["filters"]
        results[filters] = data["metrics"]["reports/metrics/cnn_16.json"]["data"]["test_accuracy"]
        diff = json.loads(dvc("params", "diff", "HEAD", revision["rev"], "--json", cwd=pipeline_copy).stdout)
        assert diff["params.yaml"] == {
            "models.cnn_16.layers.conv_1.filters": {"old": 16, "new": filters, "diff": filters - 16}
        }
    assert set(results) == {8, 24} and all(0.4 < accuracy <= 1 for accuracy in results.values())
    table = dvc("exp", "show", "--only-changed", "--drop", ONLY_TEST_ACCURACY, cwd=pipeline_copy).stdout
    assert max(map(len, table.splitlines())) <= 160, table
    assert "conv_1.filters" in table and "test_accuracy" in table, table
    columns = [line.split() for line in table.splitlines() if "Experiment" in line]
    shown = readme_output(f"dvc exp show --only-changed --drop '{ONLY_TEST_ACCURACY}'")
    in_readme = [line.split() for line in shown if "Experiment" in line]
    assert columns and columns == in_readme, "README.md shows other columns than `dvc exp show --only-changed`"
    assert "Running stage" not in dvc("repro", cwd=pipeline_copy).stdout, "the workspace is left as it was"


def test_a_second_clone_pulls_results_from_a_shared_remote_and_trains_nothing(pipeline_copy, tmp_path):
    remote = tmp_path / "team-cache"
    dvc("remote", "add", "--local", "-d", "shared", str(remote), cwd=pipeline_copy)
    try:
        dvc("push", "--run-cache", cwd=pipeline_copy)
    finally:
        dvc("remote", "remove", "--local", "shared", cwd=pipeline_copy)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(pipeline_copy), str(clone)], check=True)
    dvc("remote", "add", "--local", "-d", "shared", str(remote), cwd=clone)
    dvc("pull", "--run-cache", cwd=clone)
    assert (clone / "data" / "models" / "cnn_16" / "seed_0.keras").read_bytes() == (
        pipeline_copy / "data" / "models" / "cnn_16" / "seed_0.keras"
    ).read_bytes()
    result = dvc("repro", cwd=clone)
    assert "Running stage" not in result.stdout and "Data and pipelines are up to date." in result.stdout


def comparable_files(copy: Path) -> dict[str, bytes]:
    """Every model, metric and report file of a reproduced copy, by path, and dvc.lock."""
    files = {"dvc.lock": (copy / "dvc.lock").read_bytes()}
    for folder in ("data/models", "data/overfitting", "data/predictions", "reports"):
        for path in sorted((copy / folder).rglob("*")):
            if path.is_file():
                files[str(path.relative_to(copy))] = path.read_bytes()
    return files


def test_two_runs_from_scratch_give_identical_bytes(pipeline_copy, tmp_path_factory):
    second = reproduced_copy(tmp_path_factory.mktemp("pipeline_again"))
    first_files, second_files = comparable_files(pipeline_copy), comparable_files(second)
    assert sorted(first_files) == sorted(second_files)
    assert len(first_files) > 100 and any(name.endswith(".keras") for name in first_files)
    differing = [name for name in first_files if first_files[name] != second_files[name]]
    assert differing == []


def test_a_stage_killed_mid_training_is_rerun_and_nothing_stale_is_used(pipeline_copy):
    """SIGKILL to `dvc repro` and the training under it; the next `dvc repro` of it finishes the job."""
    params_path = pipeline_copy / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    params["models"]["cnn_16"]["epochs"] = 30
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    partial = pipeline_copy / "reports" / "history" / "cnn_16" / "seed_0.csv.partial"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "dvc", "repro", "train@cnn_16"], cwd=pipeline_copy, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(partial.read_text().splitlines() if partial.exists() else []) < 3:
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        time.sleep(2)  # the workers notice that their stage is gone
        assert not list((pipeline_copy / "data" / "models" / "cnn_16").glob("*.keras"))
        assert "train@cnn_16" in json.loads(dvc("status", "--json", cwd=pipeline_copy).stdout)
        # The model's own stages only: the reports downstream (insight stages included) would
        # rerun twice, for the edit and for its undoing, and show nothing more about a kill.
        dvc("repro", "evaluate@cnn_16", cwd=pipeline_copy)
        per_seed = pd.read_csv(pipeline_copy / "reports" / "seeds" / "cnn_16.csv")
        assert (per_seed["epochs"] == 30).all()
        assert "Running stage" not in dvc("repro", "evaluate@cnn_16", cwd=pipeline_copy).stdout
    finally:  # back to the reproduced commit: git's files, and DVC's outputs from its cache
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=pipeline_copy, check=True)
        dvc("checkout", "--force", cwd=pipeline_copy)
    assert "Data and pipelines are up to date." in dvc("status", cwd=pipeline_copy).stdout
