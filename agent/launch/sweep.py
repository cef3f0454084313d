"""Sweeps on Ray: every planned run (agent/launch/sweep_plan.py) is one agent session in a Ray task;
its timed sections hold the device's timing lease (agent/launch/lease.py), its API waits, edits
and untimed checks run beside the other sessions'. One board (a Ray actor) collects what
each session is doing, for the caller's progress display.

Ray starts embedded on this machine (`connect(None, device)`: ray.init with the CPU lease
of 1 and a small object store) or joins a cluster by address; a cluster's nodes need the
project installed, the runs and results folders at the same paths (a shared filesystem),
and, for CPU sweeps, `ray start --resources='{"speedup_timing": 1}'` on each node, started
with RAY_worker_niceness=0 so that timed runs are not niced below Ray's own processes.

Killed at any point, the same sweep run again skips finished runs and resumes the others
from their transcripts. A session first takes an exclusive lock on its run (a file beside
its directory) and reads the run's status again under it, so a worker of a killed sweep
that still lives cannot score a run that the new sweep also scores.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent.launch.gate import GatedHarness
from agent.launch.lease import RESOURCE, Lease, LeaseError, Threads, require_ray
from agent.launch.sweep_plan import PlannedRun, SweepError, run_status
from agent.session.run_dir import RunDir

if TYPE_CHECKING:
    from correctness.tolerances import Source

OBJECT_STORE_BYTES = 100 << 20  # a sweep moves paths and summaries, never tensors
POLL_S = 0.5  # how often the driver reads the board


def connect(address: str | None, device: str) -> tuple[str, bool]:
    """Ray for this sweep: already connected, embedded here, or the cluster at `address`;
    (a line saying which, whether this call started it). SweepError for an address with
    no Ray cluster behind it, or a cluster without the lease."""
    ray = require_ray()
    if ray.is_initialized():
        return "Ray: already connected", False
    if address is None:
        # Ray starts its workers at nice 15, so every sandboxed run of a session, timed ones
        # included, would run below the driver and Ray's own processes
        # (bench/measurements/2026-12-02-sweep-cpu-sharing.json); a single command's runs
        # have the driver's niceness, and so do a sweep's.
        os.environ.setdefault("RAY_worker_niceness", str(os.nice(0)))
        ray.init(resources={RESOURCE: 1}, object_store_memory=OBJECT_STORE_BYTES,
                 include_dashboard=False)
        return f"Ray: embedded on this machine ({os.cpu_count()} CPUs, CPU lease 1)", True
    _check_reachable(address)
    env = {k: os.environ[k] for k in ("ANTHROPIC_API_KEY",) if k in os.environ}
    try:
        ray.init(address=address, runtime_env={"env_vars": env} if env else None)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise SweepError(f"--address {address}: no Ray cluster to join there "
                         f"({str(e).splitlines()[0]}); {_START_ONE}") from None
    have = ray.cluster_resources()
    need = "GPU" if device == "cuda" else RESOURCE
    if not have.get(need):
        ray.shutdown()
        raise SweepError(f"the Ray cluster at {address} has no {need!r} resource, so no "
                         f"timed run could hold the {device} lease; start each node with "
                         + ("its GPUs visible" if device == "cuda" else
                            f"`ray start --resources='{{\"{RESOURCE}\": 1}}'`"))
    return f"Ray: joined {address} ({have.get('CPU', 0):g} CPUs, {need} {have[need]:g})", True


_START_ONE = (f"start one with `ray start --head --resources='{{\"{RESOURCE}\": 1}}'`, or drop "
              "--address to embed Ray here")
CONNECT_TIMEOUT_S = 5.0  # ray.init itself retries an unreachable address for minutes


def _check_reachable(address: str) -> None:
    """A quick TCP connect to host:port (ray://host:port too); `auto` is ray.init's to
    resolve. SweepError when nothing listens there."""
    import socket

    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise SweepError(f"--address {address}: expected host:port, ray://host:port or auto")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise SweepError(f"--address {address}: nothing answers there ({e.strerror or e}); "
                         f"{_START_ONE}") from None


# ---------------------------------------------------------------------------- the board

class Board:
    """What every run is doing: run id -> fields (state, turns, dollars, best, detail,
    record, error). A Ray actor; sessions tell it, the driver reads it."""

    def __init__(self):
        self.views: dict[str, dict] = {}

    def update(self, run_id: str, fields: dict) -> None:
        self.views.setdefault(run_id, {}).update(fields)

    def snapshot(self) -> dict[str, dict]:
        return self.views


class _Teller:
    """Picklable callables a session hands the loop and the lease: each tells the board."""

    def __init__(self, board, run_id: str):
        self.board, self.run_id, self.best = board, run_id, None

    def tell(self, **fields) -> None:
        self.board.update.remote(self.run_id, fields)


class _Events(_Teller):
    def __call__(self, event: dict) -> None:  # Session's on_event
        kind = event["event"]
        if kind == "response":
            self.tell(turns=event["turn"], dollars=event["spend"]["dollars"])
        elif kind == "tool_call":
            self.tell(state="running", detail=event["name"])
        elif kind == "snapshot" and event.get("ratio") is not None:
            self.best = max(self.best or 0.0, event["ratio"])
            self.tell(best=self.best)
        elif kind == "stop":
            self.tell(state="evaluating", detail=f"stopped: {event['reason']}")


class _Note(_Teller):
    def __call__(self, text: str) -> None:  # the lease's notify
        self.tell(state=text.split(":")[0], detail=text)


class _Progress(_Teller):
    def __call__(self, done: int, total: int, label: str) -> None:  # the evaluation's
        self.tell(state="timing", detail=f"official evaluation {done}/{total}: {label}")


# ---------------------------------------------------------------------------- a session

def _open(status: str, runs: Path, planned: PlannedRun, harness, on_event):
    from agent.launch.build import resume_session, start_session

    run_dir = RunDir.of(runs, planned.run_id)
    if status == "resume":
        return resume_session(run_dir, harness=harness, on_event=on_event)
    run_dir.clear()  # what a start killed before its first event left
    return start_session(runs, planned.config, harness=harness, on_event=on_event)


def session_task(planned: PlannedRun, runs_dir: str, harness_factory: Callable,
                 context: dict, board) -> dict:
    """One run, start or resume to its record, in a Ray task; what it ended with. Its
    harness (`harness_factory()`) carries the thresholds it judges with."""
    context["threads"].restore()
    runs, events = Path(runs_dir), _Events(board, planned.run_id)
    with RunDir.of(runs, planned.run_id).lock():
        status, record = run_status(runs, planned.config)  # again: another may have ended it
        if status == "finished":
            events.tell(state="finished", detail="already scored", record=record)
            return {"record": record}
        events.tell(state="running", detail="resuming" if status == "resume" else "started")
        lease = Lease(planned.config.device, threads=context["threads"],
                      notify=_Note(board, planned.run_id))
        harness = GatedHarness(harness_factory(), lease, context["exclusive"])
        session = _open(status, runs, planned, harness, events)
        seen = [r for s in session.snapshots.states.values() for r in s.ratios]
        events.best = max(seen, default=None)
        events.tell(turns=session.spend.turns, dollars=session.spend.dollars, best=events.best)
        outcome = session.run(on_progress=_Progress(board, planned.run_id))
    ratio = outcome.evaluation.get("median_ratio")
    events.tell(state="finished", record=str(outcome.record), turns=outcome.spend.turns,
                dollars=outcome.spend.dollars,
                detail=f"{outcome.stop_reason}; scored the {outcome.source} state: "
                       + (f"{ratio:.3f}x" if ratio is not None else "rejected"))
    return {"record": str(outcome.record)}


# ---------------------------------------------------------------------------- the driver

def run_sweep(planned: list[PlannedRun], runs_dir: str | Path, *,
              harness_factory: Callable | None = None, max_parallel: int | None = None,
              exclusive: bool = False, tolerances: Source | None = None,
              threads: Threads | None = None,
              on_update: Callable[[dict[str, dict]], None] | None = None) -> dict[str, dict]:
    """Run every unfinished planned run as a Ray task (connect first), at most
    `max_parallel` at once (default: all), the untimed runs of solutions under the lease
    too with `exclusive` (agent/launch/gate.py); `on_update(board)` after every poll.
    `harness_factory`: makes each session's harness (default: the project's, judging with
    `tolerances`; default Source(), the shipped thresholds and the user's).
    Returns the board: per run its last state, record and error. A failed run is reported
    there, the others go on."""
    import functools

    from agent.launch import project_harness

    ray = require_ray()
    if not ray.is_initialized():
        raise LeaseError("call agent.launch.sweep.connect before run_sweep")
    board = ray.remote(num_cpus=0)(Board).remote()
    for p in planned:
        board.update.remote(p.run_id, {"model": p.config.model, "index": p.index, "turns": 0,
                                       "dollars": 0.0, "best": None, "record": p.record,
                                       "state": "finished" if p.record else "queued",
                                       "detail": "finished before" if p.record else ""})
    context = {"threads": threads or Threads(), "exclusive": exclusive}
    task = ray.remote(session_task).options(num_cpus=0, max_retries=0)
    factory = harness_factory or functools.partial(project_harness.ProjectHarness,
                                                   tolerances=tolerances)
    queue = [p for p in planned if p.status != "finished"]
    running: dict = {}
    while queue or running:
        while queue and len(running) < (max_parallel or len(planned)):
            p = queue.pop(0)
            running[task.remote(p, str(runs_dir), factory, context, board)] = p
        done, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
        for ref in done:
            p = running.pop(ref)
            try:
                ray.get(ref)
            except Exception as e:  # one run's failure must not end the sweep
                board.update.remote(p.run_id, {"state": "failed", "error": _one_line(e)})
        if on_update is not None:
            on_update(ray.get(board.snapshot.remote()))
    return ray.get(board.snapshot.remote())


def _one_line(error: BaseException) -> str:
    cause = getattr(error, "cause", None) or error
    lines = str(cause).strip().splitlines() or [type(cause).__name__]
    return f"{type(cause).__name__}: {lines[-1] if len(lines) > 1 else lines[0]}"
