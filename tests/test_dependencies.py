"""dvc.yaml declares, for every stage, exactly the code it runs: its module and the pipeline/ modules
it imports (directly, lazily inside functions, or through another pipeline module).

A module that is missing would let a code change go unnoticed by `dvc repro`; one too many
would rerun a stage for nothing.
"""

import ast
import re
from pathlib import Path

import yaml

from tests.conftest import REPO


def imported_modules(path: Path) -> set[str]:
    """The project modules a file imports anywhere in it, as paths relative to the repository."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            if name.split(".")[0] in ("pipeline", "stages"):
                module = REPO / (name.replace(".", "/") + ".py")
                found.add(
                    str(module.relative_to(REPO)) if module.is_file() else name.replace(".", "/") + "/__init__.py"
                )
    return found


def code_of(stage_module: str) -> set[str]:
    """A stage module and every project module it reaches, pipeline/__init__.py and its imports included."""
    seen, todo = set(), [stage_module, "pipeline/__init__.py"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += imported_modules(REPO / module)
    return {module for module in seen if not module.startswith("stages/__init__")}


def test_every_stage_depends_on_exactly_the_code_it_runs():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert stages
    for name, stage in stages.items():
        body = stage.get("do", stage)
        module = re.search(r"python -m (stages\.\w+)", body["cmd"])[1].replace(".", "/") + ".py"
        declared = {dep for dep in body["deps"] if dep.endswith(".py")}
        assert declared == code_of(module), f"{name}: declared {sorted(declared)}, runs {sorted(code_of(module))}"


def test_imports_are_found_inside_functions_too():
    assert "pipeline/training/fit.py" in code_of("stages/train.py")  # imported inside main(), after TensorFlow's set-up


# What a training stage may run: data, configuration, model, training and worker code. The
# parameter schema (with its report rules), figures, statistics and pages are not among them,
# so that editing them retrains nothing.
TRAINING_CODE = {
    "pipeline/__init__.py",
    "pipeline/architecture/arguments.py",
    "pipeline/architecture/layers.py",
    "pipeline/architecture/memory.py",
    "pipeline/architecture/shapes.py",
    "pipeline/configuration/config.py",
    "pipeline/data/arrays.py",
    "pipeline/data/fashion_mnist.py",
    "pipeline/errors.py",
    "pipeline/files/cli.py",
    "pipeline/files/names.py",
    "pipeline/startup.py",
    "pipeline/training/callbacks.py",
    "pipeline/training/fit.py",
    "pipeline/training/models.py",
    "pipeline/training/multi_worker.py",
    "pipeline/training/runtime.py",
    "pipeline/training/workers.py",
    "stages/train.py",
}


def test_no_report_code_reaches_a_training_stage():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for name in ("train", "overfitting_train"):
        declared = {dep for dep in stages[name]["do"]["deps"] if dep.endswith(".py")}
        assert declared <= TRAINING_CODE, f"{name}: {sorted(declared - TRAINING_CODE)} is not training code"
