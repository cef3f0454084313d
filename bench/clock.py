"""The official clock: paired, interleaved, external timing of a candidate against the baseline.

    official_evaluation(solution_dir, preset, device, rounds=3) -> Evaluation

Protocol (docs/design.md, "The clock"):
1. Kernel checks of every slot implementation the solution declares (KERNELS), the
   judge's first level; a failure means the solution never runs.
2. Warm-up, untimed: one run of each side with cfg["steps"] cut to WARMUP_STEPS, so compile
   and autotuning caches are warm for both, as they would be for a user.
3. R rounds. Each draws a fresh secret seed, builds init and batches from it
   (`baseline.make_inputs`) and runs baseline and candidate back to back in fresh sandboxed
   children, alternating which goes first (round 0 baseline first, round 1 candidate first:
   ABBA...), so drift of the machine falls on both sides alike. The time is the sandbox
   parent's monotonic clock from `go` to `done` (RunResult.seconds); nothing the child
   reports about time is read. Beside each time, the run's wall-clock window (RunResult's
   started_at/ended_at) and what the machine gave it (RunResult.usage) go into its row. A
   round whose runs other work contended is timed again; an evaluation that could not get
   a quiet machine claims nothing (bench/contention.py). Every
   candidate run is judged against that round's baseline run
   (`correctness.training_check.compare`) on held-out text from a second secret seed,
   drawn once every child of the pairing is dead; the first failure rejects the candidate.
   Half the rounds run the baseline first, unlike `check_training` (candidate first): the
   reference result then lives only in this process, which no child can read (the
   sandbox makes it non-dumpable while a child lives), and its sandbox dir is gone.
4. `repeat_self`: R more rounds of the candidate against itself, whose ratio spread is
   reported as the noise identical code shows (`bench.stats`).

`official_evaluations` runs several candidates, one after another in the order given, against one
shared set of baseline runs: round r's seed and its baseline run are made once, when the
first candidate reaches round r, and every later candidate trains on that seed and is
paired with that run. Each candidate's evaluation is complete, and handed to
`on_evaluation`, before the next one starts, so a bench cut off keeps every finished
candidate's result; the shared runs save a baseline run per extra candidate and round,
which is most of the time on a GPU.

The result, `Evaluation`, and its summary (the statistic, its interval, the verdict) live in
bench/evaluation.py; `Evaluation.timing` names where the runs were timed (bench/windows.py).

The runner and the judge are parameters, so the statistics are tested with fakes whose
"seconds" are counted work, and the protocol with real processes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench import contention, stats, windows
from bench.evaluation import Evaluation, summarize

if TYPE_CHECKING:
    from correctness.tolerances import Source

WARMUP_STEPS = 3

Runner = Callable[..., object]  # run_solution(dir, cfg, inputs, *, allow_library, **options)
Judge = Callable[..., list]  # (ref, cand, cfg, init, heldout) -> [Check], tolerances bound


# ---------------------------------------------------------------------------- defaults

def _default_runner(preset: str) -> Runner:
    import functools

    from correctness.sandbox import run_solution
    from correctness.training_check import run_timeout

    return functools.partial(run_solution, run_timeout=run_timeout(preset))


def _default_kernel_check(solution_dir: Path, device: str, allow_library: bool) -> dict:
    from correctness.sandbox import check_solution_kernels

    return check_solution_kernels(solution_dir, device, allow_library=allow_library)


def _default_judge(preset: str, device: str, tolerances: Source) -> tuple[Judge, dict]:
    """The training check with the track's calibrated thresholds from `tolerances`, and the
    identity of that calibration."""
    from correctness import training_check

    table = tolerances.thresholds(preset, device)

    def judge(ref, cand, cfg, init, heldout):
        return training_check.compare(ref, cand, cfg, init, heldout, table)

    return judge, tolerances.identity(preset, device)


def _baseline_dir(preset: str) -> Path:
    from correctness.sandbox import reference_dir

    return reference_dir(preset)


def _check_dict(check) -> dict:
    if hasattr(check, "to_dict"):
        return check.to_dict()
    return {k: getattr(check, k, None) for k in ("name", "passed", "value", "threshold", "detail")}


# ---------------------------------------------------------------------------- protocol

class _Evaluations:
    """Evaluations in progress: the runs, the baseline runs every candidate shares, progress
    reporting, rejections. Candidates are keyed by their position in the list; "baseline"
    is the reference."""

    def __init__(self, evs: list[Evaluation], runner: Runner, baseline_dir: Path, cfg: dict,
                 plan: tuple[int, int], on_progress: Callable[[int, int, str], None] | None):
        self.evs, self.runner, self.baseline_dir, self.cfg = evs, runner, baseline_dir, cfg
        self.baseline_runs, self.candidate_runs = plan  # planned, per side
        self.done = {side: 0 for side in ("baseline", *range(len(evs)))}
        self.retried = dict.fromkeys(self.done, 0)  # runs added by timing rounds again
        self.on_progress = on_progress
        self.warm: tuple[dict, dict, object] | None = None  # warm-up cfg, inputs, baseline run
        # per round: its inputs (fresh, kept in this process only) and its baseline run
        self.shared: list[dict] = []

    @property
    def total(self) -> int:
        """Runs planned: a rejected candidate runs no more; with none left, nor the baseline."""
        cands = sum(self.done[i] if ev.rejected_by else self.candidate_runs + self.retried[i]
                    for i, ev in enumerate(self.evs))
        base = (self.baseline_runs + self.retried["baseline"] if self.active()
                else self.done["baseline"])
        return base + cands

    def active(self) -> list[int]:
        """Candidates not rejected yet."""
        return [i for i, ev in enumerate(self.evs) if ev.rejected_by is None]

    def run(self, side: int | str, cfg: dict, inputs: dict, label: str, **options):
        if side == "baseline":
            path, allow_library, name = self.baseline_dir, False, "reference baseline"
        else:
            ev = self.evs[side]
            path, allow_library, name = Path(ev.solution_dir), ev.allow_library, _name(ev)
        result = self.runner(path, cfg, inputs, allow_library=allow_library, **options)
        self.done[side] += 1
        self._note_isolation(side, getattr(result, "isolation", "process"))
        if side != "baseline" and not result.ok:
            ev.rejected_by = result.check  # provisional, so the total below is right
        if self.on_progress is not None:
            self.on_progress(sum(self.done.values()), self.total,
                             f"{label}: {name} {_status(result)}")
        if side == "baseline" and not result.ok:
            from correctness.training_check import HarnessError

            raise HarnessError(f"the baseline failed in {label} ({result.check}): "
                               f"{result.message}")
        return result

    def _note_isolation(self, side: int | str, kind: str) -> None:
        """A baseline run confines every candidate it is paired with: all hear of it. An
        evaluation is as confined as its least confined run."""
        from correctness.sandbox.isolation import KINDS  # strongest first

        for i in (range(len(self.evs)) if side == "baseline" else [side]):
            ev = self.evs[i]
            known = [k for k in (ev.isolation, kind) if k is not None]
            ev.isolation = max(known, key=lambda k: KINDS.index(k) if k in KINDS else len(KINDS))

    def reject(self, i: int, check: str, message: str) -> None:
        ev = self.evs[i]
        ev.passed, ev.rejected_by, ev.message = False, check, message


def _name(ev: Evaluation) -> str:
    return Path(ev.solution_dir).name


def _status(result) -> str:
    return f"{result.seconds:.2f} s" if result.ok else f"rejected ({result.check})"


def official_evaluation(solution_dir: str | Path, preset: str, device: str, *, rounds: int = 3,
             warmup: bool = True, repeat_self: bool = False, allow_library: bool = False,
             on_progress: Callable[[int, int, str], None] | None = None,
             runner: Runner | None = None, judge: Judge | None = None,
             baseline_dir: str | Path | None = None,
             kernel_check: Callable[..., dict] | None = None,
             tolerances: Source | None = None) -> Evaluation:
    """The official evaluation of `solution_dir` against the baseline (module docstring).
    `runner`/`judge`/`baseline_dir`/`kernel_check` default to the sandbox, the training
    check with the preset's calibrated thresholds (from `tolerances`, default Source(): the
    shipped thresholds and the user's), the reference baseline and the
    sandboxed kernel checks; tests inject their own."""
    return official_evaluations([solution_dir], preset, device, rounds=rounds, warmup=warmup,
                         repeat_self=repeat_self, allow_library=[allow_library],
                         on_progress=on_progress, runner=runner, judge=judge,
                         baseline_dir=baseline_dir, kernel_check=kernel_check,
                         tolerances=tolerances)[0]


def official_evaluations(solution_dirs: list[str | Path], preset: str, device: str, *,
                  rounds: int = 3, warmup: bool = True, repeat_self: bool = False,
                  allow_library: list[bool] | None = None,
                  on_progress: Callable[[int, int, str], None] | None = None,
                  on_evaluation: Callable[[Evaluation], None] | None = None,
                  runner: Runner | None = None, judge: Judge | None = None,
                  baseline_dir: str | Path | None = None,
                  kernel_check: Callable[..., dict] | None = None,
                  tolerances: Source | None = None) -> list[Evaluation]:
    """Several candidates, in the order given, against ONE set of baseline runs (module
    docstring); `on_evaluation(ev)` hears of each finished evaluation before the next
    candidate starts. Round r's baseline run goes first in even rounds and after the first
    candidate to reach it in odd ones; a later candidate's partner ran before it. A
    rejected candidate stops; the others go on."""
    import baseline

    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    cfg = baseline.get_preset(preset).to_cfg(device)
    runner = runner or _default_runner(preset)
    if judge is None:
        from correctness.tolerances import Source

        judge, calibration = _default_judge(preset, device, tolerances or Source())
    else:
        calibration = None
    kernel_check = kernel_check or _default_kernel_check
    allow_library = allow_library or [False] * len(solution_dirs)
    timing = windows.timing_place(device)
    evs = [Evaluation(str(d), preset, device, rounds, bool(lib), calibration=calibration,
                      timing=dict(timing), contention_rule=dict(contention.RULE))
           for d, lib in zip(solution_dirs, allow_library)]
    plan = (warmup + rounds, warmup + rounds + repeat_self * 2 * rounds)
    session = _Evaluations(evs, runner, Path(baseline_dir or _baseline_dir(preset)), cfg, plan,
                       on_progress)
    for i, ev in enumerate(evs):
        _evaluate_one(session, i, kernel_check, judge, rounds, warmup, repeat_self)
        if on_evaluation is not None:
            on_evaluation(ev)
    return evs


def _evaluate_one(session: _Evaluations, i: int, kernel_check: Callable[..., dict], judge: Judge,
                  rounds: int, warmup: bool, repeat_self: bool) -> None:
    ev = session.evs[i]
    _kernel_checks(session, i, kernel_check)
    if warmup and ev.rejected_by is None:
        _warm_up(session, i)
    for r in range(rounds):
        if ev.rejected_by is not None:
            return
        _timed_round(session, i, r, judge)
    if repeat_self and ev.rejected_by is None:
        _self_rounds(session, i, rounds)
    if ev.rejected_by is None:
        summarize(ev)


def _kernel_checks(session: _Evaluations, i: int, kernel_check: Callable[..., dict]) -> None:
    """The judge's first level: every slot implementation a solution declares in KERNELS
    must pass the kernel checks, or the solution does not run at all."""
    from correctness.sandbox import kernel_failures

    ev = session.evs[i]
    reports = kernel_check(Path(ev.solution_dir), ev.device, ev.allow_library)
    ev.kernel_reports = {slot: {k: r.get(k) for k in ("passed", "failures")}
                         for slot, r in reports.items()}
    failures = kernel_failures(reports)
    if failures:
        session.reject(i, "kernels", failures)


def _warm_up(session: _Evaluations, i: int) -> None:
    import baseline

    if session.warm is None:  # one warm-up seed and baseline run for every candidate
        cfg = session.cfg
        warm_cfg = {**cfg, "steps": min(WARMUP_STEPS, cfg["steps"])}
        inputs = baseline.make_inputs(warm_cfg, secrets.randbits(62))
        # Only these untimed runs, on a seed of their own, may write the persistent compile
        # caches; timed runs get a private snapshot of them (correctness.sandbox).
        base = session.run("baseline", warm_cfg, inputs, "warm-up", compile_cache="update")
        session.warm = (warm_cfg, inputs, base)
    warm_cfg, inputs, base = session.warm
    cand = session.run(i, warm_cfg, inputs, "warm-up", compile_cache="update")
    session.evs[i].warmup = {"steps": warm_cfg["steps"], "baseline_s": base.seconds,
                             "candidate_s": cand.seconds if cand.ok else None,
                             **contention.pair_fields(base, cand)}
    if not cand.ok:
        session.reject(i, cand.check, f"warm-up: {cand.message}")


def _timed_round(session: _Evaluations, i: int, r: int, judge: Judge) -> None:
    """Candidate i's round r, against the round's baseline run (made now if no candidate
    made it before), judged at once, and timed again while other work contended either
    run (module docstring)."""
    import baseline

    cfg, label, ev = session.cfg, f"round {r + 1}", session.evs[i]
    if r == len(session.shared):
        session.shared.append({"inputs": baseline.make_inputs(cfg, secrets.randbits(62)),
                               "baseline": None})
    discarded: list[dict] = []
    while True:
        row, cand = _attempt(session, i, r, judge, f"{label}, attempt {len(discarded) + 1}"
                             if discarded else label)
        if (not row["contended"] or ev.contended
                or len(discarded) + 1 == contention.ATTEMPTS_PER_ROUND):
            break
        discarded.append({k: v for k, v in row.items() if k not in ("round", "checks")})
        session.shared[r]["baseline"] = None  # the next attempt times the baseline again
        session.retried["baseline"] += 1
        session.retried[i] += 1
    row.update(attempts=len(discarded) + 1, discarded=discarded)
    ev.contended = ev.contended or row["contended"]
    ev.rounds.append(row)
    if not cand.ok:
        session.reject(i, cand.check, f"{label}: {cand.message}")
    elif failed := [c for c in row["checks"] if not c["passed"]]:
        session.reject(i, failed[0]["name"], f"{label}: {failed[0]['detail']}")


def _attempt(session: _Evaluations, i: int, r: int, judge: Judge,
             label: str) -> tuple[dict, object]:
    """One timing of round r's pair, judged: (its row, the candidate's run). Only a pair
    the judge passed can be `contended`: a rejection does not depend on the machine."""
    import baseline

    base, cand, order = _pair(session, i, r, label)
    row = {"round": r + 1, "order": order, "baseline_s": base.seconds if base else None,
           "candidate_s": cand.seconds if cand.ok else None, "ratio": None, "checks": [],
           **contention.pair_fields(base, cand)}
    if not cand.ok:
        return {**row, "contended": False}, cand
    # A seed of its own, drawn now: every child of this pairing is dead, and nothing any of
    # them saw (init, corpus, batches) is derived from it.
    cfg, init = session.cfg, session.shared[r]["inputs"]["init"]
    heldout = baseline.make_heldout(cfg, secrets.randbits(62))
    row["checks"] = [_check_dict(c) for c in judge(base, cand, cfg, init, heldout)]
    if all(c["passed"] for c in row["checks"]):
        row["ratio"] = stats.paired_ratios([base.seconds], [cand.seconds])[0]
    row["contended"] = row["ratio"] is not None and contention.contended(row)
    return row, cand


def _pair(session: _Evaluations, i: int, r: int, label: str) -> tuple[object, object, str]:
    """(baseline run, candidate run, order) of one attempt at round r. The baseline runs
    first in even rounds, after the first candidate to reach it in odd ones; a later
    candidate is paired with the run already made."""
    cfg, shared = session.cfg, session.shared[r]
    if shared["baseline"] is None and r % 2 == 0:
        shared["baseline"] = session.run("baseline", cfg, shared["inputs"], label)
    cand = session.run(i, cfg, shared["inputs"], label)
    order = "baseline,candidate"
    if shared["baseline"] is None and cand.ok:  # a failed run needs no partner
        shared["baseline"] = session.run("baseline", cfg, shared["inputs"], label)
        order = "candidate,baseline"
    return shared["baseline"], cand, order


def _self_rounds(session: _Evaluations, i: int, rounds: int) -> None:
    import baseline

    for r in range(rounds):
        inputs = baseline.make_inputs(session.cfg, secrets.randbits(62))
        first = session.run(i, session.cfg, inputs, f"self {r + 1}")
        second = session.run(i, session.cfg, inputs, f"self {r + 1}") if first.ok else first
        bad = next((res for res in (first, second) if not res.ok), None)
        if bad is not None:
            session.reject(i, bad.check, f"repeat-self {r + 1}: {bad.message}")
            return
        session.evs[i].self_rounds.append({
            "round": r + 1, "first_s": first.seconds, "second_s": second.seconds,
            "ratio": stats.paired_ratios([first.seconds], [second.seconds])[0],
            **contention.run_fields("first", first), **contention.run_fields("second", second)})
