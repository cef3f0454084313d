"""Measure the thresholds of the training checks for a preset and device, and write them
(with every measurement, the margins, which legal variants are admitted, the smallest cheat
detected and which implementation ran each variant) into the user's tolerances file,
$XDG_DATA_HOME/speedup-bench/tolerances.json, or into --tolerances FILE. The shipped
thresholds change only when FILE names them: --tolerances correctness/tolerances.json.

The preset's reference program (baseline.train, or the one the preset names, such as the
range track's NumPy draft, run sandboxed) trains once per seed, the reference; every variant
trains on the fast base (the same training through torch-native slots), whose own distance
from the reference must stay within 5% of the smallest cheat's, or nothing is written.
Legal variants: the same code twice, torch-native slots, bf16 autocast (where the device
runs bf16), Triton slots (on CUDA), the preset's shipped solutions (sandboxed; admitted
only when they hide no cheat, else the entry says why). Illegal: 1/5/20% of steps skipped,
lr +-5%, shuffled batch order, a frozen layer, half the steps at double lr, bf16 and fp16
master weights. On a CPU the runs go in parallel, one per core. `check`, `bench`, `agent`
and `run` calibrate a track that has no thresholds themselves (unless --no-auto-calibrate).
Examples:

    speedup calibrate --preset tiny --device cpu
    speedup calibrate --preset cpu --device cpu --seeds 1 --tolerances /tmp/cal-cpu.json
"""

from __future__ import annotations

import argparse

HELP = "measure legal vs illegal training distances and write the check thresholds"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from correctness.calibrate import DEFAULT_SEEDS
    from speedup.ui import add_track_arguments, int_arg

    add_track_arguments(p)
    p.add_argument("--seeds", type=int_arg("--seeds", 1), default=DEFAULT_SEEDS,
                   help=f"seeds to measure every variant on (default {DEFAULT_SEEDS})")
    p.add_argument("--jobs", type=int_arg("--jobs", 1), default=None,
                   help="runs at once (default: one per core on a CPU, one on CUDA)")


def run(args: argparse.Namespace) -> int:
    from correctness.calibrate import CalibrationError
    from speedup.calibration import calibrate_track
    from speedup.ui import console, preset_and_device

    preset, device = preset_and_device(args.preset, args.device)
    try:
        calibrate_track(preset, device, args.seeds, source=args.tolerance_source,
                        jobs=args.jobs, report=_report)
    except CalibrationError as e:
        console.print(f"speedup: error: cannot calibrate {preset}/{device}: {e}", markup=False)
        return 1
    return 0


def _report(entry: dict) -> None:
    from correctness.tolerances import METRICS
    from speedup.calibration import plain_lines
    from speedup.ui import out

    out.print(_table(entry))
    base = entry["fast_base"]
    if base is not None:
        ratios = ", ".join(f"{m} {base['metrics'][m]['ratio']:.2%}" for m in METRICS)
        out.print(f"fast base ({base['variant']}): its distance from the reference is "
                  f"this share of the smallest illegal one: {ratios} (limit "
                  f"{base['limit']:.0%})", markup=False)
    for name, row in entry["precision"].items():
        lands = ", ".join(f"{m} {_lands(row['metrics'][m])}" for m in METRICS)
        out.print(f"precision cut {name} ({row['kind']}): {lands}; {row['verdict']}",
                  markup=False)
    for line in plain_lines(entry):
        out.print(line, markup=False)
    smallest = entry["smallest_cheat_detected"]
    if smallest:
        out.print(f"smallest cheat detected: {smallest['variant']} (weight distance "
                  f"{smallest['weights']:.3g})", markup=False)
    if entry["undetected"]:
        out.print(f"[red]NOT caught[/]: {', '.join(entry['undetected'])}")


def _lands(row: dict) -> str:
    band = ("legal band 0" if row["x_legal_band"] is None
            else f"{row['x_legal_band']:.3g}x the legal band")
    return f"{row['value']:.2e} ({band}, {row['x_threshold']:.3g}x the threshold)"


def _table(entry: dict):
    from rich.table import Table

    from correctness.tolerances import METRICS

    runs = entry.get("runs", {})
    n = len(entry["seeds"])
    table = Table(title=f"calibration {entry['preset']}/{entry['device']} "
                        f"({n} seed{'s' if n > 1 else ''}; legal: max over seeds, "
                        "illegal: min over seeds)")
    table.add_column("variant")
    table.add_column("kind")
    table.add_column("ran on")
    for m in METRICS:
        table.add_column(m, justify="right")
    table.add_column("verdict")
    for name, row in entry["legal"].items():
        admitted = name in entry["admitted_legal"]
        table.add_row(name, "legal", runs.get(name, {}).get("implementation", ""),
                      *(f"{max(row[m]):.2e}" for m in METRICS),
                      "admitted" if admitted else "not admitted")
    table.add_row("threshold", "", "", *(f"{entry['thresholds'][m]:.2e}" for m in METRICS), "",
                  style="bold")
    short = {"heldout_loss": "loss", "weights": "weights", "trajectory": "traj"}
    for name, row in entry["illegal"].items():
        found = entry["detection"][name]
        by = ", ".join(short[m] for m in found["by"]) or "one per seed"
        verdict = (f"caught x{found['margin']:.1f} ({by})" if found["detected"]
                   else "[red]NOT caught[/]")
        table.add_row(name, "illegal", runs.get(name, {}).get("implementation", ""),
                      *(f"{min(row[m]):.2e}" for m in METRICS), verdict)
    return table
