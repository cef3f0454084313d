"""Reading the process table: did a process the sandbox should have killed survive?"""

from __future__ import annotations

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
