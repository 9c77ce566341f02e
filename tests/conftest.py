"""Shared helpers: small IDX files made by the tests, and running a stage as a user would."""

import gzip
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.architecture.arguments import REQUIRED
from pipeline.configuration.params import TRAINING, ModelConfig, Problems, layer_specs
from pipeline.data.idx import IMAGES_MAGIC, LABELS_MAGIC

REPO = Path(__file__).resolve().parents[1]


def config_of(layers: dict, **training) -> ModelConfig:
    """A checked model of the given layers (name -> layer) and the source's training settings."""
    problems = Problems()
    specs = layer_specs(layers, "layers", problems)
    problems.raise_any()
    defaults = {name: argument.default for name, argument in TRAINING.items() if argument.default is not REQUIRED}
    settings = {**defaults, "optimizer": "adam", "learning_rate": 0.001, "batch_size": 32, "epochs": 1}
    return ModelConfig("test", tuple(specs), **{**settings, **training})


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """The IDX encoding of a uint8 array: magic, one int32 per dimension, then the bytes."""
    return struct.pack(f">i{array.ndim}i", magic, *array.shape) + array.astype(np.uint8).tobytes()


def write_gz(path: Path, payload: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload, mtime=0))
    return path


def synthetic_split(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random 28x28 images with balanced labels 0-9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    labels = np.arange(count, dtype=np.uint8) % 10
    return images, labels


def write_raw_dir(directory: Path, train_count: int = 200, test_count: int = 50) -> Path:
    """A data/raw-like directory of four small, well-formed IDX gzip files."""
    for prefix, count, seed in (("train", train_count, 0), ("t10k", test_count, 1)):
        images, labels = synthetic_split(count, seed)
        write_gz(directory / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images, IMAGES_MAGIC))
        write_gz(directory / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(labels, LABELS_MAGIC))
    return directory


def prepared_dir(directory: Path, count: int = 600) -> Path:
    """Random prepared arrays of every split, labels cycling through the classes."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    for split, size in (("train", count), ("validation", count // 5), ("test", count // 5)):
        np.save(directory / f"x_{split}.npy", rng.random((size, 28, 28, 1), dtype=np.float32))
        np.save(directory / f"y_{split}.npy", (np.arange(size) % 10).astype(np.uint8))
    return directory


def run_module(
    module: str, *args: str, cwd: Path, env: dict | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """Run `python -m module args` in cwd with the repository importable, as DVC would.

    `prefix` goes before the command, e.g. `taskset --cpu-list 0`."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [*prefix, sys.executable, "-m", module, *args], cwd=cwd, env=environment, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip


def start_module(module: str, *args: str, cwd: Path, stderr: int = subprocess.DEVNULL) -> subprocess.Popen:
    """Start `python -m module args` like run_module, without waiting for it (its stderr: `stderr`)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", module, *args], cwd=cwd, env=environment,
        stdout=subprocess.DEVNULL, stderr=stderr, text=True,
    )  # fmt: skip


CHECK = ("--data-config", "configs/data.json", "--configs", "configs", "--study-configs", "study_configs")


def checked_configs(workdir: Path) -> None:
    """check_params in `workdir`, as `dvc repro` runs it before the stages that read its configurations."""
    result = run_module("stages.check_params", *CHECK, cwd=workdir)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working directory holding a copy of the repository's params.yaml."""
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def documentation() -> str:
    """README.md and the pages of docs/ it links to, as one text: what the tests check them against."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    return "\n".join(page.read_text() for page in pages)


def declared_paths(text: str, key: str = "<model>") -> str:
    """Text of dvc.yaml with its `${paths.…}` resolved from `vars: paths`, and `${key}` as `key`."""
    declared = yaml.safe_load((REPO / "dvc.yaml").read_text())
    paths = next(block["paths"] for block in declared["vars"] if "paths" in block)

    def value(match: re.Match) -> str:
        if match[1] == "key":
            return key
        found = paths
        for part in match[1].split(".")[1:]:
            found = found[part]
        return found

    return re.sub(r"\$\{([\w.]+)\}", value, text)


def offline_chromium(url: str, profile: Path, *options: str) -> subprocess.CompletedProcess:
    """Headless Chromium's DOM of `url` once its scripts ran, with every host unresolvable.

    Without Chromium, the test is skipped, or fails under CI, which must run it."""
    chromium = shutil.which("chromium")
    if chromium is None:
        unavailable("needs Chromium: `make browser`, or as root `apt-get install chromium`")
    return subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND", *options, "--dump-dom", url,
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def unavailable(message: str) -> None:
    """Skip, or fail under CI, which must run the browser tests."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def offline_browser() -> Iterator:
    """Debian's Chromium under playwright, every host name unresolvable (ImportError without playwright)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--host-resolver-rules=MAP * ~NOTFOUND", "--disable-background-networking", "--no-sandbox"],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def browser():
    """The offline browser, for the tests that click; skipped (failed under CI) where it cannot run."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        unavailable("needs playwright (requirements-test.txt)")
    if shutil.which("chromium") is None:
        unavailable("needs Chromium: `make browser`, or as root `apt-get install chromium`")
    with offline_browser() as launched:
        yield launched
