"""Resolved configurations: the data split, and each model, what it is and how it is trained.

`check_params` resolves them from params.yaml (a model's block merged over the defaults, every
rule checked by pipeline/configuration/params.py) and writes them as JSON; the data, training,
evaluation and shape stages read those files instead of params.yaml. So they depend on what can
change their outputs, not on the rules of the reports, and they never run on a value that was not
checked. Each field that is a params.yaml key carries its declaration (`param`): the schema's
`data`, `training` and model sections are read off these classes.
"""

import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.architecture.arguments import REQUIRED, Argument, one_of, param, positive, within
from pipeline.architecture.memory import MemoryEstimate
from pipeline.data.fashion_mnist import CLASS_NAMES, IMAGE_SIDE
from pipeline.errors import PipelineError

INPUT_SHAPE = (IMAGE_SIDE, IMAGE_SIDE, 1)
MIN_SUBSET = 10 * len(CLASS_NAMES)  # images: ten of each class


@dataclass(frozen=True)
class DataSettings:
    """`data`: the validation split and the subset trained on."""

    validation_fraction: float = param(Argument(float, 0.0, within(0, 1, closed_low=True)))
    subset: int | None = param(Argument(int, None, within(MIN_SUBSET, math.inf, closed_low=True), nullable=True))


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
    # The training settings: in `defaults`, a study's `defaults` or the model's own block.
    optimizer: str = param(Argument(str, REQUIRED, one_of("adam", "sgd", "rmsprop")))
    learning_rate: float = param(Argument(float, REQUIRED, positive))
    batch_size: int = param(Argument(int, REQUIRED, positive))
    epochs: int = param(Argument(int, REQUIRED, positive))
    stop_at_accuracy: float | None = param(Argument(float, None, within(0, 1, closed_high=True), nullable=True))
    early_stopping_patience: int | None = param(Argument(int, None, positive, nullable=True))
    train_fraction: float = param(Argument(float, 1.0, within(0, 1, closed_high=True)))
    head_size: int = 0  # how many of `layers`, at the end, are the head


@dataclass(frozen=True)
class TrainingSettings:
    """How models are trained (not what they are): see `training` in params.yaml."""

    steps_per_execution: int = param(Argument(int, REQUIRED, positive))
    profile: str = param(Argument(str, REQUIRED, one_of("default", "fast")))
    strategy: str = param(Argument(str, REQUIRED, one_of("auto", "none", "mirrored", "multi_worker")))
    fast_batch_multiplier: int = param(Argument(int, REQUIRED, positive), section="fast")
    fast_precision: str = param(
        Argument(str, REQUIRED, one_of("mixed_bfloat16", "mixed_float16", "float32")), section="fast"
    )


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
