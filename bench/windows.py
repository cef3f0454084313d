"""Where and when timed runs ran, read back from records, so anyone can check afterwards that
no two of them shared a device.

Every timed run's row in a record carries its wall-clock window (time.time() at go and
done, see bench/evaluation.py), and a record's `timing` names the place it was timed on:
the machine (a hash of its machine id, so records do not publish host names), the device
slot (`cpu`, or `cuda:<index>` as CUDA_VISIBLE_DEVICES names the GPU), and the timing
lease held around the runs (`ray:<resource>` in a sweep, None for a single command, which
holds none). Two windows overlap when they share a place and one starts before the other
ends; the same run listed in several records (the baseline runs that candidates of one
`speedup bench` share) is one window.

A round the clock timed again because other work contended it (bench/contention.py) keeps
its discarded attempts in the row's `discarded`. Their runs held the device as every kept
run did, so they are windows too, each marked `discarded`: an overlap with one is an
overlap, and a timing lease that failed shows first as exactly such contention, which the
clock's retry would otherwise leave no trace of.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

_MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")
# (part of a record, the sides of its rows that are runs)
_TIMED_PARTS = (("rounds", ("baseline", "candidate")), ("self_rounds", ("first", "second")),
                ("warmup", ("baseline", "candidate")))


@functools.lru_cache(maxsize=1)
def machine_id() -> str:
    """12 hex digits naming this machine: a hash of its machine id (the host name where
    there is none), stable across reboots and the same for every user."""
    for path in _MACHINE_ID_FILES:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text:
            return hashlib.sha256(text.encode()).hexdigest()[:12]
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]


def device_slot(device: str) -> str:
    """The device the runs of this process time on: `cpu`, or the first GPU that
    CUDA_VISIBLE_DEVICES lets it see (Ray sets it for a task that holds a GPU)."""
    if device != "cuda":
        return device
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    return f"cuda:{visible or '0'}"


def timing_place(device: str, lease: str | None = None) -> dict:
    """A record's `timing`: where its runs were timed and under which lease."""
    return {"machine": machine_id(), "device": device_slot(device), "lease": lease}


@dataclass(frozen=True, order=True)
class Window:
    start: float
    end: float
    place: tuple[str | None, str]  # (machine, device slot)
    run: str  # which run: "<record file>: rounds 2 candidate[, attempt 1 (discarded)]"
    discarded: bool = False  # an attempt the clock timed again (module docstring)


def timed_windows(record: dict) -> list[Window]:
    """Every run of the record that has a wall-clock window, discarded attempts included
    (records written before the windows existed have none)."""
    timing = record.get("timing") or {}
    place = (timing.get("machine"), timing.get("device") or record.get("device", "?"))
    name = Path(record.get("_path", "record")).name
    found = []
    for part, sides in _TIMED_PARTS:
        rows = record.get(part) or []
        for row in ([rows] if isinstance(rows, dict) else rows):
            label = f"{name}: {part} {row.get('round', '')}".rstrip()
            found += _row_windows(row, sides, place, label, discarded=False)
            for n, attempt in enumerate(row.get("discarded") or [], 1):
                found += _row_windows(attempt, sides, place, label, discarded=True,
                                      suffix=f", attempt {n} (discarded)")
    return found


def _row_windows(row: dict, sides: tuple[str, ...], place: tuple, label: str, *,
                 discarded: bool, suffix: str = "") -> list[Window]:
    return [Window(row[f"{side}_started_at"], row[f"{side}_ended_at"], place,
                   f"{label} {side}{suffix}", discarded)
            for side in sides
            if row.get(f"{side}_started_at") is not None
            and row.get(f"{side}_ended_at") is not None]


def overlaps(records: list[dict]) -> list[tuple[Window, Window]]:
    """Pairs of distinct timed runs that shared a place and a moment (empty: none did)."""
    unique: dict[tuple, Window] = {}
    for record in records:
        for w in timed_windows(record):
            unique.setdefault((w.place, w.start, w.end), w)
    found = []
    by_place: dict[tuple, list[Window]] = {}
    for w in unique.values():
        by_place.setdefault(w.place, []).append(w)
    for windows in by_place.values():
        windows.sort()
        latest = None  # the window that ends last among those started so far
        for w in windows:
            if latest is not None and w.start < latest.end:
                found.append((latest, w))
            if latest is None or w.end > latest.end:
                latest = w
    return found
