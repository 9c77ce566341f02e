"""Output-size arithmetic of convolution and pooling: O = floor((i - f + 2p) / s) + 1."""

import math
from dataclasses import dataclass

import numpy as np


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


@dataclass(frozen=True)
class ReceptiveField:
    """Which input pixels one output position of a layer sees, along each side.

    Output position y sees input pixels top + y * jump up to top + y * jump + size - 1; `top`
    is negative where 'same' padding puts the first window partly outside the image.
    """

    size: int
    jump: int
    top: int

    def window(self, position: int) -> tuple[int, int]:
        start = self.top + position * self.jump
        return start, start + self.size


def receptive_fields(layers: list[dict], side: int) -> dict[str, ReceptiveField]:
    """The receptive field of every convolution and pooling before the first flatten, by layer name.

    Each window of side f and stride s widens the field by (f - 1) input steps, multiplies the
    step between neighbouring outputs by s, and moves the first window back by the padding
    added before it (Keras pads 'same' inputs by half the total, rounded down, on top/left).
    """
    field, fields = ReceptiveField(size=1, jump=1, top=0), {}
    for layer in layers:
        if layer["type"] == "flatten":
            break
        if layer["type"] not in ("conv", "maxpool"):
            continue
        window = layer.get("kernel") or layer["pool"]
        before = padding_amount(side, window, layer["strides"], layer["padding"]) // 2
        field = ReceptiveField(
            size=field.size + (window - 1) * field.jump,
            jump=field.jump * layer["strides"],
            top=field.top - before * field.jump,
        )
        fields[layer["name"]] = field
        side = output_size(side, window, layer["strides"], layer["padding"])
    return fields


def crop(image: np.ndarray, field: ReceptiveField, row: int, column: int) -> np.ndarray:
    """The pixels output (row, column) sees, size x size; zero (the background) outside the image."""
    patch = np.zeros((field.size, field.size, *image.shape[2:]), dtype=image.dtype)
    (top, bottom), (left, right) = field.window(row), field.window(column)
    inside = image[max(top, 0) : bottom, max(left, 0) : right]
    patch[max(-top, 0) : max(-top, 0) + inside.shape[0], max(-left, 0) : max(-left, 0) + inside.shape[1]] = inside
    return patch


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as the shape tables write it: 26x26x32."""
    return "x".join(str(side) for side in shape)
