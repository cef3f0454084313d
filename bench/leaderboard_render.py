"""The leaderboard's files: Markdown, a static HTML page with the plot embedded, and the plot
(PNG, bench/leaderboard_plot.py). Everything they show comes from bench/leaderboard.py's
tracks; every row says its source (shipped with the project, or yours)."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from bench.headroom import BIG_GEMM_LABEL, SHAPE_CEILING_LABEL, Headroom
from bench.leaderboard import ANCHOR_TASK, ANCHORS, FAILED_RUN_SCORE, HUMAN_ANCHOR, Track
from bench.leaderboard_plot import plot_png
from bench.records import describe_refused, entrant_label
from bench.stats import BOOTSTRAP_LEVEL, BOOTSTRAP_RESAMPLES, STATISTIC

# ---------------------------------------------------------------------------- tables

def _speedup(row) -> str:
    note = " (inconclusive: within noise)" if row.inconclusive else ""
    return f"{row.best:.2f}x ({row.best_min:.2f}-{row.best_max:.2f}){note}"


def _interval(row) -> str:
    if row.interval is None:
        return "none (1 run)"
    return f"{row.interval[0]:.2f}-{row.interval[1]:.2f}x"


def _refused(row) -> str:
    """Per check, the runs with attempts it refused: 'forbidden_call 1, static_scan 2'."""
    if row.refused_attempts is None:
        return "not recorded" if row.kind == "agent" else "-"
    return describe_refused(row.refused_attempts)


def _ranking_table(track: Track, unconfined: bool = False
                   ) -> tuple[list[str], list[list[str]]]:
    """The ranked rows, or (unconfined) the rows judged with process isolation only, which
    get no rank."""
    header = ["rank", "entrant", "kind", "best: median speedup (min-max rounds)",
              "average best", f"{BOOTSTRAP_LEVEL:.0%} interval", "runs", "failures",
              "refusals", "runs with refused attempts", "device", "isolation", "calibration",
              "source"]
    rows = track.unconfined if unconfined else track.rows
    body = [["-" if unconfined else str(i), r.label, r.kind, _speedup(r),
             f"{r.average_best:.2f}x", _interval(r), str(r.runs), str(r.failures),
             str(r.refusals), _refused(r), ", ".join(r.devices), ", ".join(r.isolation),
             ", ".join(r.calibrations), r.source]
            for i, r in enumerate(rows, 1)]
    return header, body


def _rejected_table(track: Track) -> tuple[list[str], list[list[str]]]:
    header = ["entrant", "rejected by", "why", "record"]
    body = [[entrant_label(r["entrant"]), str(r["rejected_by"]), r.get("message", ""),
             os.path.basename(r["_path"])] for r in track.rejected]
    return header, body


def _big_gemm(h: Headroom) -> str:
    if h.big_gemm is None:
        return f"unknown: {h.note}"
    low = (f" ({h.big_gemm_low:.2f}-{h.big_gemm:.2f}x over {len(h.ceilings)} measurements)"
           if h.big_gemm_low else "")
    return f"{h.big_gemm:.2f}x{low}"


def _big_gemm_derivation(h: Headroom) -> str:
    if h.baseline_s is None:
        return h.note
    text = _baseline(h)
    if h.big_gemm_s is None:
        return text
    best = h.ceilings[0]
    return (f"{text} / {h.big_gemm_s:.3g} s = {h.steps} steps x "
            f"{h.flops_per_step / 1e9:.4g} GFLOP and {h.min_bytes_per_step / 1e6:.3g} MB at "
            f"{best.flops_per_s / 1e9:.3g} GFLOP/s, {best.bytes_per_s / 1e9:.3g} GB/s "
            f"({h.kind}: {best.source}; {h.limited_by}-bound)")


def _baseline(h: Headroom) -> str:
    return f"baseline {h.baseline_s:.3g} s (median of {h.records} baseline medians)"


def _ceiling(h: Headroom) -> str:
    if h.shape_ceiling is None:
        return f"unknown: {h.shape_note}"
    count = len(h.shape_measurements)
    fastest = f" (the fastest of {count} measurements)" if count > 1 else ""
    return f"{h.shape_ceiling:.2f}x{fastest}"


def _ceiling_derivation(h: Headroom) -> str:
    if h.shape_ceiling is None:
        return h.shape_note
    fastest = h.shape_measurements[0]
    return (f"{_baseline(h)} / ({h.steps} steps x {h.shape_step_s * 1e3:.3g} ms: "
            f"{fastest.matmul_s * 1e3:.3g} ms of matmuls, each at the rate measured for its "
            f"shape, + {fastest.bytes_s * 1e3:.3g} ms for {h.min_bytes_per_step / 1e6:.3g} MB; "
            f"{fastest.source}, {fastest.date[:10]})")


def _reference(h: Headroom) -> str:
    if h.best_reference is None:
        return "none on this track"
    share = (f", {h.best_reference_share:.0%} of the shape-aware ceiling"
             if h.best_reference_share else "")
    return f"{h.best_reference} {h.best_reference_speedup:.2f}x{share}"


def _headroom_table(track: Track) -> tuple[list[str], list[list[str]]]:
    h = track.headroom
    header = ["headroom", "speedup over the baseline", "how"]
    return header, [["best measured reference", _reference(h), "its best median speedup"],
                    [SHAPE_CEILING_LABEL, _ceiling(h), _ceiling_derivation(h)],
                    [BIG_GEMM_LABEL, _big_gemm(h), _big_gemm_derivation(h)]]


def _ladder_table(track: Track) -> tuple[list[str], list[list[str]]]:
    header = ["rung (reference solution)", "best median speedup",
              "fraction of the shape-aware ceiling"]
    body = [[r.name, f"{r.speedup:.2f}x",
             "no ceiling measured" if r.share_of_ceiling is None else f"{r.share_of_ceiling:.0%}"]
            for r in track.headroom.ladder]
    return header, body


def _anchor_table() -> tuple[list[str], list[list[str]]]:
    header = ["who", "average best speedup", "source"]
    body = [[m, f"{s:g}x", src] for m, s, src in ANCHORS]
    body.append([HUMAN_ANCHOR[0], f"~{HUMAN_ANCHOR[1]:g}x", HUMAN_ANCHOR[2]])
    return header, body


def _md_table(header: list[str], body: list[list[str]]) -> list[str]:
    def cells(row):
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"

    return [cells(header), "| " + " | ".join("---" for _ in header) + " |", *map(cells, body)]


RULES = (f"Statistic: the {STATISTIC} of one official evaluation (`speedup bench`). "
         "Only records whose candidate passed every training check, in runs the kernel "
         "confined (namespaces or landlock isolation), rank. Agents are "
         "grouped by policy and model: 'best' is the best run, 'average best' the mean of "
         "each run's best (the statistic the published anchors use), with a "
         f"{BOOTSTRAP_LEVEL:.0%} percentile bootstrap interval over runs "
         f"({BOOTSTRAP_RESAMPLES:,} resamples, fixed seed; none for one run). A run with no "
         f"correct record counts as {FAILED_RUN_SCORE:g}x. Failures: runs that did not end "
         "in a correct scored submission (rejected, or stopped by a budget or with no "
         "passing state); refusals: runs the model refused; records without an outcome "
         "count as neither unless rejected. Runs with refused attempts: per check of the "
         "judge (static_scan, forbidden_call, sandbox_denied), the runs in which the agent "
         "tried something it refused (a forbidden import, call or path, a read or write "
         "outside the sandbox, an operation the operating system denied), through "
         "run_check, run_bench, run_python or profile. Source: "
         "'shipped', the reference records that come with the project (results/); 'yours', "
         "the records made here ($XDG_DATA_HOME/speedup-bench/results or --results-dir), "
         "whose rows are apart from the shipped ones, never averaged into them.")
HEADROOM = ("Headroom, per track: the best measured reference solution; the shape-aware "
            "ceiling, the track's median baseline time over the time its steps take with "
            "every matmul at the rate this machine measured for that matmul's shape plus the "
            "step's minimum bytes at the measured copy bandwidth (bench/shape_ceiling.py: an "
            "estimate of what a fused program can reach, not a proof); and the big-GEMM "
            "rate, every matmul at the rate torch measured for one large matmul "
            "(bench/roofline.py): a reference, not a bound, which a step's smaller products "
            "usually do not reach and a hand-written kernel can beat (range_cpp's products "
            "ran faster on one core than that matmul on one thread, and its record passed "
            "the shape-aware ceiling: bench/measurements/2026-12-07-range-ladder.json); it "
            "is not the room there is. The ladder lists the reference solutions with the "
            "fraction of the shape-aware ceiling each reaches: a track whose references are "
            "near their ceiling is saturated, not hard.")
UNCONFINED = ("Not ranked: correct records judged with process isolation only (the "
              "interpreter-level guards alone; no namespaces and no Landlock confined the "
              "solution's native code)")
_ANCHOR_NOTE = ("NOT measured here: published numbers from a different, internal task, "
                "shown for orientation only. " + ANCHOR_TASK + ".")


def render_markdown(tracks: list[Track], png_name: str | None) -> str:
    lines = ["# Speedup Bench leaderboard", "", RULES, "", HEADROOM, ""]
    if png_name:
        lines += [f"![speedup by entrant]({png_name})", ""]
    if not tracks:
        lines += ["No records yet: run `speedup bench DIR` to make one.", ""]
    for track in tracks:
        lines += [f"## Track: {track.title}", ""]
        lines += _md_table(*_ranking_table(track)) if track.rows else ["No correct records."]
        if track.unconfined:
            lines += ["", f"{UNCONFINED}:", "", *_md_table(*_ranking_table(track, True))]
        lines += ["", "Headroom:", "", *_md_table(*_headroom_table(track)), ""]
        if track.headroom.ladder:
            lines += ["Ladder:", "", *_md_table(*_ladder_table(track)), ""]
        if track.rejected:
            lines += ["Rejected (not ranked):", "", *_md_table(*_rejected_table(track)), ""]
        lines += ["Judged by the calibrations:", "",
                  *(f"- `{line}`" for line in track.calibrations), ""]
    lines += ["## Published anchors (not measured here)", "", _ANCHOR_NOTE, "",
              *_md_table(*_anchor_table()), ""]
    return "\n".join(lines)


def _html_table(header: list[str], body: list[list[str]], css_class: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in body)
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


_CSS = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}th,td{border:1px solid #ccc;
padding:0.25rem 0.6rem;text-align:left}th{background:#f0f0f0}
table.headroom td{background:#fbf6f6}
section.anchors{border:2px dashed #b06000;padding:0 1rem;background:#fff8ee}
img{max-width:100%}"""


def render_html(tracks: list[Track], png: bytes | None) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Speedup Bench leaderboard</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>Speedup Bench leaderboard</h1>", f"<p>{html.escape(RULES)}</p>",
             f"<p>{html.escape(HEADROOM)}</p>"]
    if png:
        data = base64.b64encode(png).decode()
        parts.append(f'<img id="plot" alt="speedup by entrant, log scale" '
                     f'src="data:image/png;base64,{data}">')
    if not tracks:
        parts.append("<p>No records yet: run <code>speedup bench DIR</code> to make one.</p>")
    for track in tracks:
        parts.append(f"<h2>Track: {html.escape(track.title)}</h2>")
        parts.append(_html_table(*_ranking_table(track), "ranking") if track.rows
                     else "<p>No correct records.</p>")
        if track.unconfined:
            parts += [f"<p>{html.escape(UNCONFINED)}:</p>",
                      _html_table(*_ranking_table(track, True), "unconfined")]
        parts += ["<p>Headroom:</p>", _html_table(*_headroom_table(track), "headroom")]
        if track.headroom.ladder:
            parts += ["<p>Ladder:</p>", _html_table(*_ladder_table(track), "ladder")]
        if track.rejected:
            parts += ["<p>Rejected (not ranked):</p>",
                      _html_table(*_rejected_table(track), "rejected")]
        items = "".join(f"<li><code>{html.escape(line)}</code></li>"
                        for line in track.calibrations)
        parts.append(f"<p>Judged by the calibrations:</p><ul class=\"calibrations\">{items}</ul>")
    parts += ['<section class="anchors"><h2>Published anchors (not measured here)</h2>',
              f"<p>{html.escape(_ANCHOR_NOTE)}</p>", _html_table(*_anchor_table(), "anchors"),
              "</section></body></html>"]
    return "\n".join(parts) + "\n"


def write(tracks: list[Track], out_dir: str | os.PathLike = ".") -> list[Path]:
    """Render the leaderboard files into out_dir; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = plot_png(tracks)
    written = []
    if png:
        (out / "leaderboard.png").write_bytes(png)
        written.append(out / "leaderboard.png")
    (out / "leaderboard.md").write_text(
        render_markdown(tracks, "leaderboard.png" if png else None))
    (out / "leaderboard.html").write_text(render_html(tracks, png))
    return [out / "leaderboard.md", out / "leaderboard.html", *written]


def publish(results_dir: str | os.PathLike,
            out_dir: str | os.PathLike) -> tuple[list[Track], list[Path]]:
    """The leaderboard of the shipped records and those in results_dir (bench.records.
    load_sources), rendered into out_dir: its tracks and the files written.
    bench.records.RecordError names a file that is not a record."""
    from bench.leaderboard import build
    from bench.records import load_sources

    tracks = build(load_sources(results_dir))
    return tracks, write(tracks, out_dir)
