"""Loading the prepared arrays written by the prepare stage (plain .npy, never pickle)."""

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
