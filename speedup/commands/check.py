"""Judge a solution directory: the static scan, the kernel checks of the implementations it
declares in KERNELS, and the training check against the baseline on a secret seed (held-out
loss, weight distance and loss trajectory, against the calibrated thresholds).

Exit status: 0 passed, 1 rejected, 2 unusable input. Example:

    speedup check solutions/torch_native --preset tiny
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "judge a solution: static scan, kernel checks, training check against the baseline"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from speedup.ui import add_track_arguments, seed_arg

    p.add_argument("dir", metavar="DIR", help="solution directory (holds solution.py)")
    add_track_arguments(p)
    p.add_argument("--allow-library", action="store_true",
                   help="let the solution import our kernel library (reference entries only)")
    p.add_argument("--seed", type=seed_arg, default=None,
                   help="reproduce a check with a known seed (default: a secret one)")


def run(args: argparse.Namespace) -> int:
    from correctness import tolerances
    from correctness.solution import missing_entry
    from correctness.training_check import HarnessError, check_training
    from speedup.calibration import ensure_calibrated
    from speedup.ui import UsageError, announce_isolation, console, out, parses, preset_and_device

    preset, device = preset_and_device(args.preset, args.device)
    path = Path(args.dir)
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory; give a solution directory")
    if (missing := missing_entry(path)) is not None:
        raise UsageError(missing)
    parses(path)
    calibration = ensure_calibrated(preset, device, tolerances=args.tolerance_source,
                                    auto=not args.no_auto_calibrate)
    announce_isolation()

    with console.status(f"judging {path} on {preset}/{device} (scan, kernels, two runs)"):
        try:
            verdict = check_training(path, preset, device, seed=args.seed,
                                     allow_library=args.allow_library,
                                     tolerances=args.tolerance_source)
        except HarnessError as e:
            raise UsageError(f"{e}; rerun the check on a quieter machine") from None
    out.print(_table(verdict, path))
    out.print(f"calibration: {tolerances.label(calibration)}", markup=False)
    if verdict.cand is not None:
        out.print(f"isolation of the candidate's run: {_isolation(verdict.cand)}",
                  markup=False)
    for whose, run in (("the candidate's", verdict.cand), ("the baseline's", verdict.ref)):
        for note in getattr(run, "notes", None) or []:  # what the judge left out of the run
            out.print(f"note: {whose} run: {note}", markup=False)
    for slot, report in verdict.kernel_reports.items():
        for failure in report.get("failures", [])[:5]:
            out.print(f"  kernel {slot}: {failure}", markup=False)
    cand = verdict.cand
    if cand is not None and not cand.ok and cand.output_tail.strip():
        out.print("solution output (tail):", markup=False)
        out.print(cand.output_tail.rstrip()[-2000:], markup=False)
    if verdict.passed:
        out.print(f"[green]PASSED[/]: training matches the baseline on {preset}/{device} "
                  f"(untimed check: candidate {cand.seconds:.2f} s, baseline "
                  f"{verdict.ref.seconds:.2f} s; `speedup bench` times it properly)")
        return 0
    out.print(f"[red]REJECTED[/] by {_escape(verdict.message)}")  # "check: why"
    return 1


def _isolation(run) -> str:
    """The run's isolation, described as this machine gives it (which bwrap, or why no
    namespaces) when the runner chose the machine's best, as `speedup check` lets it."""
    from correctness.sandbox.isolation import detect_isolation

    best = detect_isolation()
    return best.describe() if run.isolation == best.kind else run.isolation


def _table(verdict, path: Path):
    from rich.table import Table

    table = Table(title=f"speedup check {path} ({verdict.preset}/{verdict.device})")
    for column in ("check", "result", "measured", "threshold", "detail"):
        table.add_column(column, overflow="fold")
    for c in verdict.checks:
        table.add_row(c.name, "[green]pass[/]" if c.passed else "[red]FAIL[/]",
                      _number(c.value), _number(c.threshold), _escape(c.detail))
    return table


def _number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.2e}"


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text if len(text) <= 400 else text[:400] + "...")
