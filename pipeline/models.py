"""Turning a model declaration from params.yaml into a compiled Keras model, and loading one back."""

import zipfile
from pathlib import Path

import keras

from pipeline.errors import PipelineError
from pipeline.params import INPUT_SHAPE, ModelConfig

OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}


def regularizer(layer: dict) -> keras.regularizers.Regularizer | None:
    if layer["l1"] or layer["l2"]:
        return keras.regularizers.L1L2(l1=layer["l1"], l2=layer["l2"])
    return None


def keras_layer(layer: dict, name: str, dtype: str | None = None) -> keras.layers.Layer:
    """One Keras layer from a validated layer spec (pipeline.params.layer_spec).

    Shifted or zoomed images are filled with black, Fashion-MNIST's background.
    """
    kind = layer["type"]
    if kind == "conv":
        return keras.layers.Conv2D(
            layer["filters"],
            layer["kernel"],
            strides=layer["strides"],
            padding=layer["padding"],
            activation=layer["activation"],
            kernel_regularizer=regularizer(layer),
            name=name,
        )
    if kind == "maxpool":
        return keras.layers.MaxPooling2D(layer["pool"], strides=layer["strides"], padding=layer["padding"], name=name)
    if kind == "flatten":
        return keras.layers.Flatten(name=name)
    if kind == "dense":
        return keras.layers.Dense(
            layer["units"],
            activation=layer["activation"],
            kernel_regularizer=regularizer(layer),
            name=name,
            dtype=dtype,
        )
    if kind == "dropout":
        return keras.layers.Dropout(layer["rate"], name=name)
    if kind == "random_shift":
        factor = layer["factor"]
        return keras.layers.RandomTranslation(factor, factor, fill_mode="constant", name=name)
    if kind == "random_flip":
        return keras.layers.RandomFlip(layer["mode"], name=name)
    if kind == "random_zoom":
        return keras.layers.RandomZoom(layer["factor"], fill_mode="constant", name=name)
    raise ValueError(f"unknown layer type {kind!r}")


def layer_names(layers: tuple[dict, ...]) -> list[str]:
    """Readable names numbered per type: conv_1, maxpool_1, conv_2, ..., dense_2."""
    seen: dict[str, int] = {}
    names = []
    for layer in layers:
        seen[layer["type"]] = seen.get(layer["type"], 0) + 1
        names.append(f"{layer['type']}_{seen[layer['type']]}")
    return names


def build_model(
    config: ModelConfig,
    learning_rate: float | None = None,
    precision: str = "float32",
    steps_per_execution: int = 1,
) -> keras.Sequential:
    """The model's layers in order on a 28x28x1 input, compiled with its optimizer.

    `learning_rate` replaces the declared one (a scaled batch scales it); under a mixed
    `precision` the layers compute in 16 bits but keep float32 weights, and the softmax
    output stays float32 so the loss is computed at full precision.
    """
    names = layer_names(config.layers)
    keras.mixed_precision.set_global_policy(precision)
    try:
        layers = [keras_layer(layer, name) for layer, name in zip(config.layers[:-1], names, strict=False)]
        layers.append(keras_layer(config.layers[-1], names[-1], dtype="float32"))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model = keras.Sequential([keras.Input(INPUT_SHAPE), *layers], name=config.name)
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
