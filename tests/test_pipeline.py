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

from pipeline.data.sources import DEBIAN_DIR, ENV_DIR, local_copy
from tests.conftest import REPO
from tests.test_explorer import check_every_trained_model
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
        made_by_bench = name in ("reports/performance.md", "reports/explorer.png")
        is_output = name.startswith(("reports/", "dvc.lock")) and not made_by_bench
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
            assert (pipeline_copy / "data" / "models" / f"{name}.seeds" / f"seed_{seed}.keras").is_file()
            predictions = (pipeline_copy / "data" / "predictions" / f"{name}.seeds" / f"seed_{seed}.csv").read_text()
            assert predictions.startswith("actual,predicted\n") and len(predictions.splitlines()) == 10_001
    folder = pipeline_copy / "data" / "models" / "cnn_16.seeds"
    models = [(folder / f"seed_{seed}.keras").read_bytes() for seed in SEEDS]
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
    assert "(results.png)" in table and "(comparisons.png)" in table
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


def edited_params(copy: Path, edit) -> str:
    """params.yaml of `copy` changed by `edit` (a function of the parsed file); returns the original text."""
    params_path = copy / "params.yaml"
    original = params_path.read_text()
    params = yaml.safe_load(original)
    edit(params)
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    return original


def restored(copy: Path) -> None:
    """Back to the reproduced commit: git's files, and DVC's outputs from its cache."""
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=copy, check=True)
    dvc("checkout", "--force", cwd=copy)
    assert "Data and pipelines are up to date." in dvc("status", cwd=copy).stdout


def test_editing_one_model_invalidates_only_its_stages(pipeline_copy):
    original = edited_params(
        pipeline_copy, lambda params: params["models"]["cnn_16"]["layers"]["conv_1"].update(filters=24)
    )  # as `dvc exp run -S models.cnn_16.layers.conv_1.filters=24` does in the README
    try:
        diff = json.loads(dvc("params", "diff", "--json", cwd=pipeline_copy).stdout)
        shown = dvc("params", "diff", cwd=pipeline_copy).stdout.strip().splitlines()
        dvc("repro", "check_params", cwd=pipeline_copy)  # the resolved configurations: only cnn_16's changes
        changed = set(json.loads(dvc("status", "--json", cwd=pipeline_copy).stdout))
    finally:
        (pipeline_copy / "params.yaml").write_text(original)
        restored(pipeline_copy)
    assert changed == {
        "train@cnn_16",
        "evaluate@cnn_16",
        "shapes@cnn_16",
        "figures@cnn_16",
        "publish",
        "compare",
        "front_page",
        "gradcam",
        "filters",
        "templates",
        "feature_space",
        "explorer",
    }  # insight and the explorer: all models
    assert diff["params.yaml"] == {"models.cnn_16.layers.conv_1.filters": {"old": 16, "new": 24, "diff": 8}}
    assert shown == readme_output("dvc params diff")


REPORT_CODE = [
    "pipeline/configuration/params.py",
    "pipeline/files/paths.py",
    "pipeline/reporting/plotting.py",
    "pipeline/analysis/statistics.py",
    "pipeline/analysis/gates.py",
    "pipeline/analysis/results.py",
    "pipeline/files/outputs.py",
    "pipeline/reporting/markdown.py",
    "pipeline/reporting/explorer.py",
    "pipeline/analysis/confusion.py",
    "stages/compare.py",
    "stages/front_page.py",
]


def test_editing_report_code_or_rules_retrains_nothing(pipeline_copy):
    """The checks of the reports (params.py's insight, report, gates and comparisons rules), the
    figures and the pages are not dependencies of any training stage."""
    for name in REPORT_CODE:
        with open(pipeline_copy / name, "a") as file:
            file.write("# edited\n")
    edited_params(pipeline_copy, lambda params: params["gates"].update(mean_margin=0.02))
    try:
        dvc("repro", "check_params", cwd=pipeline_copy)
        changed = set(json.loads(dvc("status", "--json", cwd=pipeline_copy).stdout))
    finally:
        restored(pipeline_copy)
    assert {"compare", "front_page"} <= changed
    assert [stage for stage in changed if stage.startswith(("train@", "overfitting_train@"))] == []


def tree(copy: Path) -> dict[str, tuple[int, int]]:
    """Every file of `copy` and beside it, by path: size and modification time (DVC's own state aside)."""
    files = {}
    for path in copy.parent.rglob("*"):
        if path.is_file() and not path.is_relative_to(copy / ".git") and not path.is_relative_to(copy / ".dvc" / "tmp"):
            files[str(path.relative_to(copy.parent))] = (path.stat().st_size, path.stat().st_mtime_ns)
    return files


def without_configs(files: dict, copy: Path) -> dict:
    """check_params' own outputs aside: DVC deletes them before the check it runs fails."""
    configs = f"{copy.name}/data/configs/"
    return {path: value for path, value in files.items() if not path.startswith(configs)}


HOSTILE_NAMES = ["x;touch pwned;", "x$(touch pwned)", "..", ".", "../../outside"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_model_name_reaches_no_shell_and_deletes_nothing(pipeline_copy, name):
    """A model name goes into dvc.yaml's paths, never into a shell command; whatever DVC deletes
    before a stage of that name runs is that stage's own suffixed output, which does not exist,
    and `dvc repro` stops at check_params before any stage of it runs."""
    original = edited_params(pipeline_copy, lambda params: params["models"].update({name: params["models"]["dnn"]}))
    before = tree(pipeline_copy)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    try:
        for stage in (f"train@{name}", f"evaluate@{name}", f"shapes@{name}", f"figures@{name}"):
            result = subprocess.run([sys.executable, "-m", "dvc", "repro", "-s", stage], cwd=pipeline_copy, env=env,
                                    capture_output=True, text=True, timeout=300)  # fmt: skip
            assert result.returncode != 0, result.stdout
            assert "Traceback" not in result.stderr
            assert tree(pipeline_copy) == before, f"dvc repro -s {stage} changed files"
        result = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=pipeline_copy, env=env,
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert result.returncode != 0 and "Traceback" not in result.stderr, result.stdout  # refused: parsed or checked
        assert not re.search(r"Running stage '(?!check_params|download)", result.stdout), result.stdout
        assert without_configs(tree(pipeline_copy), pipeline_copy) == without_configs(before, pipeline_copy)
    finally:
        (pipeline_copy / "params.yaml").write_text(original)
        restored(pipeline_copy)
    assert not (pipeline_copy / "pwned").exists() and not (pipeline_copy.parent / "outside").exists()


@pytest.mark.parametrize("command", [["repro"], ["exp", "run"]])
def test_a_bad_value_stops_before_any_output_is_deleted(pipeline_copy, command):
    """`seeds: []` through `dvc repro` or `dvc exp run -S`: check_params refuses it, and every model,
    table, figure and page is left as it was (check_params' own configurations are restored by
    `dvc checkout`)."""
    before = tree(pipeline_copy)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    setting = ["-S", "seeds=[]"] if command == ["exp", "run"] else []
    if not setting:
        edited_params(pipeline_copy, lambda params: params.update(seeds=[]))
    try:
        result = subprocess.run([sys.executable, "-m", "dvc", *command, *setting], cwd=pipeline_copy, env=env,
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert result.returncode != 0 and "error: params.yaml: seeds:" in result.stderr + result.stdout, result.stderr
        assert "Traceback" not in result.stderr
        assert not re.search(r"Running stage '(?!check_params|download)", result.stdout), result.stdout
        after = tree(pipeline_copy)
        dvc("checkout", "check_params", cwd=pipeline_copy)
        assert tree(pipeline_copy).keys() >= before.keys()
    finally:
        restored(pipeline_copy)
    assert without_configs(after, pipeline_copy) == without_configs(before, pipeline_copy) | {
        f"{pipeline_copy.name}/params.yaml": after[f"{pipeline_copy.name}/params.yaml"]
    }


def test_every_costly_stage_has_a_run_cache_entry(pipeline_copy):
    """DVC's run-cache holds every stage of the rebuild but the page stages, whose outputs are in git."""
    from dvc.repo import Repo
    from dvc.stage.cache import _get_stage_hash

    with Repo(str(pipeline_copy)) as repo:
        stages = {stage.name: stage for stage in repo.index.stages}
        cached = {name for name, stage in stages.items() if os.path.isdir(
            repo.stage_cache._get_cache_dir(_get_stage_hash(stage) or "none"))}  # fmt: skip
    assert set(stages) - cached == {"publish", "compare", "overfitting_report", "front_page"}
    # check_params, download, prepare, explain, four insight stages, the explorer; per model and variant; the pages
    assert len(stages) == 9 + 4 * len(MODELS) + 2 * len(VARIANTS) + 4


def test_front_page_shows_every_model_without_broken_links(pipeline_copy):
    page = pipeline_copy / "reports" / "README.md"
    assert broken_links(page) == []
    for name in model_names():
        assert f"figures/{name}/misclassified.png" in page.read_text()
        assert (pipeline_copy / "reports" / "shapes" / f"{name}.csv").is_file()
    assert (pipeline_copy / "reports" / "figures" / "cnn_64_1conv" / "activations.png").is_file()
    assert not (pipeline_copy / "reports" / "figures" / "dnn" / "activations.png").exists()


@pytest.mark.slow
def test_the_explorer_computes_what_keras_computes_for_every_trained_model(pipeline_copy, browser, capsys):
    agreement = check_every_trained_model(browser, pipeline_copy / "reports" / "explorer", pipeline_copy,
                                          keep=lambda explorer: None)  # fmt: skip
    with capsys.disabled():
        print("\n" + agreement.describe())


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
        assert (reports / "overfitting" / "figures" / f"{name}.png").is_file()
    assert (reports / "overfitting" / "figures" / "overlay.png").is_file()
    assert "overfitting/figures/overlay.png" in (reports / "README.md").read_text()
    assert "overfitting/results.png" in (reports / "README.md").read_text()
    curves = (reports / "overfitting" / "curves.csv").read_text().splitlines()
    assert curves[0] == "variant,split,epoch,loss,accuracy"
    assert any(line.startswith("base,validation,") for line in curves)
    compared = pd.read_csv(reports / "overfitting" / "comparisons.csv")
    assert sorted(compared["variant"]) == sorted(set(model_names("overfitting")) - {"base"})
    assert not compared.set_index("variant").loc["more_data", "paired"], "more data: other batches, not paired"


def test_queued_sweep_runs_two_experiments_in_parallel_and_a_revisited_value_trains_nothing(pipeline_copy):
    """`dvc exp run --queue -S ...` twice, `dvc queue start -j 2`: both experiments' metrics exist,
    `dvc exp show --only-changed` fits 160 columns, and each changed exactly one parameter. Then the
    first value again: DVC's run-cache restores every stage of it, no training process starts.

    Each experiment reproduces its model's published metrics (`publish` and what it needs), not
    the pages downstream, which the other tests of this module already cover."""
    for filters in (24, 8):
        dvc(
            "exp", "run", "--queue", "-S", f"models.cnn_16.layers.conv_1.filters={filters}", "publish",
            cwd=pipeline_copy,
        )  # fmt: skip
    dvc("queue", "start", "-j", "2", cwd=pipeline_copy)
    deadline = time.monotonic() + 900
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
    try:
        again = dvc("exp", "run", "-S", "models.cnn_16.layers.conv_1.filters=24", "publish", cwd=pipeline_copy)
        published = json.loads((pipeline_copy / "reports" / "metrics" / "cnn_16.json").read_text())
    finally:
        restored(pipeline_copy)
    for stage in ("check_params", "train@cnn_16", "evaluate@cnn_16", "shapes@cnn_16", "figures@cnn_16", "gradcam"):
        assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in again.stdout, again.stdout
    assert re.findall(r"Running stage '([^']+)'", again.stdout) == ["publish"], again.stdout
    assert published["test_accuracy"] == results[24]


def test_a_second_clone_pulls_results_from_a_shared_remote_and_trains_nothing(pipeline_copy, tmp_path):
    """An experiment pushed with `dvc push --run-cache` while its results are in the workspace, and
    the commit's results pushed: a fresh clone pulls them, reproduces nothing, and the same
    experiment there (`dvc exp run --pull`) is restored from the run-cache, not trained."""
    remote = tmp_path / "team-cache"
    dvc("remote", "add", "--local", "-d", "shared", str(remote), cwd=pipeline_copy)
    try:
        dvc("exp", "run", "-S", "models.cnn_16.layers.conv_1.filters=12", "evaluate@cnn_16", cwd=pipeline_copy)
        dvc("push", "--run-cache", cwd=pipeline_copy)  # DVC pushes the workspace's objects: the experiment's
        restored(pipeline_copy)
        dvc("push", cwd=pipeline_copy)
    finally:
        dvc("remote", "remove", "--local", "shared", cwd=pipeline_copy)
        restored(pipeline_copy)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(pipeline_copy), str(clone)], check=True)
    dvc("remote", "add", "--local", "-d", "shared", str(remote), cwd=clone)
    dvc("pull", "--run-cache", cwd=clone)
    assert (clone / "data" / "models" / "cnn_16.seeds" / "seed_0.keras").read_bytes() == (
        pipeline_copy / "data" / "models" / "cnn_16.seeds" / "seed_0.keras"
    ).read_bytes()
    result = dvc("repro", cwd=clone)
    assert "Running stage" not in result.stdout and "Data and pipelines are up to date." in result.stdout
    pulled = dvc("exp", "run", "--pull", "-S", "models.cnn_16.layers.conv_1.filters=12", "evaluate@cnn_16", cwd=clone)
    assert "Running stage" not in pulled.stdout, pulled.stdout
    assert "Stage 'train@cnn_16' is cached - skipping run, checking out outputs" in pulled.stdout


def comparable_files(copy: Path) -> dict[str, bytes]:
    """Every model, metric and report file of a reproduced copy, by path, and dvc.lock."""
    files = {"dvc.lock": (copy / "dvc.lock").read_bytes()}
    for folder in ("data", "reports"):
        for path in sorted((copy / folder).rglob("*")):
            if path.is_file() and not path.is_relative_to(copy / "data" / "prepared"):  # 200 MB, checked by hash
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
    partial = pipeline_copy / "data" / "history" / "cnn_16.seeds" / "seed_0.csv.partial"
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
        assert not list((pipeline_copy / "data" / "models" / "cnn_16.seeds").glob("*.keras"))
        assert "train@cnn_16" in json.loads(dvc("status", "--json", cwd=pipeline_copy).stdout)
        # The model's own stages only: the reports downstream (insight stages included) would
        # rerun twice, for the edit and for its undoing, and show nothing more about a kill.
        dvc("repro", "evaluate@cnn_16", cwd=pipeline_copy)
        per_seed = pd.read_csv(pipeline_copy / "data" / "seeds" / "cnn_16.seeds.csv")
        assert (per_seed["epochs"] == 30).all()
        assert "Running stage" not in dvc("repro", "evaluate@cnn_16", cwd=pipeline_copy).stdout
    finally:
        restored(pipeline_copy)
