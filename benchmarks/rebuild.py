"""Rebuild benchmarks: what `dvc repro` costs in a fresh clone of the repository.

Each stage runs as its own `dvc repro <stage>` process under benchmarks.peak_memory, so
that its peak resident memory can be read from the kernel.
"""

import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class StageRun:
    stage: str
    seconds: float
    peak_mb: float


def command(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run a command; its wall seconds, peak resident MB of its process tree, and its output."""
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
    }
    with tempfile.NamedTemporaryFile("r", suffix=".kb") as report:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.peak_memory", report.name, *args],
            cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        peak_kb = report.read()
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(args)} failed in {cwd}:\n{result.stdout[-3000:]}")
    return seconds, int(peak_kb) / 1024, result.stdout


def dvc(*args: str, cwd: Path) -> tuple[float, float, str]:
    return command([sys.executable, "-m", "dvc", *args], cwd)


def clone(destination: Path, shared_cache: bool) -> Path:
    """A clone of the committed repository; with the shared cache, its results checked out."""
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(destination)], check=True)
    if shared_cache:
        dvc("cache", "dir", "--local", str(REPO / ".dvc" / "cache"), cwd=destination)
        dvc("checkout", "--quiet", cwd=destination)
    return destination


def stages(cwd: Path) -> list[str]:
    """Every stage in dvc.yaml order, which is also an order they can run in."""
    _, _, listing = dvc("stage", "list", "--name-only", cwd=cwd)
    return listing.split()


def no_op_seconds(cwd: Path, repeats: int = 5) -> list[float]:
    runs = []
    for _ in range(repeats):
        seconds, _, output = dvc("repro", cwd=cwd)
        if "Running stage" in output:
            raise RuntimeError(f"`dvc repro` in {cwd} ran stages; commit the results of `dvc repro` first")
        runs.append(seconds)
    return runs


def run_stages(names: list[str], cwd: Path, force: bool = False) -> list[StageRun]:
    """Reproduce the stages one by one, in order, without reusing DVC's run-cache (`force`: even
    those that are up to date)."""
    runs = []
    for name in names:
        seconds, peak_mb, _ = dvc("repro", "--single-item", "--no-run-cache", *(["--force"] * force), name, cwd=cwd)
        runs.append(StageRun(name, seconds, peak_mb))
    return runs


def edit_one_model(cwd: Path, model: str, filters: int) -> tuple[list[str], float, float]:
    """Change one model's first convolution and `dvc repro`: the stages it ran, seconds, peak MB."""
    params_path = cwd / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    params["models"][model]["layers"]["conv_1"]["filters"] = filters
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    seconds, peak_mb, output = dvc("repro", "--no-run-cache", cwd=cwd)
    ran = [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]
    return ran, seconds, peak_mb
