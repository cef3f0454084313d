"""How much of the machine a timed run had: its own CPU time, and other work's, between `go`
and `done`.

    meter = usage.start(child_pid)   # at go, before the clock starts
    ...                              # the run trains
    run_usage = meter.stop()         # at done, before the kill: a RunUsage, or None

The run's CPU time is the user + system time of its processes, read from
/proc/<pid>/stat (utime and stime, plus cutime and cstime: the children each has reaped),
at done minus at go, so setup before go is not counted. Its processes are the tree under the
sandbox's child found at go (with namespaces: bwrap, the namespace's init and the solution's
interpreter); threads count in their process. A pid is known by its start time too, so
a pid reused by another process is not read as the run's.

The machine's busy time comes from /proc/stat's per-CPU lines for the CPUs this process
may run on (its affinity set, which the run inherits): user, nice, system, irq, softirq
and steal (time a hypervisor gave to other guests), not idle or iowait; guest time is
already inside user and nice. What those CPUs did beyond the run's own time is other work:
`foreign_share` = (busy - run) / (cpus x wall), the share of their capacity that other
work took while the run was timed.

`stop` reads only the processes found at go, so the kill that follows `done` is not
delayed by a walk of /proc (2 ms for 90 processes). A process started after go and still
alive at done is therefore missed: a solution may start none, and the compilers that
libraries start are waited for, so their time is in their parent's cutime by then. Missing
one can only raise the foreign share: the error is towards re-running a round, never
towards hiding contention.

Both files count clock ticks (USER_HZ, os.sysconf("SC_CLK_TCK")). Where /proc cannot be
read (not Linux), `stop` gives None: the usage is unknown, and nothing fails.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# /proc/stat columns: user nice system idle iowait irq softirq steal guest guest_nice
_BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)


@dataclass(frozen=True)
class RunUsage:
    wall_s: float  # the window between the two readings of /proc/stat
    cpu_s: float  # user + system time of the run's processes in that window
    machine_busy_s: float  # busy time of the CPUs the run could use, in that window
    cpus: int  # how many CPUs that is
    load_before: float | None  # the 1-minute load average at go

    @property
    def foreign_share(self) -> float:
        """The share of the CPUs' capacity that other work took during the run (0 to 1)."""
        capacity = self.cpus * self.wall_s
        if capacity <= 0:
            return 0.0
        return min(1.0, max(0.0, (self.machine_busy_s - self.cpu_s) / capacity))

    def to_dict(self) -> dict:
        return {**asdict(self), "foreign_share": self.foreign_share}


class Meter:
    """The readings taken at go; `stop()` takes those at done and gives the difference."""

    def __init__(self, pid: int, proc: Path, cpus: list[int], clock: Callable[[], float]):
        self.proc, self.cpus, self.clock = proc, cpus, clock
        try:
            self.tree = _tree(proc, pid)
            self.run_ticks = self._run_ticks()
            self.load = _load(proc)
            self.busy_ticks, self.cpus = _busy(proc, cpus)
            self.started = clock()
        except (OSError, ValueError, IndexError):
            self.tree = None

    def stop(self) -> RunUsage | None:
        """The run's usage from go to now; None when /proc could not be read."""
        if self.tree is None:
            return None
        try:
            busy, _ = _busy(self.proc, self.cpus)
            ended = self.clock()
            run = self._run_ticks()
        except (OSError, ValueError, IndexError):
            return None
        return RunUsage(wall_s=ended - self.started,
                        cpu_s=max(0, run - self.run_ticks) / TICKS_PER_S,
                        machine_busy_s=(busy - self.busy_ticks) / TICKS_PER_S,
                        cpus=len(self.cpus), load_before=self.load)

    def _run_ticks(self) -> int:
        """utime + stime + cutime + cstime of the processes found at go that still live
        (a process gone since is counted in the cutime of whoever reaped it)."""
        total = 0
        for pid, born in self.tree.items():
            stat = _stat(self.proc, pid)
            if stat is not None and stat[2] == born:
                total += stat[1]
        return total


def start(pid: int, *, proc: str | os.PathLike = "/proc", cpus: Iterable[int] | None = None,
          clock: Callable[[], float] = time.monotonic) -> Meter:
    """The readings at go for the process tree under `pid`, on `cpus` (default: the CPUs
    this process may run on). Never raises: a meter that could not read /proc stops as None."""
    if cpus is None:
        cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(
            os.cpu_count() or 1)
    return Meter(pid, Path(proc), sorted(cpus), clock)


def _stat(proc: Path, pid: int) -> tuple[int, int, int] | None:
    """(ppid, utime + stime + cutime + cstime, start time) from /proc/PID/stat; None if gone."""
    try:
        raw = (proc / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()  # the name may hold spaces and parentheses
    return int(fields[1]), sum(int(f) for f in fields[11:15]), int(fields[19])


def _tree(proc: Path, root: int) -> dict[int, int]:
    """{pid: start time} of `root` and all its descendants; ValueError if root is gone."""
    stats = {}
    for name in os.listdir(proc):
        if name.isdigit() and (stat := _stat(proc, int(name))) is not None:
            stats[int(name)] = stat
    if root not in stats:
        raise ValueError(f"process {root} is gone")
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        tree[pid] = stats[pid][2]
        todo += children.get(pid, [])
    return tree


def _busy(proc: Path, cpus: list[int]) -> tuple[int, list[int]]:
    """(busy ticks summed over `cpus`, the ones of them /proc/stat lists: the online ones)."""
    busy, found = 0, []
    for line in (proc / "stat").read_text().splitlines():
        name, *columns = line.split() or [""]
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            busy += sum(int(columns[i]) for i in _BUSY_COLUMNS if i < len(columns))
            found.append(int(name[3:]))
    if not found:
        raise ValueError("no CPU of the affinity set in /proc/stat")
    return busy, found


def _load(proc: Path) -> float | None:
    try:
        return float((proc / "loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
