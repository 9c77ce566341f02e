"""Names of models, variants and layers, and the output paths made from them.

A name from params.yaml (or `dvc exp run -S`) reaches file paths and Keras, so it is held
to a strict rule, and a path made from it is also checked to stay in its directory.

A per-model stage's output is <folder>/<model><suffix> (dvc.yaml writes the same suffixes).
DVC deletes a stage's outputs before the stage can check the name, so the suffix is what keeps
a hostile name harmless there: `..` becomes `...seeds`, `../../x` a path ending in `x.seeds`,
never a folder that holds other files. `publish` copies the small ones into reports/ as
<folder>/<model>.<csv|json|md> and <folder>/<model>/.
"""

import re
import shutil
from pathlib import Path

from pipeline.errors import PipelineError

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
NAME_RULE = "1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit"


PER_SEED = ".seeds"  # a folder of one file per seed: models, histories, predictions
SEED_TABLE = ".seeds.csv"  # a row per seed
METRICS = ".metrics.json"
SHAPES_TABLE = ".shapes.csv"
SHAPES_PAGE = ".shapes.md"
FIGURES = ".figures"  # a folder of PNGs
PLAN = ".plan.json"  # beside seed_<seed>.keras, the plan it was trained with


def is_valid_name(name: object) -> bool:
    return isinstance(name, str) and NAME.fullmatch(name) is not None


def model_name(argument: str) -> str:
    """The model named on a stage's command line: a name, or a DVC stage address `train@<name>`.

    dvc.yaml passes "$DVC_STAGE" rather than interpolating the name into the shell command,
    so that no name from params.yaml is ever parsed by the shell.
    """
    name = argument.rpartition("@")[2]
    if not is_valid_name(name):
        raise PipelineError(f"model name {name[:60]!r}: not a valid name ({NAME_RULE})")
    return name


def named_path(directory: Path, name: str, suffix: str = "") -> Path:
    """directory/<name><suffix>, refused unless it resolves to a path inside `directory`."""
    path = directory / f"{name}{suffix}"
    if path.resolve().parent != directory.resolve() or not is_valid_name(name):
        raise PipelineError(f"{path}: refused, a model's outputs must stay directly inside {directory}/")
    return path


def seed_path(directory: Path, name: str, seed: int, suffix: str, folder_suffix: str = PER_SEED) -> Path:
    """directory/<name>.seeds/seed_<seed><suffix>: one run of a model, e.g. data/models/cnn_32.seeds/seed_0.keras
    (in reports/, where `publish` drops the folder suffix: reports/history/cnn_32/seed_0.csv)."""
    return named_path(named_path(directory, name, folder_suffix), f"seed_{seed}", suffix)


def remove_old(*paths: Path) -> None:
    """Delete a stage's outputs (files or folders), so that a failed run leaves none behind.

    DVC deletes them before a stage runs; a stage run by hand, or failing half-way, needs this.
    Each path here comes from named_path, checked.
    """
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
