"""The parent's side of a child's processes: reading its status pipe with a deadline,
killing what it started, and keeping this process unreadable while a child lives.

With namespaces, the run's PID namespace is the boundary: `sweep_namespace` kills and waits
out every process left in it. Without, `sweep_strays` finds what escaped the process group
by session and by a marker in its environment (a process that changed both escapes it:
that is what namespaces are for).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path


class ChannelError(Exception):
    """A pipe's writer broke its bounds (a line too long, too many bytes in all)."""


class LineReader:
    """Lines from a pipe with a deadline; "" at EOF, None on timeout. The pipe's writer is
    the run, so what it can make the judge hold is bounded: a line longer than `max_line`
    or more than `max_total` bytes in all raise ChannelError, and each read is split into
    lines at once (no line is copied again for every line after it)."""

    def __init__(self, fd: int, max_line: int = 64 << 10, max_total: int = 16 << 20):
        self.fd, self.max_line, self.max_total = fd, max_line, max_total
        self.partial, self.lines, self.total, self.eof = b"", deque(), 0, False
        self.broken: str | None = None  # raised once the lines before it are read

    def next_line(self, deadline: float) -> str | None:
        while not self.lines:
            if self.broken:
                raise ChannelError(self.broken)
            if self.eof:
                return ""
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            self._read()
        return self.lines.popleft().decode(errors="replace").strip()

    def _read(self) -> None:
        chunk = os.read(self.fd, 65536)
        self.total += len(chunk)
        if self.total > self.max_total:
            self.broken = f"more than {self.max_total} bytes on the channel"
            return
        if not chunk:
            self.eof = True
            if self.partial:
                self.lines.append(self.partial)
            return
        *complete, self.partial = (self.partial + chunk).split(b"\n")
        for line in complete:
            if len(line) > self.max_line:
                break
            self.lines.append(line)
        else:
            if len(self.partial) <= self.max_line:
                return
        self.broken = f"a line longer than {self.max_line} bytes on the channel"


def kill_group(proc: subprocess.Popen) -> None:
    """The child's whole process group at once, and the child itself should it have left
    the group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)


# ---------------------------------------------------------------------------- namespaces

def pid_namespace(pid: int) -> str | None:
    """The PID namespace a process is in ('pid:[4026532...]'), None if it is gone."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def sweep_namespace(namespace: str | None, init_pid: int | None,
                    timeout: float = 30.0) -> list[int]:
    """Kill every process still in the run's PID namespace and wait until none is left
    (killing its init makes the kernel kill the rest; this waits for that, and kills
    directly whatever it finds meanwhile). Returns the pids found alive."""
    if namespace is None:
        return []
    found: set[int] = set()
    deadline = time.monotonic() + timeout
    if init_pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(init_pid, signal.SIGKILL)
    while time.monotonic() < deadline:
        left = [pid for pid in _proc_pids() if _live(pid) and pid_namespace(pid) == namespace]
        if not left:
            break
        _kill_all(left)
        found.update(left)
        _reap(left)
        time.sleep(0.01)
    if init_pid is not None:
        _reap([init_pid])
    return sorted(found)


# ---------------------------------------------------------------------------- process only

def sweep_strays(child_pid: int, marker: str, rounds: int = 20) -> list[int]:
    """Kill every process the child left behind that kept its session, or our marker in
    its environment (reparented orphans land on this process, a subreaper while the run
    lives, or on init). Returns the pids killed."""
    killed = []
    for _ in range(rounds):
        strays = [pid for pid in _proc_pids() if _is_stray(pid, child_pid, marker)]
        if not strays:
            break
        _kill_all(strays)
        killed += strays
        time.sleep(0.02)
        _reap(strays)
    return sorted(set(killed))


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _proc_pids() -> list[int]:
    if not os.path.isdir("/proc"):
        return []
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, ppid, pgrp, session) from /proc/PID/stat."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[3])


def _live(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _is_stray(pid: int, child_pid: int, marker: str) -> bool:
    stat = _stat(pid)
    if stat is None or (stat[0] == "Z" and stat[1] != os.getpid()):
        return False  # gone, or a zombie whose parent will reap it
    if stat[2] == child_pid or stat[3] == child_pid:
        return True
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"SPEEDUP_SANDBOX_RUN={marker}".encode() in environ.split(b"\0")


def _reap(pids: list[int]) -> None:
    """Reap the ones that became our children (we are their subreaper while a run lives);
    no other child of this process is touched."""
    for pid in pids:
        stat = _stat(pid)
        if stat and stat[1] == os.getpid():
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


@contextlib.contextmanager
def parent_guard() -> Iterator[None]:
    """While a child lives (Linux): non-dumpable, so no process of our user can read our
    memory or environment via /proc; a subreaper, so descendants that escape the child's
    process group are reparented to us and can be swept."""
    libc = _libc()
    if libc is None:
        yield
        return
    pr_get_dumpable, pr_set_dumpable, pr_set_child_subreaper = 3, 4, 36
    was_dumpable = libc.prctl(pr_get_dumpable, 0, 0, 0, 0)
    libc.prctl(pr_set_dumpable, 0, 0, 0, 0)
    libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(pr_set_child_subreaper, 0, 0, 0, 0)
        if was_dumpable > 0:
            libc.prctl(pr_set_dumpable, was_dumpable, 0, 0, 0)


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
