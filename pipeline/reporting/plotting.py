"""One style for every figure: sizes, fonts, colour maps, and byte-for-byte reproducible PNGs."""

import math
from collections.abc import Sequence
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


MEAN = "mean, 95% interval"


def interval_rows(
    axis: plt.Axes,
    labels: Sequence[str],
    centres: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    seeds: Sequence[Sequence[float]] = (),
    kinds: Sequence[str] = (),
    colours: dict[str, str] | None = None,
) -> dict[str, float]:
    """One row per label, the first at the top: a square at the centre and a line over its interval (none
    where that is NaN, as for one seed); every seed's value as a grey dot when `seeds` are given.

    Each row's kind (`kinds`, MEAN by default) is a legend entry in its colour (`colours`, in legend
    order). Returns each label's row position, for what is drawn over the rows afterwards.
    """
    rows = {name: float(len(labels) - 1 - index) for index, name in enumerate(labels)}
    if seeds:
        dots = [(value, rows[name]) for name, values in zip(labels, seeds, strict=True) for value in values]
        axis.scatter(*zip(*dots, strict=True), s=18, color="tab:gray", alpha=0.7, zorder=2, label="each seed")
    kinds = list(kinds) or [MEAN] * len(labels)
    table = np.array([list(rows.values()), centres, lows, highs], dtype=float)
    for kind, colour in (colours or {MEAN: "black"}).items():
        chosen = np.array([row_kind == kind for row_kind in kinds])
        if chosen.any():
            row, centre, low, high = table[:, chosen]
            spread = np.nan_to_num([centre - low, high - centre])
            axis.errorbar(centre, row, xerr=spread, fmt="s", color=colour, markersize=5, capsize=3, linewidth=1.5,
                          zorder=3, label=kind)  # fmt: skip
    axis.set_yticks(list(rows.values()), list(rows))
    axis.set_ylim(-0.6, len(labels) - 0.4)
    axis.grid(axis="x", alpha=0.3)
    return rows
