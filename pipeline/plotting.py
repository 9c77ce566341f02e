"""One style for every figure: sizes, fonts, colour maps, and byte-for-byte reproducible PNGs."""

import math
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ACTIVATION_CMAP = "inferno"  # the source's choice for feature maps
KERNEL_CMAP = "RdBu_r"  # signed weights: blue negative, red positive, white zero
IMAGE_CMAP = "gray_r"  # Fashion-MNIST as dark garments on white
ATTENTION_CMAP = "turbo"  # Grad-CAM maps over an image: blue little, red most
DPI = 100

plt.rcParams.update(
    {
        "font.family": "DejaVu Sans",  # shipped with matplotlib: the same glyphs everywhere
        "font.size": 9,
        "axes.titlesize": 9,
        "figure.titlesize": 12,
        "axes.grid": False,
        "image.interpolation": "nearest",
        "savefig.dpi": DPI,
    }
)


def blank(axis: plt.Axes) -> None:
    """Hide ticks and frame: the picture is the content."""
    axis.set_xticks([])
    axis.set_yticks([])
    for spine in axis.spines.values():
        spine.set_visible(False)


def image_grid(count: int, columns: int, cell: tuple[float, float]) -> tuple[plt.Figure, list[plt.Axes]]:
    """A figure of `count` picture cells, `columns` wide, every cell blank until drawn in."""
    columns = max(min(columns, count), 1)
    rows = max(math.ceil(count / columns), 1)
    figure, axes = plt.subplots(rows, columns, layout="constrained", figsize=(cell[0] * columns, cell[1] * rows))
    cells = list(np.atleast_1d(axes).flat)
    for axis in cells:
        blank(axis)
    return figure, cells[:count]


def save(figure: plt.Figure, path: Path) -> None:
    """Write a PNG without the timestamp and version text that would change its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", metadata={"Software": None}, bbox_inches="tight", pad_inches=0.1)
    plt.close(figure)
