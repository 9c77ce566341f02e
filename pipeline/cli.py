"""The stages' command lines: every path a stage reads or writes is a required argument.

dvc.yaml declares each path once (`vars: paths`) and hands it to the stages that use it, so
no stage has a path of its own. An option that several stages take is described once, here.
"""

import argparse
import os
import re
from pathlib import Path

import yaml

from pipeline.errors import PipelineError
from pipeline.names import model_name

SHARED = {
    "configs": "where <model>.json, the models' checked configurations, are",
    "data": "the prepared arrays",
    "models_dir": "where <model>.seeds/seed_<seed>.keras, the trained models, are",
    "history_dir": "where <model>.seeds/seed_<seed>.csv, the training histories, are",
    "seeds_dir": "where <model>.seeds.csv, a row per seed, are",
    "metrics_dir": "where <model>.metrics.json, the figures over the seeds, are",
    "predictions_dir": "where <model>.seeds/seed_<seed>.csv, the test predictions, are",
    "out_dir": "the folder the stage fills",
    "out": "the page the stage writes",
}


def parse_arguments(
    doc: str, *shared: str, model: bool = False, study: bool = False, pairs: dict[str, str] | None = None, **own: str
) -> argparse.Namespace:
    """The stage's arguments: `shared` options described in SHARED, its `own` options with their help.

    Option names are the keywords with `-`, e.g. `models_dir` is --models-dir. `model` takes the
    model's name (checked as it is parsed: a bad name is one `error:` line naming the rule);
    `study` the study it belongs to, if any; each of `pairs` two paths, FROM and TO. The
    description is the docstring's first line.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if model:
        parser.add_argument(
            "model", type=model_name, help="a model name in params.yaml, or its DVC stage address <stage>@<model>"
        )
    if study:
        parser.add_argument("--study", help="the study the model belongs to, if any (checked with params.yaml)")
    for name, what in {**{name: SHARED[name] for name in shared}, **own}.items():
        parser.add_argument("--" + name.replace("_", "-"), type=Path, required=True, help=what)
    for name, what in (pairs or {}).items():
        parser.add_argument(
            "--" + name.replace("_", "-"), type=Path, nargs=2, metavar=("FROM", "TO"), required=True, help=what
        )
    return parser.parse_args()


def declared_path(key: str, pipeline: Path = Path("dvc.yaml")) -> Path:
    """A path as dvc.yaml declares it under `vars: paths` (a dotted key, e.g. `reports.seeds`), for commands
    outside the pipeline (`make check`, `make bench`); stages get theirs on the command line."""
    try:
        declared = yaml.safe_load(pipeline.read_text())
        blocks = [block for block in declared["vars"] if isinstance(block, dict) and "paths" in block]
        found = blocks[0]["paths"]
        for part in key.split("."):
            found = found[part]
        return Path(found)
    except (OSError, yaml.YAMLError, KeyError, TypeError, IndexError) as error:
        raise PipelineError(f"{pipeline}: no path `paths.{key}` under `vars` ({type(error).__name__})") from None


def link(path: Path, page: Path) -> str:
    """A Markdown link target for `path` from `page`: relative, so the page reads wherever it is."""
    return Path(os.path.relpath(path, page.parent)).as_posix() + ("/" if path.is_dir() else "")


def rebased(text: str, written_for: Path, page: Path) -> str:
    """Markdown written for one page, its relative links made to work from another (which includes it)."""

    def rebase(match: re.Match) -> str:
        target = match[2]
        if re.match(r"[a-z]+:|#|/", target):
            return match[0]
        moved = os.path.relpath(os.path.join(written_for.parent, target), page.parent)
        return f"{match[1]}{Path(moved).as_posix()}{'/' if target.endswith('/') else ''})"

    return re.sub(r"(\]\()([^)\s]+)\)", rebase, text)
