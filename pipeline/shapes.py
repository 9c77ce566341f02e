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
