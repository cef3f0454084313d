"""The official evaluation with its clock faked at the sandbox's edge, for tests of what is
built around it (records, archives, `speedup verify`): every path from a command or a
session down to bench.clock stays real.

`use_fake_clock(monkeypatch)` puts in bench.clock's defaults a runner whose seconds follow
from the solution's content hash (the same files always take the same time, so a re-run's
ratios are exact), whose results are the baseline's own training cut to a few steps, a
judge whose checks are an exact comparison and whose calibration identity is that of the
tolerances source the clock is handed, and no kernel checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from correctness.solution import solution_hash

FAKE_STEPS = 2
BASE_S = 1.0  # the seconds of a solution the caller gives no time


@dataclass
class FakeResult:
    """A sandbox run's result (correctness.sandbox.RunResult's fields the clock reads)."""
    ok: bool
    seconds: float | None = None
    check: str | None = None
    message: str = ""
    state_dict: dict = field(default_factory=dict)
    losses: list = field(default_factory=list)
    output_tail: str = ""
    isolation: str = "namespaces"
    usage: dict | None = None


@dataclass
class FakeCheck:
    name: str
    passed: bool
    value: float
    threshold: float
    detail: str = ""


def exact_checks(ref, cand, cfg, init, heldout) -> list[FakeCheck]:
    """The fakes are deterministic, so a correct candidate matches the baseline exactly."""
    worst = max(float((ref.state_dict[k] - cand.state_dict[k]).abs().max())
                for k in ref.state_dict)
    same_losses = ref.losses == cand.losses
    return [FakeCheck("weights", worst == 0.0, worst, 0.0, f"max |dW| {worst:.3g}"),
            FakeCheck("losses", same_losses, float(not same_losses), 0.0, "per-step losses")]


def use_fake_clock(monkeypatch, seconds: dict[str, float] | None = None) -> list[str]:
    """Fake bench.clock's runner, judge and kernel checks; `seconds`: solution hash ->
    seconds a run of it takes. Returns the log of the runs, in order: (directory, hash)."""
    from baseline import train
    from bench import clock

    seconds, log = dict(seconds or {}), []

    def runner(solution_dir, cfg, inputs, *, allow_library=False, **options):
        digest = solution_hash(solution_dir)
        log.append((str(solution_dir), digest))
        steps = min(FAKE_STEPS, cfg["steps"])
        out = train({**cfg, "steps": steps}, inputs["init"], inputs["tokens"],
                    inputs["batches"][:steps])
        return FakeResult(ok=True, seconds=seconds.get(digest, BASE_S),
                          state_dict=out["state_dict"], losses=out["losses"])

    def judge(preset, device, source):
        return exact_checks, source.identity(preset, device)

    monkeypatch.setattr(clock, "_default_runner", lambda preset: runner)
    monkeypatch.setattr(clock, "_default_judge", judge)
    monkeypatch.setattr(clock, "_default_kernel_check", lambda *a: {})
    return log
