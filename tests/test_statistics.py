"""Statistics over seeds: intervals checked against SciPy's own tests, and the verdicts' rules."""

import numpy as np
import pytest
from scipy import stats

from pipeline.analysis.statistics import Difference, difference, mcnemar, summarize

A = [0.90, 0.91, 0.92]
B = [0.88, 0.90, 0.90]


def test_summary_of_three_seeds():
    summary = summarize([0.88, 0.89, 0.90])
    assert (summary.mean, summary.n, summary.low, summary.high) == (pytest.approx(0.89), 3, 0.88, 0.90)
    assert summary.sd == pytest.approx(0.01)
    half_width = stats.t.ppf(0.975, 2) * 0.01 / np.sqrt(3)  # 4.303 standard errors with two degrees of freedom
    assert (summary.ci_low, summary.ci_high) == (pytest.approx(0.89 - half_width), pytest.approx(0.89 + half_width))
    assert summary.text() == "0.8900 ± 0.0100" and summary.interval() == "0.8652 to 0.9148"
    assert summary.contains(0.91) and not summary.contains(0.92)


def test_one_seed_has_a_mean_but_no_spread():
    summary = summarize([0.9])
    assert (summary.sd, summary.ci_low, summary.contains(0.9)) == (None, None, None)
    assert summary.text() == "0.9000" and summary.interval() == "—"


def test_paired_interval_is_scipys_paired_t_test_interval():
    result = difference(A, B, paired=True)
    expected = stats.ttest_rel(A, B).confidence_interval(0.95)
    assert (result.ci_low, result.ci_high) == (pytest.approx(expected.low), pytest.approx(expected.high))
    assert result.detected() and result.verdict() == "better by 1.7 points (95% CI +0.2 to +3.1)"


def test_unpaired_interval_is_welchs_and_pairing_is_what_detects_this_difference():
    result = difference(A, B, paired=False)
    expected = stats.ttest_ind(A, B, equal_var=False).confidence_interval(0.95)
    assert (result.ci_low, result.ci_high) == (pytest.approx(expected.low), pytest.approx(expected.high))
    assert not result.detected() and result.verdict() == "no difference detectable with 3 seeds"


def test_verdicts_never_rank_an_interval_that_includes_zero():
    assert Difference(-0.021, -0.03, -0.012, 3, True).verdict() == "worse by 2.1 points (95% CI -3.0 to -1.2)"
    assert Difference(0.02, -0.001, 0.041, 3, True).verdict() == "no difference detectable with 3 seeds"
    assert difference([0.9], [0.8], paired=True).verdict() == "no difference detectable with 1 seed"


def test_identical_seeds_on_both_sides_give_a_zero_width_interval_not_a_crash():
    result = difference([0.9, 0.9], [0.8, 0.8], paired=False)
    assert (result.ci_low, result.ci_high) == (pytest.approx(0.1), pytest.approx(0.1)) and result.detected()


def test_mcnemar_counts_only_the_images_the_models_disagree_on():
    agree = np.ones(1000, bool)
    only_a = np.r_[np.ones(10, bool), np.zeros(990, bool)]
    assert mcnemar(agree, agree) == 1.0
    assert mcnemar(agree, ~only_a) == pytest.approx(2 * 0.5**10)  # A alone right on 10 images, B alone on none
    a, b = agree.copy(), agree.copy()
    a[5:10], b[0:5] = False, False  # five images each model alone gets right: a tie
    assert mcnemar(a, b) == pytest.approx(1.0)
