"""What every command shares: the one-line usage error, progress bars, input checks."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

if TYPE_CHECKING:
    from correctness.tolerances import Source

console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2, no traceback."""


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is present, else 'cpu'; refuses 'cuda' without one."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA GPU "
                         "(a CPU build of torch, or no driver); use --device cpu")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; choose auto, cpu or cuda")
    return device


def default_preset(device: str) -> str:
    """The preset that fits a device: the GPU track on CUDA, seconds-long `tiny` on CPU."""
    return "gpu" if device == "cuda" else "tiny"


def preset_and_device(preset: str | None, device: str) -> tuple[str, str]:
    """Resolve --device (auto -> cuda if present) and --preset (default: fits the device)."""
    from baseline import get_preset

    try:
        device = resolve_device(device)
        preset = preset or default_preset(device)
        get_preset(preset)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return preset, device


def add_calibration_arguments(p: argparse.ArgumentParser, *, top_level: bool) -> None:
    """The global options on where thresholds live; after a subcommand they override the
    ones before it (SUPPRESS: an option not given there leaves the top level's value)."""
    unset, off = (None, False) if top_level else (argparse.SUPPRESS, argparse.SUPPRESS)
    g = p.add_argument_group("calibration (global options)")
    g.add_argument("--tolerances", metavar="FILE", default=unset,
                   help="read and write calibrated thresholds in FILE alone (empty or missing: "
                        "nothing calibrated yet) instead of the shipped ones plus "
                        "$XDG_DATA_HOME/speedup-bench/tolerances.json")
    g.add_argument("--no-auto-calibrate", action="store_true", default=off,
                   help="refuse a track that has no calibration instead of calibrating it "
                        "first")


def tolerance_source(path: str | None) -> Source:
    """The correctness.tolerances.Source that --tolerances names (unset: shipped + the
    user's file), which the command line hands to every command as args.tolerance_source."""
    from correctness import tolerances

    if path is None:
        return tolerances.Source()
    file = Path(path)
    if file.is_dir():
        raise UsageError(f"--tolerances {path} is a directory; give a file (it may be missing "
                         "or empty)")
    if not file.parent.is_dir():
        raise UsageError(f"--tolerances {path}: no directory {file.parent}")
    return tolerances.Source(file)


def announce_isolation() -> None:
    """Where solutions cannot run in their own namespaces, say so before any runs: the
    interpreter-level guards then stand alone, and every record says which judged it."""
    from correctness.sandbox import isolation

    found = isolation.detect_isolation()  # the runner's own lookup
    if found.kind != "namespaces":
        console.print(f"speedup: warning: solutions run with {found.describe()}",
                      markup=False)


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


def parses(solution_dir: str | os.PathLike) -> None:
    """UsageError naming the first file and line of `solution_dir` that is not valid
    Python: nothing of such a solution can run, so it is unusable input (exit 2), not a
    rejection, and no record is written. The static scan's own `syntax` rule decides."""
    from correctness.static_scan import scan

    for finding in scan(solution_dir):
        if finding.rule == "syntax":
            raise UsageError(f"{Path(solution_dir) / finding.file}:{finding.line}: "
                             f"{finding.message}")


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


def result_console() -> Console:
    """Where a command prints a result while a progress bar may be live: stdout (`out`),
    except when stdout and stderr are both a terminal, one screen, where it is stderr's
    console, on which the bar is drawn and which prints lines above the bar. A line written
    to stdout past the bar's console would land at the end of the bar's line."""
    return console if out.is_terminal and console.is_terminal else out


@contextlib.contextmanager
def progress(description: str, total: int | None, *, remaining: bool = False) -> Iterator:
    """A progress bar on stderr; yields advance(n=1, status="", total=None), where a total
    replaces the planned one (work that turned out shorter, e.g. a rejected candidate). A
    total of None (not known yet) shows a pulsing bar until one is given. `remaining` adds
    the time left, extrapolated from the steps done so far."""
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[status]}")]
    if remaining:
        columns[4:4] = [TextColumn("left"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=not sys.stderr.isatty()) as bar:
        task = bar.add_task(description, total=total, status="")

        def advance(n: int = 1, status: str = "", total: int | None = None) -> None:
            bar.update(task, advance=n, status=status, total=total)

        yield advance


@contextlib.contextmanager
def reporter(description: str, *, remaining: bool = False) -> Iterator[tuple]:
    """(on_status, on_progress) for long work below the command line: a status is a line
    on stderr; the first progress opens a bar (`progress`), which the next ones advance and
    the end of the block closes."""
    with contextlib.ExitStack() as stack:
        bar = None

        def on_status(text: str) -> None:
            console.print(text, markup=False)

        def on_progress(done: int, total: int, text: str) -> None:
            nonlocal bar
            if bar is None:
                bar = stack.enter_context(progress(description, total, remaining=remaining))
            bar(status=text, total=total)

        yield on_status, on_progress


@contextlib.contextmanager
def step_reporter() -> Iterator[Callable[[int, int, str], None]]:
    """on_progress for work told in pieces, each from (0, total, text) to (total, total,
    text), as an agent's tools tell their calls (agent/session/tools.py). On a terminal a
    piece is one live line on stderr (its steps, the time since it began, its latest text),
    erased at its end; elsewhere (CI, a log) each step is a line, with those seconds."""
    live: tuple[Progress, object] | None = None
    began: float | None = None  # when the piece in progress began

    def on_progress(done: int, total: int, text: str) -> None:
        nonlocal live, began
        if done == 0 or began is None:
            began = time.monotonic()
        ended = done >= total
        if not console.is_terminal:
            elapsed = f"  ({done}/{total}, {time.monotonic() - began:.1f} s elapsed)"
            console.print(f"    {text}{elapsed if done else ''}", markup=False)
            began = None if ended else began
            return
        if live is None:
            line = Column(no_wrap=True, overflow="ellipsis", ratio=1)  # the rest, cut to fit
            bar = Progress(BarColumn(bar_width=20), MofNCompleteColumn(), TimeElapsedColumn(),
                           TextColumn("{task.description}", markup=False, table_column=line),
                           console=console, transient=True, expand=True)
            live = bar, bar.add_task(text, total=total)
            bar.start()
        bar, task = live
        bar.update(task, completed=done, total=total, description=text, refresh=True)
        if ended:
            bar.stop()
            live = began = None

    try:
        yield on_progress
    finally:
        if live is not None:
            live[0].stop()
