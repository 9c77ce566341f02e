"""Resolved configurations: the data split, and each model, what it is and how it is trained.

`check_params` resolves them from params.yaml (a model's block merged over the defaults, every
rule checked by pipeline/configuration/params.py) and writes them as JSON; the data, training, evaluation and
shape stages read those files instead of params.yaml. So they depend on what can change their
outputs, not on the rules of the reports, and they never run on a value that was not checked.
"""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.architecture.memory import MemoryEstimate
from pipeline.data.fashion_mnist import IMAGE_SIDE
from pipeline.errors import PipelineError

INPUT_SHAPE = (IMAGE_SIDE, IMAGE_SIDE, 1)


@dataclass(frozen=True)
class DataSettings:
    validation_fraction: float
    subset: int | None


@dataclass(frozen=True)
class DataConfig:
    """What `prepare` makes of the raw files: the validation split's seed, its share and the subset."""

    seed: int
    data: DataSettings


@dataclass(frozen=True)
class ModelConfig:
    """A model's full declaration: its layers then the head, and its training settings.

    Each layer is a checked spec: its `name`, `type` and every argument of its type.
    """

    name: str
    layers: tuple[dict, ...]
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    stop_at_accuracy: float | None
    early_stopping_patience: int | None
    train_fraction: float
    head_size: int = 0  # how many of `layers`, at the end, are the head


@dataclass(frozen=True)
class TrainingSettings:
    """How models are trained (not what they are): see `training` in params.yaml."""

    steps_per_execution: int
    profile: str
    strategy: str
    fast_batch_multiplier: int
    fast_precision: str


@dataclass(frozen=True)
class RunConfig:
    """Everything a model's training stage needs: the model, how to train it, the seeds and
    threads, and the memory one training process of it needs."""

    model: ModelConfig
    training: TrainingSettings
    seeds: tuple[int, ...]
    threads: int
    memory: MemoryEstimate


def write_config(config: DataConfig | RunConfig, path: Path) -> None:
    """The configuration as JSON (the same bytes for the same configuration), whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(".partial." + path.name)
    try:
        partial.write_text(json.dumps(asdict(config), indent=2) + "\n")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def read_data_config(path: Path) -> DataConfig:
    """The data configuration written by write_config."""
    with refused_unless_written(path):
        data = json.loads(path.read_text())
        return DataConfig(data["seed"], DataSettings(**data["data"]))


def read_run_config(path: Path) -> RunConfig:
    """A model's configuration written by write_config."""
    with refused_unless_written(path):
        data = json.loads(path.read_text())
        model = data["model"]
        return RunConfig(
            model=ModelConfig(**{**model, "layers": tuple(model["layers"])}),
            training=TrainingSettings(**data["training"]),
            seeds=tuple(data["seeds"]),
            threads=data["threads"],
            memory=MemoryEstimate(**data["memory"]),
        )


@contextmanager
def refused_unless_written(path: Path) -> Iterator[None]:
    """A missing or foreign file is one line saying how to make it."""
    try:
        yield
    except FileNotFoundError:
        raise PipelineError(f"{path}: missing; `dvc repro` writes it (stage check_params)") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PipelineError(f"{path}: not a configuration check_params wrote ({type(error).__name__})") from None
