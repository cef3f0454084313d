"""A track's headroom: how far the best reference solution got, how fast a step could go
at the track's own shapes on the machine that measured them (the shape-aware ceiling), and
the big-GEMM rate as a reference figure, so that a track whose references sit near its
ceiling (saturated) is not mistaken for one that is hard, and a figure most programs do not
reach is not mistaken for the room there is. Neither figure bounds a program: measured,
both price the step's products at rates torch reaches on this machine, and hand-written
products can run faster (range_cpp's do: bench/roofline.py and bench/shape_ceiling.py cite
the measurements).

From the track's records alone (no torch import, like the rest of the leaderboard):

    steps        a run's FLOPs over one step's: achieved FLOP/s x baseline seconds /
                 flops_per_step, from any record's roofline block
    baseline_s   the median of the track's distinct baseline medians (the candidates of one
                 `speedup bench` share their baseline runs)

The shape-aware ceiling (bench/shape_ceiling.py): baseline_s / (steps x step_s), step_s one
step with every matmul at the rate measured for its shape plus the minimum bytes at the copy
bandwidth. An estimate of what a fused program can reach, not a proof. Its measurements
come from the track's records, the committed files in SHAPE_FILES and this machine's cache,
for the records' device, preset and FLOPs per step. The fastest gives the ceiling: a
slower one was measured beside other work (in the committed file, the median cpu run is 5x
slower than the fastest), which says nothing about the device. A device with none has no
ceiling, and the leaderboard says how to measure one.

The big-GEMM rate: baseline_s / (steps x max(flops_per_step / ceiling FLOP/s,
min_bytes_per_step / ceiling bytes/s)), a step with every product at the rate of torch's
one large matmul and the minimum bytes at one large copy's, whichever takes longer
(bench/step_cost.py derives both per-step numbers from the preset). A reference, not a
bound: a step's small products usually run slower than one large matmul, and a hand-written
kernel can run faster. Its rate is measured, never a guess: the measured ceilings in the
track's records and in the committed files in CEILING_FILES for the same device (the
fastest gives the figure, the slowest the low end of its range, since a measurement beside
other work only comes out slower), else a GPU's datasheet entry as its records carry it.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

MEASUREMENTS = Path(__file__).with_name("measurements")
# committed ceiling measurements (bench/measurements/), each a list of measure_ceiling runs
CEILING_FILES = ("2026-12-02-cpu-ceiling.json",)
# committed shape measurements, each a list of bench.shape_ceiling entries ("runs")
SHAPE_FILES: tuple[str, ...] = ("2026-12-07-shape-ceiling.json",)
SHAPE_CEILING_LABEL = ("shape-aware ceiling (an estimate of what a fused program can reach, "
                       "not a proof: every matmul at this machine's measured rate for its "
                       "shape, plus the step's minimum bytes at copy bandwidth)")
BIG_GEMM_LABEL = ("big-GEMM rate (a reference, not a bound): every matmul at the rate torch "
                  "measured for one large matmul on the track's device, which a step's small "
                  "products usually do not reach and a hand-written kernel can beat")


@dataclass
class Ceiling:
    flops_per_s: float
    bytes_per_s: float
    source: str  # the measurement file or record it comes from, or the datasheet


@dataclass
class ShapeMeasurement:
    step_s: float  # one step at the measured rates (bench.shape_ceiling.step_seconds)
    matmul_s: float  # of which the matmuls, each at its shape's rate
    bytes_s: float  # and the minimum bytes at the copy bandwidth
    source: str  # the measurement file, record or cache it comes from
    date: str


@dataclass
class Rung:
    name: str  # a reference entrant of the track
    speedup: float  # its best median speedup
    share_of_ceiling: float | None  # of the shape-aware ceiling (None: no ceiling)


@dataclass
class Headroom:
    baseline_s: float | None = None  # median over the track's records
    records: int = 0  # how many distinct baseline medians the records gave
    steps: int | None = None
    flops_per_step: float | None = None
    min_bytes_per_step: float | None = None
    best_reference: str | None = None
    best_reference_speedup: float | None = None
    ladder: list[Rung] = field(default_factory=list)  # the reference entrants, slowest first
    # the shape-aware ceiling: what a fused program can reach, estimated
    shape_ceiling: float | None = None  # at the fastest measurement, as a speedup
    shape_step_s: float | None = None  # seconds per step at the fastest measurement
    shape_measurements: list[ShapeMeasurement] = field(default_factory=list)  # fastest first
    shape_note: str = ""  # why there is no shape-aware ceiling
    # the big-GEMM rate: a step at one large matmul's rate (a reference, not a bound)
    kind: str | None = None  # of the big-GEMM measurement: measured | datasheet
    ceilings: list[Ceiling] = field(default_factory=list)  # fastest first
    big_gemm_s: float | None = None  # the run's steps at the fastest
    big_gemm: float | None = None  # as a speedup over the baseline
    big_gemm_low: float | None = None  # at the slowest measurement (None: one)
    limited_by: str | None = None  # compute | memory, at the fastest
    note: str = ""  # why there is no big-GEMM figure

    @property
    def best_reference_share(self) -> float | None:
        """The best reference's speedup as a fraction of the shape-aware ceiling."""
        if self.shape_ceiling and self.best_reference_speedup:
            return self.best_reference_speedup / self.shape_ceiling
        return None

    def to_dict(self) -> dict:
        return {**asdict(self), "best_reference_share": self.best_reference_share,
                "labels": {"shape_ceiling": SHAPE_CEILING_LABEL,
                           "big_gemm": BIG_GEMM_LABEL}}


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


def shape_entries(device_name: str, preset: str,
                  directory: Path = MEASUREMENTS) -> list[tuple[dict, str]]:
    """(entry, source) of every committed and cached shape measurement of `preset` on
    `device_name`; the caller checks that an entry is at its track's shapes."""
    from bench.shape_ceiling import cache_entries

    found = []
    for name in SHAPE_FILES:
        try:
            runs = json.loads((directory / name).read_text())["runs"]
        except (OSError, ValueError, KeyError):
            continue
        found += [(e, f"bench/measurements/{name}") for e in runs]
    for kind in ("cpu", "cuda"):
        found += [(e, "this machine's cache") for e in cache_entries(kind)]
    return [(e, source) for e, source in found
            if e.get("device") == device_name and e.get("preset") == preset]


def _shape_measurements(h: Headroom, records: list[dict],
                        directory: Path) -> list[ShapeMeasurement]:
    """The track's shape measurements, fastest first: those its records carry, the
    committed ones and the cached ones, for its device, preset and step (same FLOPs and
    bytes: a preset whose shapes changed since is not priced with old rates)."""
    from bench.shape_ceiling import step_parts

    found = [(_roofline(r)["shape_ceiling"], Path(r.get("_path", "a record")).name)
             for r in records if _roofline(r).get("shape_ceiling")]
    for name in sorted({r["environment"]["device_name"] for r in records}):
        found += shape_entries(name, records[0]["preset"], directory)
    distinct = {}
    for entry, source in found:
        if (math.isclose(entry["flops_per_step"], h.flops_per_step, rel_tol=1e-9)
                and math.isclose(entry["step_bytes"], h.min_bytes_per_step, rel_tol=1e-9)):
            key = (entry["device"], entry["date"], entry["seconds_per_step"])
            matmul_s, bytes_s = step_parts(entry)
            distinct.setdefault(key, ShapeMeasurement(matmul_s + bytes_s, matmul_s, bytes_s,
                                                      source, entry["date"]))
    return sorted(distinct.values(), key=lambda m: m.step_s)


def _shape_ceiling(h: Headroom, records: list[dict], directory: Path) -> None:
    h.shape_measurements = _shape_measurements(h, records, directory)
    if not h.shape_measurements:
        devices = ", ".join(sorted({r["environment"]["device_name"] for r in records}))
        h.shape_note = (f"no measurement at this track's shapes on {devices}: `speedup bench "
                        f"--measure-ceiling --preset {records[0]['preset']} --device "
                        f"{records[0]['device']}` on that machine measures one")
        return
    h.shape_step_s = h.shape_measurements[0].step_s
    h.shape_ceiling = h.baseline_s / (h.steps * h.shape_step_s)


def _big_gemm(h: Headroom, records: list[dict], directory: Path) -> None:
    h.kind, h.ceilings = _ceilings(records, directory)
    if not h.ceilings:
        h.note = ("no big-GEMM rate measured for this device: `speedup bench "
                  "--measure-ceiling` measures one")
        return

    def run_s(c: Ceiling) -> float:
        return h.steps * max(h.flops_per_step / c.flops_per_s,
                             h.min_bytes_per_step / c.bytes_per_s)

    best, worst = h.ceilings[0], h.ceilings[-1]
    h.big_gemm_s = run_s(best)
    h.big_gemm = h.baseline_s / h.big_gemm_s
    compute = h.flops_per_step / best.flops_per_s
    h.limited_by = "compute" if compute >= h.min_bytes_per_step / best.bytes_per_s else "memory"
    if len(h.ceilings) > 1:
        h.big_gemm_low = h.baseline_s / run_s(worst)


def track_headroom(records: list[dict], reference_rows: list[tuple[str, float]],
                   directory: Path = MEASUREMENTS) -> Headroom:
    """The headroom of one track from its records; `reference_rows`: (name, best speedup)
    of its reference entrants, the rungs of its ladder."""
    h = Headroom()
    if reference_rows:
        h.best_reference, h.best_reference_speedup = max(reference_rows, key=lambda r: r[1])
    # distinct values: the candidates of one `speedup bench` share its baseline runs
    times = sorted({r["baseline_median_s"] for r in records if r.get("baseline_median_s")})
    sized = [r for r in records if _roofline(r).get("achieved_flops_per_s")
             and r.get("baseline_median_s")]
    if not times or not sized:
        h.note = h.shape_note = "no record timed the baseline"
    else:
        h.baseline_s, h.records = statistics.median(times), len(times)
        line = _roofline(sized[0])
        h.flops_per_step = line["flops_per_step"]
        h.min_bytes_per_step = line["min_bytes_per_step"]
        h.steps = round(line["achieved_flops_per_s"] * sized[0]["baseline_median_s"]
                        / h.flops_per_step)
        _shape_ceiling(h, records, directory)
        _big_gemm(h, records, directory)
    h.ladder = [Rung(name, speedup, speedup / h.shape_ceiling if h.shape_ceiling else None)
                for name, speedup in sorted(reference_rows, key=lambda r: r[1])]
    return h
