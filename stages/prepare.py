"""Stage `prepare`: <raw>/ -> <out>/, model-ready arrays, and <summary>, a data summary.

The split's seed and settings come from <data-config> (see `check_params`).
Pixels are scaled to [0, 1] as float32 and shaped (N, 28, 28, 1); labels stay uint8.
A stratified, seeded share of the training set is held out for validation (and, for
quick runs, a stratified subset is taken first); the test set is left as it is.
Arrays are plain .npy files, loaded without pickle.
"""

import json
import shutil
from pathlib import Path

import numpy as np

from pipeline.architecture.arguments import quote
from pipeline.configuration.config import DataSettings, read_data_config
from pipeline.data.arrays import stratified_sample
from pipeline.data.fashion_mnist import CLASS_NAMES, IMAGE_SIDE, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS
from pipeline.data.idx import read_images_and_labels
from pipeline.errors import PipelineError, run
from pipeline.files.cli import parse_arguments

SPLITS = ("train", "validation", "test")


def load_raw(raw_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The training and test sets as uint8 arrays, each checked against the format."""
    sets = {}
    for split, images_file, labels_file in (("train", TRAIN_IMAGES, TRAIN_LABELS), ("test", TEST_IMAGES, TEST_LABELS)):
        images_path = raw_dir / images_file.gz_name
        images, labels = read_images_and_labels(
            images_path, raw_dir / labels_file.gz_name, images_file.size, labels_file.size
        )
        if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise PipelineError(f"{images_path}: images of {images.shape[1:]}, expected {IMAGE_SIDE}x{IMAGE_SIDE}")
        if labels.max() >= len(CLASS_NAMES):
            raise PipelineError(
                f"{raw_dir / labels_file.gz_name}: label {labels.max()}, expected 0 to {len(CLASS_NAMES) - 1}"
            )
        sets[split] = images, labels
    return sets


def split(
    images: np.ndarray, labels: np.ndarray, settings: DataSettings, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Take the optional subset, then hold out the validation share, both stratified."""
    rng = np.random.default_rng(seed)
    if settings.subset is not None:
        if settings.subset > len(labels):
            raise PipelineError(
                f"params.yaml: data.subset: {settings.subset} is more than the {len(labels):,} training images"
            )
        keep = stratified_sample(labels, settings.subset, rng)
        images, labels = images[keep], labels[keep]
    held_out = stratified_sample(labels, round(settings.validation_fraction * len(labels)), rng)
    train = np.setdiff1d(np.arange(len(labels)), held_out)
    if len(train) < len(CLASS_NAMES):
        raise PipelineError(
            f"params.yaml: data.subset ({quote(settings.subset)}) and data.validation_fraction"
            f" ({settings.validation_fraction}) leave {len(train)} training images; at least"
            f" {len(CLASS_NAMES)}, one per class, are needed"
        )
    return {"train": (images[train], labels[train]), "validation": (images[held_out], labels[held_out])}


def scale(images: np.ndarray) -> np.ndarray:
    """uint8 pixels to float32 in [0, 1], with the channel axis Keras's Conv2D expects."""
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def summarize(splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Counts per class and pixel statistics of each split, for the data summary."""
    summary = {}
    for name, (images, labels) in splits.items():
        counts = np.bincount(labels, minlength=len(CLASS_NAMES))
        summary[name] = {
            "images": len(labels),
            "pixel_mean": round(float(images.mean(dtype=np.float64)), 4) if len(labels) else None,
            "pixel_std": round(float(images.std(dtype=np.float64)), 4) if len(labels) else None,
            "per_class": {name: int(count) for name, count in zip(CLASS_NAMES, counts, strict=True)},
        }
    return summary


def save(splits: dict[str, tuple[np.ndarray, np.ndarray]], out_dir: Path) -> None:
    """Write x_<split>.npy and y_<split>.npy into a fresh directory, then move it into place."""
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, (images, labels) in splits.items():
        np.save(staging / f"x_{name}.npy", images)
        np.save(staging / f"y_{name}.npy", labels)
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)


def main() -> None:
    args = parse_arguments(__doc__, raw="the four IDX gzip files", data_config="the split's settings (JSON)",
                           out="where the arrays go", summary="the data summary (JSON)")  # fmt: skip
    config = read_data_config(args.data_config)
    settings, split_seed = config.data, config.seed

    raw = load_raw(args.raw)
    splits = {**split(*raw["train"], settings, split_seed), "test": raw["test"]}
    scaled = {name: (scale(images), labels) for name, (images, labels) in splits.items()}
    save(scaled, args.out)
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_text(json.dumps(summarize(scaled), indent=2) + "\n")
    for name, (images, _) in scaled.items():
        print(f"{name}: {len(images):,} images")


if __name__ == "__main__":
    run(main)
