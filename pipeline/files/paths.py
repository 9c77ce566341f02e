"""Paths outside a stage's command line: dvc.yaml's declared paths, for the commands that run
outside the pipeline, and the relative links between the pages.

Kept apart from pipeline/files/cli.py, which every stage imports, so that a change to how pages link
reruns only the page stages.
"""

import os
import re
from pathlib import Path

import yaml

from pipeline.errors import PipelineError


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
