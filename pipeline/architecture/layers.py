"""Every layer type a model may declare, in one place: its arguments, Keras layer, output shape, label.

The parameter checker, the model builder, the shape tables and the reports all read this
table, so a layer type the checker accepts is one every stage can build, measure and name.
Keras is imported only when a layer is built: checking parameters never starts TensorFlow.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.architecture.arguments import REQUIRED, Argument, non_negative, one_of, positive, quote, within
from pipeline.architecture.shapes import output_size

Shape = tuple[int, ...]


ACTIVATIONS = ("relu", "softmax", "sigmoid", "tanh", "linear", "elu", "selu", "gelu", "swish")
PADDINGS = ("valid", "same")


def window_shape(layer: dict, shape: Shape) -> Shape:
    """A convolution's or pooling's output: O = floor((i - f + 2p) / s) + 1 per side."""
    if len(shape) != 3:
        raise ValueError(f"needs an image-shaped input, got {shape} (put it before flatten)")
    window = layer.get("kernel") or layer["pool"]
    height, width, channels = shape
    if layer["padding"] == "valid" and window > min(height, width):
        what = "kernel" if "kernel" in layer else "pool"
        raise ValueError(f"{what} {quote(window)} is larger than its {height}x{width} input")
    sides = [output_size(side, window, layer["strides"], layer["padding"]) for side in (height, width)]
    return (*sides, layer.get("filters", channels))


def flat_shape(layer: dict, shape: Shape) -> Shape:
    return (math.prod(shape),)


def dense_shape(layer: dict, shape: Shape) -> Shape:
    if len(shape) != 1:
        raise ValueError(f"needs a flat input, got {shape} (put a flatten before it)")
    return (layer["units"],)


def same_shape(layer: dict, shape: Shape) -> Shape:
    return shape


def image_shape(layer: dict, shape: Shape) -> Shape:
    if len(shape) != 3:
        raise ValueError(f"augments images, so needs an image-shaped input, got {shape} (put it first)")
    return shape


def regularizer(layer: dict):
    import keras

    return keras.regularizers.L1L2(l1=layer["l1"], l2=layer["l2"]) if layer["l1"] or layer["l2"] else None


def conv(layer: dict, **options):
    import keras

    return keras.layers.Conv2D(
        layer["filters"], layer["kernel"], strides=layer["strides"], padding=layer["padding"],
        activation=layer["activation"], kernel_regularizer=regularizer(layer), **options,
    )  # fmt: skip


def maxpool(layer: dict, **options):
    import keras

    return keras.layers.MaxPooling2D(layer["pool"], strides=layer["strides"], padding=layer["padding"], **options)


def flatten(layer: dict, **options):
    import keras

    return keras.layers.Flatten(**options)


def dense(layer: dict, **options):
    import keras

    return keras.layers.Dense(
        layer["units"], activation=layer["activation"], kernel_regularizer=regularizer(layer), **options
    )


def dropout(layer: dict, **options):
    import keras

    return keras.layers.Dropout(layer["rate"], **options)


def random_shift(layer: dict, **options):
    """Shifted images are filled with black, Fashion-MNIST's background."""
    import keras

    return keras.layers.RandomTranslation(layer["factor"], layer["factor"], fill_mode="constant", **options)


def random_flip(layer: dict, **options):
    import keras

    return keras.layers.RandomFlip(layer["mode"], **options)


def random_zoom(layer: dict, **options):
    import keras

    return keras.layers.RandomZoom(layer["factor"], fill_mode="constant", **options)


@dataclass(frozen=True)
class LayerType:
    arguments: dict[str, Argument]
    build: Callable  # (layer spec, **Keras options such as name and dtype) -> a Keras layer
    output_shape: Callable[[dict, Shape], Shape]  # raises ValueError when the layer does not fit
    label: Callable[[dict], str]  # the course's shorthand, e.g. Conv32; "" to leave out


PADDING = Argument(str, "valid", one_of(*PADDINGS))
WEIGHT_PENALTIES = {"l1": Argument(float, 0.0, non_negative), "l2": Argument(float, 0.0, non_negative)}
FRACTION = Argument(float, REQUIRED, within(0, 1))
LAYER_TYPES: dict[str, LayerType] = {
    "conv": LayerType(
        {
            "filters": Argument(int, REQUIRED, positive),
            "kernel": Argument(int, 3, positive),
            "strides": Argument(int, 1, positive),
            "padding": PADDING,
            "activation": Argument(str, "relu", one_of(*ACTIVATIONS)),
            **WEIGHT_PENALTIES,
        },
        conv, window_shape, lambda layer: f"Conv{layer['filters']}",
    ),
    "maxpool": LayerType(
        {
            "pool": Argument(int, 2, positive),
            "strides": Argument(int, lambda layer: layer["pool"], positive),  # by default, as the pool
            "padding": PADDING,
        },
        maxpool, window_shape, lambda layer: "Pool",
    ),
    "flatten": LayerType({}, flatten, flat_shape, lambda layer: ""),
    "dense": LayerType(
        {
            "units": Argument(int, REQUIRED, positive),
            "activation": Argument(str, "linear", one_of(*ACTIVATIONS)),
            **WEIGHT_PENALTIES,
        },
        dense, dense_shape, lambda layer: f"Dense{layer['units']}",
    ),
    "dropout": LayerType(
        {"rate": Argument(float, REQUIRED, within(0, 1, closed_low=True))},
        dropout, same_shape, lambda layer: f"Dropout{layer['rate']:g}",
    ),
    # Data augmentation: Keras preprocessing layers, active only while training.
    "random_shift": LayerType({"factor": FRACTION}, random_shift, image_shape, lambda layer: "Shift"),
    "random_flip": LayerType(
        {"mode": Argument(str, "horizontal", one_of("horizontal", "vertical", "horizontal_and_vertical"))},
        random_flip, image_shape, lambda layer: "Flip",
    ),
    "random_zoom": LayerType({"factor": FRACTION}, random_zoom, image_shape, lambda layer: "Zoom"),
}  # fmt: skip


def layer_output_shape(layer: dict, shape: Shape) -> Shape:
    """Output shape (without the batch axis) of one checked layer spec on an input shape.

    Raises ValueError when the layer does not fit its input.
    """
    return LAYER_TYPES[layer["type"]].output_shape(layer, shape)


def describe(layers: list[dict]) -> str:
    """Layers in the course's shorthand, e.g. Conv32-Pool-Conv32-Pool."""
    labels = (LAYER_TYPES[layer["type"]].label(layer) for layer in layers)
    return "-".join(label for label in labels if label) or "Flatten"


def keras_layer(layer: dict, **options):
    """The Keras layer of a checked spec, named as declared (conv_1, pool_1, ...)."""
    return LAYER_TYPES[layer["type"]].build(layer, name=layer["name"], **options)
