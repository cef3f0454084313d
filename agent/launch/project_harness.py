"""The project's harness: the one adapter between the agent and the rest of the project,
the judge (`correctness`), the clock and records (`bench`) and the kernel library
(`kernels`), behind the Harness protocol (agent/session/harness.py).

Everything is imported lazily inside the methods, so `agent` imports even where those
modules are absent or being written.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.session.harness import (
    BenchOutcome,
    CheckOutcome,
    CheckRow,
    Progress,
    ScriptOutcome,
    TrackFacts,
)

if TYPE_CHECKING:
    from correctness.tolerances import Source
    from kernels.registry import Impl


class ProjectHarness:
    """The real judge, clock, records and kernel library. Agent solutions are always judged
    WITHOUT the kernel library (allow_library=False): that is the benchmark's rule. Every
    threshold it looks up or calibrates is in `tolerances` (default: the shipped thresholds
    and the user's), which travels with the harness into a Ray task that runs its methods."""

    def __init__(self, tolerances: Source | None = None):
        from correctness.tolerances import Source

        self.tolerances = tolerances or Source()

    def prepare(self, preset: str, device: str, *, auto: bool = True,
                on_status: Callable[[str], None] | None = None,
                on_progress: Progress | None = None) -> None:
        """The session's tracks ready to judge: its own (calibration and ceilings:
        bench.official.prepare) and, on a CPU, tiny/cpu, where the quick check judges; each
        calibrated first when missing and `auto`. bench.calibration.NotReady when one cannot
        be judged."""
        from bench import official
        from bench.calibration import ensure_calibrated

        official.prepare(preset, device, tolerances=self.tolerances, auto=auto,
                         on_status=on_status, on_progress=on_progress)
        if device == "cpu":
            ensure_calibrated("tiny", "cpu", tolerances=self.tolerances, auto=auto,
                              on_status=on_status, on_progress=on_progress)

    def check(self, solution_dir: Path, preset: str, device: str) -> CheckOutcome:
        """The quick check, judged where the solution will run when the judge is calibrated
        there: `tiny` on the track's device; else, off the CPU, the track's own preset (a
        CUDA-only rewrite cannot pass on a CPU); else `tiny` on the CPU."""
        from correctness.tolerances import ToleranceError
        from correctness.training_check import check_training

        for size in ("tiny", preset) if device != "cpu" else ():
            try:
                self.tolerances.thresholds(size, device)
            except ToleranceError:
                continue
            verdict = check_training(str(solution_dir), size, device,
                                     tolerances=self.tolerances)
            break
        else:
            verdict = check_training(str(solution_dir), preset, "cpu", quick=True,
                                     tolerances=self.tolerances)
        rows = [CheckRow(c.name, bool(c.passed), c.value, c.threshold, c.detail or "")
                for c in verdict.checks]
        failed = next((r.detail for r in rows if not r.passed), "")
        cand = verdict.cand
        return CheckOutcome(passed=bool(verdict.passed), rejected_by=verdict.rejected_by,
                            message=(cand.message if cand and not cand.ok else "") or failed,
                            checks=rows, output_tail=(cand.output_tail if cand else "") or "",
                            preset=verdict.preset, device=verdict.device)

    def bench(self, solution_dir: Path, preset: str, device: str, rounds: int,
              on_progress: Progress | None = None) -> BenchOutcome:
        """The clock's rounds (warm-up first), each sandboxed run told to `on_progress` as
        `speedup bench` tells its own."""
        from bench.clock import official_evaluation

        ev = official_evaluation(str(solution_dir), preset, device, rounds=rounds,
                                 tolerances=self.tolerances, on_progress=on_progress)
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
        """The official evaluation (bench/official.py: the track prepared, then the clock)."""
        from bench import official

        (ev,) = official.evaluate([solution_dir], preset, device, rounds=rounds,
                                  tolerances=self.tolerances, allow_library=False,
                                  on_progress=on_progress)
        return ev

    def write_record(self, evaluation: Any, entrant: dict, extra: dict, results_dir: str, *,
                     transcript: Path, command: str) -> Path:
        """The official evaluation's record, as every record is written (bench/official.py):
        the scored files and the transcript archived beside it."""
        from bench import official

        entry = official.Entry(Path(evaluation.solution_dir), entrant, agent=extra,
                               transcript=Path(transcript))
        return official.write(evaluation, entry, results_dir=results_dir, command=command)

    def run_python(self, solution_dir: Path, script: str, args: list[str], device: str,
                   timeout: float) -> ScriptOutcome:
        from correctness.sandbox import run_script

        r = run_script(solution_dir, script, args, device, run_timeout=timeout)
        return ScriptOutcome(ok=bool(r.ok), output_tail=r.output_tail or "",
                             rejected_by=None if r.ok else r.check, message=r.message or "")

    def track_facts(self, preset: str, device: str, results_dir: str) -> TrackFacts:
        """The machine, the versions, the sandbox's limits, and the baseline's time on this
        track here: the median over the records measured on this device model, shipped and
        in results_dir, else one sandboxed baseline run now."""
        from bench.clock import WARMUP_STEPS
        from correctness import provenance
        from correctness.sandbox import detect_isolation
        from correctness.sandbox.runner import DEFAULT_MEMORY_LIMIT, Options
        from correctness.training_check import run_timeout

        env = provenance.environment(device)
        gpu = None
        if device == "cuda":
            import torch

            memory = torch.cuda.get_device_properties(0).total_memory / 2**30
            gpu = f"{env['device_name']}, {memory:.0f} GiB"
        baseline_s, source = _baseline_time(preset, device, results_dir, env["device_name"])
        return TrackFacts(
            cpu_model=env["cpu_model"], cpu_count=len(os.sched_getaffinity(0)), gpu=gpu,
            memory_limit_gib=None if device == "cuda" else DEFAULT_MEMORY_LIMIT / 2**30,
            versions={k: env[k] for k in ("python", "torch", "triton")},
            baseline_s=baseline_s, baseline_source=source,
            setup_timeout_s=Options().setup_timeout, run_timeout_s=run_timeout(preset),
            warmup_steps=WARMUP_STEPS, isolation=detect_isolation().kind)

    def baseline_evaluation(self, solution_dir: Path, preset: str, device: str,
                            outcome: str) -> Any:
        """The untouched baseline's score without a run: 1.0x by definition (a session that
        ended with nothing that passed the judge is ranked as the baseline)."""
        from bench.clock import Evaluation

        return Evaluation(str(solution_dir), preset, device, 0, False, passed=True,
                          message=f"not timed: the session ended ({outcome}) with no state "
                                  f"that passed the judge, so it scores as the baseline",
                          median_ratio=1.0, min_ratio=1.0, max_ratio=1.0)

    def take_wait_s(self) -> float:
        """Nothing gates this harness: it never waits (launch/gate.py wraps it when a sweep
        or the Inspect task shares the device)."""
        return 0.0

    def library(self, device: str) -> list[Impl]:
        """The library's implementations usable on `device` (those in `kernels`, so a
        policy can copy their source). Triton ones only on CUDA: on a CPU they run in the
        interpreter, which is for correctness, never for timing."""
        from kernels.registry import implementations

        return [impl for impl in implementations()
                if impl.module.startswith("kernels.")
                and (device == "cuda" or not impl.needs_triton)]


def _baseline_time(preset: str, device: str, results_dir: str,
                   device_name: str) -> tuple[float | None, str]:
    """The baseline's time on this track and device model, and where it comes from: the
    median over the records measured on it, the shipped ones and those in results_dir (the
    leaderboard's two sources, bench.records.load_sources); else one sandboxed run now."""
    import statistics

    from bench.records import RecordError, load_sources

    try:
        records = load_sources(results_dir)
    except RecordError:
        records = []
    found = [r for r in records
             if r["preset"] == preset and r["device"] == device
             and r["environment"].get("device_name") == device_name
             and r.get("baseline_median_s")]
    if found:
        where = {"shipped": "the shipped records", "yours": f"{results_dir}/"}
        read = " and ".join(dict.fromkeys(where[r["_source"]] for r in found))
        return statistics.median(r["baseline_median_s"] for r in found), (
            f"the median over {len(found)} official evaluation(s) measured on {device_name}, "
            f"in {read}")
    import baseline
    from correctness.sandbox import reference_dir, run_solution
    from correctness.training_check import run_timeout

    cfg = baseline.get_preset(preset).to_cfg(device)
    run = run_solution(reference_dir(preset), cfg,
                       baseline.make_inputs(cfg, secrets.randbits(63)),
                       run_timeout=run_timeout(preset))
    if not run.ok:
        return None, f"not measured (a baseline run failed: {run.check})"
    return run.seconds, "one sandboxed run at the start of this session"
