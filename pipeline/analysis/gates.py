"""Quality gates: is the course's figure still plausible for this pipeline, given the seeds' spread?

For every model with a course test accuracy (`reference` in params.yaml):
- its mean test accuracy over the seeds must not fall below the course's figure by more than
  max(`gates.mean_margin`, 2 x the model's seed SD);
- no seed may fall below the floor: the course's figure minus max(`gates.mean_margin`, 2 x the
  pooled seed SD), minus `gates.seed_margin_sds` pooled seed SDs. The pooled SD (each model's
  seeds around its own mean, pooled over the models) has more degrees of freedom than one
  model's seeds, and one bad seed cannot widen its own floor.
Run after `dvc repro` as `python -m pipeline.analysis.gates` (`make check`), which reads the per-seed
figures where dvc.yaml declares them (`vars: paths: seeds`); exits 1 with the list of what failed.
"""

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from pipeline.analysis.results import read_seeds
from pipeline.analysis.statistics import summarize
from pipeline.configuration.params import GateSettings, gate_settings, load_params, model_names, reference_accuracies
from pipeline.errors import run
from pipeline.files.names import named_path
from pipeline.files.paths import declared_path


def pooled_sd(accuracies: dict[str, pd.Series]) -> float:
    """The seed-to-seed SD pooled over the models (0 when no model has two seeds)."""
    squares = sum(((values - values.mean()) ** 2).sum() for values in accuracies.values())
    degrees_of_freedom = sum(len(values) - 1 for values in accuracies.values())
    return math.sqrt(squares / degrees_of_freedom) if degrees_of_freedom else 0.0


def check(course: dict[str, float], accuracies: dict[str, pd.Series], settings: GateSettings) -> tuple[list, list]:
    """A report line per model, and a line per failure."""
    spread = pooled_sd(accuracies)
    report, failures = [f"pooled seed SD over {len(accuracies)} models: {spread:.4f}"], []
    for name, figure in course.items():
        test = summarize(accuracies[name])
        margin = max(settings.mean_margin, 2 * (test.sd or 0))
        lowest_mean = figure - margin
        floor = figure - max(settings.mean_margin, 2 * spread) - settings.seed_margin_sds * spread
        mean_ok, lowest_seed = test.mean >= lowest_mean, float(accuracies[name].min())
        report.append(
            f"{name:<20} mean {test.mean:.4f} (95% CI {test.interval()}), course {figure:.4f}, lowest acceptable mean"
            f" {lowest_mean:.4f}: {'ok' if mean_ok else 'BELOW'}; lowest seed {lowest_seed:.4f}, floor {floor:.4f}:"
            f" {'ok' if lowest_seed >= floor else 'BELOW'}"
        )
        if not mean_ok:
            failures.append(
                f"{name}: mean test accuracy {test.mean:.4f} (95% CI {test.interval()}) is more than"
                f" {100 * margin:.1f} points below the course's {figure:.4f}"
            )
        for seed, value in accuracies[name].items():
            if value < floor:
                failures.append(f"{name}: seed {seed}: test accuracy {value:.4f} is below the floor {floor:.4f}")
    return report, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds-dir", type=Path, help="where <model>.csv, a row per seed, are (default: dvc.yaml's)")
    args = parser.parse_args()
    seeds_dir = args.seeds_dir or declared_path("reports.seeds")
    params = load_params()
    settings = gate_settings(params)
    accuracies = {
        name: read_seeds(named_path(seeds_dir, name, ".csv")).set_index("seed")["test_accuracy"]
        for name in model_names(params)
    }
    course = {
        name: figures["test_accuracy"]
        for name, figures in reference_accuracies(params).items()
        if figures.get("test_accuracy") is not None
    }
    report, failures = check(course, accuracies, settings)
    print("\n".join(report))
    if failures:
        print("Quality gates failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)
    print(f"Quality gates passed: {len(course)} models with a course figure.")


if __name__ == "__main__":
    run(main)
