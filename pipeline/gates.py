"""Quality gates: every model's test accuracy must reach its floor in params.yaml.

Run after `dvc repro` as `python -m pipeline.gates` (`make check`); exits 1 with the
list of models below their floor.
"""

import sys
from pathlib import Path

from pipeline.errors import run
from pipeline.names import named_path
from pipeline.params import load_params, model_names, quality_floors
from pipeline.results import read_metrics

METRICS_DIR = Path("reports/metrics")


def failures(floors: dict[str, float], accuracies: dict[str, float]) -> list[str]:
    """One line per model whose test accuracy is below its floor."""
    return [
        f"{name}: test accuracy {accuracies[name]:.4f} is below its floor {floor:.4f}"
        for name, floor in floors.items()
        if accuracies[name] < floor
    ]


def main() -> None:
    params = load_params()
    floors = quality_floors(params)
    names = model_names(params)
    accuracies = {}
    for name in names:
        accuracies[name] = read_metrics(named_path(METRICS_DIR, name, ".json"))["test_accuracy"]
        floor = floors.get(name)
        status = "no floor" if floor is None else f"floor {floor:.4f}: {'ok' if accuracies[name] >= floor else 'BELOW'}"
        print(f"{name:<24} test accuracy {accuracies[name]:.4f}  {status}")
    below = failures(floors, accuracies)
    if below:
        print("Quality gates failed:\n  " + "\n  ".join(below), file=sys.stderr)
        sys.exit(1)
    print(f"Quality gates passed: {len(floors)} models at or above their floor.")


if __name__ == "__main__":
    run(main)
