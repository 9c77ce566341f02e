"""The pipeline's training path: what `train@` stages and the benchmarks run.

Compared with the source's `model.fit(x, y)` on NumPy arrays the math is the same, but the
data is fed by a seeded `tf.data` pipeline that prefetches while the model trains, and
several steps run per compiled call (`steps_per_execution`), which removes most of the
per-batch Python overhead. Optional: the fast profile (16-bit mixed precision and a larger
batch) and a distribution strategy over several devices or machines.
"""

import json
import math
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from pipeline.configuration.config import ModelConfig, TrainingSettings
from pipeline.data.arrays import stratified_sample
from pipeline.data.fashion_mnist import CLASS_NAMES
from pipeline.errors import PipelineError
from pipeline.training.models import build_model
from pipeline.training.multi_worker import as_plain_sequential

Split = tuple[np.ndarray, np.ndarray]
ARCHIVE_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry
CLASSES = len(CLASS_NAMES)


@dataclass(frozen=True)
class Plan:
    """What a training run actually uses once profile and replicas are taken into account."""

    batch_size: int  # global: summed over replicas
    learning_rate: float
    precision: str
    replicas: int
    steps_per_execution: int

    def describe(self) -> str:
        return (
            f"batch {self.batch_size}, learning rate {self.learning_rate:g}, {self.precision}, "
            f"{self.replicas} replica(s), {self.steps_per_execution} steps per compiled call"
        )


def cpu_has_amx() -> bool:
    """True when the CPU has AMX, whose tiles multiply bfloat16 matrices (read from /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "amx_bf16" in flags


def training_precision(settings: TrainingSettings) -> str:
    """The fast profile's 16-bit precision where it is measured faster than float32, else float32.

    That is on GPUs and on CPUs with AMX. AVX-512 BF16 alone is not enough: there, bfloat16
    measured about half as fast as float32 (0.56x the matrix-multiply rate), since most
    kernels convert to float32 and back.
    """
    if settings.profile != "fast":
        return "float32"
    if tf.config.list_logical_devices("GPU") or cpu_has_amx():
        return settings.fast_precision
    print(f"fast profile: no GPU and no AMX on this CPU, where {settings.fast_precision} is slower: float32")
    return "float32"


def training_plan(config: ModelConfig, settings: TrainingSettings, replicas: int) -> Plan:
    """Scale the batch by the replica count (and the fast profile's multiplier).

    The learning rate follows the square root of the batch's growth, the usual rule for Adam.
    Over several replicas one step runs per call: Keras 3.15's multi-step loop fails to
    compile under a mirrored strategy ("You must feed a value for placeholder tensor").
    """
    multiplier = replicas * (settings.fast_batch_multiplier if settings.profile == "fast" else 1)
    return Plan(
        batch_size=config.batch_size * multiplier,
        learning_rate=config.learning_rate * math.sqrt(multiplier),
        precision=training_precision(settings),
        replicas=replicas,
        steps_per_execution=settings.steps_per_execution if replicas == 1 else 1,
    )


def batches(split: Split, batch_size: int, seed: int | None = None) -> tf.data.Dataset:
    """Batches of a split, reshuffled every epoch from `seed` when one is given, prefetched.

    What is shuffled is the images' indices; each batch is then gathered from the NumPy arrays
    themselves. A dataset made from the arrays (or a shuffle buffer of images) would hold its
    own copies of them: over 300 MB more per training process for the full training set, with
    two processes training side by side.
    """
    images, labels = split
    indices = tf.data.Dataset.range(len(labels))
    if seed is not None:
        indices = indices.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)

    def gather(batch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        batch_images, batch_labels = tf.numpy_function(
            lambda chosen: (images[chosen], labels[chosen]),
            [batch],
            (tf.as_dtype(images.dtype), tf.as_dtype(labels.dtype)),
        )
        batch_images.set_shape((None, *images.shape[1:]))
        batch_labels.set_shape((None,))
        return batch_images, batch_labels

    return indices.batch(batch_size).map(gather).prefetch(tf.data.AUTOTUNE)


def training_share(split: Split, fraction: float, seed: int) -> Split:
    """A stratified `fraction` of the training images (all of them at 1.0)."""
    if fraction >= 1:
        return split
    count = round(fraction * len(split[1]))
    if count < CLASSES:
        raise PipelineError(
            f"params.yaml: train_fraction {fraction:g} of {len(split[1])} training images leaves {count};"
            f" at least {CLASSES}, one per class, are needed"
        )
    keep = stratified_sample(split[1], count, np.random.default_rng(seed))
    return split[0][keep], split[1][keep]


def train(
    config: ModelConfig,
    settings: TrainingSettings,
    seed: int,
    train_split: Split,
    validation_split: Split,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 2,
    strategy: tf.distribute.Strategy | None = None,
) -> tuple[keras.Model, keras.callbacks.History, Plan]:
    """Build the model in the strategy's scope and fit it, validating after every epoch.

    Returns the model, its history and the plan it was trained with (the batch and learning rate
    actually used, which the metrics record).

    `strategy` comes from pipeline.training.runtime.configure; none means the default, one device.
    """
    has_validation = len(validation_split[1]) > 0
    if config.early_stopping_patience and not has_validation:
        raise PipelineError(
            f"params.yaml: {config.name}: early stopping watches the validation loss, "
            "so data.validation_fraction must be above 0"
        )
    strategy = strategy or tf.distribute.get_strategy()
    plan = training_plan(config, settings, strategy.num_replicas_in_sync)
    print(f"{config.name}: {plan.describe()}")
    with strategy.scope():
        model = build_model(config, plan.learning_rate, plan.precision, plan.steps_per_execution)
    callbacks = list(callbacks)
    if config.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True, verbose=1
            )
        )
    history = model.fit(
        batches(training_share(train_split, config.train_fraction, seed), plan.batch_size, seed),
        epochs=config.epochs,
        validation_data=batches(validation_split, plan.batch_size) if has_validation else None,
        shuffle=False,  # the dataset reshuffles itself, from the seed
        callbacks=callbacks,
        verbose=verbose,
    )
    return as_plain_sequential(model), history, plan


def renumber_shared_objects(config: bytes) -> bytes:
    numbers: dict[bytes, bytes] = {}

    def renumber(match: re.Match) -> bytes:
        number = numbers.setdefault(match[1], str(len(numbers) + 1).encode())
        return b'"shared_object_id": ' + number

    return re.sub(rb'"shared_object_id": (\d+)', renumber, config)


def save_model(model: keras.Model, path: Path) -> None:
    """Save in Keras's native format with the same bytes for the same weights.

    Keras stamps the archive with the time of saving (zip entry dates and `date_saved` in
    metadata.json) and numbers objects shared between layers (the dtype policy) by their
    memory address; here the dates are fixed and the numbers renumbered 1, 2, ... in order
    of appearance, which keeps which layers share what. The file is written under a
    temporary name and moved into place, so an interrupted or failed save leaves no file behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = path.with_name(".saving." + path.name)
    partial = path.with_name(".partial." + path.name)
    try:
        model.save(saved)
        with zipfile.ZipFile(saved) as source, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as target:
            for name in sorted(source.namelist()):
                content = source.read(name)
                if name == "metadata.json":
                    metadata = json.loads(content)
                    metadata.pop("date_saved", None)
                    content = json.dumps(metadata, sort_keys=True).encode()
                if name == "config.json":
                    content = renumber_shared_objects(content)
                target.writestr(zipfile.ZipInfo(name, ARCHIVE_DATE), content, zipfile.ZIP_DEFLATED)
        os.replace(partial, path)
    except OSError as error:  # a full disk, or the folder made read-only or removed meanwhile
        raise PipelineError(f"{path}: cannot save the model ({error.strerror or error})") from None
    finally:
        saved.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
