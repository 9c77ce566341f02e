"""Stage `feature_space`: how well each model's last hidden layer separates the classes.

For each model in `insight.projected` (dnn and cnn_64), the run of the first seed: the
features its last dense layer receives (128 values per image for both) for the first
`insight.projection_images` test images, projected to 2-D by scikit-learn's t-SNE, coloured
by class. The picture is backed by a number: the accuracy of a k-nearest-neighbour vote
(k = `insight.neighbours`, 5-fold cross-validation over those images) in that feature space,
beside the same vote on the raw pixels. Into <out-dir>/: projection.png, separability.csv.
t-SNE runs on one thread from a fixed seed, so the figure has the same bytes every time.
"""

import shutil

import numpy as np
import pandas as pd

from pipeline.configuration.params import FOLDS, insight_settings, load_params, model_config, seeds, threads
from pipeline.data.arrays import load_split
from pipeline.data.fashion_mnist import CLASS_NAMES
from pipeline.errors import run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import seed_path
from pipeline.files.outputs import PROJECTION, SEPARABILITY
from pipeline.reporting.plotting import plt, save

ITERATIONS = 500  # t-SNE's optimisation steps: half scikit-learn's default, and half the time; 2,000 points
# have settled by then (the kNN score, the figure's backing, does not depend on it at all)


def penultimate_features(model, images: np.ndarray) -> np.ndarray:
    """What the last (classifying) dense layer receives for each image."""
    import keras

    probe = keras.Model(model.inputs, model.layers[-1].input)
    return probe.predict(images, batch_size=500, verbose=0).reshape(len(images), -1)


def neighbour_accuracy(features: np.ndarray, labels: np.ndarray, neighbours: int) -> float:
    """Mean accuracy of a k-nearest-neighbour vote, cross-validated over consecutive folds."""
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    return float(
        cross_val_score(KNeighborsClassifier(neighbours), features, labels, cv=FOLDS, error_score="raise").mean()
    )


def projection(features: np.ndarray, perplexity: float, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # Barnes-Hut sums in parallel threads vary in their last bits
        return TSNE(perplexity=perplexity, init="pca", max_iter=ITERATIONS, random_state=seed).fit_transform(features)


def projection_figure(points: dict, labels: np.ndarray, scores: dict, widths: dict, k: int) -> plt.Figure:
    figure, axes = plt.subplots(1, len(points), figsize=(5.2 * len(points), 5.4), layout="constrained", squeeze=False)
    colours = plt.get_cmap("tab10")
    for axis, (name, xy) in zip(axes[0], points.items(), strict=True):
        for label, class_name in enumerate(CLASS_NAMES):
            chosen = labels == label
            axis.scatter(xy[chosen, 0], xy[chosen, 1], s=3, color=colours(label), label=class_name, rasterized=True)
        axis.set_title(f"{name}: {k}-NN accuracy {scores[name]:.1%} in its {widths[name]}-feature space", fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    handles, names = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, names, loc="outside lower center", ncols=5, markerscale=4, fontsize=8, frameon=False)
    figure.suptitle(f"The first {len(labels):,} test images in each model's last hidden layer, projected by t-SNE")
    return figure


def main() -> None:
    args = parse_arguments(__doc__, "data", "models_dir", "out_dir")
    params = load_params()
    insight, shown_seed = insight_settings(params), seeds(params)[0]
    names = [model_config(params, name).name for name in insight.projected]
    shutil.rmtree(args.out_dir, ignore_errors=True)
    args.out_dir.mkdir(parents=True)

    from pipeline.training.models import load_model
    from pipeline.training.runtime import configure

    configure(shown_seed, threads(params))  # pinned threads and deterministic ops

    images, labels = load_split(args.data, "test")
    images, labels = images[: insight.projection_images], labels[: insight.projection_images]
    rows = [
        {
            "space": "raw pixels",
            "features": images[0].size,
            "knn_accuracy": neighbour_accuracy(images.reshape(len(images), -1), labels, insight.neighbours),
        }
    ]
    points, scores, widths = {}, {}, {}
    for name in names:
        features = penultimate_features(load_model(seed_path(args.models_dir, name, shown_seed, ".keras")), images)
        scores[name], widths[name] = neighbour_accuracy(features, labels, insight.neighbours), features.shape[1]
        rows.append({"space": name, "features": features.shape[1], "knn_accuracy": scores[name]})
        points[name] = projection(features, insight.perplexity, shown_seed)
        print(f"{name}: {insight.neighbours}-NN accuracy {scores[name]:.4f} in its feature space", flush=True)
    save(projection_figure(points, labels, scores, widths, insight.neighbours), args.out_dir / PROJECTION)
    table = pd.DataFrame(rows).assign(images=len(labels), neighbours=insight.neighbours)
    table.to_csv(args.out_dir / SEPARABILITY, index=False, float_format="%.4f")


if __name__ == "__main__":
    run(main)
