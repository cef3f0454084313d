"""The one adapter between the agent and the rest of the project: the judge
(`correctness`), the clock and records (`bench`), and the kernel library (`kernels`).

Everything is imported lazily inside the methods, so `agent` imports even where those
modules are absent or being written, and tests hand the loop a fake with the same methods.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kernels.registry import Impl


@dataclass
class CheckRow:
    name: str
    passed: bool
    value: Any
    threshold: Any
    detail: str = ""


@dataclass
class CheckOutcome:
    """The judge's quick verdict on a solution directory."""

    passed: bool
    rejected_by: str | None = None  # the check that rejected the run before comparing
    message: str = ""  # why (static-scan findings, the exception, ...)
    checks: list[CheckRow] = field(default_factory=list)
    output_tail: str = ""
    preset: str = "tiny"  # what the judge ran: the quick check is always `tiny`
    device: str = "cpu"


@dataclass
class BenchOutcome:
    """A few rounds of the clock: the median speedup over the baseline, and the verdict."""

    passed: bool
    median_ratio: float | None
    rounds: list[dict] = field(default_factory=list)  # baseline_s, candidate_s, ratio
    rejected_by: str | None = None
    message: str = ""


class Harness(Protocol):
    def check(self, solution_dir: Path, preset: str, device: str) -> CheckOutcome: ...

    def bench(self, solution_dir: Path, preset: str, device: str,
              rounds: int) -> BenchOutcome: ...

    def profile(self, solution_dir: Path, preset: str, device: str) -> str: ...

    def official_evaluation(self, solution_dir: Path, preset: str, device: str, rounds: int,
                 on_progress=None) -> Any: ...

    def write_record(self, evaluation: Any, entrant: dict, extra: dict,
                     results_dir: str) -> Path: ...

    def library(self, device: str) -> list[Impl]: ...


class ProjectHarness:
    """The real judge, clock, records and kernel library. Agent solutions are always judged
    WITHOUT the kernel library (allow_library=False): that is the benchmark's rule."""

    def check(self, solution_dir: Path, preset: str, device: str) -> CheckOutcome:
        """The quick check, judged where the solution will run when the judge is calibrated
        there: `tiny` on the track's device; else, off the CPU, the track's own preset (a
        CUDA-only rewrite cannot pass on a CPU); else `tiny` on the CPU."""
        from correctness import tolerances
        from correctness.training_check import check_training

        for size in ("tiny", preset) if device != "cpu" else ():
            try:
                tolerances.load(size, device)
            except tolerances.ToleranceError:
                continue
            verdict = check_training(str(solution_dir), size, device)
            break
        else:
            verdict = check_training(str(solution_dir), "tiny", "cpu", quick=True)
        rows = [CheckRow(c.name, bool(c.passed), c.value, c.threshold, c.detail or "")
                for c in verdict.checks]
        failed = next((r.detail for r in rows if not r.passed), "")
        cand = verdict.cand
        return CheckOutcome(passed=bool(verdict.passed), rejected_by=verdict.rejected_by,
                            message=(cand.message if cand and not cand.ok else "") or failed,
                            checks=rows, output_tail=(cand.output_tail if cand else "") or "",
                            preset=verdict.preset, device=verdict.device)

    def bench(self, solution_dir: Path, preset: str, device: str, rounds: int) -> BenchOutcome:
        from bench.clock import official_evaluation

        ev = official_evaluation(str(solution_dir), preset, device, rounds=rounds)
        return BenchOutcome(passed=bool(ev.passed), median_ratio=ev.median_ratio,
                            rounds=list(ev.rounds), rejected_by=ev.rejected_by,
                            message=getattr(ev, "message", "") or "")

    def profile(self, solution_dir: Path, preset: str, device: str) -> str:
        import baseline
        from correctness.sandbox import profile_solution

        cfg = baseline.get_preset(preset).to_cfg(device)
        inputs = baseline.make_inputs(cfg, secrets.randbits(63))
        return profile_solution(str(solution_dir), cfg, inputs, top=20)

    def official_evaluation(self, solution_dir: Path, preset: str, device: str, rounds: int,
                 on_progress=None) -> Any:
        from bench.clock import official_evaluation

        return official_evaluation(str(solution_dir), preset, device, rounds=rounds,
                        allow_library=False, on_progress=on_progress)

    def write_record(self, evaluation: Any, entrant: dict, extra: dict,
                     results_dir: str) -> Path:
        from bench.records import write_record

        return Path(write_record(evaluation, entrant, results_dir=results_dir, extra=extra))

    def library(self, device: str) -> list[Impl]:
        """The library's implementations usable on `device` (those in `kernels`, so a
        policy can copy their source). Triton ones only on CUDA: on a CPU they run in the
        interpreter, which is for correctness, never for timing."""
        from kernels.registry import implementations

        return [impl for impl in implementations()
                if impl.module.startswith("kernels.")
                and (device == "cuda" or not impl.needs_triton)]


def evaluation_summary(evaluation: Any) -> dict:
    """A JSON-able summary of a clock Evaluation (or of a fake with the same fields)."""
    if hasattr(evaluation, "to_dict"):
        return evaluation.to_dict()
    keys = ("passed", "rejected_by", "median_ratio", "min_ratio", "max_ratio", "rounds")
    return {k: getattr(evaluation, k, None) for k in keys}
