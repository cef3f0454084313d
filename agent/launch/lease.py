"""The timing lease, a sweep's gate (gate.py): every timed section (run_bench, the official
evaluation, calibration, measuring the ceiling, timing the baseline for the prompt) runs
alone on its device; API waits and edits run beside it, and so do the untimed runs of
solutions (run_check, run_python, profile) unless the sweep is exclusive, as it is on a CPU
by default (`exclusive_default` says why).

The lease is a Ray resource, and a timed section is a Ray task that asks for it: on CUDA
one GPU (`num_gpus=1`), on a CPU the custom resource `speedup_timing`, of which each node
has 1. Ray never runs tasks whose requests exceed a node's resources at once ("Ray makes
sure that the sum of the resource requirements of all of the concurrently running tasks
and actors on a given node does not exceed the node's total resources",
https://docs.ray.io/en/latest/ray-core/patterns/limit-running-tasks.html), so two timed
sections never share a GPU or a CPU node.

Why a task that runs the timed code, and not a semaphore actor the session's own process
acquires:
- Ray accounts resources to tasks and actors, not to stretches of a process: a task holds
  the lease exactly while it runs, and Ray frees it when the task returns, raises, or its
  worker dies. A semaphore held by a session killed mid-bench stays taken unless it tracks
  its holders' lives.
- On CUDA Ray picks the GPU and sets CUDA_VISIBLE_DEVICES for a task that holds one
  (https://docs.ray.io/en/latest/ray-core/scheduling/accelerators.html), so the sandboxed
  children of the timed section train on exactly the leased GPU; with a semaphore the
  session would have to rewrite its own environment around each section.
- Ray resources are logical ("Resource requirements of tasks or actors do NOT impose
  limits on actual physical resource usage",
  https://docs.ray.io/en/latest/ray-core/scheduling/resources.html): only code that asks
  for the lease is kept apart, which is what leaves the untimed work free to overlap.
The task is pinned to the session's node (NodeAffinitySchedulingStrategy with soft=False:
"the task or actor will only be scheduled there ... will wait indefinitely until resources
become available",
https://docs.ray.io/en/latest/ray-core/api/doc/ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy.html),
so it times the machine its record will name and reads the session's files. It costs a
process boundary: paths go in, a BenchOutcome or an Evaluation comes back.

Two more guards: the task takes an exclusive file lock per machine and device slot, so two
sweeps that each embedded their own Ray on one machine still take turns; and it restores
the driver's thread settings, since Ray starts its workers with OMP_NUM_THREADS=1, which
the sandboxed children would inherit (timed runs with one thread where `speedup bench`
uses every core).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

RESOURCE = "speedup_timing"  # the CPU timing lease: a custom Ray resource, 1 per node


class LeaseError(Exception):
    """Ray missing, or a cluster without the lease; the message says what to do."""


def require_ray():
    """The ray module, or a LeaseError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise LeaseError("sweeps run on Ray, which is not installed: "
                         "pip install '.[sweep]'") from None
    return ray


def lease_name(device: str) -> str:
    """How records name the lease their runs held (`timing.lease`)."""
    return "ray:GPU" if device == "cuda" else f"ray:{RESOURCE}"


def task_options(device: str) -> dict:
    """The Ray options that make a task hold `device`'s lease (and no CPU: a session
    blocked on it must not keep the lease task from starting)."""
    if device == "cuda":
        return {"num_gpus": 1, "num_cpus": 0}
    return {"resources": {RESOURCE: 1}, "num_cpus": 0}


@dataclass(frozen=True)
class Threads:
    """The driver's thread settings, restored in every worker (module docstring)."""

    omp_num_threads: str | None = field(
        default_factory=lambda: os.environ.get("OMP_NUM_THREADS"))
    torch_threads: int | None = None

    def restore(self) -> None:
        if self.omp_num_threads is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = self.omp_num_threads
        if self.torch_threads:
            import torch

            torch.set_num_threads(self.torch_threads)


@contextlib.contextmanager
def machine_lock(device: str) -> Iterator[None]:
    """An exclusive lock on this machine's device slot, released when the process ends
    however it ends (an flock dies with its holder)."""
    from bench.roofline import ceiling_path
    from bench.windows import device_slot

    path = ceiling_path(device).with_name(f"lease-{device_slot(device).replace(':', '')}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _leased(fn: Callable, args: tuple, kwargs: dict, device: str, context: dict,
            notify: Callable[[str], None] | None, label: str) -> Any:
    """The body of a leased task: runs while the task holds the lease."""
    context["threads"].restore()
    with machine_lock(device):
        held_from = time.monotonic()
        if notify is not None:
            notify(f"timing: {label}")
        result = fn(*args, **kwargs)
        held_s = time.monotonic() - held_from
    if isinstance(getattr(result, "timing", None), dict):  # an Evaluation: say it held one
        result.timing = {**result.timing, "lease": lease_name(device)}
    return result, held_s


class Lease:
    """Runs callables as Ray tasks holding `device`'s lease on this node; a callable
    carries what it needs (a harness's bound method, its thresholds source with it).
    `notify(text)`: told when a section waits for the lease and when it holds it."""

    def __init__(self, device: str, *, threads: Threads | None = None,
                 notify: Callable[[str], None] | None = None):
        ray = require_ray()
        self.device, self.notify = device, notify
        self.context = {"threads": threads or Threads()}
        self.node_id = ray.get_runtime_context().get_node_id()

    def run(self, fn: Callable, *args, label: str = "timed section", **kwargs) -> Any:
        """fn(*args, **kwargs) in a task that holds the lease; its exception, if any.
        `last_wait_s`: how long this call waited for the lease (0 when it raised)."""
        ray = require_ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if self.notify is not None:
            self.notify(f"waiting for the lease: {label}")
        task = _remote(ray).options(
            **task_options(self.device), max_retries=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(self.node_id, soft=False))
        self.last_wait_s, asked = 0.0, time.monotonic()
        try:
            result, held_s = ray.get(task.remote(fn, args, kwargs, self.device, self.context,
                                                 self.notify, label))
        except ray.exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None)
            raise (cause if isinstance(cause, BaseException) else e) from None
        self.last_wait_s = max(0.0, time.monotonic() - asked - held_s)
        return result


_REMOTE = {}


def _remote(ray):
    if "leased" not in _REMOTE:
        _REMOTE["leased"] = ray.remote(_leased)
    return _REMOTE["leased"]


def exclusive_default(device: str) -> bool:
    """Whether untimed solution runs hold the lease unless told: on a CPU yes. Its cores are
    the device a timed run is timed on: in a 2-session tiny sweep on 2 cores with only the
    timed sections leased, run_check took 82-190 s (8-12 s one session at a time) and 9 of
    the 30 reference runs timed inside run_bench took 62-98 s instead of 2-3 s, each one
    sharing the cores with the other session's check (two 2-thread torch processes on 2
    cores; bench/measurements/2026-12-02-sweep-cpu-sharing.json). On
    CUDA they stay beside: a session's worker holds no GPU, so an untimed run on the GPU
    (the quick check where tiny/cuda is calibrated) uses whichever one its worker sees, and
    `--exclusive` is the choice when that must never be a GPU a timed run holds."""
    return device == "cpu"
