"""Stage `publish`: the small files of the cached stages, copied into reports/ for git.

The training, evaluation, shape, figure and insight stages write only DVC-cached outputs, so
that DVC's run-cache can restore any of them: it skips a stage with a git-tracked output that
is not a metric or a plot. This stage copies what belongs in git from there, byte for byte,
dropping the suffix that keeps a model's name harmless in a path (pipeline/files/names.py):
<model>.seeds/ becomes <model>/, <model>.seeds.csv <model>.csv, <model>.metrics.json
<model>.json, <model>.shapes.md and .csv <model>.md and .csv, <model>.figures/ <model>/.
The insight folder, the convolution explainer and the data summary are copied as they are.
Only the models and variants declared in params.yaml are copied.
"""

import shutil
from pathlib import Path

from pipeline.configuration.params import STUDIES, load_params, model_names
from pipeline.errors import run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import FIGURES, METRICS, PER_SEED, SEED_TABLE, SHAPES_PAGE, SHAPES_TABLE, named_path

# option: {suffix in data/: suffix in reports/}, for each declared model (study_: variant)
PER_MODEL = {
    "history": {PER_SEED: ""},
    "seeds": {SEED_TABLE: ".csv"},
    "metrics": {METRICS: ".json"},
    "shapes": {SHAPES_PAGE: ".md", SHAPES_TABLE: ".csv"},
    "figures": {FIGURES: ""},
}
PER_VARIANT = ("history", "seeds", "metrics")
AS_THEY_ARE = ("insight", "explained", "data_summary")


def copy(source: Path, target: Path) -> None:
    """A file or a folder, its bytes only (no times or modes: git keeps neither), without the
    .gitignore files DVC writes beside its outputs in data/."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        ignored = shutil.ignore_patterns(".gitignore")
        shutil.copytree(source, target, copy_function=shutil.copyfile, ignore=ignored)
    else:
        shutil.copyfile(source, target)


def publish_models(source: Path, target: Path, names: list[str], suffixes: dict[str, str]) -> None:
    """<source>/<name><suffix> to <target>/<name><published suffix>, for each name and suffix."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        for suffix, published in suffixes.items():
            copy(named_path(source, name, suffix), named_path(target, name, published))


def main() -> None:
    pairs = {key: f"each model's {key}, cached, and where in reports/ they go" for key in PER_MODEL}
    pairs |= {f"study_{key}": f"each study variant's {key}, and where they go" for key in PER_VARIANT}
    pairs |= {key: f"the {key.replace('_', ' ')}, and where it goes" for key in AS_THEY_ARE}
    args = parse_arguments(__doc__, pairs=pairs)
    params = load_params()
    (study,) = STUDIES
    for key, suffixes in PER_MODEL.items():
        publish_models(*getattr(args, key), model_names(params), suffixes)
    for key in PER_VARIANT:
        publish_models(*getattr(args, f"study_{key}"), model_names(params, study), PER_MODEL[key])
    for key in AS_THEY_ARE:
        copy(*getattr(args, key))
    print(f"published: {len(model_names(params))} models and {len(model_names(params, study))} variants published")


if __name__ == "__main__":
    run(main)
