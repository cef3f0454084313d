"""A track's headroom: how fast the roofline lets a step go, as a speedup over the baseline,
and how far the best reference solution got, so that a track whose references sit near
the bound (saturated) is not mistaken for one that is hard.

The bound, from the track's records alone (no torch import, like the rest of the
leaderboard):

    steps       a run's FLOPs over one step's: achieved FLOP/s x baseline seconds /
                flops_per_step, from any record's roofline block
    bound_s     steps x max(flops_per_step / ceiling FLOP/s, min_bytes_per_step /
                ceiling bytes/s): a step at the device's ceiling, compute or memory,
                whichever is slower (bench/roofline.py derives both per-step numbers from
                the preset)
    baseline_s  the median of the track's distinct baseline medians (the candidates of one
                `speedup bench` share their baseline runs)
    bound       baseline_s / bound_s

The ceiling is measured, never a guess: the measured ceilings in the track's records and
in the committed measurement files below for the same device (the best one gives the
bound, the worst the low end of its range, since a ceiling is what the device can do at
best), else a GPU's datasheet entry as its records carry it. A CPU with none of those has
no bound, and the leaderboard says so.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

MEASUREMENTS = Path(__file__).with_name("measurements")
# committed ceiling measurements (bench/measurements/), each a list of measure_ceiling runs
CEILING_FILES = ("2026-12-02-cpu-ceiling.json",)


@dataclass
class Ceiling:
    flops_per_s: float
    bytes_per_s: float
    source: str  # the measurement file or record it comes from, or the datasheet


@dataclass
class Headroom:
    baseline_s: float | None = None  # median over the track's records
    records: int = 0  # how many distinct baseline medians the records gave
    steps: int | None = None
    flops_per_step: float | None = None
    min_bytes_per_step: float | None = None
    kind: str | None = None  # of the ceiling: measured | datasheet
    ceilings: list[Ceiling] = field(default_factory=list)  # best first
    bound_s: float | None = None  # at the best ceiling
    bound: float | None = None  # the roofline bound as a speedup over the baseline
    bound_low: float | None = None  # at the worst measured ceiling (None: one measurement)
    limited_by: str | None = None  # compute | memory, at the best ceiling
    best_reference: str | None = None
    best_reference_speedup: float | None = None
    note: str = ""  # why there is no bound

    @property
    def reference_share(self) -> float | None:
        """The best reference's speedup as a fraction of the bound."""
        if self.bound and self.best_reference_speedup:
            return self.best_reference_speedup / self.bound
        return None

    def to_dict(self) -> dict:
        return {**asdict(self), "reference_share": self.reference_share}


def _roofline(record: dict) -> dict:
    return (record.get("roofline") or {}).get("baseline") or {}


def committed_ceilings(device_name: str, directory: Path = MEASUREMENTS) -> list[Ceiling]:
    """Measured ceilings of `device_name` in the committed measurement files."""
    found = []
    for name in CEILING_FILES:
        try:
            runs = json.loads((directory / name).read_text())["runs"]
        except (OSError, ValueError, KeyError):
            continue
        found += [Ceiling(r["flops_per_s"], r["bytes_per_s"], f"bench/measurements/{name}")
                  for r in runs if r.get("device") == device_name]
    return found


def _ceilings(records: list[dict], directory: Path) -> tuple[str | None, list[Ceiling]]:
    measured, datasheet, names = [], [], set()
    for r in records:
        names.add(r["environment"]["device_name"])
        ceiling = _roofline(r).get("ceiling")
        if not ceiling:
            continue
        c = Ceiling(ceiling["flops_per_s"] if "flops_per_s" in ceiling
                    else ceiling["bf16_flops"], ceiling["bytes_per_s"],
                    Path(r.get("_path", "a record")).name)
        (measured if ceiling.get("kind") == "measured" else datasheet).append(c)
    for name in sorted(names):
        measured += committed_ceilings(name, directory)
    chosen, kind = (measured, "measured") if measured else (datasheet[:1], "datasheet")
    return (kind if chosen else None), sorted(chosen, key=lambda c: -c.flops_per_s)


def track_headroom(records: list[dict], reference_rows: list[tuple[str, float]],
                   directory: Path = MEASUREMENTS) -> Headroom:
    """The headroom of one track from its records; `reference_rows`: (name, best speedup)
    of its reference entrants."""
    h = Headroom()
    if reference_rows:
        h.best_reference, h.best_reference_speedup = max(reference_rows, key=lambda r: r[1])
    # distinct values: the candidates of one `speedup bench` share its baseline runs
    times = sorted({r["baseline_median_s"] for r in records if r.get("baseline_median_s")})
    sized = [r for r in records if _roofline(r).get("achieved_flops_per_s")
             and r.get("baseline_median_s")]
    if not times or not sized:
        h.note = "no record timed the baseline"
        return h
    h.baseline_s, h.records = statistics.median(times), len(times)
    line = _roofline(sized[0])
    h.flops_per_step, h.min_bytes_per_step = line["flops_per_step"], line["min_bytes_per_step"]
    h.steps = round(line["achieved_flops_per_s"] * sized[0]["baseline_median_s"]
                    / h.flops_per_step)
    h.kind, h.ceilings = _ceilings(records, directory)
    if not h.ceilings:
        h.note = ("no measured ceiling for this device: `speedup bench --measure-ceiling` "
                  "measures one")
        return h

    def bound_s(c: Ceiling) -> float:
        return h.steps * max(h.flops_per_step / c.flops_per_s,
                             h.min_bytes_per_step / c.bytes_per_s)

    best, worst = h.ceilings[0], h.ceilings[-1]
    h.bound_s = bound_s(best)
    h.bound = h.baseline_s / h.bound_s
    compute = h.flops_per_step / best.flops_per_s
    h.limited_by = "compute" if compute >= h.min_bytes_per_step / best.bytes_per_s else "memory"
    if len(h.ceilings) > 1:
        h.bound_low = h.baseline_s / bound_s(worst)
    return h
