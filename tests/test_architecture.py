"""`pipeline/` is packages by concern, each named for what it holds, and imports go one way: a
package may import its own modules and those of the packages below it, never one above."""

import ast
import re
from pathlib import Path

from tests.conftest import REPO
from tests.test_dependencies import imported_modules

# From the bottom up. `errors` and `startup` are the two top-level modules every package may use.
LAYERS = ("errors", "startup", "files", "data", "architecture", "configuration", "training", "analysis", "reporting")
PIPELINE = REPO / "pipeline"


def layer_of(module: str) -> int:
    """The rank in LAYERS of a module given as a path relative to the repository."""
    part = module.removeprefix("pipeline/").split("/")[0].removesuffix(".py")
    return LAYERS.index(part)


def modules() -> list[str]:
    return sorted(str(path.relative_to(REPO)) for path in PIPELINE.rglob("*.py") if path.name != "__init__.py")


def test_every_module_is_in_a_package_named_in_the_layers():
    assert len(modules()) > 20
    for module in modules():
        assert layer_of(module) >= 0, module  # raises ValueError for a package outside LAYERS
    assert {path.name for path in PIPELINE.glob("*.py")} == {"__init__.py", "errors.py", "startup.py"}


def upward_imports(module: str, path: Path) -> list[str]:
    """The pipeline modules that `module` (a path relative to the repository, read from `path`)
    imports from a package above its own, anywhere in it."""
    imported = [name for name in imported_modules(path) if name.startswith("pipeline/") and "__init__" not in name]
    return [name for name in imported if layer_of(name) > layer_of(module)]


def test_no_package_imports_one_above_it():
    for module in modules():
        assert upward_imports(module, REPO / module) == [], f"{module} imports from a package above it"


def test_the_direction_check_catches_an_upward_import_even_inside_a_function(tmp_path: Path):
    lazy = tmp_path / "idx.py"
    lazy.write_text("def read():\n    from pipeline.training.fit import train\n    from pipeline.errors import run\n")
    assert upward_imports("pipeline/data/idx.py", lazy) == ["pipeline/training/fit.py"]
    assert upward_imports("pipeline/analysis/gates.py", lazy) == []


def test_each_package_docstring_names_its_modules_and_runs_nothing():
    """A package's docstring is the map of its modules (the README has none). It is the whole
    file, so that no training stage needs the package files among its dependencies."""
    packages = [path for path in PIPELINE.iterdir() if (path / "__init__.py").is_file()]
    assert {path.name for path in packages} == set(LAYERS[2:])
    for package in packages:
        tree = ast.parse((package / "__init__.py").read_text())
        docstring = ast.get_docstring(tree)
        assert docstring and len(tree.body) == 1, f"{package.name}/__init__.py holds more than its docstring"
        named = set(re.findall(r"`(\w+)`", docstring))
        assert named == {path.stem for path in package.glob("*.py")} - {"__init__"}, package.name
