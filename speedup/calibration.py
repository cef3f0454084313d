"""Thresholds before judging, on the command line: a track's calibration on first use and
`speedup calibrate`'s (bench/calibration.py), shown as lines and a progress bar on stderr,
with what stops them as the command's one-line usage error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.calibration import plain_lines
from speedup.ui import UsageError, reporter

if TYPE_CHECKING:
    from correctness.tolerances import Source

__all__ = ["calibrate_track", "ensure_calibrated", "plain_lines"]


def ensure_calibrated(preset: str, device: str, *, tolerances: Source,
                      auto: bool = True) -> dict:
    """The judge needs the track's calibrated thresholds, from `tolerances`: found, or
    calibrated into it now (`auto`), before any other work starts. Returns the
    calibration's identity (correctness.tolerances.Source.identity)."""
    from bench import calibration

    with reporter(f"calibrate {preset} on {device}", remaining=True) as (status, progress):
        try:
            return calibration.ensure_calibrated(preset, device, tolerances=tolerances,
                                                 auto=auto, on_status=status,
                                                 on_progress=progress)
        except calibration.NotReady as e:
            raise UsageError(str(e)) from None


def calibrate_track(preset: str, device: str, seeds: int | None = None, *, source: Source,
                    jobs: int | None = None, report=None) -> dict:
    """Calibrate one track into `source` with an estimate,
    a progress bar and `report(entry)` (default: a few lines). Raises CalibrationError."""
    from bench import calibration
    from correctness import tolerances

    with reporter(f"calibrate {preset} on {device}", remaining=True) as (status, progress):
        try:
            return calibration.calibrate_track(preset, device, seeds, source=source, jobs=jobs,
                                               on_status=status, on_progress=progress,
                                               report=report)
        except tolerances.ToleranceError as e:
            raise UsageError(str(e)) from None
