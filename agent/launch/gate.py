"""The timing gate: which calls of a harness are timed sections, and the one wrapper that
runs them through a gate, so that no two timed runs share a device while sessions run side
by side. Two gates pass a section: a sweep's Ray lease (lease.py: across the processes and
nodes of a Ray cluster) and the Inspect task's ProcessGate (the samples of one `inspect
eval` are threads of one process).

A timed section is a call that times something: preparing the track (calibrating it, or
measuring its ceilings, when missing), run_bench, the official evaluation, and timing the
baseline for the prompt (track_facts, when no record has it). The untimed runs of
a solution (run_check, run_python, profile) pass the gate too when it is exclusive: on a
CPU they share the cores a timed run is timed on (lease.exclusive_default says what that
did to a sweep). Every other call (records, the library, the untouched baseline's score)
runs no solution and never waits. The waits are not the agent's device time: the tools
take them from the harness (`take_wait_s`) and do not charge them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

# The harness's timed sections -> how a display names them.
TIMED_SECTIONS = {"prepare": "calibration and ceilings", "bench": "run_bench",
                  "official_evaluation": "official evaluation",
                  "track_facts": "the baseline's time"}
# The untimed runs of a solution: through the gate as well when it is exclusive.
SOLUTION_RUNS = {"check": "run_check", "run_python": "run_python", "profile": "profile"}


class Gate(Protocol):
    last_wait_s: float  # how long the last `run` waited before fn started

    def run(self, fn: Callable, *args, label: str, **kwargs) -> Any:
        """fn(*args, **kwargs) once the gate lets it through; its result or exception."""


class ProcessGate:
    """One section at a time among the threads of this process: every ProcessGate shares
    one lock, each keeps its own session's wait."""

    _lock = threading.Lock()

    def __init__(self):
        self.last_wait_s = 0.0

    def run(self, fn: Callable, *args, label: str = "timed section", **kwargs) -> Any:
        self.last_wait_s, asked = 0.0, time.monotonic()
        with self._lock:
            self.last_wait_s = time.monotonic() - asked
            return fn(*args, **kwargs)


class GatedHarness:
    """A harness (agent.session.harness.Harness) whose timed sections pass `gate`, and with
    `exclusive` the untimed runs of a solution too; every other call is the inner harness's,
    run at once."""

    def __init__(self, inner, gate: Gate, exclusive: bool = False):
        self.inner, self.gate = inner, gate
        self.gated = {**TIMED_SECTIONS, **(SOLUTION_RUNS if exclusive else {})}
        self.waited_s = 0.0

    def take_wait_s(self) -> float:
        """Seconds spent waiting at the gate since the last call."""
        waited, self.waited_s = self.waited_s, 0.0
        return waited

    def __getattr__(self, name: str):
        method = getattr(self.inner, name)
        if name not in self.gated:
            return method

        def gated(*args, **kwargs):
            try:
                return self.gate.run(method, *args, label=self.gated[name], **kwargs)
            finally:
                self.waited_s += self.gate.last_wait_s

        return gated
