"""bench.stats: paired ratios, their median, and the interval that decides a claim, on exact
numbers."""

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


def test_t_critical_values_are_students():
    """The table against Student's t itself (mpmath, which torch's sympy brings along)."""
    import mpmath

    def exact(df: int) -> float:
        cdf = lambda x: 1 - mpmath.betainc(df / 2, 0.5, 0, df / (df + x * x),  # noqa: E731
                                           regularized=True) / 2
        return float(mpmath.findroot(lambda x: cdf(x) - 0.975, 2.0))

    for df in range(1, 31):
        assert stats.t_critical(df) == pytest.approx(exact(df), abs=5e-4)
    for df in (31, 60, 1000):
        assert exact(df) <= stats.t_critical(df) <= 1.05 * exact(df)  # wide, never narrow
    with pytest.raises(ValueError):
        stats.t_critical(0)


def test_interval_of_the_geometric_mean_ratio():
    # log ratios ln 2 + (0, 0.1, -0.1): mean ln 2, standard deviation 0.1, t(2) = 4.303
    half = 4.303 * 0.1 / math.sqrt(3)
    low, high = stats.ratio_interval([2.0, 2.0 * math.exp(0.1), 2.0 * math.exp(-0.1)])
    assert (low, high) == (pytest.approx(2.0 * math.exp(-half)),
                           pytest.approx(2.0 * math.exp(half)))
    assert stats.conclusive((low, high))


def test_identical_code_with_noise_is_inconclusive():
    interval = stats.ratio_interval([1.08, 0.93, 1.02])
    assert interval[0] < 1.0 < interval[1] and not stats.conclusive(interval)


def test_agreeing_rounds_give_a_point_and_one_round_no_interval():
    assert stats.ratio_interval([1.5, 1.5, 1.5]) == pytest.approx((1.5, 1.5))
    assert stats.conclusive(stats.ratio_interval([0.5, 0.5]))
    assert stats.ratio_interval([3.0]) is None and not stats.conclusive(None)


@pytest.mark.parametrize("interval, expected", [
    ((1.01, 1.2), True), ((0.8, 0.99), True),  # a gain, a loss
    ((0.9, 1.1), False), ((1.0, 1.2), False), ((0.8, 1.0), False),  # 1 inside or on the edge
])
def test_conclusive_when_the_interval_excludes_one(interval, expected):
    assert stats.conclusive(interval) is expected


def test_three_rounds_bootstrap_would_be_min_to_max():
    """Why the clock does not bootstrap its rounds: with 3, the percentile interval is
    [min, max], so any 3 rounds on one side of 1 would be conclusive however far apart.
    The t interval of the same rounds contains 1."""
    rounds = [1.05, 1.6, 2.6]
    assert stats.bootstrap_interval(rounds) == (1.05, 2.6)
    assert not stats.conclusive(stats.ratio_interval(rounds))


@given(st.lists(st.floats(0.05, 20.0), min_size=2, max_size=9), st.floats(0.05, 20.0))
def test_interval_brackets_the_geometric_mean_and_scales_with_the_ratios(ratios, factor):
    low, high = stats.ratio_interval(ratios)
    geometric = math.exp(sum(map(math.log, ratios)) / len(ratios))
    assert low <= geometric * (1 + 1e-9) and geometric <= high * (1 + 1e-9)
    scaled = stats.ratio_interval([r * factor for r in ratios])
    assert scaled == (pytest.approx(low * factor), pytest.approx(high * factor))


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
