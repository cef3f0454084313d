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
    return publish(args.results_dir, args.out, as_json=args.json)


def publish(results_dir: str, out_dir: str, as_json: bool = False) -> int:
    """Render the leaderboard (bench.leaderboard_render.publish) and say what it holds: a
    line per track, or with `as_json` all of it on stdout. `speedup run` and `speedup
    sweep` end with it."""
    from pathlib import Path

    from bench import leaderboard, leaderboard_render
    from bench.records import RecordError
    from speedup.ui import UsageError, out, writable_dir

    if not Path(results_dir).is_dir():
        raise UsageError(f"no results folder {results_dir}; run `speedup bench DIR` "
                         "first, or pass --results-dir")
    writable_dir(out_dir)
    try:
        tracks, paths = leaderboard_render.publish(results_dir, out_dir)
    except RecordError as e:
        raise UsageError(f"{e}; move the file out of {results_dir} or fix it") from None
    if as_json:
        print(leaderboard.dumps(tracks))
        return 0
    for track in tracks:
        top = (f"top {track.rows[0].label} {track.rows[0].best:.2f}x" if track.rows
               else "no correct records")
        out.print(f"{track.title}: {len(track.rows)} ranked, {len(track.rejected)} rejected; "
                  f"{top}")
    out.print("wrote " + ", ".join(str(p) for p in paths))
    return 0
