"""What a session asks of the judge, the clock, the records and the kernel library: the
Harness protocol and the outcomes its tools read. The project's own harness, behind which
the real ones stand, is agent/launch/project_harness.py; tests hand the loop a fake with the
same methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kernels.registry import Impl

# on_progress(done, total, text): `done` of the `total` steps of one piece of work are
# finished and `text` says the latest; bench.clock's on_progress, one step per sandboxed run.
# A tool call is one piece (tools.py: from its start at done 0 to its end at done == total).
Progress = Callable[[int, int, str], None]


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
class ScriptOutcome:
    """A workspace script's run in the sandbox: its output's tail, or why it was refused."""

    ok: bool
    output_tail: str = ""
    rejected_by: str | None = None  # the check that stopped it (static_scan, crash, ...)
    message: str = ""


@dataclass
class TrackFacts:
    """What the prompt states about the machine and the track (prompt.py formats it)."""

    cpu_model: str
    cpu_count: int
    gpu: str | None  # name and memory, CUDA only
    memory_limit_gib: float | None  # a CPU run's address-space limit; None on CUDA
    versions: dict  # python, torch, triton
    baseline_s: float | None  # the baseline's time on this track, one training run
    baseline_source: str  # where that number comes from
    setup_timeout_s: float
    run_timeout_s: float
    warmup_steps: int
    isolation: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class BenchOutcome:
    """A few rounds of the clock: the median speedup over the baseline, and the verdict."""

    passed: bool
    median_ratio: float | None
    rounds: list[dict] = field(default_factory=list)  # baseline_s, candidate_s, ratio
    rejected_by: str | None = None
    message: str = ""


class Harness(Protocol):
    def prepare(self, preset: str, device: str, *, auto: bool = True,
                on_status: Callable[[str], None] | None = None,
                on_progress: Progress | None = None) -> None:
        """Make the session's tracks ready to judge before it starts (calibrated first where
        they are not and `auto`); the caller's to call, with its own progress display."""

    def check(self, solution_dir: Path, preset: str, device: str) -> CheckOutcome: ...

    def bench(self, solution_dir: Path, preset: str, device: str, rounds: int,
              on_progress: Progress | None = None) -> BenchOutcome:
        """A few rounds of the clock, each sandboxed run a step of `on_progress`."""

    def profile(self, solution_dir: Path, preset: str, device: str) -> str: ...

    def official_evaluation(self, solution_dir: Path, preset: str, device: str, rounds: int,
                 on_progress=None) -> Any: ...

    def write_record(self, evaluation: Any, entrant: dict, extra: dict, results_dir: str, *,
                     transcript: Path, command: str) -> Path:
        """The record of `evaluation` in results_dir, `extra` its agent block, with the
        transcript archived beside it and `command` the command line that asked."""

    def library(self, device: str) -> list[Impl]: ...

    def run_python(self, solution_dir: Path, script: str, args: list[str], device: str,
                   timeout: float) -> ScriptOutcome: ...

    def track_facts(self, preset: str, device: str, results_dir: str) -> TrackFacts: ...

    def baseline_evaluation(self, solution_dir: Path, preset: str, device: str,
                            outcome: str) -> Any: ...

    def take_wait_s(self) -> float:
        """Seconds spent waiting for the device (a sweep's lease, the Inspect task's lock)
        since the last call: not the agent's device time, so the tools do not charge it."""


def evaluation_summary(evaluation: Any) -> dict:
    """A JSON-able summary of a clock Evaluation (or of a fake with the same fields)."""
    if hasattr(evaluation, "to_dict"):
        return evaluation.to_dict()
    keys = ("passed", "rejected_by", "median_ratio", "min_ratio", "max_ratio", "rounds")
    return {k: getattr(evaluation, k, None) for k in keys}
