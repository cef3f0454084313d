"""The official evaluation: the one path from solution directories to records. `speedup
bench`, an agent session's scoring (through agent/launch/project_harness.py, so the CLI's
sessions, sweeps and the Inspect scorer alike) and `speedup verify` all come here, so every
record has the same fields, filled the same way, whoever asked.

    prepare(preset, device)         the track made ready: the calibration that judges it
                                    (made now when missing: bench/calibration.py), the
                                    device's big-GEMM ceiling and the preset's shape-aware
                                    one (measured once per machine, then cached)
    evaluate(dirs, preset, device)  prepare, then the clock (bench/clock.py)
    write(evaluation, entry, ...)   the archive of the scored files (and an agent's
                                    transcript) and the record, in results_dir
    run(entries, preset, device)    all three, each record written as its evaluation ends

Each but `write` takes `tolerances`, the correctness.tolerances.Source the caller judges
with: its calibration is looked up there, and made there when missing.

Every record names the command that asked for it as a user would type it (`command_line`:
'speedup bench DIR --preset tiny', never an interpreter's path), every hash in it reads
'sha256:<hex>', and its roofline is computed against this machine's measured ceilings.
Long steps say what they are doing through `on_status(text)`; nothing here prints.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.evaluation import Evaluation

if TYPE_CHECKING:
    from correctness.tolerances import Source

Status = Callable[[str], None]
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Track:
    """A track made ready to judge and to price: `calibration` (the identity of the
    thresholds; None when only the ceilings were asked for), `ceiling` (None: a GPU never
    measured here, whose datasheet entry serves) and `shapes`, with where each came from."""

    preset: str
    device: str
    calibration: dict | None
    ceiling: dict | None
    ceiling_source: str  # "cached in PATH", "measured" or "datasheet"
    shapes: dict
    shapes_source: str  # "cached in PATH" or "measured"


@dataclass(frozen=True)
class Entry:
    """One candidate and who entered it. `agent`: the record's agent block (what a session
    spent, why it stopped, ...); `transcript`: the session's transcript, archived with the
    record and hashed into that block."""

    solution_dir: Path
    entrant: dict
    allow_library: bool = False
    agent: dict | None = None
    transcript: Path | None = None


@dataclass(frozen=True)
class Result:
    evaluation: Evaluation
    record: Path | None  # None: the candidate never finished a timed run, so no record


def command_line(argv: Sequence[str], program: str = "speedup") -> str:
    """The command as a user types it: the program's name, then its arguments, quoted
    where a shell needs it."""
    return shlex.join([program, *argv])


def _quiet(text: str) -> None:
    pass


# ---------------------------------------------------------------------------- the track

def prepare(preset: str, device: str, *, tolerances: Source, calibrate: bool = True,
            auto: bool = True, refresh_ceilings: bool = False, on_status: Status | None = None,
            on_progress: Progress | None = None) -> Track:
    """The track ready to judge (its calibration in `tolerances`, made now when missing
    and `auto`: bench/calibration.py) and to price (the ceilings: cached,
    else measured now; `refresh_ceilings` measures them again). NotReady
    (bench.calibration) when the track cannot be judged."""
    from bench.calibration import ensure_calibrated

    status = on_status or _quiet
    calibration = (ensure_calibrated(preset, device, tolerances=tolerances, auto=auto,
                                     on_status=on_status, on_progress=on_progress)
                   if calibrate else None)
    ceiling, ceiling_source = _ceiling(device, refresh_ceilings, status)
    shapes, shapes_source = _shapes(preset, device, refresh_ceilings, status)
    return Track(preset, device, calibration, ceiling, ceiling_source, shapes, shapes_source)


def _ceiling(device: str, refresh: bool, status: Status) -> tuple[dict | None, str]:
    """The device's measured ceiling: this machine's cached one, else measured now on a
    CPU (which has no datasheet entry); a GPU is measured only when asked (`refresh`)."""
    from bench.roofline import cached_ceiling, ceiling_path, ensure_ceiling

    cached = None if refresh else cached_ceiling(device)
    if cached is not None:
        return cached, f"cached in {ceiling_path(device)}"
    if not refresh and device != "cpu":
        return None, "datasheet"
    status(f"measuring the {device} ceiling (one large matmul, one large copy)")
    return ensure_ceiling(device, refresh=True), "measured"


def _shapes(preset: str, device: str, refresh: bool, status: Status) -> tuple[dict, str]:
    """The preset's shape-aware ceiling on this machine (bench/shape_ceiling.py); no
    device has a datasheet for it, so it is measured on a GPU too."""
    from baseline import get_preset
    from bench.shape_ceiling import cached_shapes, ensure_shapes, shapes_path

    cfg = get_preset(preset).to_cfg(device)
    cached = None if refresh else cached_shapes(cfg, preset, device)
    if cached is not None:
        return cached, f"cached in {shapes_path(device)}"
    status(f"measuring the {device} matmul rate at each of {preset}'s training-step shapes")
    return ensure_shapes(cfg, preset, device, refresh=True), "measured"


# ---------------------------------------------------------------------------- evaluate

def evaluate(solution_dirs: Sequence[str | Path], preset: str, device: str, *, rounds: int,
             tolerances: Source, repeat_self: bool = False,
             allow_library: bool | Sequence[bool] = False,
             track: Track | None = None, auto_calibrate: bool = True,
             on_status: Status | None = None,
             on_progress: Progress | None = None,
             on_evaluation: Callable[[Evaluation], None] | None = None) -> list[Evaluation]:
    """The track prepared (unless `track` is; calibrated first when missing and
    `auto_calibrate`, its runs told to `on_progress` too), then the clock: the candidates
    one after another against one set of baseline runs (bench.clock.official_evaluations);
    `allow_library` for all of them or one per candidate; every candidate judged with
    `tolerances`' thresholds. correctness.training_check's HarnessError when the baseline
    itself fails."""
    from bench.clock import official_evaluations

    if track is None:
        prepare(preset, device, tolerances=tolerances, auto=auto_calibrate,
                on_status=on_status, on_progress=on_progress)
    if isinstance(allow_library, bool):
        allow_library = [allow_library] * len(solution_dirs)
    return official_evaluations([str(d) for d in solution_dirs], preset, device,
                                rounds=rounds, repeat_self=repeat_self,
                                allow_library=list(allow_library), tolerances=tolerances,
                                on_progress=on_progress, on_evaluation=on_evaluation)


# ---------------------------------------------------------------------------- the record

def write(evaluation: Evaluation, entry: Entry, *, results_dir: str | Path, command: str,
          track: Track | None = None, archive_dir: str | Path | None = None) -> Path:
    """Archive the scored files (and the transcript) in results_dir and write the record;
    its path. `archive_dir`: where the archive goes instead, to be copied beside the record
    later (the record names it relative to its results folder either way). The roofline
    is priced against `track`'s ceilings, else this machine's cached ones, which `evaluate`
    measured when there were none: writing a record times nothing, so it never waits for a
    timing lease."""
    from bench import archive, records
    from bench.roofline import for_evaluation

    roofline = (for_evaluation(evaluation, track.ceiling, track.shapes) if track
                else for_evaluation(evaluation))
    where = archive_dir or results_dir
    kept = {"solution": archive.archive_solution(evaluation.solution_dir, where)}
    agent = None if entry.agent is None else dict(entry.agent)
    if entry.transcript is not None:
        kept["transcript"] = archive.archive_transcript(entry.transcript, where)
        agent = {**(agent or {}), "transcript_path": records.portable(entry.transcript),
                 "transcript_sha256": kept["transcript"]["hash"]}
    record = records.build_record(evaluation, entry.entrant, command=command,
                                  roofline=roofline, archive=kept, agent=agent)
    return records.write_record(record, results_dir)


def run(entries: Sequence[Entry], preset: str, device: str, *, rounds: int,
        results_dir: str | Path, command: str, tolerances: Source, repeat_self: bool = False,
        archive_dir: str | Path | None = None, track: Track | None = None,
        on_status: Status | None = None,
        on_progress: Progress | None = None,
        on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """The official evaluation of every entry and its record, written as soon as its rounds
    end (a run cut off keeps the records before), then `on_result` told; `archive_dir` as
    for `write`."""
    track = track or prepare(preset, device, tolerances=tolerances, on_status=on_status,
                             on_progress=on_progress)
    results: list[Result] = []

    def finished(ev: Evaluation) -> None:
        entry = entries[len(results)]
        path = (write(ev, entry, results_dir=results_dir, command=command, track=track,
                      archive_dir=archive_dir) if ev.candidate_ran else None)
        results.append(Result(ev, path))
        if on_result is not None:
            on_result(results[-1])

    evaluate([e.solution_dir for e in entries], preset, device, rounds=rounds,
             repeat_self=repeat_self, allow_library=[e.allow_library for e in entries],
             tolerances=tolerances, track=track,
             on_progress=on_progress, on_evaluation=finished)
    return results
