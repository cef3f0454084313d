"""What an official evaluation found (`Evaluation`, the body of every record) and its
summary once every round passed: the statistic, its range over rounds and the noise rule
(`bench.stats`). The protocol that fills it in is bench/clock.py.

Each round row holds, beside the monotonic durations (`baseline_s`, `candidate_s`), the
wall-clock window of each timed run (`baseline_started_at`/`_ended_at`,
`candidate_started_at`/`_ended_at`: time.time() at go and done), so anyone can check from
the records afterwards that no two timed runs overlapped (bench/windows.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from bench import stats


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
    rounds: list[dict] = field(default_factory=list)  # order, baseline_s, candidate_s, ratio
    self_rounds: list[dict] = field(default_factory=list)  # first_s, second_s, ratio
    median_ratio: float | None = None
    min_ratio: float | None = None
    max_ratio: float | None = None
    self_spread: float | None = None  # from repeat_self rounds
    baseline_spread: float | None = None  # of the baseline's times across rounds
    noise_source: str | None = None  # which spread decided `inconclusive`
    inconclusive: bool = False
    statistic: str = stats.STATISTIC
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
    """The statistic, its range and the noise rule, once every round of `ev` passed."""
    summary = stats.summarize([r["ratio"] for r in ev.rounds])
    ev.median_ratio, ev.min_ratio, ev.max_ratio = summary.median, summary.min, summary.max
    if len(ev.rounds) > 1:
        ev.baseline_spread = stats.spread([r["baseline_s"] for r in ev.rounds])
    if ev.self_rounds:
        ev.self_spread = stats.spread([r["ratio"] for r in ev.self_rounds])
    # The larger of the two spreads is the noise: self rounds can miss what the baseline's
    # own times show (results/20261126T220121_tiny_cpu_baseline_a3e045e6.json: self spread
    # 0.30, baseline spread 0.49, so the baseline rounds set the noise).
    known = {source: value for source, value in (("repeat-self", ev.self_spread),
                                                 ("baseline rounds", ev.baseline_spread))
             if value is not None}
    if known:
        ev.noise_source = max(known, key=known.get)
        noise = known[ev.noise_source]
    else:  # one timing of identical code says nothing about noise: no claim is conclusive
        ev.noise_source, noise = None, None
    ev.inconclusive = noise is None or stats.inconclusive(ev.median_ratio, noise)
    ev.passed, ev.message = True, "every candidate run passed the training checks"
