"""Fakes for the clock: runners whose "seconds" are counted work, never wall time.

`WorkCountRunner` runs a solution's train in-process on the round's real inputs, cut to a
few steps, through a slot namespace that counts every slot call; the run's seconds are
the count times TICK. Same code on the same inputs does the same count, so ratios are
exact; a solution that trains twice counts twice. It mimics the sandbox's contract: the
clock stops when `train` returns, and the results are copied at that moment.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from pathlib import Path

from baseline import ops as naive_ops
from baseline import train as baseline_train

TICK = 1e-3  # fake seconds per slot call
FAKE_STEPS = 4  # enough steps for warmup, schedule and clipping to run; keeps tests fast


@dataclass
class FakeResult:
    ok: bool
    seconds: float | None = None
    check: str | None = None
    message: str = ""
    state_dict: dict = field(default_factory=dict)
    losses: list = field(default_factory=list)
    output_tail: str = ""
    isolation: str = "namespaces"


@dataclass
class FakeCheck:
    name: str
    passed: bool
    value: float
    threshold: float
    detail: str


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
    compile cache mode)."""

    def __init__(self, solutions: dict[Path, callable], steps: int = FAKE_STEPS,
                 isolation: dict[str, str] | None = None):
        self.solutions = {Path(k): v for k, v in solutions.items()}
        self.steps, self.log = steps, []
        self.isolation = isolation or {}  # dir name -> what its runs report

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
        return FakeResult(ok=True, seconds=seconds, state_dict=state, losses=list(out["losses"]),
                          isolation=self.isolation.get(Path(solution_dir).name, "namespaces"))


def exact_judge(ref, cand, cfg, init, heldout):
    """The fakes are deterministic, so a correct candidate matches the baseline exactly."""
    worst = max(float((ref.state_dict[k] - cand.state_dict[k]).abs().max())
                for k in ref.state_dict)
    same_losses = ref.losses == cand.losses
    return [FakeCheck("weights", worst == 0.0, worst, 0.0, f"max |dW| {worst:.3g}"),
            FakeCheck("losses", same_losses, float(not same_losses), 0.0, "per-step losses")]
