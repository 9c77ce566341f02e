"""README.md and docs/ show DVC's real output: the `dvc metrics show` block is what the command
prints on the committed results (the end-to-end tests check the `dvc params diff` and `dvc exp
show` blocks against a real experiment), and the stage table is dvc.yaml's."""

import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO, declared_paths, documentation


def readme_output(command: str) -> list[str]:
    """The lines shown under `$ <command>` in the README's console block."""
    match = re.search(rf"^\$ {re.escape(command)}\n(.*?)(?=^\$ |^```)", documentation(), re.M | re.S)
    assert match, f"README.md and docs/ show no output of `{command}`"
    return match[1].rstrip("\n").splitlines()


def test_readme_shows_the_real_dvc_metrics_show():
    shown = subprocess.run(
        [sys.executable, "-m", "dvc", "metrics", "show"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert readme_output("dvc metrics show") == shown.rstrip("\n").splitlines()
    assert max(map(len, shown.splitlines())) <= 160


def test_readme_stage_table_matches_dvc_yaml():
    """Each stage of dvc.yaml is in the README's table, with the module it runs."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    modules = {
        name: re.search(r"python -m (stages\.\w+)", stage.get("do", stage)["cmd"])[1] for name, stage in stages.items()
    }
    rows = re.findall(r"^\| `(\w+)(?:@<\w+>)?` \| `python -m (stages\.\w+)[^`]*` \|", documentation(), re.M)
    assert dict(rows) == modules


SUMMARY_START, SUMMARY_END = "<!-- reports/summary.md, written by `dvc repro` -->", "<!-- end of reports/summary.md -->"


def readme_section(heading: str) -> str:
    """The text under a second-level heading of README.md or docs/, up to the next one."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^#{{1,2}} |\Z)", documentation(), re.M | re.S)
    assert match, f"README.md and docs/ have no section `## {heading}`"
    return match[1]


def test_readme_results_are_the_generated_summary():
    results = readme_section("Results")
    included = results.split(SUMMARY_START, 1)[1].split(SUMMARY_END, 1)[0]
    assert included.strip() == (REPO / "reports" / "summary.md").read_text().strip()


def reports_text(*patterns: str) -> str:
    return "\n".join(path.read_text() for pattern in patterns for path in sorted((REPO / "reports").glob(pattern)))


def unfound_numbers(text: str, reports: str) -> list[str]:
    """The decimal figures (accuracies, ratios, seconds, minutes) of `text` that `reports` does not contain."""
    return [number for number in re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", text) if number not in reports]


@pytest.mark.parametrize(
    ("heading", "patterns"),
    [("Results", ("*.md", "**/*.csv", "**/*.json")), ("The overfitting study", ("overfitting.md",)),
     ("Speed", ("performance.md",))],
)  # fmt: skip
def test_every_figure_in_readme_results_comes_from_reports(heading, patterns):
    """No hand-typed accuracy or timing: each decimal in these sections is in a generated report."""
    assert unfound_numbers(readme_section(heading), reports_text(*patterns)) == []


def test_a_hand_typed_figure_would_be_caught():
    assert unfound_numbers("mean 0.9012, 1.5x faster, in 20.5 minutes", "0.9012 and 1.5x") == ["20.5"]


def declared_outputs() -> dict[str, set[str]]:
    """Each stage's outputs as dvc.yaml declares them, paths resolved, <model> for a model's name."""
    outputs = {}
    for name, stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].items():
        body = stage.get("do", stage)
        item = "<variant>" if "overfitting" in str(stage.get("foreach", "")) else "<model>"
        declared = [next(iter(out)) if isinstance(out, dict) else out for key in ("outs", "metrics")
                    for out in body.get(key, [])]  # fmt: skip
        outputs[name] = {declared_paths(out, item) for out in declared}
    return outputs


def test_readme_stage_table_names_every_output_where_dvc_yaml_puts_it():
    """Every path in a row of the README's stage table is an output of that stage (or inside one),
    and every output of the stage is named in its row."""
    rows = dict(re.findall(r"^\| `(\w+)(?:@<\w+>)?` \| `[^`]*` \| (.*) \|$", documentation(), re.M))
    for name, outputs in declared_outputs().items():
        named = set(re.findall(r"`((?:data|reports)/[^`]*)`", rows[name]))
        assert named, f"README.md: the row of `{name}` names none of its outputs"
        for path in named:
            assert any(path == out or path.startswith(out.rstrip("/") + "/") for out in outputs), (
                f"README.md: `{name}` names {path}, which is not among its outputs {sorted(outputs)}"
            )
        for out in outputs:
            assert any(path == out or path.startswith(out + "/") for path in named), (
                f"README.md: the row of `{name}` does not name its output {out}"
            )


def test_readme_fits_a_screen_or_two_and_links_every_page_of_docs():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    pages = sorted(path.name for path in (REPO / "docs").glob("*.md"))
    assert pages and [page for page in pages if f"(docs/{page})" not in readme] == []
