"""bench.stats: paired ratios, their median, and the inconclusive rule, on exact numbers."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import stats


def test_ratio_is_baseline_over_candidate_per_round():
    assert stats.paired_ratios([2.0, 3.0, 4.0], [1.0, 3.0, 8.0]) == [2.0, 1.0, 0.5]


def test_median_resists_one_lucky_round():
    s = stats.summarize([1.5, 1.5, 9.0])
    assert (s.median, s.min, s.max, s.n) == (1.5, 1.5, 9.0, 3)


@pytest.mark.parametrize("bad", [([1.0], [1.0, 2.0]), ([1.0], [0.0]), ([-1.0], [1.0]),
                                 ([float("nan")], [1.0])])
def test_refuses_mismatched_or_non_positive_times(bad):
    with pytest.raises(ValueError):
        stats.paired_ratios(*bad)


def test_spread_of_identical_runs():
    assert stats.spread([1.0, 1.0]) == 0.0
    assert stats.spread([0.95, 1.0, 1.045]) == pytest.approx(1.045 / 0.95 - 1)


@pytest.mark.parametrize("median, spread, expected", [
    (1.04, 0.05, True),  # a 4% gain inside 5% noise proves nothing
    (1.06, 0.05, False),
    (0.96, 0.05, True),  # slowdowns alike: 1/1.05 = 0.952
    (0.94, 0.05, False),
    (2.0, 0.0, False),
    (1.0, 0.0, True),  # no gain at all is never a claim
])
def test_inconclusive_when_gain_within_noise(median, spread, expected):
    assert stats.inconclusive(median, spread) is expected


@given(st.lists(st.floats(0.01, 100.0), min_size=1, max_size=9),
       st.floats(0.01, 100.0))
def test_scaling_every_candidate_time_scales_the_median(times, factor):
    base = [1.0] * len(times)
    m1 = stats.summarize(stats.paired_ratios(base, times)).median
    m2 = stats.summarize(stats.paired_ratios(base, [t * factor for t in times])).median
    assert math.isclose(m2, m1 / factor, rel_tol=1e-9)


def test_bootstrap_of_two_runs_is_exact():
    # resampling two runs gives means 1, 1.5 or 2 (with probability 1/4, 1/2, 1/4), so the
    # 2.5% and 97.5% quantiles of the resampled means are the runs themselves
    assert stats.bootstrap_interval([1.0, 2.0]) == (1.0, 2.0)


def test_bootstrap_is_reproducible_and_brackets_the_mean():
    runs = [1.08, 1.50, 1.13, 2.09, 2.07, 2.55]
    low, high = stats.bootstrap_interval(runs)
    assert stats.bootstrap_interval(runs) == (low, high)  # fixed seed: same records, same line
    assert min(runs) < low < sum(runs) / len(runs) < high < max(runs)
    assert stats.bootstrap_interval([2.0] * 5) == (2.0, 2.0)  # runs that agree: no spread


def test_one_run_has_no_interval():
    assert stats.bootstrap_interval([3.0]) is None and stats.bootstrap_interval([]) is None


def test_more_runs_of_the_same_spread_narrow_the_interval():
    few = stats.bootstrap_interval([1.0, 3.0] * 2)
    many = stats.bootstrap_interval([1.0, 3.0] * 20)
    assert many[1] - many[0] < few[1] - few[0]
