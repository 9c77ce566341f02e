"""Output-size arithmetic of convolution and pooling: O = floor((i - f + 2p) / s) + 1."""

import math


def output_size(size: int, window: int, stride: int, padding: str) -> int:
    """Side of the output of a window sliding over `size` pixels.

    'valid' adds no padding (p = 0). 'same' pads just enough that every position where
    the window starts is kept, which Keras computes as ceil(i / s).
    """
    if padding == "same":
        return math.ceil(size / stride)
    return (size - window) // stride + 1


def layer_output_shape(layer: dict, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Output shape of one validated layer spec (see pipeline.params) on an input shape.

    Shapes exclude the batch axis: (height, width, channels) or (features,).
    Raises ValueError when the layer does not fit its input.
    """
    kind = layer["type"]
    if kind.startswith("random_") and len(shape) != 3:
        raise ValueError(f"augments images, so needs an image-shaped input, got {shape} (put it first)")
    if kind in ("conv", "maxpool"):
        if len(shape) != 3:
            raise ValueError(f"needs an image-shaped input, got {shape} (put it before flatten)")
        window = layer["kernel"] if kind == "conv" else layer["pool"]
        stride = layer["strides"] or window
        height, width, channels = shape
        if layer["padding"] == "valid" and window > min(height, width):
            what = "kernel" if kind == "conv" else "pool"
            raise ValueError(f"{what} {window} is larger than its {height}x{width} input")
        sides = [output_size(side, window, stride, layer["padding"]) for side in (height, width)]
        return (*sides, layer["filters"] if kind == "conv" else channels)
    if kind == "flatten":
        return (math.prod(shape),)
    if kind == "dense":
        if len(shape) != 1:
            raise ValueError(f"needs a flat input, got {shape} (put a flatten before it)")
        return (layer["units"],)
    return shape


def parameter_count(layer: dict, shape: tuple[int, ...]) -> int:
    """Weights and biases of a layer on an input shape: conv (f*f*c_in + 1) * c_out, dense (n_in + 1) * n_out."""
    if layer["type"] == "conv":
        return (layer["kernel"] * layer["kernel"] * shape[-1] + 1) * layer["filters"]
    if layer["type"] == "dense":
        return (shape[-1] + 1) * layer["units"]
    return 0


def padding_amount(size: int, window: int, stride: int, padding: str) -> int:
    """Total padding p added along one side length: 0 for 'valid', what Keras adds for 'same'."""
    if padding == "valid":
        return 0
    return max((output_size(size, window, stride, padding) - 1) * stride + window - size, 0)
