"""The prepared arrays: loading them (plain .npy, never pickle) and drawing stratified samples."""

from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError


def load_split(data_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split ('train', 'validation' or 'test')."""
    arrays = []
    for prefix in ("x", "y"):
        path = data_dir / f"{prefix}_{split}.npy"
        try:
            arrays.append(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as error:
            raise PipelineError(f"{path}: cannot load the prepared array ({error}); run `dvc repro prepare`") from None
    images, labels = arrays
    if len(images) != len(labels):
        raise PipelineError(f"{data_dir}: {len(images)} images but {len(labels)} labels in the {split} split")
    return images, labels


def stratified_sample(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of `size` items drawn so that each class keeps its share."""
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * size / len(labels)
    quotas = np.floor(exact).astype(int)
    shortfall = size - quotas.sum()
    quotas[np.argsort(quotas - exact, kind="stable")[:shortfall]] += 1
    chosen = [
        rng.permutation(np.flatnonzero(labels == label))[:quota] for label, quota in zip(classes, quotas, strict=True)
    ]
    return np.sort(np.concatenate(chosen))
