"""The official evaluation of a solution directory: paired, interleaved rounds of the
baseline and the candidate in fresh sandboxed children, the same secret seed per round,
timed by this process's clock; every candidate run judged against its round's baseline.

Prints per-round times and ratios, the median speedup with min-max (the statistic:
the median of per-round paired ratios baseline_s / candidate_s), tokens/s, achieved
FLOP/s (the preset's count, attention over the full T x T), the fraction of the preset's
shape-aware ceiling each run reaches (an estimate, not a proof: bench/shape_ceiling.py) and
of the device's big-GEMM rate (torch's one large matmul: a reference, not a bound; a
hand-written kernel can pass it), and the verdict. Writes one record per candidate to
--results-dir (default: your records, $XDG_DATA_HOME/speedup-bench/results) when it
finished at least one timed run (marked rejected if the judge rejected it; see
results/README.md). Several DIRs share one set of baseline runs and are evaluated one
after another in the order given, each reported and its record written as soon as its
rounds end, so a bench stopped part-way keeps the records of the DIRs before. Exit code
0: every candidate passed; 1: one was rejected; 2: bad input; 3: the baseline itself
failed (the machine or the harness is broken). Examples:

    speedup bench solutions/torch_native --preset tiny --device cpu --rounds 3
    speedup bench solutions/torch_native solutions/triton --device cuda --allow-library
    speedup bench --measure-ceiling --device cuda      # the device's ceilings only
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

HELP = "official evaluation of a solution: paired timing against the baseline -> a record"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from speedup.commands.leaderboard import add_results_argument
    from speedup.ui import add_track_arguments, int_arg

    p.add_argument("dirs", nargs="*", metavar="DIR",
                   help="solution directories (solution.py with train); none with "
                        "--measure-ceiling alone")
    add_track_arguments(p)
    p.add_argument("--rounds", type=int_arg("--rounds", 1), default=3,
                   help="paired rounds of baseline and candidate (default 3)")
    p.add_argument("--repeat-self", action="store_true",
                   help="also time the candidate against itself: the noise its gain must beat")
    p.add_argument("--allow-library", action="store_true",
                   help="let the solution import our kernels (reference entries only; recorded)")
    p.add_argument("--measure-ceiling", action="store_true",
                   help="measure the device's reference rates now and cache them for this "
                        "machine: the big-GEMM rate (one large matmul, one large copy; a "
                        "reference, not a bound) and the preset's shape-aware ceiling "
                        "(every matmul shape of its training step, and a copy of its "
                        "minimum bytes; an estimate, not a proof); without it the cached "
                        "ones are used, the shape-aware one (and a CPU's big-GEMM one) "
                        "measured once when none is cached")
    add_results_argument(p, "where the record goes")
    p.add_argument("--archive-dir", default=None, metavar="DIR",
                   help="where the scored files' archive goes (default: the results folder, "
                        "beside the record, where `speedup verify` looks: copy DIR/solutions/ "
                        "there before verifying)")
    p.add_argument("--name", default=None,
                   help="the entrant's name on the leaderboard (one DIR only; default: its "
                        "name)")


def run(args: argparse.Namespace) -> int:
    from bench import official
    from bench.calibration import NotReady
    from correctness.solution import entrant
    from correctness.training_check import HarnessError
    from speedup import ui

    preset, device = ui.preset_and_device(args.preset, args.device)
    solution_dirs = _solution_dirs(args)
    if solution_dirs:
        ui.writable_dir(args.results_dir)
    with ui.reporter(f"calibrate {preset} on {device}", remaining=True) as (status, runs):
        try:  # the calibration only when there is something to judge
            track = official.prepare(preset, device, tolerances=args.tolerance_source,
                                     calibrate=bool(solution_dirs),
                                     auto=not args.no_auto_calibrate,
                                     refresh_ceilings=args.measure_ceiling, on_status=status,
                                     on_progress=runs)
        except NotReady as e:
            raise ui.UsageError(str(e)) from None
    if solution_dirs:
        ui.announce_isolation()
    _print_ceilings(track)
    if not solution_dirs:
        return 0
    ui.out.print(f"bench {', '.join(map(str, solution_dirs))} on {preset}/{device}: "
                 f"{args.rounds} paired rounds{' + repeat-self' if args.repeat_self else ''}")
    entries = [official.Entry(d, entrant(d, preset, args.name), args.allow_library)
               for d in solution_dirs]
    try:
        with _progress(preset, device) as on_progress:
            results = official.run(entries, preset, device, rounds=args.rounds,
                                   tolerances=args.tolerance_source,
                                   repeat_self=args.repeat_self, results_dir=args.results_dir,
                                   archive_dir=args.archive_dir, command=args.command_line,
                                   track=track,
                                   on_progress=on_progress,
                                   on_result=lambda result: _reported(result, track))
    except HarnessError as e:
        ui.console.print(f"speedup: error: {e}", markup=False)
        return 3
    return 0 if all(r.evaluation.passed for r in results) else 1


def _solution_dirs(args: argparse.Namespace) -> list[Path]:
    """The DIRs, each a solution directory; UsageError, before any work, otherwise."""
    from correctness.solution import missing_entry
    from speedup.ui import UsageError, parses

    if not args.dirs and not args.measure_ceiling:
        raise UsageError("give a solution directory (speedup bench DIR), or --measure-ceiling")
    if args.name and len(args.dirs) > 1:
        raise UsageError("--name names one entrant; give one DIR with it")
    for d in args.dirs:
        if (missing := missing_entry(d)) is not None:
            raise UsageError(missing)
        parses(d)
    return [Path(d) for d in args.dirs]


def _reported(result, track) -> None:
    from speedup.ui import result_console

    out = result_console()  # the bar is live: its lines go above it

    _report(result.evaluation, track.ceiling, track.shapes)
    if result.record is None:
        out.print(f"no record for {result.evaluation.solution_dir}: it never finished a "
                  "timed run", markup=False)
    else:
        out.print(f"wrote {result.record}", markup=False)


def _print_ceilings(track) -> None:
    from bench.roofline import format_rate
    from speedup.ui import out

    ceiling, shapes = track.ceiling, track.shapes
    if ceiling is not None:
        out.print(f"ceiling of {ceiling['device']} ({track.ceiling_source}): "
                  f"{format_rate(ceiling['flops_per_s'], track.device)} "
                  f"({ceiling['matmul_dtype']} {ceiling['matmul_n']}^3 matmul), "
                  f"{ceiling['bytes_per_s'] / 1e9:.1f} GB/s (copy, read + write)",
                  markup=False)
    out.print(f"shape-aware ceiling of {track.preset} on {shapes['device']} "
              f"({track.shapes_source}): {shapes['seconds_per_step'] * 1e3:.3g} ms a step, "
              f"every matmul at its shape's measured rate plus "
              f"{shapes['step_bytes'] / 1e6:.3g} MB at {shapes['bytes_per_s'] / 1e9:.1f} GB/s "
              "(an estimate, not a proof)", markup=False)


@contextlib.contextmanager
def _progress(preset: str, device: str) -> Iterator[Callable[[int, int, str], None]]:
    """The clock's progress: a bar on a terminal, and a line per run in a log (CI,
    gpu_check.sh)."""
    from speedup.ui import console, progress

    logging = not sys.stderr.isatty()

    # the clock states the planned runs with the first one (and after every rejection)
    with progress(f"bench on {preset}/{device}", None) as advance:
        def on_progress(done: int, total: int, status: str) -> None:
            advance(status=status, total=total)
            if logging:
                console.print(f"[{done}/{total}] {status}", markup=False)

        yield on_progress


def _report(ev, ceiling: dict | None, shapes: dict) -> None:
    from rich.table import Table

    from bench import contention
    from bench.roofline import for_evaluation
    from speedup.ui import result_console

    out = result_console()  # the bar is live: its lines go above it
    out.print(f"{ev.solution_dir} on {ev.preset}/{ev.device}", markup=False)
    table = Table("round", "order", "baseline s", "candidate s", "speedup", "other work",
                  "verdict")
    for r in ev.rounds:
        failed = [c["name"] for c in r["checks"] if not c["passed"]]
        verdict = ("rejected: " + ", ".join(failed) if failed
                   else f"rejected: {ev.rejected_by}" if r["candidate_s"] is None else "pass")
        table.add_row(str(r["round"]), r["order"], _fmt(r["baseline_s"], "{:.3f}"),
                      _fmt(r["candidate_s"], "{:.3f}"), _fmt(r["ratio"], "{:.3f}x"),
                      _contention_cell(r), verdict)
    if ev.rounds:
        out.print(table)
    for r in ev.self_rounds:
        out.print(f"self round {r['round']}: {r['first_s']:.3f} s vs {r['second_s']:.3f} s "
                  f"({r['ratio']:.3f}x)")
    if ev.passed:
        out.print(f"speedup {ev.median_ratio:.3f}x (min {ev.min_ratio:.3f}x, max "
                  f"{ev.max_ratio:.3f}x): {ev.statistic}, {len(ev.rounds)} rounds")
        out.print(_claim_line(ev), markup=False)
        if ev.noise_source is not None:
            noise = ev.self_spread if ev.noise_source == "repeat-self" else ev.baseline_spread
            out.print(f"noise: spread {noise:.1%} ({ev.noise_source})")
    roof = for_evaluation(ev, ceiling, shapes)
    if roof:
        for side in ("candidate", "baseline"):
            out.print(roofline_line(side, roof[side], ev.device), markup=False)
        out.print(flops_note(ev.preset, ev.device), markup=False)
        if roof["candidate"]["ceiling"] is None:
            out.print("(no ceiling for this device in the datasheet table: pass "
                      "--measure-ceiling for the fraction)")
    verdict = ("PASS" if ev.passed else f"REJECTED by {ev.rejected_by}: {ev.message}")
    out.print(f"verdict: {verdict}", markup=False)
    for note in contention.notes(ev):  # what the judge left out of the runs
        out.print(f"note: {note}", markup=False)


def roofline_line(side: str, r: dict, device: str) -> str:
    """One side's roofline numbers (bench.roofline.achieved's dict) in words that say what
    each figure is: the big-GEMM rate a reference, not a bound (bench/roofline.py says
    why), with the threads it was measured on; the shape-aware ceiling an estimate."""
    from bench.roofline import format_rate

    line = f"{side}: {r['tokens_per_s']:,.0f} tokens/s, "
    line += format_rate(r["achieved_flops_per_s"], device)
    ceiling = r["ceiling"]
    if ceiling is not None:
        threads = ceiling.get("threads")
        how = f"torch on {threads} thread{'s' if threads != 1 else ''}; " if threads else ""
        line += (f", {r['fraction_of_ceiling']:.2%} of the {ceiling['kind']} big-GEMM rate "
                 f"({how}a reference, not a bound)")
    return line + (f"; {r['fraction_of_shape_ceiling']:.1%} of the shape-aware ceiling "
                   "(an estimate, not a proof)")


def flops_note(preset: str, device: str) -> str:
    """How the FLOP/s above were counted: attention over the full T x T, and the share of
    the count that a causal kernel skipping the masked half never does."""
    from baseline import get_preset
    from bench.step_cost import flops_per_step, step_matmuls

    cfg = get_preset(preset).to_cfg(device)
    attention = sum(m.flops for m in step_matmuls(cfg) if m.name.startswith("attention "))
    return (f"(FLOP/s: bench/step_cost.py's count, attention over the full T x T; a causal "
            f"kernel that skips the masked half does {attention / 2 / flops_per_step(cfg):.0%}"
            " fewer on this preset)")


def _claim_line(ev) -> str:
    """Whether the speedup is a claim: its interval over rounds, or why there is none."""
    from bench import contention

    if ev.contended:
        return f"INCONCLUSIVE: {contention.message(ev.rounds, ev.contention_rule)}"
    if ev.ratio_interval is None:
        return "INCONCLUSIVE: one round has no interval; time two or more"
    low, high = ev.ratio_interval
    found = "excludes" if not ev.inconclusive else "contains"
    return (f"{'conclusive' if not ev.inconclusive else 'INCONCLUSIVE'}: the 95% interval "
            f"{low:.3f}x-{high:.3f}x {found} 1 ({ev.interval_method})")


def _contention_cell(row: dict) -> str:
    """Other work's largest share of the CPUs during the row's runs, and the attempts."""
    from bench import contention

    share = contention.foreign_share(row)
    cell = "-" if share is None else f"{share:.0%}"
    if row.get("contended"):
        cell += " CONTENDED"
    return cell + (f" ({row['attempts']} attempts)" if row.get("attempts", 1) > 1 else "")


def _fmt(value, spec: str) -> str:
    return "-" if value is None else spec.format(value)
