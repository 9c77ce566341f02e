"""Training benchmarks: the pipeline's path against the source's plain `model.fit`, in one process.

Each figure comes from runs alternated A B A B in this process, so both paths see the same
machine state; medians are reported, and ratios are pipeline over plain.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import keras
import numpy as np
import tensorflow as tf

from pipeline.architecture.layers import layer_output_shape
from pipeline.configuration.params import INPUT_SHAPE, ModelConfig, TrainingSettings
from pipeline.training.fit import train as train_with_the_pipeline
from pipeline.training.models import build_model
from pipeline.training.runtime import seed_everything

Split = tuple[np.ndarray, np.ndarray]
NO_VALIDATION: Split = (np.zeros((0, *INPUT_SHAPE), np.float32), np.zeros(0, np.uint8))


class EpochClock(keras.callbacks.Callback):
    """Seconds of each epoch, and the time from its creation to the first epoch reaching `target`."""

    def __init__(self, target: float | None = None) -> None:
        super().__init__()
        self.created, self.target = time.perf_counter(), target
        self.epoch_seconds: list[float] = []
        self.reached: tuple[int, float, float] | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self.epoch_seconds.append(now - self.started)
        if self.target is not None and (logs or {}).get("val_accuracy", 0) >= self.target:
            self.reached = (epoch + 1, now - self.created, sum(self.epoch_seconds) / len(self.epoch_seconds))
            self.model.stop_training = True


def plain_fit(config: ModelConfig, train: Split, validation: Split, clock: EpochClock) -> keras.Model:
    """The source's code: `model.fit` on NumPy arrays with Keras's defaults."""
    model = build_model(config)
    model.fit(
        *train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=validation if len(validation[1]) else None,
        callbacks=[clock],
        verbose=0,
    )
    return model


def pipeline_fit(
    settings: TrainingSettings, config: ModelConfig, train: Split, validation: Split, clock: EpochClock
) -> keras.Model:
    model, _, _ = train_with_the_pipeline(config, settings, 0, train, validation, [clock], verbose=0)
    return model


def test_accuracy(model: keras.Model, test: Split) -> float:
    return float(model.evaluate(*test, batch_size=1000, verbose=0, return_dict=True)["accuracy"])


def throughput(
    paths: dict[str, Callable], config: ModelConfig, train: Split, test: Split, repeats: int = 3, epochs: int = 3
) -> dict[str, dict[str, float]]:
    """Images per second of each path, alternated A B A B A B; medians.

    A run's rate is the median of its epochs after the first, which includes compiling.
    """
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, fit in paths.items():
            seed_everything(0)
            clock = EpochClock()
            model = fit(replace(config, epochs=epochs), train, NO_VALIDATION, clock)
            rate = len(train[1]) / statistics.median(clock.epoch_seconds[1:])
            runs[name].append((rate, test_accuracy(model, test)))
    return {
        name: {
            "images_per_second": statistics.median(rate for rate, _ in results),
            "test_accuracy": statistics.median(accuracy for _, accuracy in results),
        }
        for name, results in runs.items()
    }


def time_to_accuracy(
    paths: dict[str, Callable], config: ModelConfig, train: Split, validation: Split, target: float, max_epochs: int
) -> dict[str, tuple[int, float, float] | None]:
    """Epochs and seconds (model building included) until validation accuracy first reaches
    `target`, and the mean seconds per epoch."""
    reached = {}
    for name, fit in paths.items():
        seed_everything(0)
        clock = EpochClock(target)
        fit(replace(config, epochs=max_epochs), train, validation, clock)
        reached[name] = clock.reached
    return reached


def compute_only_rate(settings: TrainingSettings, config: ModelConfig, train: Split, steps: int = 600) -> float:
    """Images per second with input feeding taken away: one batch, already in memory, repeated.

    What the model's math alone sustains on this machine; the gap to the real path is input
    feeding and per-call overhead.
    """
    seed_everything(0)
    model = build_model(config, steps_per_execution=settings.steps_per_execution)
    batch = tuple(tf.constant(array[: config.batch_size]) for array in train)
    repeated = tf.data.Dataset.from_tensors(batch).repeat(steps)
    clock = EpochClock()
    model.fit(repeated, epochs=3, callbacks=[clock], verbose=0)
    return steps * config.batch_size / statistics.median(clock.epoch_seconds[1:])


def forward_flops(config: ModelConfig) -> int:
    """Multiply-adds x 2 of one image's forward pass, from the layer shapes."""
    shape, flops = INPUT_SHAPE, 0
    for layer in config.layers:
        output = layer_output_shape(layer, shape)
        if layer["type"] == "conv":
            flops += 2 * layer["kernel"] ** 2 * shape[-1] * output[0] * output[1] * output[2]
        elif layer["type"] == "dense":
            flops += 2 * shape[-1] * output[-1]
        shape = output
    return flops


def matmul_gflops(dtype: tf.DType, side: int = 2048, repeats: int = 5) -> float:
    """The machine's dense matrix-multiply rate: the best of `repeats` products of two side x side matrices."""
    a = tf.random.uniform((side, side), dtype=tf.float32)
    a = tf.cast(a, dtype)
    tf.linalg.matmul(a, a).numpy()  # warm up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        tf.linalg.matmul(a, a).numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * side**3 / best / 1e9
