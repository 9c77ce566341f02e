"""Stage `explorer`: a page that runs every declared model in the browser, offline, from disk.

For the first seed of each model in `models` and each variant of the overfitting study, the
trained weights and the layers of its configuration go into <out-dir>/data/ as scripts
(pipeline/reporting/explorer.py), beside the page (index.html, explorer.js, explorer.css).
The page's grid shows the first test images of each class and each model's first
misclassified test images, read from the evaluate stages' predictions.
"""

from pathlib import Path

import numpy as np

from pipeline.analysis.results import read_predictions
from pipeline.configuration.config import read_run_config
from pipeline.configuration.params import STUDIES, load_params, model_names
from pipeline.data.arrays import load_split
from pipeline.errors import run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import named_path, seed_path
from pipeline.reporting.explorer import Exported, write_explorer


def exported(
    group: str, name: str, configs: Path, models_dir: Path, predictions_dir: Path, labels: np.ndarray
) -> Exported:
    """A model's configuration, its first seed's trained model and that run's test predictions."""
    from pipeline.training.models import load_model

    config = read_run_config(named_path(configs, name, ".json"))
    seed = config.seeds[0]
    model = load_model(seed_path(models_dir, name, seed, ".keras"))
    _, predicted = read_predictions(seed_path(predictions_dir, name, seed, ".csv"), expected=len(labels))
    return Exported(group, config.model, model, predicted)


def main() -> None:
    args = parse_arguments(
        __doc__, "configs", "data", "models_dir", "predictions_dir", "out_dir",
        study_configs="where each study variant's <variant>.json is",
        study_models_dir="where each study variant's <variant>.seeds/seed_<seed>.keras are",
        study_predictions_dir="where each study variant's <variant>.seeds/seed_<seed>.csv are",
    )  # fmt: skip
    params = load_params()
    (study,) = STUDIES
    images, labels = load_split(args.data, "test")
    models = [
        exported("models", name, args.configs, args.models_dir, args.predictions_dir, labels)
        for name in model_names(params)
    ]
    models += [
        exported(study, name, args.study_configs, args.study_models_dir, args.study_predictions_dir, labels)
        for name in model_names(params, study)
    ]
    size = write_explorer(args.out_dir, models, images, labels)
    print(f"explorer: {len(models)} models, {size / 1e6:.1f} MB in {args.out_dir}/")


if __name__ == "__main__":
    run(main)
