"""The stages' command lines: every path a stage reads or writes is a required argument.

dvc.yaml declares each path once (`vars: paths`) and hands it to the stages that use it, so
no stage has a path of its own. An option that several stages take is described once, here.
"""

import argparse
from pathlib import Path

from pipeline.files.names import model_name

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
    doc: str, *shared: str, model: bool = False, pairs: dict[str, str] | None = None, **own: str
) -> argparse.Namespace:
    """The stage's arguments: `shared` options described in SHARED, its `own` options with their help.

    Option names are the keywords with `-`, e.g. `models_dir` is --models-dir. `model` takes the
    model's name (checked as it is parsed: a bad name is one `error:` line naming the rule);
    each of `pairs` two paths, FROM and TO. The description is the docstring's first line.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if model:
        parser.add_argument(
            "model", type=model_name, help="a model name in params.yaml, or its DVC stage address <stage>@<model>"
        )
    for name, what in {**{name: SHARED[name] for name in shared}, **own}.items():
        parser.add_argument("--" + name.replace("_", "-"), type=Path, required=True, help=what)
    for name, what in (pairs or {}).items():
        parser.add_argument(
            "--" + name.replace("_", "-"), type=Path, nargs=2, metavar=("FROM", "TO"), required=True, help=what
        )
    return parser.parse_args()
