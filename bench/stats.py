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
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

STATISTIC = "median of per-round paired ratios (baseline_s / candidate_s)"


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
