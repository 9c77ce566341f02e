"""Stage `explain`: <out>, a PNG of convolution and pooling by hand.

The course lab's three 3x3 filters are applied to Fashion-MNIST test images with the
NumPy cross-correlation of pipeline.architecture.convolution (negative responses clamped to 0, as the
lab clamps to 0..255), then 2x2 max pooling halves each side: input 28x28, filtered
26x26, pooled 13x13.
"""

import numpy as np

from pipeline.architecture.convolution import COURSE_FILTERS, convolve, max_pool
from pipeline.configuration.params import load_params, report_settings
from pipeline.data.arrays import load_split
from pipeline.data.fashion_mnist import CLASS_NAMES
from pipeline.errors import run
from pipeline.files.cli import parse_arguments
from pipeline.reporting.plotting import ACTIVATION_CMAP, IMAGE_CMAP, blank, plt, save


def kernel_text(kernel: np.ndarray) -> str:
    return "\n".join(" ".join(f"{int(value):>2}" for value in row) for row in kernel)


def explainer(images: np.ndarray, indices: list[int], labels: np.ndarray) -> plt.Figure:
    columns = 1 + 2 * len(COURSE_FILTERS)
    figure, axes = plt.subplots(len(images), columns, figsize=(1.6 * columns, 2.3 * len(images)), layout="constrained")
    axes = np.atleast_2d(axes)
    for row, (image, index, label) in enumerate(zip(images, indices, labels, strict=True)):
        pixels = image[:, :, 0] * 255
        axes[row, 0].imshow(pixels, cmap=IMAGE_CMAP)
        axes[row, 0].set_title(f"test #{index}, {CLASS_NAMES[label]}\ninput {pixels.shape[0]}x{pixels.shape[1]}")
        for number, (responds_to, kernel) in enumerate(COURSE_FILTERS.items()):
            filtered = np.clip(convolve(pixels, kernel), 0, 255)
            pooled = max_pool(filtered)
            left, right = axes[row, 1 + 2 * number], axes[row, 2 + 2 * number]
            left.imshow(filtered, cmap=ACTIVATION_CMAP, vmin=0, vmax=255)
            right.imshow(pooled, cmap=ACTIVATION_CMAP, vmin=0, vmax=255)
            left.set_title(f"{responds_to}\nfiltered {filtered.shape[0]}x{filtered.shape[1]}")
            right.set_title(f"then 2x2 max pool\n{pooled.shape[0]}x{pooled.shape[1]}")
            if row == len(images) - 1:
                left.set_xlabel(kernel_text(kernel), family="DejaVu Sans Mono", fontsize=8)
    for axis in axes.flat:
        blank(axis)
    figure.suptitle(
        "Convolution with the course's 3x3 filters (kernels below each column), then max pooling.\n"
        "A filter whose columns differ lights up vertical edges, one whose rows differ horizontal ones."
    )
    return figure


def main() -> None:
    args = parse_arguments(__doc__, "data", out="the figure (PNG)")
    chosen = list(report_settings(load_params()).explained_images)
    images, labels = load_split(args.data, "test")
    save(explainer(images[chosen], chosen, labels[chosen]), args.out)


if __name__ == "__main__":
    run(main)
