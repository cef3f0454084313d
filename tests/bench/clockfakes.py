"""Fakes for the clock: runners whose "seconds" are counted work, never wall time.

`WorkCountRunner` runs a solution's train in-process on the round's real inputs, cut to a
few steps, through a slot namespace that counts every slot call; the run's seconds are
the count times TICK. Same code on the same inputs does the same count, so ratios are
exact; a solution that trains twice counts twice. It mimics the sandbox's contract: the
clock stops when `train` returns, and the results are copied at that moment. Each run also
reports its usage as the sandbox does (`usage`): one CPU busy for the run's seconds, and
other work's share of the machine from a script per solution (quiet when none is left).
"""

from __future__ import annotations

import types
from pathlib import Path

from officialfakes import FakeResult

from baseline import ops as naive_ops
from baseline import train as baseline_train
from correctness.sandbox.usage import RunUsage

TICK = 1e-3  # fake seconds per slot call
FAKE_STEPS = 4  # enough steps for warmup, schedule and clipping to run; keeps tests fast


def usage(seconds: float, foreign_share: float = 0.0, cpus: int = 2) -> dict:
    """A run's usage as the sandbox reports it: the run kept one CPU busy for `seconds`,
    and other work took `foreign_share` of all `cpus` meanwhile."""
    busy = seconds + foreign_share * cpus * seconds
    return RunUsage(wall_s=seconds, cpu_s=seconds, machine_busy_s=busy, cpus=cpus,
                    load_before=0.5).to_dict()


class CountingOps(types.SimpleNamespace):
    """baseline.ops with a call counter: the fake clock."""

    def __init__(self):
        super().__init__(calls=0)
        for slot in naive_ops.SLOTS:
            setattr(self, slot, self._counted(getattr(naive_ops, slot)))

    def _counted(self, fn):
        def wrapper(*args, **kwargs):
            self.calls += 1
            return fn(*args, **kwargs)
        return wrapper


def train_twice(cfg, init, tokens, batches, ops):
    """Honest but wasteful: the same training twice, the second result returned."""
    baseline_train(cfg, init, tokens, batches, ops=ops)
    return baseline_train(cfg, init, tokens, batches, ops=ops)


def train_baseline(cfg, init, tokens, batches, ops):
    return baseline_train(cfg, init, tokens, batches, ops=ops)


class WorkCountRunner:
    """An injectable `run_solution`: {solution dir: train(cfg, init, tokens, batches, ops)}.
    Logs every call as (dir name, id of the round's inputs, cfg steps, allow_library,
    compile cache mode). `contention`: dir name -> the foreign share each of its runs
    reports, in order (then 0.0)."""

    def __init__(self, solutions: dict[Path, callable], steps: int = FAKE_STEPS,
                 isolation: dict[str, str] | None = None,
                 contention: dict[str, list[float]] | None = None):
        self.solutions = {Path(k): v for k, v in solutions.items()}
        self.steps, self.log = steps, []
        self.isolation = isolation or {}  # dir name -> what its runs report
        self.contention = {name: list(shares) for name, shares in (contention or {}).items()}

    def __call__(self, solution_dir, cfg, inputs, *, allow_library=False, **options):
        self.log.append((Path(solution_dir).name, id(inputs), cfg["steps"], allow_library,
                         options.get("compile_cache", "snapshot")))
        steps = min(self.steps, cfg["steps"])
        ops = CountingOps()
        out = self.solutions[Path(solution_dir)](
            {**cfg, "steps": steps}, inputs["init"], inputs["tokens"], inputs["batches"][:steps],
            ops)
        seconds = ops.calls * TICK  # the clock stops here, as at `done`
        state = {k: v.detach().clone() for k, v in out["state_dict"].items()}
        name = Path(solution_dir).name
        shares = self.contention.get(name)
        share = shares.pop(0) if shares else 0.0
        return FakeResult(ok=True, seconds=seconds, state_dict=state, losses=list(out["losses"]),
                          isolation=self.isolation.get(name, "namespaces"),
                          usage=usage(seconds, share))


class ScriptedRunner:
    """Seconds (and optionally foreign shares) from a script per side, for the arithmetic
    of the statistics and of the contention rule. Logs the side of every call."""

    def __init__(self, dirs: dict[str, Path], baseline_s, candidate_s, *,
                 baseline_shares=(), candidate_shares=(), measured: bool = True):
        self.dirs, self.log = dirs, []
        self.times = {"baseline": list(baseline_s), "candidate": list(candidate_s)}
        self.shares = {"baseline": list(baseline_shares), "candidate": list(candidate_shares)}
        self.measured = measured  # False: runs report no usage, as without /proc

    def __call__(self, solution_dir, cfg, inputs, *, allow_library=False, **options):
        side = "baseline" if solution_dir == self.dirs["baseline"] else "candidate"
        self.log.append(side)
        seconds = self.times[side].pop(0)
        share = self.shares[side].pop(0) if self.shares[side] else 0.0
        return FakeResult(ok=True, seconds=seconds,
                          usage=usage(seconds, share) if self.measured else None)


def pass_judge(ref, cand, cfg, init, heldout):
    return []
