"""A track's calibration before judging: the official evaluation (bench/official.py) and
every session's start make sure the track has calibrated thresholds in the tolerances
source they were handed (correctness.tolerances.Source), and calibrate it there first when
it has none, so every caller (a
command, a sweep's tasks, the Inspect task, `speedup verify`) works on a new track too.

Nothing here prints: what a long calibration is doing comes through `on_status(text)` (the
estimate, the plan, the summary, where it was written) and `on_progress(done, total, text)`
(one call per calibration run), for the caller to show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from correctness.tolerances import Source

Status = Callable[[str], None]
Progress = Callable[[int, int, str], None]


class NotReady(Exception):
    """A track that cannot be judged here: not calibrated where it may not be calibrated
    now, or its calibration failed. The message says what to do."""


def _quiet(*args) -> None:
    pass


def ensure_calibrated(preset: str, device: str, *, tolerances: Source, auto: bool = True,
                      on_status: Status | None = None,
                      on_progress: Progress | None = None) -> dict:
    """The identity of the track's calibration in `tolerances` (Source.identity): found,
    or, with `auto`, calibrated into it now. NotReady when it is missing and may not be
    made, or cannot be."""
    from correctness.calibrate import CalibrationError
    from correctness.tolerances import NotCalibrated, ToleranceError

    try:
        return tolerances.identity(preset, device)
    except NotCalibrated as e:
        if not auto:
            raise NotReady(f"{e}; or let the command calibrate it (drop "
                           "--no-auto-calibrate)") from None
    try:
        tolerances.check_writable()
    except ToleranceError as e:
        raise NotReady(f"{preset}/{device} needs calibrating, but {e}") from None
    (on_status or _quiet)(f"{preset}/{device} has no calibrated thresholds in "
                          f"{tolerances.describe()}: calibrating it first")
    try:
        calibrate_track(preset, device, source=tolerances, on_status=on_status,
                        on_progress=on_progress)
    except CalibrationError as e:
        raise NotReady(f"cannot calibrate {preset}/{device}: {e}") from None
    return tolerances.identity(preset, device)


def calibrate_track(preset: str, device: str, seeds: int | None = None, *, source: Source,
                    jobs: int | None = None, on_status: Status | None = None,
                    on_progress: Progress | None = None,
                    report: Callable[[dict], None] | None = None) -> dict:
    """Calibrate one track into `source` (a correctness.tolerances.Source): an estimate
    first, then every run, `report(entry)` (default: `summary_lines` as statuses), then
    where it was written; the entry written. Raises
    correctness.calibrate.CalibrationError, and ToleranceError when `source` cannot be
    written."""
    from correctness import calibrate
    from correctness.calibration_variants import reference, solution_variants

    status = on_status or _quiet
    seeds = seeds or calibrate.DEFAULT_SEEDS
    target = source.check_writable()
    jobs = jobs or calibrate.default_jobs(device)
    status(f"timing a few steps of {preset}/{device} for the estimate")
    guess = calibrate.estimate(preset, device, seeds, jobs)
    per_seed = calibrate.runs_per_seed(preset, device)
    shipped = [n for n in calibrate.variant_names(preset, device)
               if n in solution_variants(preset)]
    solutions = f" and {', '.join(shipped)} sandboxed" if shipped else ""
    status(f"calibrating {preset}/{device}: {seeds * per_seed} runs ({seeds} "
           f"seed{'s' if seeds > 1 else ''}, each the reference ({reference(preset)[1]}), "
           f"{per_seed - 1 - len(shipped)} variants on the fast base{solutions}), {jobs} at a "
           f"time; about {duration(guess['wall_s'])} (a reference run about "
           f"{duration(guess['reference_s'])}, a variant about "
           f"{duration(guess['variant_s'])})")
    entry = calibrate.calibrate(preset, device, seeds, source=source, jobs=jobs,
                                on_run=on_progress or _quiet)
    if report is not None:
        report(entry)
    else:
        for line in summary_lines(entry):
            status(line)
    status(f"wrote {preset}/{device} to {target} in {duration(entry['wall_s'])}")
    return entry


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def summary_lines(entry: dict) -> list[str]:
    """A calibration in a few lines: the cheats it catches, the smallest, and `plain_lines`."""
    smallest = entry["smallest_cheat_detected"]
    caught = ("every cheat caught" if not entry["undetected"] else
              f"NOT caught: {', '.join(entry['undetected'])}")
    smallest_text = (f"; smallest detected: {smallest['variant']} (weight distance "
                     f"{smallest['weights']:.3g})" if smallest else "")
    return [f"calibrated {entry['preset']}/{entry['device']}: {caught}{smallest_text}",
            *plain_lines(entry)]


def plain_lines(entry: dict) -> list[str]:
    """What a reader must not miss: precision cuts that pass, variants not used."""
    lines = [f"{name}: {row['verdict']}" for name, row in entry["precision"].items()
             if row["kind"] == "illegal" and not entry["detection"][name]["detected"]]
    lines += [f"not used: {name}: {why}"
              for name, why in {**entry["skipped"], **entry["not_admitted"]}.items()]
    return lines
