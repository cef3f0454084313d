"""Re-run a record's official evaluation on this machine, from the files it archived beside
it in the results folder (results/solutions/, and an agent's transcript in
results/transcripts/), with the record's own preset, device, rounds and allow_library;
print each check and the speedup beside the record's, with their intervals, and whether
they agree (bench/verify.py defines agreement). Nothing is written. Exit code 0: they agree;
1: they do not; 2: the record cannot be re-run (written before records kept their code,
its archive missing, or tampered with: the files or the transcript do not hash to what the
record says); 3: the baseline itself failed. Example:

    speedup verify results/20261207T120000_tiny_cpu_torch-native_65a18794.json
"""

from __future__ import annotations

import argparse

HELP = "re-run a record's official evaluation from its archive and compare"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("record", metavar="RECORD", help="a record's JSON file in a results folder")


def run(args: argparse.Namespace) -> int:
    from bench.calibration import NotReady
    from bench.verify import Unverifiable, verify
    from correctness.training_check import HarnessError
    from speedup.ui import UsageError, console, reporter

    try:
        with reporter(f"verify {args.record}") as (status, runs):
            result = verify(args.record, tolerances=args.tolerance_source,
                            auto_calibrate=not args.no_auto_calibrate,
                            on_status=status, on_progress=runs)
    except Unverifiable as e:
        raise UsageError(f"cannot verify {args.record}: {e}") from None
    except NotReady as e:
        raise UsageError(str(e)) from None
    except HarnessError as e:
        console.print(f"speedup: error: {e}", markup=False)
        return 3
    _report(result)
    return 0 if result.agree else 1


def _report(result) -> None:
    from rich.table import Table

    from bench.records import entrant_label
    from bench.verify import interval
    from speedup.ui import out

    record, now = result.record, result.now
    out.print(f"{result.path}: {entrant_label(record['entrant'])} on {record['preset']}/"
              f"{record['device']}, {record['rounds_requested']} rounds, "
              f"{record['solution_hash'][:19]} (its archive checks out)", markup=False)
    if now is not None:
        table = Table("check", "threshold", "record", "now")
        for row in result.checks:
            table.add_row(row["name"], _value(row["threshold"]), _cell(row["record"]),
                          _cell(row["now"]))
        out.print(table)
        for name, s in (("record", record), ("now", now)):
            out.print(f"{name:>6}: {_speedup(s, interval(s))}", markup=False)
    for note in result.notes:
        out.print(f"note: {note}", markup=False)
    out.print(f"{'AGREE' if result.agree else 'DISAGREE'}: {result.why}", markup=False)


def _speedup(summary: dict, span) -> str:
    if not summary.get("passed"):
        return f"rejected by {summary.get('rejected_by')}"
    how = ("95% interval over rounds" if summary.get("ratio_interval")
           else "one round: its ratio times or divided by the spread of identical code")
    return (f"{summary['median_ratio']:.3f}x, interval {span[0]:.3f}x-{span[1]:.3f}x "
            f"({how})")


def _value(value) -> str:
    return "-" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


def _cell(row: dict | None) -> str:
    if row is None:
        return "-"
    return f"{_value(row['value'])} {'pass' if row['passed'] else 'FAIL'}"
