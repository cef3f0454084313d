"""What an official evaluation found (`Evaluation`, the body of every record) and its
summary once every round passed: the statistic, its range and its interval over rounds,
and whether the claim is conclusive (`bench.stats`). The protocol that fills it in is
bench/clock.py.

Each round row holds, beside the monotonic durations (`baseline_s`, `candidate_s`), the
wall-clock window of each timed run (`baseline_started_at`/`_ended_at`,
`candidate_started_at`/`_ended_at`: time.time() at go and done), so anyone can check from
the records afterwards that no two timed runs overlapped (bench/windows.py), and what the
machine gave each run (`baseline_usage`, `candidate_usage`: correctness.sandbox.usage's
RunUsage as a dict, None where the runner measured none). A round the clock timed again
because other work contended it keeps the discarded attempts in `discarded`; `contended`
marks one that stayed contended after its last attempt, and makes the evaluation's
`contended` true: no claim from it is conclusive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from bench import contention, stats


@dataclass
class Evaluation:
    solution_dir: str
    preset: str
    device: str
    rounds_requested: int
    allow_library: bool
    passed: bool = False
    rejected_by: str | None = None  # the check that fired, as the judge names it
    message: str = ""
    kernel_reports: dict = field(default_factory=dict)  # slot -> passed, failures
    warmup: dict | None = None
    # order, baseline_s, candidate_s, ratio, usage, attempts, contended, discarded
    rounds: list[dict] = field(default_factory=list)
    self_rounds: list[dict] = field(default_factory=list)  # first_s, second_s, ratio
    median_ratio: float | None = None
    min_ratio: float | None = None
    max_ratio: float | None = None
    self_spread: float | None = None  # from repeat_self rounds
    baseline_spread: float | None = None  # of the baseline's times across rounds
    noise_source: str | None = None  # which of the two spreads is the larger
    ratio_interval: list[float] | None = None  # [low, high] of `interval_method`
    inconclusive: bool = False  # the interval contains 1, or the machine was contended
    statistic: str = stats.STATISTIC
    interval_method: str = stats.INTERVAL
    contended: bool = False  # a round stayed contended after its last attempt
    # the clock's rule (bench/contention.py): max_foreign_share, attempts_per_round
    contention_rule: dict | None = None
    calibration: dict | None = None  # the identity of the thresholds that judged it
    # what confined its runs and its baselines': "namespaces" only if every one had them
    isolation: str | None = None
    # where its runs were timed: the machine (a hash), the device slot, and the timing lease
    # held around them, if any (bench/windows.py)
    timing: dict | None = None

    @property
    def candidate_ran(self) -> bool:
        """True when at least one timed candidate run finished (a record is written then)."""
        return any(r.get("candidate_s") is not None for r in self.rounds)

    @property
    def candidate_median_s(self) -> float | None:
        times = [r["candidate_s"] for r in self.rounds if r.get("candidate_s") is not None]
        return stats.summarize(times).median if times else None

    @property
    def baseline_median_s(self) -> float | None:
        times = [r["baseline_s"] for r in self.rounds if r.get("baseline_s") is not None]
        return stats.summarize(times).median if times else None

    def to_dict(self) -> dict:
        return {**asdict(self), "candidate_ran": self.candidate_ran,
                "candidate_median_s": self.candidate_median_s,
                "baseline_median_s": self.baseline_median_s}


def summarize(ev: Evaluation) -> None:
    """The statistic, its range, its interval and the verdict on it, once every round of
    `ev` passed: conclusive when the interval excludes 1 and no round stayed contended."""
    ratios = [r["ratio"] for r in ev.rounds]
    summary = stats.summarize(ratios)
    ev.median_ratio, ev.min_ratio, ev.max_ratio = summary.median, summary.min, summary.max
    if len(ev.rounds) > 1:
        ev.baseline_spread = stats.spread([r["baseline_s"] for r in ev.rounds])
    if ev.self_rounds:
        ev.self_spread = stats.spread([r["ratio"] for r in ev.self_rounds])
    known = {source: value for source, value in (("repeat-self", ev.self_spread),
                                                 ("baseline rounds", ev.baseline_spread))
             if value is not None}
    ev.noise_source = max(known, key=known.get) if known else None
    interval = stats.ratio_interval(ratios)
    ev.ratio_interval = None if interval is None else list(interval)
    ev.inconclusive = ev.contended or not stats.conclusive(interval)
    ev.passed, ev.message = True, "every candidate run passed the training checks"
    if ev.contended:
        ev.message += f"; {contention.message(ev.rounds, ev.contention_rule)}"
