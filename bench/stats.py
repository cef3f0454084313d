"""The statistics of an official evaluation: paired ratios, their median, and the interval
that decides whether a gain is conclusive.

One round times the baseline and the candidate on the same secret seed, back to back, so a
slow moment of the machine hits both; the round's ratio is baseline_s / candidate_s (above
1: the candidate is faster). The published number is the median of the per-round ratios
(`STATISTIC`): one lucky round cannot move a median of three.

Conclusive or not (`ratio_interval`, `INTERVAL`): a Student-t 95% interval of the mean log
ratio over rounds, mapped back to a ratio (so it brackets the geometric mean of the
ratios); a claim is conclusive when the interval excludes 1. Log ratios, because a
speedup and the matching slowdown are symmetric there and timing noise is multiplicative.
Student-t, not a bootstrap: official evaluations have few rounds (3 by default), and a
percentile bootstrap of 3 values resamples its own minimum (and maximum) as the mean with
probability 1/27 > 2.5%, so its 95% interval is exactly [min, max]: any 3 rounds on one side
of 1 would be conclusive, however far apart. The t interval widens with few rounds as it
should (t = 4.30 for 3 rounds, 12.71 for 2); one round has none, and claims nothing. What
no interval over rounds can see is a bias that every round shares, such as other work
that keeps hitting one side: the clock re-runs rounds whose runs were contended for that
(bench/clock.py).

`spread(ratios) = max / min - 1` of the same code timed against itself (0.05: runs of
identical code differed by up to 5%) is still reported beside, as the noise the machine
showed.

Across runs: an entrant's *average best* is the mean of its runs' best speedups, and its
uncertainty a percentile bootstrap over those runs (`bootstrap_interval`): resample the
runs with replacement, take each resample's mean, read the interval off the quantiles of
those means. The seed is fixed, so the same records give the same interval everywhere.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass

STATISTIC = "median of per-round paired ratios (baseline_s / candidate_s)"
INTERVAL = "Student-t 95% interval of the mean log ratio over rounds, as ratios"
# Two-sided 95% critical values of Student's t by degrees of freedom (rounds - 1), as in
# the NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.6.7.2; past 30 the value
# for 30 (at most 5% wider than the exact one, never narrower).
_T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
          2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
          2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_LEVEL = 0.95
BOOTSTRAP_SEED = 0  # any fixed value: what matters is that it never changes


@dataclass(frozen=True)
class Summary:
    median: float
    min: float
    max: float
    n: int


def paired_ratios(baseline_s: list[float], candidate_s: list[float]) -> list[float]:
    """Per-round speedups baseline_s / candidate_s (one per round, same order)."""
    if len(baseline_s) != len(candidate_s):
        raise ValueError(f"{len(baseline_s)} baseline times but {len(candidate_s)} candidate times")
    for t in (*baseline_s, *candidate_s):
        if not t > 0:
            raise ValueError(f"run times must be positive seconds, got {t!r}")
    return [b / c for b, c in zip(baseline_s, candidate_s)]


def summarize(ratios: list[float]) -> Summary:
    if not ratios:
        raise ValueError("no ratios to summarize")
    return Summary(statistics.median(ratios), min(ratios), max(ratios), len(ratios))


def spread(ratios: list[float]) -> float:
    """max / min - 1 of ratios (or times) of identical code: 0 means no noise at all."""
    if not ratios:
        raise ValueError("no ratios to take a spread of")
    return max(ratios) / min(ratios) - 1.0


def t_critical(df: int) -> float:
    """The two-sided 95% critical value of Student's t with `df` degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    return _T_975[min(df, len(_T_975)) - 1]


def ratio_interval(ratios: list[float]) -> tuple[float, float] | None:
    """The 95% interval of the geometric mean ratio (`INTERVAL`); None for one round."""
    if len(ratios) < 2:
        return None
    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean(logs)
    half = t_critical(len(logs) - 1) * statistics.stdev(logs, mean) / math.sqrt(len(logs))
    return math.exp(mean - half), math.exp(mean + half)


def conclusive(interval: tuple[float, float] | None) -> bool:
    """A gain (or loss) is conclusive when its interval excludes 1; no interval: never."""
    return interval is not None and (interval[0] > 1.0 or interval[1] < 1.0)


def bootstrap_interval(values: list[float], *, resamples: int = BOOTSTRAP_RESAMPLES,
                       level: float = BOOTSTRAP_LEVEL,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float] | None:
    """The percentile bootstrap interval of the mean of `values` (one per run) at `level`;
    None for fewer than two values, since one run says nothing about how runs vary.
    Python's own generator (Mersenne Twister, seeded by an int) draws the resamples: its
    stream does not change across versions or machines, unlike numpy's methods'."""
    if len(values) < 2:
        return None
    if not 0 < level < 1 or resamples < 1:
        raise ValueError(f"level must be in (0, 1) and resamples positive, got {level}, "
                         f"{resamples}")
    rng, n = random.Random(seed), len(values)
    means = sorted(math.fsum(values[int(rng.random() * n)] for _ in range(n)) / n
                   for _ in range(resamples))
    tail = (1.0 - level) / 2
    return _quantile(means, tail), _quantile(means, 1.0 - tail)


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default method)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
