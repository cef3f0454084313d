"""The official clock: paired, interleaved, external timing of a candidate against the baseline.

    evaluate(solution_dir, preset, device, rounds=3) -> Evaluation

Protocol (DESIGN.md, "The clock"):
1. Warm-up, untimed: one run of each side with cfg["steps"] cut to WARMUP_STEPS, so compile
   and autotuning caches are warm for both, as they would be for a user.
2. R rounds. Each draws a fresh secret seed, builds init and batches from it
   (`baseline.make_inputs`) and runs baseline and candidate back to back in fresh sandboxed
   children, alternating which goes first (round 0 baseline first, round 1 candidate first:
   ABBA...), so drift of the machine falls on both sides alike. The time is the sandbox
   parent's monotonic clock from `go` to `done` (RunResult.seconds); nothing the child
   reports about time is read. Every candidate run is judged against that round's baseline
   run (`correctness.training_check.compare`); the first failure rejects the candidate.
3. `repeat_self`: R more rounds of the candidate against itself, whose ratio spread is the
   noise that an honest claim must exceed (`bench.stats`).

The runner and the judge are parameters, so the statistics are tested with fakes whose
"seconds" are counted work, and the protocol with real processes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import stats

WARMUP_STEPS = 3

Runner = Callable[..., object]  # run_solution(dir, cfg, inputs, *, allow_library, **options)
Judge = Callable[..., list]  # compare(ref, cand, cfg, init, heldout, tolerances) -> [Check]


class HarnessError(RuntimeError):
    """The baseline itself failed: the machine or the harness is broken, not the candidate."""


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


# ---------------------------------------------------------------------------- defaults

def _default_runner() -> Runner:
    from correctness.sandbox import run_solution

    return run_solution


def _default_judge(preset: str, device: str) -> Callable:
    from correctness import tolerances, training_check

    table = tolerances.load(preset, device)

    def judge(ref, cand, cfg, init, heldout):
        return training_check.compare(ref, cand, cfg, init, heldout, table)

    return judge


def _baseline_dir() -> Path:
    from correctness.sandbox import BASELINE_DIR

    return Path(BASELINE_DIR)


def _check_dict(check) -> dict:
    if hasattr(check, "to_dict"):
        return check.to_dict()
    return {k: getattr(check, k, None) for k in ("name", "passed", "value", "threshold", "detail")}


# ---------------------------------------------------------------------------- protocol

class _Session:
    """One evaluation in progress: runs, progress reporting, rejection."""

    def __init__(self, ev: Evaluation, runner: Runner, baseline_dir: Path, total: int,
                 on_progress: Callable[[int, int, str], None] | None):
        self.ev, self.runner, self.baseline_dir = ev, runner, baseline_dir
        self.done, self.total, self.on_progress = 0, total, on_progress

    def run(self, side: str, cfg: dict, inputs: dict, label: str, **options):
        path = self.baseline_dir if side == "baseline" else Path(self.ev.solution_dir)
        allow_library = self.ev.allow_library and side == "candidate"
        result = self.runner(path, cfg, inputs, allow_library=allow_library, **options)
        self.done += 1
        if self.on_progress is not None:
            self.on_progress(self.done, self.total, f"{label}: {side} {_status(result)}")
        if side == "baseline" and not result.ok:
            raise HarnessError(f"the baseline failed in {label} ({result.check}): "
                               f"{result.message}")
        return result

    def reject(self, check: str, message: str) -> Evaluation:
        self.ev.passed, self.ev.rejected_by, self.ev.message = False, check, message
        return self.ev


def _status(result) -> str:
    return f"{result.seconds:.2f} s" if result.ok else f"rejected ({result.check})"


def evaluate(solution_dir: str | Path, preset: str, device: str, *, rounds: int = 3,
             warmup: bool = True, repeat_self: bool = False, allow_library: bool = False,
             on_progress: Callable[[int, int, str], None] | None = None,
             runner: Runner | None = None, judge: Callable | None = None,
             baseline_dir: str | Path | None = None) -> Evaluation:
    """The official evaluation of `solution_dir` against the baseline (module docstring).
    `runner`/`judge`/`baseline_dir` default to the sandbox, the training check with the
    preset's calibrated tolerances, and the reference baseline; tests inject their own."""
    import baseline

    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    cfg = baseline.get_preset(preset).to_cfg(device)
    runner = runner or _default_runner()
    judge = judge or _default_judge(preset, device)
    ev = Evaluation(str(solution_dir), preset, device, rounds, allow_library)
    total = 2 * warmup + 2 * rounds + 2 * rounds * repeat_self
    session = _Session(ev, runner, Path(baseline_dir or _baseline_dir()), total, on_progress)

    if warmup and _warm_up(session, cfg) is not None:
        return ev
    if _timed_rounds(session, cfg, judge, rounds) is not None:
        return ev
    if repeat_self and _self_rounds(session, cfg, rounds) is not None:
        return ev
    _summarize(ev)
    return ev


def _warm_up(session: _Session, cfg: dict) -> Evaluation | None:
    import baseline

    warm_cfg = {**cfg, "steps": min(WARMUP_STEPS, cfg["steps"])}
    inputs = baseline.make_inputs(warm_cfg, secrets.randbits(62))
    # Only these untimed runs, on a seed of their own, may write the persistent compile
    # caches; timed runs get a private snapshot of them (correctness.sandbox).
    base = session.run("baseline", warm_cfg, inputs, "warm-up", compile_cache="update")
    cand = session.run("candidate", warm_cfg, inputs, "warm-up", compile_cache="update")
    session.ev.warmup = {"steps": warm_cfg["steps"], "baseline_s": base.seconds,
                         "candidate_s": cand.seconds if cand.ok else None}
    if not cand.ok:
        return session.reject(cand.check, f"warm-up: {cand.message}")
    return None


def _timed_rounds(session: _Session, cfg: dict, judge: Callable, rounds: int):
    import baseline

    for i in range(rounds):
        secret = secrets.randbits(62)  # fresh per round, never stored or printed
        inputs = baseline.make_inputs(cfg, secret)
        order = ("baseline", "candidate") if i % 2 == 0 else ("candidate", "baseline")
        results = {side: session.run(side, cfg, inputs, f"round {i + 1}") for side in order}
        base, cand = results["baseline"], results["candidate"]
        row = {"round": i + 1, "order": ",".join(order), "baseline_s": base.seconds,
               "candidate_s": cand.seconds if cand.ok else None, "ratio": None, "checks": []}
        session.ev.rounds.append(row)
        if not cand.ok:
            return session.reject(cand.check, f"round {i + 1}: {cand.message}")
        checks = judge(base, cand, cfg, inputs["init"], baseline.make_heldout(cfg, secret))
        row["checks"] = [_check_dict(c) for c in checks]
        failed = [c for c in row["checks"] if not c["passed"]]
        if failed:
            return session.reject(failed[0]["name"], f"round {i + 1}: {failed[0]['detail']}")
        row["ratio"] = stats.paired_ratios([base.seconds], [cand.seconds])[0]
    return None


def _self_rounds(session: _Session, cfg: dict, rounds: int):
    import baseline

    for i in range(rounds):
        inputs = baseline.make_inputs(cfg, secrets.randbits(62))
        first = session.run("candidate", cfg, inputs, f"self {i + 1}")
        second = session.run("candidate", cfg, inputs, f"self {i + 1}")
        for result in (first, second):
            if not result.ok:
                return session.reject(result.check, f"repeat-self {i + 1}: {result.message}")
        session.ev.self_rounds.append({
            "round": i + 1, "first_s": first.seconds, "second_s": second.seconds,
            "ratio": stats.paired_ratios([first.seconds], [second.seconds])[0]})
    return None


def _summarize(ev: Evaluation) -> None:
    summary = stats.summarize([r["ratio"] for r in ev.rounds])
    ev.median_ratio, ev.min_ratio, ev.max_ratio = summary.median, summary.min, summary.max
    ev.baseline_spread = stats.spread([r["baseline_s"] for r in ev.rounds])
    if ev.self_rounds:
        ev.self_spread = stats.spread([r["ratio"] for r in ev.self_rounds])
        ev.noise_source, noise = "repeat-self", ev.self_spread
    else:
        ev.noise_source, noise = "baseline rounds", ev.baseline_spread
    ev.inconclusive = stats.inconclusive(ev.median_ratio, noise)
    ev.passed, ev.message = True, "every candidate run passed the training checks"
