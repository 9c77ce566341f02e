"""`dvc plots show` must give a page that draws every plot of dvc.yaml with no network at all.

The page is rendered by headless Chromium with every host name unresolvable and a log of each
network request, so a page that still asks a CDN for something fails here, as does a blank page
or a plot that draws nothing. The page template inlines vega (.dvc/plots/make_page.py)
and makes vega-embed draw SVG, so the drawn marks can be read from the DOM Chromium dumps.
"""

import json
import runpy
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from dvc_render.base import Renderer

from pipeline.data.fashion_mnist import CLASS_NAMES
from tests.conftest import REPO, declared_paths, offline_chromium

DVC = REPO / ".venv" / "bin" / "dvc"
PLOTS_DIR = REPO / ".dvc" / "plots"
VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})


def curves() -> str:
    rows = [f"{model},{epoch},0.8,0.8,0.5,0.5" for model in ("dnn", "cnn_32") for epoch in (1, 2, 3)]
    return "\n".join(["model,epoch,accuracy,val_accuracy,loss,val_loss", *rows, ""])


def overfitting_curves() -> str:
    rows = [
        f"{variant},{split},{epoch},0.5,0.8"
        for variant in ("base", "dropout") for split in ("training", "validation") for epoch in (1, 2, 3)
    ]  # fmt: skip
    return "\n".join(["variant,split,epoch,loss,accuracy", *rows, ""])


def confusion() -> str:
    rows = [
        f"{model},{actual},{predicted},{90 if actual == predicted else 1}"
        for model in ("dnn", "cnn_32") for actual in CLASS_NAMES for predicted in CLASS_NAMES
    ]  # fmt: skip
    return "\n".join(["model,actual,predicted,count", *rows, ""])


# Stand-ins for plot inputs that a checkout may lack (written by stages that have not run yet);
# their headers are also the columns the plot templates read.
FIXTURES: dict[str, Callable[[], str]] = {
    "reports/curves.csv": curves,
    "reports/overfitting/curves.csv": overfitting_curves,
    "reports/confusion.csv": confusion,
}


def plots() -> dict[str, list[str]]:
    """Each plot of dvc.yaml's `plots:`, by the HTML id DVC gives its <div>, with its data files."""
    found = {}
    for entry in yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]:
        [(name, spec)] = entry.items()
        sources = [declared_paths(source) for source in (spec["y"] if isinstance(spec.get("y"), dict) else [name])]
        found[Renderer.remove_special_chars(name)] = sources
    return found


def sources() -> set[str]:
    return {source for files in plots().values() for source in files}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The repository itself, or, where a plot input is missing, a copy with the fixture in its place."""
    missing = [source for source in sources() if not (REPO / source).exists()]
    if not missing:
        return REPO
    copy = tmp_path / "project"  # without the bulky parts DVC does not need here: data, caches, the venv
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".git", ".venv", "data", "dvc_plots", "tmp", "cache"))
    for source in missing:
        (copy / source).parent.mkdir(parents=True, exist_ok=True)
        (copy / source).write_text(FIXTURES[source]())
    return copy


def page_requests(net_log: Path) -> list[str]:
    """The URLs the page asked the network for, from Chromium's net log (file:// loads are not in
    it). Chromium's own services (update checks, account lookups) start requests too, with no
    initiator; a request the page starts names the page's origin ("null" for file://)."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    starts = [event.get("params", {}) for event in log["events"] if event["type"] == start]
    return [job["url"] for job in starts if "url" in job and job.get("initiator") != "not an origin"]


class DrawnMarks(HTMLParser):
    """Per plot <div>: the number of items (non-empty paths, texts) in each of vega's data-mark
    groups, <g class="mark-... role-mark">; axes, legends and titles have other roles."""

    def __init__(self, ids: set[str]) -> None:
        super().__init__()
        self.ids = ids
        self.groups: dict[str, list[int]] = {}
        self.open: list[tuple[str, str | None, bool]] = []  # tag, plot id, is a mark group

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            return
        attributes = dict(attrs)
        plot = self.open[-1][1] if self.open else None
        if plot is None and tag == "div" and attributes.get("id") in self.ids:
            plot = attributes["id"]
            self.groups[plot] = []
        in_mark_group = bool(self.open) and self.open[-1][2]
        if plot and in_mark_group and (tag == "text" or attributes.get("d")):
            self.groups[plot][-1] += 1
        is_mark_group = tag == "g" and "role-mark" in (attributes.get("class") or "").split()
        if plot and is_mark_group:
            self.groups[plot].append(0)
        self.open.append((tag, plot, is_mark_group))

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID_TAGS:
            self.open.pop()


def test_plot_inputs_have_the_columns_the_templates_read():
    for source in sources():
        assert source in FIXTURES, f"{source} is plotted in dvc.yaml: add a fixture for it here"
        if (REPO / source).exists():
            header = (REPO / source).read_text().partition("\n")[0].strip().split(",")
            wanted = FIXTURES[source]().partition("\n")[0].split(",")
            assert set(wanted) <= set(header), f"{source} has columns {header}, the plot reads {wanted}"


def test_page_template_is_made_from_the_vendored_scripts():
    page = runpy.run_path(str(PLOTS_DIR / "make_page.py"))["page"]
    assert (PLOTS_DIR / "index.html").read_text(encoding="utf-8") == page(), "run python .dvc/plots/make_page.py"


@pytest.mark.slow
def test_plots_page_draws_every_plot_offline(project: Path, tmp_path: Path):
    out = tmp_path / "page"
    shown = subprocess.run([DVC, "plots", "show", "-o", out], cwd=project, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    net_log = tmp_path / "net-log.json"
    browser = offline_chromium(
        (out / "index.html").as_uri(), tmp_path / "profile", f"--log-net-log={net_log}", "--virtual-time-budget=20000"
    )
    assert browser.returncode == 0, browser.stderr
    requests = page_requests(net_log)
    assert requests == [], f"the page asked the network for {requests}"
    ids = set(plots())
    marks = DrawnMarks(ids)
    marks.feed(browser.stdout)
    assert set(marks.groups) == ids, f"plots missing from the page: {ids - set(marks.groups)}"
    for plot, groups in marks.groups.items():
        assert groups and all(groups), f"{plot} drew nothing in some of its marks: {groups}"
