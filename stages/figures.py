"""Stage `figures@<model>`: what one trained model sees and gets wrong, as PNGs.

The model is the run of the first seed in `seeds`. Into <out-dir>/<model>.figures/ (`publish`
copies them to reports/figures/<model>/):
- activations.png: the source's grid, one row per chosen test image, one column per
  convolution or pooling layer, one feature map (channel) of each, `inferno`;
- first_conv_channels.png: every feature map of the first convolution for one image;
- first_conv_kernels.png: the first convolution's learned 3x3 kernels;
- confusion.png: the confusion matrix with class names;
- misclassified.png: test images the model got wrong, true and predicted class.
A model without convolutions gets the last two only.
"""

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.analysis.results import read_predictions
from pipeline.configuration.params import ReportSettings, load_params, model_config, report_settings, seeds
from pipeline.data.arrays import load_split
from pipeline.data.fashion_mnist import CLASS_NAMES
from pipeline.errors import run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import FIGURES, named_path, seed_path
from pipeline.files.outputs import ACTIVATIONS, CONFUSION, FIRST_CONV_CHANNELS, FIRST_CONV_KERNELS, MISCLASSIFIED
from pipeline.reporting.plotting import ACTIVATION_CMAP, IMAGE_CMAP, KERNEL_CMAP, blank, image_grid, plt, save

FEATURE_LAYERS = ("Conv2D", "MaxPooling2D")


def feature_layers(model) -> list:
    """The convolution and pooling layers, chosen by type so any architecture works."""
    return [layer for layer in model.layers if type(layer).__name__ in FEATURE_LAYERS]


def feature_maps(model, layers: list, images: np.ndarray) -> list[np.ndarray]:
    """Each chosen layer's output for the images, from one model with several outputs."""
    import keras

    probe = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in layers])
    outputs = probe.predict(images, verbose=0)
    return outputs if isinstance(outputs, list) else [outputs]


def activation_grid(model, images: np.ndarray, indices, labels, predicted, channel: int) -> plt.Figure:
    layers = feature_layers(model)
    maps = feature_maps(model, layers, images)
    figure, axes = plt.subplots(
        len(images), len(layers) + 1, layout="constrained", figsize=(1.6 * (len(layers) + 1), 1.8 * len(images))
    )
    axes = np.atleast_2d(axes)
    for row, index in enumerate(indices):
        axes[row, 0].imshow(images[row, :, :, 0], cmap=IMAGE_CMAP)
        axes[row, 0].set_title(
            f"test #{index}\ntrue {CLASS_NAMES[labels[row]]}\npredicted {CLASS_NAMES[predicted[row]]}"
        )
        for column, (layer, output) in enumerate(zip(layers, maps, strict=True), start=1):
            feature_map = output[row, :, :, channel]
            axes[row, column].imshow(feature_map, cmap=ACTIVATION_CMAP)
            if not feature_map.any():
                axes[row, column].text(0.5, 0.5, "all zero", transform=axes[row, column].transAxes,
                                       ha="center", va="center", color="white")  # fmt: skip
            if row == 0:
                side = output.shape[1]
                axes[row, column].set_title(f"{layer.name}\n{side}x{side}")
    for axis in axes.flat:
        blank(axis)
    figure.suptitle(f"{model.name}: feature map {channel} after each convolution and pooling layer")
    return figure


def first_convolution(model):
    return next((layer for layer in model.layers if type(layer).__name__ == "Conv2D"), None)


def channel_grid(model, image: np.ndarray, index: int) -> plt.Figure:
    first = first_convolution(model)
    (maps,) = feature_maps(model, [first], image[np.newaxis])
    count = maps.shape[-1]
    figure, cells = image_grid(count, math.ceil(math.sqrt(count)), cell=(1.1, 1.2))
    for channel, axis in enumerate(cells):
        axis.imshow(maps[0, :, :, channel], cmap=ACTIVATION_CMAP)
        axis.set_title(str(channel), fontsize=7)
    figure.suptitle(f"{model.name}: all {count} feature maps of {first.name} for test image #{index}")
    return figure


def kernel_grid(model) -> plt.Figure:
    first = first_convolution(model)
    kernels = first.get_weights()[0][:, :, 0, :]  # (f, f, filters) for the single input channel
    count = kernels.shape[-1]
    figure, cells = image_grid(count, math.ceil(math.sqrt(count)), cell=(1.0, 1.1))
    for channel, axis in enumerate(cells):
        limit = float(np.abs(kernels[:, :, channel]).max()) or 1.0  # each kernel on its own scale
        axis.imshow(kernels[:, :, channel], cmap=KERNEL_CMAP, vmin=-limit, vmax=limit)
        axis.set_title(str(channel), fontsize=7)
    figure.suptitle(
        f"{model.name}: learned {kernels.shape[0]}x{kernels.shape[1]} kernels of {first.name}\n"
        "red positive, blue negative, each kernel on its own scale"
    )
    return figure


def confusion_figure(name: str, labels: np.ndarray, predicted: np.ndarray) -> plt.Figure:
    matrix = pd.crosstab(labels, predicted).reindex(index=range(10), columns=range(10), fill_value=0).to_numpy()
    figure, axis = plt.subplots(figsize=(6.4, 5.6), layout="constrained")
    axis.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        axis.text(column, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    axis.set_xticks(range(10), CLASS_NAMES, rotation=45, ha="right")
    axis.set_yticks(range(10), CLASS_NAMES)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    axis.set_title(f"{name}: confusion matrix on the 10,000 test images")
    return figure


def misclassified_gallery(name: str, images, labels, predicted, shown: int) -> plt.Figure:
    wrong = np.flatnonzero(labels != predicted)[:shown]
    figure, cells = image_grid(len(wrong), 6, cell=(1.7, 2.0))
    for axis, index in zip(cells, wrong, strict=True):
        axis.imshow(images[index, :, :, 0], cmap=IMAGE_CMAP)
        axis.set_title(f"#{index}\ntrue {CLASS_NAMES[labels[index]]}\nsaid {CLASS_NAMES[predicted[index]]}", fontsize=7)
    figure.suptitle(f"{name}: the first {len(wrong)} misclassified test images")
    return figure


def render(name: str, model, images, labels, predicted, settings: ReportSettings, out_dir: Path) -> None:
    save(confusion_figure(name, labels, predicted), out_dir / CONFUSION)
    save(
        misclassified_gallery(name, images, labels, predicted, settings.misclassified_shown),
        out_dir / MISCLASSIFIED,
    )
    if not feature_layers(model):
        return
    chosen = list(settings.activation_images)
    grid = activation_grid(
        model, images[chosen], chosen, labels[chosen], predicted[chosen], settings.activation_channel
    )
    save(grid, out_dir / ACTIVATIONS)
    if first_convolution(model) is None:
        return
    save(channel_grid(model, images[chosen[0]], chosen[0]), out_dir / FIRST_CONV_CHANNELS)
    save(kernel_grid(model), out_dir / FIRST_CONV_KERNELS)


def main() -> None:
    args = parse_arguments(__doc__, "data", "models_dir", "predictions_dir", "out_dir", model=True)
    name = args.model
    params = load_params()
    model_config(params, name)
    settings, shown_seed = report_settings(params), seeds(params)[0]  # the channel fits every model
    out_dir = named_path(args.out_dir, name, FIGURES)  # never anything but the model's own folder
    shutil.rmtree(out_dir, ignore_errors=True)

    from pipeline.training.models import load_model

    model = load_model(seed_path(args.models_dir, name, shown_seed, ".keras"))
    images, labels = load_split(args.data, "test")
    predictions_path = seed_path(args.predictions_dir, name, shown_seed, ".csv")
    _, predicted = read_predictions(predictions_path, expected=len(labels))
    render(name, model, images, labels, predicted, settings, out_dir)


if __name__ == "__main__":
    run(main)
