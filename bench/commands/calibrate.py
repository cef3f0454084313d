"""Measure the thresholds of the training checks for a preset and device, and write them
into correctness/tolerances.json (with every measurement, the margins, which legal variants
are admitted and the smallest cheat detected).

Legal variants: the same code twice, torch-native slots, bf16 autocast (where the device
runs bf16), Triton slots (on CUDA). Illegal: 1/5/20% of steps skipped, lr +-5%, shuffled
batch order, a frozen layer, half the steps at double lr, bf16 master weights. Every
variant trains the whole preset once per seed: the `cpu` entry in tolerances.json took 74
minutes for 2 seeds (one thread each, on a shared 2-core machine). Example:

    speedup calibrate --preset tiny --device cpu --seeds 3
"""

from __future__ import annotations

import argparse

HELP = "measure legal vs illegal training distances and write the check thresholds"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from bench.ui import add_track_arguments, int_arg

    add_track_arguments(p)
    p.add_argument("--seeds", type=int_arg("--seeds", 1), default=3,
                   help="seeds to measure every variant on (default 3)")


def run(args: argparse.Namespace) -> int:
    from bench.ui import out, preset_and_device, progress
    from correctness import calibrate, tolerances

    preset, device = preset_and_device(args.preset, args.device)
    total = args.seeds * calibrate.runs_per_seed(preset, device)
    with progress(f"calibrate {preset} on {device}", total) as advance:
        entry = calibrate.calibrate(preset, device, args.seeds,
                                    on_run=lambda text: advance(status=text))
    out.print(_table(entry))
    for name, why in {**entry["skipped"], **entry["not_admitted"]}.items():
        out.print(f"not used: {name}: {why}", markup=False)
    smallest = entry["smallest_cheat_detected"]
    if smallest:
        out.print(f"smallest cheat detected: {smallest['variant']} (weight distance "
                  f"{smallest['weights']:.3g})", markup=False)
    if entry["undetected"]:
        out.print(f"[red]NOT caught[/]: {', '.join(entry['undetected'])}")
    out.print(f"wrote {preset}/{device} to {tolerances.PATH} in {entry['wall_s']:.0f} s",
              markup=False)
    return 0


def _table(entry: dict):
    from rich.table import Table

    from correctness.tolerances import METRICS

    table = Table(title=f"calibration {entry['preset']}/{entry['device']} "
                        f"({len(entry['seeds'])} seeds; legal: max over seeds, "
                        "illegal: min over seeds)")
    table.add_column("variant")
    table.add_column("kind")
    for m in METRICS:
        table.add_column(m, justify="right")
    table.add_column("verdict")
    for name, row in entry["legal"].items():
        admitted = name in entry["admitted_legal"]
        table.add_row(name, "legal", *(f"{max(row[m]):.2e}" for m in METRICS),
                      "admitted" if admitted else "not admitted")
    table.add_row("threshold", "", *(f"{entry['thresholds'][m]:.2e}" for m in METRICS), "",
                  style="bold")
    short = {"heldout_loss": "loss", "weights": "weights", "trajectory": "traj"}
    for name, row in entry["illegal"].items():
        found = entry["detection"][name]
        by = ", ".join(short[m] for m in found["by"]) or "one per seed"
        verdict = (f"caught x{found['margin']:.1f} ({by})" if found["detected"]
                   else "[red]NOT caught[/]")
        table.add_row(name, "illegal", *(f"{min(row[m]):.2e}" for m in METRICS), verdict)
    return table
