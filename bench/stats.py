"""The statistics of an official evaluation: paired ratios, their median, and a noise rule.

One round times the baseline and the candidate on the same secret seed, back to back, so a
slow moment of the machine hits both; the round's ratio is baseline_s / candidate_s (above
1: the candidate is faster). The published number is the median of the per-round ratios
(`STATISTIC`): one lucky round cannot move a median of three.

Noise: the same code timed against itself gives ratios near 1 whose spread is the machine's
noise. `spread(ratios) = max / min - 1` of such ratios (0.05: runs of identical code
differed by up to 5%). A claimed speedup is *inconclusive* when the median lies inside that
band around 1, i.e. 1 / (1 + spread) <= median <= 1 + spread: the gain is no larger than
what identical code showed.

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


def inconclusive(median_ratio: float, noise_spread: float) -> bool:
    """True when the claimed speedup (or slowdown) is within the noise of identical code."""
    return 1.0 / (1.0 + noise_spread) <= median_ratio <= 1.0 + noise_spread


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
