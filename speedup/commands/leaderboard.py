"""Render the leaderboard from the records: the shipped ones (results/ in the project: the
reference records that come with it) and yours (--results-dir, by default
$XDG_DATA_HOME/speedup-bench/results, where `speedup bench`, `agent`, `run` and `sweep` put
what you measure). Every row says its source; your records of a shipped entrant make a row
of their own. Writes leaderboard.md, leaderboard.html (a single static file with the plot
embedded) and leaderboard.png into --out (by default $XDG_DATA_HOME/speedup-bench/leaderboard).

Tracks are a preset on a device; only correct records rank, by the median of per-round
paired speedups; per entrant the best run, the average best over runs with its bootstrap
95% interval, runs, failures and refusals; per track its headroom (the best shipped
reference, the shape-aware ceiling as a speedup, an estimate, and the big-GEMM rate as one,
a reference, not a bound). Published anchors (not measured here) are listed in their own
section. --json prints all of it as JSON on stdout. Examples:

    speedup leaderboard
    speedup leaderboard --results-dir my-results --out .
    speedup leaderboard --json > leaderboard.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "render leaderboard.md and leaderboard.html from the shipped records and yours"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_results_argument(p, "folder of your record JSON files, read beside the shipped ones")
    add_out_argument(p)
    p.add_argument("--json", action="store_true",
                   help="print the leaderboard as JSON on stdout (the files are written too)")


def add_results_argument(p, what: str) -> None:
    """--results-dir, the user's records: `what` they are to the command."""
    from bench.records import user_results_dir

    p.add_argument("--results-dir", default=str(user_results_dir()), metavar="DIR",
                   help=f"{what} (default $XDG_DATA_HOME/speedup-bench/results, here "
                        f"%(default)s). The project's results/ holds the shipped reference "
                        "records only: maintainers write them with --results-dir results")


def add_out_argument(p) -> None:
    from bench.records import user_data_dir

    p.add_argument("--out", default=str(user_data_dir("leaderboard")), metavar="DIR",
                   help="where leaderboard.md, leaderboard.html and leaderboard.png go "
                        "(default $XDG_DATA_HOME/speedup-bench/leaderboard, here %(default)s)")


def run(args: argparse.Namespace) -> int:
    return publish(args.results_dir, args.out, as_json=args.json)


def publish(results_dir: str, out_dir: str, as_json: bool = False) -> int:
    """Render the leaderboard and say what it holds (publish_tracks), or with `as_json`
    all of it on stdout. `speedup sweep` ends with it."""
    from bench import leaderboard

    if not as_json:
        publish_tracks(results_dir, out_dir)
        return 0
    tracks, _ = render(results_dir, out_dir)
    print(leaderboard.dumps(tracks))
    return 0


def publish_tracks(results_dir: str, out_dir: str) -> tuple[list, list[Path]]:
    """Render the leaderboard (`render`), print a line per track (its top row marked by
    source) and the files written; its tracks and files."""
    from speedup.ui import out

    tracks, paths = render(results_dir, out_dir)
    for track in tracks:
        top = (f"top {track.rows[0].label} {track.rows[0].best:.2f}x ({track.rows[0].source})"
               if track.rows else "no correct records")
        out.print(f"{track.title}: {len(track.rows)} ranked, {len(track.rejected)} rejected; "
                  f"{top}", markup=False)
    out.print("wrote " + ", ".join(str(p) for p in paths), markup=False)
    return tracks, paths


def render(results_dir: str, out_dir: str) -> tuple[list, list[Path]]:
    """The leaderboard of the shipped records and those in results_dir, written into
    out_dir (bench.leaderboard_render.publish): its tracks and files. UsageError when there
    are no records to read or one is not a record."""
    from bench import leaderboard_render
    from bench.records import SHIPPED_DIR, RecordError, user_results_dir
    from speedup.ui import UsageError, writable_dir

    # the user's default folder may not exist yet (nothing measured); a folder named is
    # expected to
    named = Path(results_dir) != user_results_dir()
    if not Path(results_dir).is_dir() and (named or not Path(SHIPPED_DIR).is_dir()):
        raise UsageError(f"no results folder {results_dir}; run `speedup bench DIR` "
                         "first, or pass --results-dir")
    writable_dir(out_dir)
    try:
        return leaderboard_render.publish(results_dir, out_dir)
    except RecordError as e:
        raise UsageError(f"{e}; move the file out of its folder or fix it") from None


def your_run(record_path: str, tracks: list, paths: list[Path]) -> list[str]:
    """What the leaderboard says of one record a user made: the page and the record's row
    ('library (yours)', its rank), and where its speedup stands among the track's shipped
    reference records."""
    import json

    from bench.leaderboard import standing
    from bench.records import entrant_label, source

    record = json.loads(Path(record_path).read_text())
    label, origin = entrant_label(record["entrant"]), source(Path(record_path).parent)
    track = next((t for t in tracks if (t.preset, t.device) == (record["preset"],
                                                                record["device"])), None)
    page = next((p for p in paths if p.suffix == ".html"), paths[0])
    where = f"{record['preset']}/{record['device']}"
    if track is None:
        return [f"leaderboard {page}"]
    ranked = [(row.label, row.source) for row in track.rows]
    place = (f"rank {ranked.index((label, origin)) + 1} of {len(ranked)} on {where}"
             if (label, origin) in ranked else "not ranked")
    lines = [f"leaderboard {page}: your run is in the row {label} ({origin}), {place}"]
    if record["passed"]:
        lines.append(f"on {where}: {standing(track, record['median_ratio'])}")
    else:
        lines.append(f"on {where}: rejected by {record['rejected_by']}, so not placed among "
                     "the shipped references")
    return lines
