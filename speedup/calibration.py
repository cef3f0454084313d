"""Thresholds before judging: a command that judges a track makes sure its calibration
exists in the selected source, and calibrates it there first when it does not (an
estimate, a progress bar, a short report), so the main job works on a new track too."""

from __future__ import annotations

from collections.abc import Callable

from speedup.ui import UsageError, console, progress


def ensure_calibrated(preset: str, device: str, *, auto: bool = True) -> dict:
    """The judge needs the track's calibrated thresholds, from the selected source: found,
    or calibrated now (`auto`), before any other work starts. Returns the calibration's
    identity (correctness.tolerances.Source.identity)."""
    from correctness import tolerances

    source = tolerances.current()
    try:
        return source.identity(preset, device)
    except tolerances.NotCalibrated as e:
        if not auto:
            raise UsageError(f"{e}; or let the command calibrate it (drop "
                             "--no-auto-calibrate)") from None
    except tolerances.ToleranceError as e:
        raise UsageError(str(e)) from None
    try:
        source.check_writable()
    except tolerances.ToleranceError as e:
        raise UsageError(f"{preset}/{device} needs calibrating, but {e}") from None
    console.print(f"{preset}/{device} has no calibrated thresholds in {source.describe()}: "
                  "calibrating it first", markup=False)
    from correctness.calibrate import CalibrationError

    try:
        calibrate_track(preset, device, source=source)
    except CalibrationError as e:
        raise UsageError(f"cannot calibrate {preset}/{device}: {e}") from None
    return source.identity(preset, device)


def calibrate_track(preset: str, device: str, seeds: int | None = None, *, source,
                    jobs: int | None = None, report: Callable[[dict], None] | None = None
                    ) -> dict:
    """Calibrate one track into `source` (a correctness.tolerances.Source) with an estimate,
    a progress bar and `report(entry)` (default: a few lines, for a command that calibrates
    on first use and then goes on). Raises CalibrationError."""
    from correctness import calibrate, tolerances
    from correctness.calibration_variants import reference, solution_variants

    seeds = seeds or calibrate.DEFAULT_SEEDS
    try:
        target = source.check_writable()
    except tolerances.ToleranceError as e:
        raise UsageError(str(e)) from None
    jobs = jobs or calibrate.default_jobs(device)
    with console.status(f"timing a few steps of {preset}/{device} for the estimate"):
        guess = calibrate.estimate(preset, device, seeds, jobs)
    per_seed = calibrate.runs_per_seed(preset, device)
    shipped = [n for n in calibrate.variant_names(preset, device)
               if n in solution_variants(preset)]
    solutions = f" and {', '.join(shipped)} sandboxed" if shipped else ""
    console.print(f"calibrating {preset}/{device}: {seeds * per_seed} runs ({seeds} "
                  f"seed{'s' if seeds > 1 else ''}, each the reference "
                  f"({reference(preset)[1]}), {per_seed - 1 - len(shipped)} variants on the "
                  f"fast base{solutions}), {jobs} at a time; about "
                  f"{_duration(guess['wall_s'])} (a reference run about "
                  f"{_duration(guess['reference_s'])}, a variant about "
                  f"{_duration(guess['variant_s'])})", markup=False)
    with progress(f"calibrate {preset} on {device}", seeds * per_seed,
                  remaining=True) as advance:
        entry = calibrate.calibrate(preset, device, seeds, source=source, jobs=jobs,
                                    on_run=lambda done, total, text: advance(status=text))
    (report or _summary)(entry)
    console.print(f"wrote {preset}/{device} to {target} in {_duration(entry['wall_s'])}",
                  markup=False)
    return entry


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _summary(entry: dict) -> None:
    smallest = entry["smallest_cheat_detected"]
    caught = ("every cheat caught" if not entry["undetected"] else
              f"NOT caught: {', '.join(entry['undetected'])}")
    smallest_text = (f"; smallest detected: {smallest['variant']} (weight distance "
                     f"{smallest['weights']:.3g})" if smallest else "")
    console.print(f"calibrated {entry['preset']}/{entry['device']}: {caught}{smallest_text}",
                  markup=False)
    for line in plain_lines(entry):
        console.print(line, markup=False)


def plain_lines(entry: dict) -> list[str]:
    """What a reader must not miss: precision cuts that pass, variants not used."""
    lines = [f"{name}: {row['verdict']}" for name, row in entry["precision"].items()
             if row["kind"] == "illegal" and not entry["detection"][name]["detected"]]
    lines += [f"not used: {name}: {why}"
              for name, why in {**entry["skipped"], **entry["not_admitted"]}.items()]
    return lines


