"""Stage `check_params`: every rule of params.yaml checked, before any other stage runs.

Every other stage depends on this one (directly, or through the data it prepares), so a bad
value stops `dvc repro` and `dvc exp run` here, before DVC deletes the outputs of any stage
that would use it. Writes <data-config>, the data split's settings, and each model's resolved
configuration (its block merged over the
defaults, with the training settings, seeds, threads and memory estimate) to
<configs>/<model>.json and each study variant's to <study-configs>/<variant>.json: the
training, evaluation and shape stages read these instead of params.yaml.
"""

from pipeline.configuration.config import write_config
from pipeline.configuration.params import STUDIES, check_everything, data_config, load_params, model_names, run_config
from pipeline.errors import run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import named_path


def main() -> None:
    args = parse_arguments(
        __doc__, data_config="the data split's settings (JSON)", configs="where <model>.json go",
        study_configs="where the overfitting study's <variant>.json go",
    )  # fmt: skip
    params = load_params()
    check_everything(params)
    write_config(data_config(params), args.data_config)
    (study,) = STUDIES
    for folder, group in ((args.configs, None), (args.study_configs, study)):
        for name in model_names(params, group):
            write_config(run_config(params, name, group), named_path(folder, name, ".json"))
        print(f"{folder}: {len(model_names(params, group))} model(s) checked")


if __name__ == "__main__":
    run(main)
