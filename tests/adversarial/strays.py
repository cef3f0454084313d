"""Reading the process table: did a process the sandbox should have killed survive?"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def gone(pid: int) -> bool:
    """No such process, or only a zombie (it can run nothing more)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def printed_pids(tail: str, label: str) -> list[int]:
    return [int(line.split()[1]) for line in tail.splitlines() if line.startswith(label + " ")]


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line contains `marker` (this one excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline and not gone(int(entry.name)):
            found.append(int(entry.name))
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
