"""Time every registered slot implementation (naive, torch, triton) at the presets' shapes,
forward and forward+backward, with GB/s and FLOP/s beside each median time.

CUDA: triton.testing.do_bench (median, L2 flushed). CPU: torch.utils.benchmark. Triton
implementations are skipped on a CPU, with the reason: there they run only through the
interpreter, which is for correctness, never for timing. --json writes every row (timed,
skipped or failed) and rewrites the file after each case, so a killed run keeps what it
measured. Examples:

    speedup bench-kernels --device cpu --preset tiny --slots layer_norm gelu
    speedup bench-kernels --device cuda --json out/kernels.json
"""

from __future__ import annotations

import argparse

HELP = "microbenchmark every slot implementation: median time, GB/s, FLOP/s"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from baseline.config import PRESETS
    from baseline.ops import SLOTS

    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="where to run (auto: CUDA when present)")
    p.add_argument("--preset", dest="presets", action="append", choices=list(PRESETS),
                   help="shapes of this preset; repeat for several "
                        "(default: tiny and cpu on a CPU, gpu on CUDA)")
    p.add_argument("--slots", nargs="+", choices=list(SLOTS), default=None, metavar="SLOT",
                   help=f"only these slots ({', '.join(SLOTS)})")
    p.add_argument("--json", default=None, metavar="PATH",
                   help="also write the rows as JSON (rewritten after every case)")
    p.add_argument("--min-run-time", type=float, default=0.2, metavar="S",
                   help="CPU only: seconds of timing per case (default 0.2)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench import kernel_bench
    from correctness.provenance import environment
    from speedup.ui import out, preset_and_device, progress, writable_dir

    _, device = preset_and_device(None, args.device)
    json_path = Path(args.json) if args.json else None
    if json_path is not None:
        writable_dir(json_path.parent if str(json_path.parent) else ".")
    presets = tuple(args.presets) if args.presets else kernel_bench.DEFAULT_PRESETS[device]
    cases = kernel_bench.cases(device, presets, tuple(args.slots) if args.slots else None)
    header = {"timer": kernel_bench.timer_name(device), "environment": environment(device)}
    rows = []
    with progress(f"bench-kernels on {device}", len(cases)) as advance:
        for case in cases:
            rows.append(kernel_bench.bench_case(case, device, args.min_run_time))
            if json_path is not None:
                _write_json(json_path, header, rows)
            advance(status=case.name)
    _print(rows, device)
    failed = [r for r in rows if r.error]
    if json_path is not None:
        out.print(f"wrote {json_path}")
    return 1 if failed else 0


def _write_json(path, header: dict, rows: list) -> None:
    import json

    doc = {**header, "rows": [r.to_dict() for r in rows]}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(path)  # never a half-written file


def _print(rows: list, device: str) -> None:
    from rich.table import Table

    from bench import kernel_bench
    from bench.roofline import format_rate
    from speedup.ui import out

    table = Table("slot", "impl", "preset", "mode", "median ms", "GB/s", "FLOP/s",
                  title=f"timer: {kernel_bench.timer_name(device)}")
    skipped = {}
    for r in rows:
        if r.skipped:
            skipped.setdefault(r.skipped, []).append(f"{r.slot}-{r.impl}-{r.preset}-{r.mode}")
            continue
        if r.error:
            table.add_row(r.slot, r.impl, r.preset, r.mode, "error", "", r.error[:60])
            continue
        table.add_row(r.slot, r.impl, r.preset, r.mode, f"{r.median_ms:.4g}",
                      f"{r.gb_per_s:.3g}", format_rate(r.tflop_per_s * 1e12, device))
    out.print(table)
    for reason, names in skipped.items():
        out.print(f"skipped {len(names)}: {reason}")
