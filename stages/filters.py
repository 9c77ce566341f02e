"""Stage `filters`: what each convolution filter responds to, as the test patches that drive it most.

For every convolution of `insight.every_layer_of` (the course's cnn_64) and the first
convolution of every other CNN, the run of the first seed: the `insight.patches` test images
(among the first `insight.patch_images`) whose strongest activation of a filter is the
largest, each cropped to the filter's receptive field at that position (pipeline/architecture/shapes.py's
layer arithmetic). Into <out-dir>/: <model>_<layer>.png, one cell per filter in order, its
patches side by side and the class mix of their images in small print; summary.csv, per
filter, the most common class among its patches and how many of them it holds.
"""

import math
import shutil
from collections import Counter

import numpy as np
import pandas as pd

from pipeline.architecture.shapes import ReceptiveField, crop, receptive_fields
from pipeline.configuration.params import (
    INPUT_SHAPE,
    insight_settings,
    load_params,
    model_config,
    model_names,
    seeds,
    threads,
)
from pipeline.data.arrays import load_split
from pipeline.data.fashion_mnist import CLASS_NAMES
from pipeline.errors import run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import seed_path
from pipeline.files.outputs import SUMMARY_TABLE, filter_grid_file
from pipeline.reporting.plotting import IMAGE_CMAP, blank, plt, save

BATCH = 500


def explained_layers(params: dict, every_layer_of: str) -> list[tuple[str, str]]:
    """(model, convolution) pairs: every convolution of one model, the first of every other CNN."""
    pairs = []
    for name in model_names(params):
        convolutions = [layer["name"] for layer in model_config(params, name).layers if layer["type"] == "conv"]
        pairs += [(name, layer) for layer in (convolutions if name == every_layer_of else convolutions[:1])]
    return pairs


def strongest_over(model, layer_name: str, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each image's strongest activation of every filter of a layer, and where, batch by batch."""
    import keras

    from pipeline.analysis.attention import strongest

    probe = keras.Model(model.inputs[0], model.get_layer(layer_name).output)
    batches = range(0, len(images), BATCH)
    parts = [strongest(np.asarray(probe(images[start : start + BATCH], training=False))) for start in batches]
    return tuple(np.concatenate(part) for part in zip(*parts, strict=True))


def mosaic(patches: list[np.ndarray]) -> np.ndarray:
    """Patches in a square block, a 1-pixel gap between them (NaN: drawn in the gaps' colour)."""
    side, size = math.ceil(math.sqrt(len(patches))), patches[0].shape[0]
    block = np.full((side * (size + 1) - 1, side * (size + 1) - 1), np.nan)
    for index, patch in enumerate(patches):
        row, column = divmod(index, side)
        block[row * (size + 1) : row * (size + 1) + size, column * (size + 1) : column * (size + 1) + size] = patch
    return block


def class_mix(labels: list[int]) -> tuple[str, int]:
    """The most common class among the patches' images (the lower class on ties) and its count."""
    counts = Counter(labels)
    label = min(counts, key=lambda value: (-counts[value], value))
    return CLASS_NAMES[label], counts[label]


def filter_grid(title: str, cells: list[tuple[np.ndarray, str]], columns: int = 8) -> plt.Figure:
    """Every filter's block in one picture, numbered and captioned in reading order.

    One image with text over it, rather than an axes per filter: hundreds of axes would take
    matplotlib longer to lay out and draw than everything else this stage does.
    """
    side = cells[0][0].shape[0]
    gap, caption = max(side // 4, 1), max(side // 3, 2)  # pixels between blocks, and above each for its caption
    step_x, step_y = side + gap, side + gap + caption
    rows = math.ceil(len(cells) / columns)
    canvas = np.zeros((rows * step_y, columns * step_x - gap))  # 0: white between the cells
    figure, axis = plt.subplots(figsize=(1.25 * columns, 1.45 * rows + 0.6), layout="constrained")
    for index, (block, text) in enumerate(cells):
        row, column = divmod(index, columns)
        top, left = row * step_y + caption, column * step_x
        canvas[top : top + side, left : left + side] = block
        axis.text(left + side / 2, top - 0.5, f"{index}: {text}", ha="center", va="bottom", fontsize=6)
    colormap = plt.get_cmap(IMAGE_CMAP).with_extremes(bad="#dde3ea")  # the gaps between a cell's patches
    axis.imshow(canvas, cmap=colormap, vmin=0, vmax=1)
    blank(axis)
    figure.suptitle(title, fontsize=9)
    return figure


def explain_layer(
    model, name: str, layer: str, field: ReceptiveField, images: np.ndarray, labels: np.ndarray, count: int
) -> tuple[plt.Figure, list[dict]]:
    from pipeline.analysis.attention import top_activations

    tops = top_activations(*strongest_over(model, layer, images), count)
    cells, rows = [], []
    for index, top in enumerate(tops):
        patches = [crop(images[image, :, :, 0], field, row, column) for image, row, column, _ in top]
        top_class, held = class_mix([int(labels[image]) for image, *_ in top])
        cells.append((mosaic(patches), f"{held} of {len(top)} {top_class}"))
        rows.append({"model": name, "layer": layer, "filter": index, "field": field.size, "patches": len(top),
                     "top_class": top_class, "top_class_patches": held, "strongest": top[0][3]})  # fmt: skip
    shown = min(len(top) for top in tops)
    title = (
        f"{name} {layer}: the {shown} test patches that activate each filter most, each {field.size}x{field.size}"
        f" pixels (the filter's receptive field)\nfilters in order; small print: the most common class among them"
    )
    return filter_grid(title, cells), rows


def main() -> None:
    args = parse_arguments(__doc__, "data", "models_dir", "out_dir")
    params = load_params()
    insight, shown_seed = insight_settings(params), seeds(params)[0]
    pairs = explained_layers(params, insight.every_layer_of)
    shutil.rmtree(args.out_dir, ignore_errors=True)
    args.out_dir.mkdir(parents=True)

    from pipeline.training.models import load_model
    from pipeline.training.runtime import configure

    configure(shown_seed, threads(params))  # pinned threads and deterministic ops

    images, labels = load_split(args.data, "test")
    images, labels = images[: insight.patch_images], labels[: insight.patch_images]
    rows = []
    for name in dict.fromkeys(name for name, _ in pairs):
        model = load_model(seed_path(args.models_dir, name, shown_seed, ".keras"))
        fields = receptive_fields(list(model_config(params, name).layers), INPUT_SHAPE[0])
        for model_name, layer in pairs:
            if model_name == name:
                figure, layer_rows = explain_layer(model, name, layer, fields[layer], images, labels, insight.patches)
                save(figure, args.out_dir / filter_grid_file(name, layer))
                rows += layer_rows
        print(f"{name}: filter grids written", flush=True)
    pd.DataFrame(rows).to_csv(args.out_dir / SUMMARY_TABLE, index=False, float_format="%.4f")


if __name__ == "__main__":
    run(main)
