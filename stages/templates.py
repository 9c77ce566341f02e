"""Stage `templates`: the dense baseline's view of an image beside a convolution's.

Each unit of `insight.templates_of`'s first dense layer (dnn's 128) weighs all 784 pixels,
each at its fixed place: its weights, drawn as a 28x28 image, are a template matched against
the whole picture. Beside them, the first convolution's kernels of `insight.kernels_of`
(cnn_64's 3x3 kernels), each matched against every 3x3 neighbourhood. Into <out-dir>/:
templates.png, and summary.json with what the front page states about them: weights per
unit and per kernel, how many positions each is applied at, how widely a unit's weight
spreads over the image, and how many units never fire on the first `insight.patch_images`
test images (a ReLU unit that never fires adds nothing to the model's decisions).
"""

import json
import math
import shutil
from typing import TYPE_CHECKING

import numpy as np

from pipeline.architecture.layers import layer_output_shape
from pipeline.configuration.config import INPUT_SHAPE, ModelConfig
from pipeline.configuration.params import (
    first_of,
    insight_settings,
    load_params,
    model_config,
    seeds,
    threads,
)
from pipeline.data.arrays import load_split
from pipeline.errors import run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import seed_path
from pipeline.files.outputs import TEMPLATES, TEMPLATES_SUMMARY
from pipeline.reporting.plotting import KERNEL_CMAP, blank, plt, save

if TYPE_CHECKING:
    import keras  # imported inside the functions, after TensorFlow's set-up


def half_weight_pixels(weights: np.ndarray) -> int:
    """How many of a template's pixels hold half of its squared weight: small for a local
    template, hundreds for one spread over the image."""
    energy = np.sort(weights.ravel() ** 2)[::-1]
    return int(np.searchsorted(np.cumsum(energy), energy.sum() / 2) + 1)


def tiled(weights: np.ndarray, columns: int) -> np.ndarray:
    """Weight images (n, h, w) tiled in rows of `columns`, each scaled to [-1, 1] by its largest
    magnitude (white at zero), a NaN gap of a ninth of a side between them."""
    side = weights.shape[1]
    gap, rows = max(side // 9, 1), math.ceil(len(weights) / columns)
    canvas = np.full((rows * (side + gap) - gap, columns * (side + gap) - gap), np.nan)
    for index, image in enumerate(weights):
        row, column = divmod(index, columns)
        limit = float(np.abs(image).max()) or 1.0
        canvas[row * (side + gap) : row * (side + gap) + side, column * (side + gap) : column * (side + gap) + side] = (
            image / limit
        )
    return canvas


def templates_figure(dense_name: str, templates: np.ndarray, conv_name: str, kernels: np.ndarray) -> plt.Figure:
    """Units' templates (n, 28, 28) on the left, kernels (n, f, f) on the right, a grid cell as
    large on both sides; one picture each (hundreds of axes would be slow to draw)."""
    rows = max(math.ceil(len(templates) / 16), math.ceil(len(kernels) / 8))
    figure, axes = plt.subplots(
        1, 2, figsize=(15.5, 0.62 * rows + 1.0), width_ratios=[16, 8], layout="constrained"
    )  # fmt: skip
    colormap = plt.get_cmap(KERNEL_CMAP).with_extremes(bad="white")
    for axis, weights, columns, title in (
        (axes[0], templates, 16, f"{dense_name}: the {len(templates)} units' weights over the 28x28 image"),
        (axes[1], kernels, 8, f"{conv_name}: the {len(kernels)} {kernels.shape[1]}x{kernels.shape[2]} kernels"),
    ):
        axis.imshow(tiled(weights, columns), cmap=colormap, vmin=-1, vmax=1)
        axis.set_title(title, fontsize=9)
        blank(axis)
    figure.suptitle("red positive, blue negative, white zero; each on its own scale", fontsize=8)
    return figure


def silent_units(model: "keras.Model", layer: dict, images: np.ndarray) -> int | None:
    """How many ReLU units never fire on `images`; None for another activation, which passes
    negative values on, so no unit of it is silent."""
    import keras

    if layer["activation"] != "relu":
        return None
    probe = keras.Model(model.inputs[0], model.get_layer(layer["name"]).output)
    outputs = np.concatenate([np.asarray(probe(images[start : start + 500], training=False))
                              for start in range(0, len(images), 500)])  # fmt: skip
    return int((outputs.max(axis=0) <= 0).sum())


def unit_templates(model: "keras.Model", layer: dict) -> np.ndarray:
    """A dense layer's units' weights as images (units, 28, 28): what each unit looks for."""
    side = INPUT_SHAPE[0]
    return model.get_layer(layer["name"]).get_weights()[0].T.reshape(-1, side, side)


def first_kernels(model: "keras.Model", layer: dict) -> np.ndarray:
    """A first convolution's kernels (filters, f, f), on its one input channel."""
    return np.moveaxis(model.get_layer(layer["name"]).get_weights()[0][:, :, 0, :], -1, 0)


def positions(config: ModelConfig, layer: dict) -> int:
    """Where a convolution's kernel is applied: its output's height times width."""
    shape = INPUT_SHAPE
    for before in config.layers[: config.layers.index(layer)]:
        shape = layer_output_shape(before, shape)
    return math.prod(layer_output_shape(layer, shape)[:2])


def summary(dense: tuple[ModelConfig, dict, np.ndarray], conv: tuple[ModelConfig, dict, np.ndarray],
            silent: int | None, images: int) -> dict:  # fmt: skip
    """The facts the front page states: sizes, parameter counts, how spread the templates are."""
    (dense_config, dense_layer, templates), (conv_config, conv_layer, kernels) = dense, conv
    spread = [half_weight_pixels(template) for template in templates]
    return {
        "dense_model": dense_config.name, "dense_layer": dense_layer["name"], "units": len(templates),
        "weights_per_unit": int(templates[0].size), "dense_parameters": int(templates.size + len(templates)),
        "median_half_weight_pixels": float(np.median(spread)), "min_half_weight_pixels": min(spread),
        "silent_units": silent, "images_checked": images,
        "conv_model": conv_config.name, "conv_layer": conv_layer["name"], "kernels": len(kernels),
        "weights_per_kernel": int(kernels[0].size), "conv_parameters": int(kernels.size + len(kernels)),
        "positions_per_kernel": positions(conv_config, conv_layer),
    }  # fmt: skip


def main() -> None:
    args = parse_arguments(__doc__, "data", "models_dir", "out_dir")
    params = load_params()
    insight, shown_seed = insight_settings(params), seeds(params)[0]
    dense_config, conv_config = model_config(params, insight.templates_of), model_config(params, insight.kernels_of)
    dense_layer, conv_layer = first_of(dense_config, "dense"), first_of(conv_config, "conv")  # checked to be there
    shutil.rmtree(args.out_dir, ignore_errors=True)
    args.out_dir.mkdir(parents=True)

    from pipeline.training.models import load_model
    from pipeline.training.runtime import configure

    configure(shown_seed, threads(params))  # pinned threads and deterministic ops
    dense_model = load_model(seed_path(args.models_dir, dense_config.name, shown_seed, ".keras"))
    conv_model = load_model(seed_path(args.models_dir, conv_config.name, shown_seed, ".keras"))
    images = load_split(args.data, "test")[0][: insight.patch_images]
    templates, kernels = unit_templates(dense_model, dense_layer), first_kernels(conv_model, conv_layer)
    figure = templates_figure(f"{dense_config.name} {dense_layer['name']}", templates,
                              f"{conv_config.name} {conv_layer['name']}", kernels)  # fmt: skip
    save(figure, args.out_dir / TEMPLATES)
    facts = summary((dense_config, dense_layer, templates), (conv_config, conv_layer, kernels),
                    silent_units(dense_model, dense_layer, images), len(images))  # fmt: skip
    (args.out_dir / TEMPLATES_SUMMARY).write_text(json.dumps(facts, indent=2) + "\n")


if __name__ == "__main__":
    run(main)
