"""The stages' command lines: every path is a required argument, links are relative to the page."""

import sys
from pathlib import Path

import pytest

from pipeline.errors import PipelineError
from pipeline.files.cli import parse_arguments
from pipeline.files.paths import declared_path, link, rebased


def test_every_path_is_required_and_has_no_default(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["stage", "cnn", "--data", "d", "--models-dir", "m"])
    args = parse_arguments("A stage.", "data", "models_dir", model=True)
    assert (args.model, args.data, args.models_dir) == ("cnn", Path("d"), Path("m"))
    monkeypatch.setattr(sys, "argv", ["stage", "--data", "d"])
    with pytest.raises(SystemExit) as exit_info:
        parse_arguments("A stage.", "data", summary="the summary")
    assert exit_info.value.code == 2
    assert "the following arguments are required: --summary" in capsys.readouterr().err


def test_a_bad_model_name_is_refused_as_it_is_parsed(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["stage", "train@../etc"])
    with pytest.raises(PipelineError, match=r"model name '\.\./etc': not a valid name"):
        parse_arguments("A stage.", model=True)


def test_links_are_relative_to_the_page_and_folders_end_in_a_slash(tmp_path):
    (tmp_path / "reports" / "figures").mkdir(parents=True)
    page = tmp_path / "reports" / "README.md"
    assert link(tmp_path / "reports" / "figures", page) == "figures/"
    assert link(tmp_path / "reports" / "figures" / "a.png", page) == "figures/a.png"
    assert link(tmp_path / "README.md", page) == "../README.md"


def test_an_included_page_keeps_working_links_wherever_it_was_written():
    """The front page includes models.md and overfitting.md: their links are rebased onto it."""
    text = "[m](../metrics/) ![c](figures/a.png) [w](https://example.org/x) [s](#results) [r](../../README.md)"
    moved = rebased(text, Path("reports/pages/models.md"), Path("reports/README.md"))
    assert moved == "[m](metrics/) ![c](pages/figures/a.png) [w](https://example.org/x) [s](#results) [r](../README.md)"
    assert rebased(text, Path("reports/models.md"), Path("reports/README.md")).startswith("[m](../metrics/)")


def test_declared_paths_come_from_the_vars_mapping_named_paths(tmp_path):
    pipeline = tmp_path / "dvc.yaml"
    pipeline.write_text("vars:\n  - paths.yaml\n  - {paths: {reports: {seeds: moved/seeds}}}\nstages: {}\n")
    assert declared_path("reports.seeds", pipeline) == Path("moved/seeds")
    with pytest.raises(PipelineError, match=r"dvc.yaml: no path `paths.reports.metrics` under `vars`"):
        declared_path("reports.metrics", pipeline)
