"""Stage `gradcam`: where each CNN looks to decide, as Grad-CAM maps over test images.

For every model with a convolution, the run of the first seed, into <out-dir>/<model>/:
- activation_images.png: the report's activation images, each with the map of its predicted class;
- confused.png: test images of the model's most frequent confusion (true A, predicted B), each
  with the map of B (why it said B) beside the map of A (what A would have needed); none for
  a model without mistakes;
- class_average.png: per class, the mean map over correctly classified test images, over
  their mean image: where the model looks for each class.
<out-dir>/summary.csv holds, per model and class, what the front page states: the most
confused pair and how much of each class-average map lies on the garment.
"""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.analysis.confusion import confusion_rows, ranked_mistakes
from pipeline.analysis.results import read_predictions
from pipeline.configuration.params import (
    ModelConfig,
    insight_settings,
    load_params,
    model_config,
    model_names,
    report_settings,
    seeds,
    threads,
)
from pipeline.data.arrays import load_split
from pipeline.data.fashion_mnist import CLASS_NAMES
from pipeline.errors import run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import named_path, seed_path
from pipeline.files.outputs import CAM_ACTIVATION_IMAGES, CAM_CLASS_AVERAGE, CAM_CONFUSED, SUMMARY_TABLE
from pipeline.reporting.plotting import ATTENTION_CMAP, IMAGE_CMAP, blank, image_grid, plt, save

GARMENT = 0.2  # a pixel of a class's mean image this bright or brighter counts as the garment


def most_confused(labels: np.ndarray, predicted: np.ndarray) -> tuple[int, int, int]:
    """(true class, predicted class, count) of the most frequent mistake; ties to the lower classes."""
    (actual, said), count = next(iter(ranked_mistakes(confusion_rows(labels, predicted)).items()))
    return CLASS_NAMES.index(actual), CLASS_NAMES.index(said), int(count)


def has_convolution(config: ModelConfig) -> bool:
    return any(layer["type"] == "conv" for layer in config.layers)


def overlay(axis: plt.Axes, image: np.ndarray, heat: np.ndarray | None = None) -> None:
    axis.imshow(image, cmap=IMAGE_CMAP, vmin=0, vmax=1)
    if heat is not None:
        axis.imshow(heat, cmap=ATTENTION_CMAP, alpha=0.55, vmin=0, vmax=1, interpolation="bilinear")
    blank(axis)


def resolution_note(layer: str, side: int) -> str:
    return f"Grad-CAM of {layer}'s {side}x{side} output, upsampled bilinearly to 28x28"


def overlay_rows(images: np.ndarray, columns: list[tuple[np.ndarray | None, list[str]]], title: str) -> plt.Figure:
    """A row per image: a column per (maps, titles), the image alone where maps is None."""
    figure, cells = image_grid(len(columns) * len(images), len(columns), cell=(1.7, 1.9))
    for row, image in enumerate(images):
        for column, (heats, titles) in enumerate(columns):
            axis = cells[len(columns) * row + column]
            overlay(axis, image, None if heats is None else heats[row])
            axis.set_title(titles[row], fontsize=8)
    figure.suptitle(title, fontsize=9)
    return figure


def activation_figure(
    name: str, images: np.ndarray, indices: np.ndarray, predicted: np.ndarray, heats: np.ndarray, note: str
) -> plt.Figure:
    columns = [(None, [f"test #{index}" for index in indices]), (heats, [f"for {CLASS_NAMES[p]}" for p in predicted])]
    return overlay_rows(images, columns, f"{name}: where it looks for the class it predicts\n{note}")


def confused_figure(
    name: str,
    images: np.ndarray,
    indices: np.ndarray,
    pair: tuple[int, int, int],
    said_heats: np.ndarray,
    true_heats: np.ndarray,
    note: str,
) -> plt.Figure:
    true, said, count = pair
    columns = [
        (None, [f"#{index}: a {CLASS_NAMES[true]}" for index in indices]),
        (said_heats, [f"for {CLASS_NAMES[said]} (said)"] * len(indices)),
        (true_heats, [f"for {CLASS_NAMES[true]} (true)"] * len(indices)),
    ]
    mistake = f"{CLASS_NAMES[true]} taken for {CLASS_NAMES[said]} ({count} test images)"
    title = f"{name}: its most frequent mistake, {mistake}"
    return overlay_rows(images, columns, f"{title}\n{note}")


def class_average_figure(
    name: str, mean_images: list[np.ndarray], mean_heats: list[np.ndarray], counts: list[int], note: str
) -> plt.Figure:
    figure, cells = image_grid(len(CLASS_NAMES), 5, cell=(1.8, 2.0))
    for label, axis in enumerate(cells):
        if counts[label] == 0:
            axis.set_title(f"{CLASS_NAMES[label]}\nnone correct", fontsize=8)
            continue
        overlay(axis, mean_images[label], mean_heats[label])
        axis.set_title(f"{CLASS_NAMES[label]}\nmean of {counts[label]}", fontsize=8)
    figure.suptitle(f"{name}: where it looks for each class, over correctly classified test images\n{note}", fontsize=9)
    return figure


def explain(
    name: str,
    model,
    images: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    activation_images: tuple[int, ...],
    per_class: int,
    shown: int,
    out_dir: Path,
) -> list[dict]:
    """Write the model's three figures; return its rows of the summary."""
    from pipeline.analysis.attention import convolutions, grad_cam, upsampled

    layer = convolutions(model)[-1]
    side = layer.output.shape[1]
    note = resolution_note(layer.name, side)

    def heats(indices: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return upsampled(grad_cam(model, images[indices], classes), images.shape[1])

    chosen = np.array(activation_images)
    said = predicted[chosen]
    save(
        activation_figure(name, images[chosen, :, :, 0], chosen, said, heats(chosen, said), note),
        out_dir / CAM_ACTIVATION_IMAGES,
    )
    pair = most_confused(labels, predicted)
    wrong = np.flatnonzero((labels == pair[0]) & (predicted == pair[1]))[:shown]
    if len(wrong):  # a model without mistakes has no confusion to show
        save(
            confused_figure(name, images[wrong, :, :, 0], wrong, pair, heats(wrong, predicted[wrong]),
                            heats(wrong, labels[wrong]), note),
            out_dir / CAM_CONFUSED,
        )  # fmt: skip
    mean_images, mean_heats, counts, rows = [], [], [], []
    for label in range(len(CLASS_NAMES)):
        right = np.flatnonzero((labels == label) & (predicted == label))[:per_class]
        counts.append(len(right))
        mean_image = images[right, :, :, 0].mean(axis=0) if len(right) else np.zeros(images.shape[1:3])
        mean_heat = heats(right, labels[right]).mean(axis=0) if len(right) else np.zeros(images.shape[1:3])
        mean_images.append(mean_image)
        mean_heats.append(mean_heat)
        on_garment = float(mean_heat[mean_image >= GARMENT].sum() / mean_heat.sum()) if mean_heat.sum() else None
        rows.append({
            "model": name, "layer": layer.name, "side": side, "class": CLASS_NAMES[label], "images": len(right),
            "on_garment": on_garment, "garment_share_of_image": float((mean_image >= GARMENT).mean()),
            "confused_true": CLASS_NAMES[pair[0]], "confused_predicted": CLASS_NAMES[pair[1]],
            "confused_count": pair[2],
        })  # fmt: skip
    save(class_average_figure(name, mean_images, mean_heats, counts, note), out_dir / CAM_CLASS_AVERAGE)
    return rows


def main() -> None:
    args = parse_arguments(__doc__, "data", "models_dir", "predictions_dir", "out_dir")
    params = load_params()
    insight, report, shown_seed = insight_settings(params), report_settings(params), seeds(params)[0]
    cnns = [name for name in model_names(params) if has_convolution(model_config(params, name))]
    shutil.rmtree(args.out_dir, ignore_errors=True)
    args.out_dir.mkdir(parents=True)

    from pipeline.training.models import load_model
    from pipeline.training.runtime import configure

    configure(shown_seed, threads(params))  # pinned threads and deterministic ops: the same maps on any machine
    images, labels = load_split(args.data, "test")
    rows = []
    for name in cnns:
        predictions_path = seed_path(args.predictions_dir, name, shown_seed, ".csv")
        _, predicted = read_predictions(predictions_path, expected=len(labels))
        model = load_model(seed_path(args.models_dir, name, shown_seed, ".keras"))
        rows += explain(name, model, images, labels, predicted, report.activation_images, insight.cam_per_class,
                        insight.confused_shown, named_path(args.out_dir, name))  # fmt: skip
        print(f"{name}: Grad-CAM maps written", flush=True)
    pd.DataFrame(rows).to_csv(args.out_dir / SUMMARY_TABLE, index=False, float_format="%.4f")


if __name__ == "__main__":
    run(main)
