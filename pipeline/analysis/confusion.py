"""Confusion counts and the mistakes they rank, computed one way for every page and figure."""

import numpy as np
import pandas as pd

from pipeline.data.fashion_mnist import CLASS_NAMES


def confusion_rows(actual: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """The 10x10 confusion counts of one set of predictions, one row per cell (`actual`,
    `predicted`, `count`), classes by name, in label order."""
    matrix = np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), dtype=int)
    np.add.at(matrix, (actual, predicted), 1)
    cells = [(CLASS_NAMES[true], CLASS_NAMES[said], int(count)) for (true, said), count in np.ndenumerate(matrix)]
    return pd.DataFrame(cells, columns=["actual", "predicted", "count"])


def ranked_mistakes(counts: pd.DataFrame) -> pd.Series:
    """Every (actual, predicted) pair of different classes with its count summed over the rows given
    (models, seeds), most frequent first; ties keep label order. Pairs never confused count 0."""
    wrong = counts[counts["actual"] != counts["predicted"]]
    return wrong.groupby(["actual", "predicted"], sort=False)["count"].sum().sort_values(ascending=False, kind="stable")
