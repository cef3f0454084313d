"""What every command shares: the one-line usage error, progress bars, input checks."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2, no traceback."""


def preset_and_device(preset: str | None, device: str) -> tuple[str, str]:
    """Resolve --device (auto -> cuda if present) and --preset (default: fits the device)."""
    from baseline import config

    try:
        device = config.resolve_device(device)
        preset = preset or config.default_preset(device)
        config.get_preset(preset)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return preset, device


def require_calibration(preset: str, device: str) -> None:
    """The judge needs the track's calibrated thresholds: say so before any work starts."""
    from correctness import tolerances

    try:
        tolerances.load(preset, device)
    except tolerances.ToleranceError as e:
        raise UsageError(str(e)) from None


def int_arg(flag: str, minimum: int) -> Callable[[str], int]:
    """argparse type for an integer option of at least `minimum` (0 or 1)."""
    kind = "non-negative" if minimum == 0 else "positive"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise UsageError(f"{flag} must be a {kind} integer, got {text!r}") from None
        if value < minimum:
            raise UsageError(f"{flag} must be a {kind} integer, got {value}")
        return value

    return parse


def positive_float_arg(flag: str) -> Callable[[str], float]:
    """argparse type for a finite float option above 0 (a budget in dollars or seconds)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"{flag} must be a number, got {text!r}") from None
        if not 0 < value < float("inf"):
            raise UsageError(f"{flag} must be positive, got {text}")
        return value

    return parse


seed_arg = int_arg("--seed", 0)


def add_track_arguments(p: argparse.ArgumentParser, where: str = "where to train") -> None:
    """--preset and --device, the track every training command runs on; resolve them with
    preset_and_device."""
    from baseline.config import PRESETS

    p.add_argument("--preset", choices=list(PRESETS), default=None,
                   help="run size (default: gpu on CUDA, tiny on CPU)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help=f"{where} (auto: CUDA when present)")


def writable_dir(path: str | os.PathLike) -> Path:
    """Create `path` if needed and prove it is writable, before any long work starts."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / ".speedup-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"cannot write to {p}: {e.strerror or e}") from None
    return p


@contextlib.contextmanager
def progress(description: str, total: int | None) -> Iterator:
    """A progress bar on stderr; yields advance(n=1, status="", total=None), where a total
    replaces the planned one (work that turned out shorter, e.g. a rejected candidate). A
    total of None (not known yet) shows a pulsing bar until one is given."""
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[status]}")]
    with Progress(*columns, console=console, transient=not sys.stderr.isatty()) as bar:
        task = bar.add_task(description, total=total, status="")

        def advance(n: int = 1, status: str = "", total: int | None = None) -> None:
            bar.update(task, advance=n, status=status, total=total)

        yield advance
