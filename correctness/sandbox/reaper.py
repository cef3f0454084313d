"""The per-run reaper: without a PID namespace, the small trusted process that finds and
kills every process a run started, whatever each did to its session, process group and
environment.

    command(argv) -> argv     `argv` started under a reaper of its own
    finish(proc)              the judge's word: end the run now, and wait until it has ended

The reaper (this file run as a script, standard library only) makes itself the child
subreaper (PR_SET_CHILD_SUBREAPER), so a process of the run that loses its parent, a
double-forked `setsid` daemon with a cleared environment included, is reparented to the
reaper instead of to init: every process of the run stays in the reaper's tree. It starts
`argv`, closes every descriptor it inherited (the run's pipes reach EOF when the run's
processes are gone, not when the reaper is), and waits. When the first process exits, or
the judge sends SIGTERM, it kills all of its children with SIGKILL, reaps them, and repeats
until it has none: the orphans of each round are its children in the next. A process is
only killed while it is the reaper's own child, whose pid cannot be reused before the reaper
reaps it, so no other process can be hit. Then the reaper ends as the first process did (its
signal raised again, or its exit status), so the judge reads the run's fate as it would from
the child, and as bwrap reports it under namespaces.
"""

from __future__ import annotations

import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
FINISH_TIMEOUT = 30.0  # seconds: SIGKILL is not refused, but a process stuck in the kernel
# (uninterruptible I/O) dies only when that returns


def main(argv: list[str]) -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGCHLD})
    _subreaper()
    first = os.fork()
    if first == 0:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    status = _kill_all(first, _wait(first))
    _exit_like(status)


def _wait(first: int) -> int | None:
    """The first process's wait status when it exits, or None when SIGTERM comes first
    (both signals are blocked, so neither is lost between a check and the wait)."""
    while True:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid == 0:
                break
            if pid == first:
                return status
        if signal.sigwaitinfo({signal.SIGTERM, signal.SIGCHLD}).si_signo == signal.SIGTERM:
            return None


def _subreaper() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _kill_all(first: int | None, status: int | None) -> int | None:
    """SIGKILL every child and reap, until there is no child left; returns the first
    process's wait status (if it was still running, it is reaped here)."""
    deadline = time.monotonic() + FINISH_TIMEOUT
    while time.monotonic() < deadline:
        for pid in _children():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            pid, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status  # none left: every process of the run is dead and reaped
        if pid == first:
            status = code
        if pid == 0:
            time.sleep(0.001)
    return status


def _children() -> list[int]:
    """Pids whose parent is this process (zombies included), from /proc/PID/stat."""
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat[stat.rindex(b")") + 2:].split()[1]) == me:
            found.append(int(name))
    return found


def _exit_like(status: int | None) -> None:
    if status is None:
        os._exit(128 + signal.SIGKILL)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # a signal that does not end a process
    os._exit(os.waitstatus_to_exitcode(status))


# ---------------------------------------------------------------------------- the judge's side

def command(argv: list[str]) -> list[str]:
    """`argv` under a reaper of its own; start it in a new session (the reaper stays out of
    the child's way: the run's processes cannot reach its stdin, and it holds no pipe)."""
    return [sys.executable, "-I", "-S", "-B", os.path.abspath(__file__), *argv]


def finish(proc) -> None:
    """End the run whose reaper is `proc` (a subprocess.Popen) and wait until the reaper
    has reaped every process of it (FINISH_TIMEOUT, then the caller's own kill follows)."""
    import contextlib
    import subprocess

    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=FINISH_TIMEOUT + 5)


if __name__ == "__main__":
    main(sys.argv[1:])
