"""README.md shows DVC's real output: its `dvc metrics show` block is what the command prints
on the committed results (the end-to-end tests check the `dvc params diff` and `dvc exp show`
blocks against a real experiment)."""

import re
import subprocess
import sys

import yaml

from tests.conftest import REPO


def readme_output(command: str) -> list[str]:
    """The lines shown under `$ <command>` in the README's console block."""
    match = re.search(rf"^\$ {re.escape(command)}\n(.*?)(?=^\$ |^```)", (REPO / "README.md").read_text(), re.M | re.S)
    assert match, f"README.md shows no output of `{command}`"
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
    rows = re.findall(
        r"^\| `(\w+)(?:@<\w+>)?` \| `python -m (stages\.\w+)[^`]*` \|", (REPO / "README.md").read_text(), re.M
    )
    assert dict(rows) == modules
