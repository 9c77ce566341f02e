"""Turning a model declaration from params.yaml into a compiled Keras model, and loading one back."""

import zipfile
from pathlib import Path

import keras

from pipeline.architecture.layers import keras_layer
from pipeline.configuration.config import INPUT_SHAPE, ModelConfig
from pipeline.errors import PipelineError
from pipeline.training.multi_worker import MultiWorkerSequential, under_multi_worker_strategy

OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}


def build_model(
    config: ModelConfig,
    learning_rate: float | None = None,
    precision: str = "float32",
    steps_per_execution: int = 1,
) -> keras.Sequential:
    """The model's layers in order on a 28x28x1 input, named as declared, compiled with its optimizer.

    `learning_rate` replaces the declared one (a scaled batch scales it); under a mixed
    `precision` the layers compute in 16 bits but keep float32 weights, and the softmax
    output stays float32 so the loss is computed at full precision. Built in the scope of a
    multi-worker strategy, the model carries pipeline.training.multi_worker's workarounds.
    """
    keras.mixed_precision.set_global_policy(precision)
    try:
        layers = [keras_layer(layer) for layer in config.layers[:-1]]
        layers.append(keras_layer(config.layers[-1], dtype="float32"))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    sequential = MultiWorkerSequential if under_multi_worker_strategy() else keras.Sequential
    model = sequential([keras.Input(INPUT_SHAPE), *layers], name=config.name)
    model.compile(
        optimizer=OPTIMIZERS[config.optimizer](learning_rate=learning_rate or config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def load_model(path: Path) -> keras.Model:
    """Load a .keras file with safe_mode (no arbitrary code in lambda layers)."""
    if not path.is_file():
        raise PipelineError(f"{path}: no such model file; run `dvc repro`")
    if not zipfile.is_zipfile(path):
        raise PipelineError(f"{path}: not a Keras model file (expected a .keras archive); run `dvc repro`")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises many types for a damaged archive
        raise PipelineError(f"{path}: cannot load the Keras model ({type(error).__name__}: {error})") from None
