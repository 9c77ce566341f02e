"""Statistics over training seeds: spreads, differences with their intervals, and the verdicts.

One training run is one draw: the seed picks the initial weights and the data order, and
moves test accuracy by about a point. So every figure in the reports is a mean over seeds
with its 95% t interval, and two models are ranked only when the interval of their
difference leaves out zero. Intervals are t-based (n - 1 degrees of freedom; Welch's for
unpaired samples), which assumes roughly normal seed-to-seed variation.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from pipeline.configuration.params import ModelConfig

CONFIDENCE = 0.95


def t_interval(mean: float, standard_error: float, degrees_of_freedom: float) -> tuple[float, float]:
    half_width = stats.t.ppf(0.5 + CONFIDENCE / 2, degrees_of_freedom) * standard_error
    return mean - half_width, mean + half_width


@dataclass(frozen=True)
class Summary:
    """One figure over the seeds; sd and the interval are None for a single seed."""

    mean: float
    sd: float | None
    n: int
    low: float
    high: float
    ci_low: float | None
    ci_high: float | None

    def text(self, scale: float = 1, digits: int = 4) -> str:
        """`0.9012 ± 0.0031`: the mean and the sample SD (the mean alone for one seed)."""
        mean = f"{scale * self.mean:.{digits}f}"
        return mean if self.sd is None else f"{mean} ± {scale * self.sd:.{digits}f}"

    def interval(self, digits: int = 4) -> str:
        return "—" if self.ci_low is None else f"{self.ci_low:.{digits}f} to {self.ci_high:.{digits}f}"

    def contains(self, value: float) -> bool | None:
        return None if self.ci_low is None else self.ci_low <= value <= self.ci_high


def summarize(values: Sequence[float]) -> Summary:
    """Mean, sample SD (n - 1), n, min, max and the 95% t interval of the mean."""
    values = np.asarray(values, dtype=float)
    n, mean = len(values), float(values.mean())
    if n < 2:
        return Summary(mean, None, n, float(values.min()), float(values.max()), None, None)
    sd = float(values.std(ddof=1))
    low, high = t_interval(mean, sd / math.sqrt(n), n - 1)
    return Summary(mean, sd, n, float(values.min()), float(values.max()), low, high)


@dataclass(frozen=True)
class Difference:
    """Mean of a minus mean of b, with its 95% interval (None when it cannot be estimated)."""

    difference: float
    ci_low: float | None
    ci_high: float | None
    n: int
    paired: bool

    def detected(self) -> bool:
        return self.ci_low is not None and (self.ci_low > 0 or self.ci_high < 0)

    def verdict(self, scale: float = 100, unit: str = " points") -> str:
        """`better by 2.1 points (95% CI 1.4 to 2.8)`, `worse by ...`, or no difference detectable."""
        if not self.detected():
            return f"no difference detectable with {self.n} seed{'s' if self.n != 1 else ''}"
        word = "better" if self.difference > 0 else "worse"
        return (
            f"{word} by {scale * abs(self.difference):.1f}{unit}"
            f" (95% CI {scale * self.ci_low:+.1f} to {scale * self.ci_high:+.1f})"
        )


def difference(a: Sequence[float], b: Sequence[float], paired: bool) -> Difference:
    """Difference of means with a t interval: on the per-seed differences when paired, else Welch's.

    Pair by seed only when the two runs of a seed share their data order (same seed, batch
    size and training images): then the seed's luck is shared and largely cancels.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    estimate = float(a.mean() - b.mean())
    if paired:
        if len(a) != len(b):
            raise ValueError("paired samples need the same seeds")
        differences = a - b
        n = len(differences)
        if n < 2:
            return Difference(estimate, None, None, n, paired)
        sd = float(differences.std(ddof=1))
        low, high = t_interval(estimate, sd / math.sqrt(n), n - 1)
        return Difference(estimate, low, high, n, paired)
    n = min(len(a), len(b))
    if n < 2:
        return Difference(estimate, None, None, n, paired)
    variance_a, variance_b = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    standard_error = math.sqrt(variance_a + variance_b)
    if standard_error == 0:
        return Difference(estimate, estimate, estimate, n, paired)
    welch_df = (variance_a + variance_b) ** 2 / (variance_a**2 / (len(a) - 1) + variance_b**2 / (len(b) - 1))
    low, high = t_interval(estimate, standard_error, welch_df)
    return Difference(estimate, low, high, n, paired)


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    """McNemar's exact test on paired test predictions: the two-sided p-value.

    Only the images one model gets right and the other wrong count; under "equally accurate"
    each such image is a fair coin. This is the test set's share of the noise, for one seed.
    """
    only_a = int(np.sum(correct_a & ~correct_b))
    only_b = int(np.sum(~correct_a & correct_b))
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def shares_data_order(a: ModelConfig, b: ModelConfig) -> bool:
    """Whether two models' runs of one seed see the same batches in the same order.

    The seed shuffles the training images and draws `train_fraction`'s sample; with the same
    batch size and fraction, two models of a seed train on identical batches, so their runs
    can be paired by seed.
    """
    return a.batch_size == b.batch_size and a.train_fraction == b.train_fraction


def comparison(
    a: Sequence[float],
    b: Sequence[float],
    paired: bool,
    correct_a: Sequence[np.ndarray],
    correct_b: Sequence[np.ndarray],
) -> dict:
    """A's test accuracy against B's over the seeds, and McNemar's p-value for each seed's pair."""
    result = difference(a, b, paired)
    p_values = [mcnemar(right_a, right_b) for right_a, right_b in zip(correct_a, correct_b, strict=True)]
    return {
        "difference": result.difference,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "paired": paired,
        "verdict": result.verdict(),
        "mcnemar_p": p_values,
    }


def p_text(p_values: Sequence[float]) -> str:
    return " / ".join("<0.001" if p < 0.001 else f"{p:.3f}" for p in p_values)
