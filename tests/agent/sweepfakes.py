"""A harness for sweep tests that Ray workers import (tests/agent is on their PYTHONPATH):
the judge and the clock as short sleeps, verdicts from the workspace's content, real
records. Every call appends one JSON line to a log shared by all workers: what ran, for
which workspace, its wall-clock window, whether its process held the timing lease, and
the OMP_NUM_THREADS it saw; so a test can check from the outside that timed sections
held the lease, untimed ones did not, and no two timed ones overlapped.

Run as a script it is a sweep driver (for the test that kills one):
    python sweepfakes.py RUNS_DIR RESULTS_DIR LOG N_RUNS
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from agent.launch.project_harness import (
    ProjectHarness as RealHarness,  # before any test replaces it
)
from agent.session.harness import BenchOutcome, CheckOutcome, CheckRow

CHECK_S, BENCH_S, RUN_S = 0.05, 0.15, 0.1  # seconds per quick check, run_bench, timed run


def _leased() -> bool:
    import ray

    from agent.launch.lease import RESOURCE

    return RESOURCE in ray.get_runtime_context().get_assigned_resources()


def _bound_slots(solution_dir: Path) -> int:
    """The fake speedup: +0.1x per slot the library policy bound (its `# library:` lines)."""
    return sum(f.read_text().count("# library:") for f in Path(solution_dir).glob("*.py"))


class SleepyHarness:
    def __init__(self, log: str):
        self.log = log

    def _note(self, kind: str, solution_dir, start: float, **fields) -> None:
        line = {"kind": kind, "dir": str(solution_dir), "start": start, "end": time.time(),
                "leased": _leased(), "omp": os.environ.get("OMP_NUM_THREADS"),
                "pid": os.getpid(), **fields}
        with open(self.log, "a") as f:
            f.write(json.dumps(line) + "\n")

    def _sleep(self, kind: str, solution_dir, seconds: float) -> tuple[float, float]:
        start = time.time()
        time.sleep(seconds)
        self._note(kind, solution_dir, start)
        return start, time.time()

    def prepare(self, preset, device, **progress) -> None:
        """Nothing to calibrate or measure: the fakes judge and time nothing."""

    def check(self, solution_dir, preset, device) -> CheckOutcome:
        self._sleep("check", solution_dir, CHECK_S)
        return CheckOutcome(passed=True, checks=[CheckRow("heldout_loss", True, 0.0, 0.02)])

    def bench(self, solution_dir, preset, device, rounds, on_progress=None) -> BenchOutcome:
        self._sleep("bench", solution_dir, BENCH_S)
        ratio = 1.0 + 0.1 * _bound_slots(solution_dir)
        return BenchOutcome(passed=True, median_ratio=ratio,
                            rounds=[{"baseline_s": 1.0, "candidate_s": 1.0 / ratio,
                                     "ratio": ratio}] * rounds)

    def profile(self, solution_dir, preset, device) -> str:
        return "Name  Self CPU %\naten::mm  42.0"

    def track_facts(self, preset, device, results_dir):
        from agentfakes import facts

        self._sleep("baseline time", results_dir, CHECK_S)
        return facts()

    def __getattr__(self, name: str):
        """Anything else the session asks for (an untouched baseline's score): the real
        harness's, none of which runs a solution."""
        return getattr(RealHarness(), name)

    def official_evaluation(self, solution_dir, preset, device, rounds, on_progress=None):
        from bench import windows
        from bench.evaluation import Evaluation, summarize

        ev = Evaluation(str(solution_dir), preset, device, rounds, False,
                        timing=windows.timing_place(device), isolation="namespaces")
        ratio = 1.0 + 0.1 * _bound_slots(solution_dir)
        for r in range(rounds):
            b0, b1 = self._sleep("baseline run", solution_dir, RUN_S)
            c0, c1 = self._sleep("candidate run", solution_dir, RUN_S / ratio)
            ev.rounds.append({"round": r + 1, "order": "baseline,candidate",
                              "baseline_s": b1 - b0, "candidate_s": (b1 - b0) / ratio,
                              "ratio": ratio, "checks": [], "baseline_started_at": b0,
                              "baseline_ended_at": b1, "candidate_started_at": c0,
                              "candidate_ended_at": c1})
            if on_progress is not None:
                on_progress(r + 1, rounds, f"round {r + 1}")
        summarize(ev)
        return ev

    def write_record(self, evaluation, entrant, extra, results_dir, **where) -> Path:
        return RealHarness().write_record(evaluation, entrant, extra, results_dir, **where)

    def library(self, device) -> list:
        return RealHarness().library(device)


class LoggedHarness(SleepyHarness):
    """SleepyHarness logging to $SWEEP_FAKE_LOG: what a test puts in ProjectHarness's
    place, which takes the thresholds source (and ignores it)."""

    def __init__(self, tolerances=None):
        super().__init__(os.environ["SWEEP_FAKE_LOG"])


def read_log(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def main(runs_dir: str, results_dir: str, log: str, runs: str) -> None:
    import functools

    from agent.launch import build
    from agent.launch.sweep import connect, run_sweep
    from agent.launch.sweep_plan import plan

    config = build.build_config("library", preset="tiny", device="cpu", eval_rounds=2,
                                results_dir=results_dir)
    planned = plan([config], int(runs), runs_dir)
    connect(None, "cpu")
    print(f"planned {[p.status for p in planned]}", flush=True)
    board = run_sweep(planned, runs_dir, harness_factory=functools.partial(SleepyHarness, log))
    print(json.dumps({run_id: v.get("state") for run_id, v in board.items()}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
