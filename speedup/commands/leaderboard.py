"""Render the leaderboard from the records in results/: leaderboard.md, leaderboard.html
(a single static file with the plot embedded) and leaderboard.png.

Tracks are a preset on a device; only correct records rank, by the median of per-round
paired speedups; per entrant the best run, the average best over runs with its bootstrap
95% interval, runs, failures and refusals; per track its headroom (the roofline bound as a
speedup, and the best reference). Published anchors (not measured here) are listed in
their own section. --json prints all of it as JSON on stdout. Examples:

    speedup leaderboard --results-dir results --out .
    speedup leaderboard --json > leaderboard.json
"""

from __future__ import annotations

import argparse

HELP = "render leaderboard.md and leaderboard.html from the records in results/"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results-dir", default="results", metavar="DIR",
                   help="folder of record JSON files (default results)")
    p.add_argument("--out", default=".", metavar="DIR",
                   help="folder to write the leaderboard files into (default: here)")
    p.add_argument("--json", action="store_true",
                   help="print the leaderboard as JSON on stdout (the files are written too)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench import leaderboard, leaderboard_render
    from bench.records import RecordError, load_records
    from speedup.ui import UsageError, out, writable_dir

    if not Path(args.results_dir).is_dir():
        raise UsageError(f"no results folder {args.results_dir}; run `speedup bench DIR` "
                         "first, or pass --results-dir")
    writable_dir(args.out)
    try:
        tracks = leaderboard.build(load_records(args.results_dir))
    except RecordError as e:
        raise UsageError(f"{e}; move the file out of {args.results_dir} or fix it") from None
    paths = leaderboard_render.write(tracks, args.out)
    if args.json:
        print(leaderboard.dumps(tracks))
        return 0
    for track in tracks:
        top = (f"top {track.rows[0].label} {track.rows[0].best:.2f}x" if track.rows
               else "no correct records")
        out.print(f"{track.title}: {len(track.rows)} ranked, {len(track.rejected)} rejected; "
                  f"{top}")
    out.print("wrote " + ", ".join(str(p) for p in paths))
    return 0
