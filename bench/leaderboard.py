"""The leaderboard: records in results/ -> leaderboard.md, leaderboard.html (one file, the
plot embedded) and leaderboard.png.

Rules (also in results/README.md): a track is a preset on a device kind; only records
whose candidate passed every check rank; an entrant's score is the statistic of its
records (`bench.stats.STATISTIC`). Agents are grouped by policy + model and get two
numbers, as the published anchors do: *best* (the highest median speedup of any run) and
*average best* (each run's best, averaged over runs; the published statistic). Published
anchors were not measured here and stay in their own section, never in a ranking.
"""

from __future__ import annotations

import base64
import html
import io
import os
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.records import calibration, entrant_label, isolation
from bench.stats import STATISTIC

ANCHOR_TASK = ("Anthropic, Claude system cards, AI R&D evaluations: the internal \"LLM "
               "training\" task (optimize a CPU-only small language model training "
               "implementation), scored as the average best speedup over runs")
ANCHORS = (  # (model, average best speedup, system card it was published in)
    ("Claude Sonnet 4", 1.9, "Claude Opus 4 & Claude Sonnet 4 System Card"),
    ("Claude Opus 4", 3.0, "Claude Opus 4 & Claude Sonnet 4 System Card"),
    ("Claude Sonnet 4.5", 5.5, "Claude Sonnet 4.5 System Card"),
    ("Claude Opus 4.5", 16.5, "Claude Opus 4.5 System Card"),
    ("Claude Opus 4.6", 34.0, "Claude Opus 4.6 System Card"),
    ("Claude Mythos Preview", 51.9, "Claude Mythos Preview System Card (April 2026)"),
)
HUMAN_ANCHOR = ("a skilled human", 4.0, "about 4x in 4 to 8 hours, as the same system cards "
                "state for this task")


@dataclass
class Row:
    label: str
    kind: str
    best: float  # highest median speedup of any correct record
    best_min: float
    best_max: float
    average_best: float  # mean over runs of each run's best
    runs: int
    records: int
    devices: list[str]
    inconclusive: bool  # the best record's gain is within its noise
    isolation: list[str] = field(default_factory=list)  # of its records' runs
    calibrations: list[str] = field(default_factory=list)  # short hashes; "not recorded"


@dataclass
class Track:
    preset: str
    device: str
    rows: list[Row] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    calibrations: list[str] = field(default_factory=list)  # what judged its records

    @property
    def title(self) -> str:
        return f"{self.preset} on {self.device}"


def _run_key(record: dict) -> str:
    """One agent run may write several records; anything else is one run per record."""
    return record["entrant"].get("run_id") or record["_path"]


def _row(label: str, records: list[dict]) -> Row:
    best_of_run: dict[str, float] = {}
    for r in records:
        key = _run_key(r)
        best_of_run[key] = max(best_of_run.get(key, 0.0), r["median_ratio"])
    top = max(records, key=lambda r: r["median_ratio"])
    return Row(label=label, kind=top["entrant"]["kind"], best=top["median_ratio"],
               best_min=top["min_ratio"], best_max=top["max_ratio"],
               average_best=statistics.fmean(best_of_run.values()), runs=len(best_of_run),
               records=len(records),
               devices=sorted({r["environment"]["device_name"] for r in records}),
               inconclusive=bool(top["inconclusive"]),
               isolation=sorted({isolation(r) for r in records}),
               calibrations=sorted({_short(calibration(r)) for r in records}))


def _short(identity: dict | None) -> str:
    return identity["hash"][7:15] if identity else "not recorded"


def _calibration_lines(records: list[dict]) -> list[str]:
    """One line per calibration that judged one of the records: short hash, identity."""
    from correctness.tolerances import label

    found = {}
    for r in records:
        identity = calibration(r)
        found[_short(identity)] = (f"{_short(identity)}: {label(identity)}" if identity
                                   else "not recorded: records without the field")
    return [found[short] for short in sorted(found)]


def build(records: list[dict]) -> list[Track]:
    """Tracks, the headline (largest preset) first; rows ranked by best median speedup,
    correct records only."""
    correct: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    tracks: dict[tuple, Track] = {}
    by_track: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        key = (r["preset"], r["device"])
        by_track[key].append(r)
        track = tracks.setdefault(key, Track(*key))
        if r["passed"]:
            correct[key][entrant_label(r["entrant"])].append(r)
        else:
            track.rejected.append(r)
    for key, track in tracks.items():
        track.rows = sorted((_row(label, rs) for label, rs in correct[key].items()),
                            key=lambda row: -row.best)
        track.calibrations = _calibration_lines(by_track[key])
    return [tracks[k] for k in sorted(tracks, key=lambda k: (-_flops_per_step(by_track[k]), k))]


def _flops_per_step(records: list[dict]) -> float:
    """The track's training size, as its records' roofline states it (0 when none does: a
    track whose candidates never ran). Read from the records, not from baseline.PRESETS,
    so that ranking tracks needs no torch import: `speedup leaderboard` on the committed records
    took 3.2 s with it, 1.1 s without (3 runs each)."""
    sizes = [((r.get("roofline") or {}).get("baseline") or {}).get("flops_per_step")
             for r in records]
    return max((size for size in sizes if size), default=0.0)


# ---------------------------------------------------------------------------- plot

def plot_png(tracks: list[Track]) -> bytes | None:
    """Speedup by entrant, one panel per track, log scale; None when nothing ranks."""
    ranked = [t for t in tracks if t.rows]
    if not ranked:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    heights = [0.9 + 0.4 * len(t.rows) for t in ranked]
    fig, axes = plt.subplots(len(ranked), 1, figsize=(8, sum(heights) + 0.6), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, track in zip(axes[:, 0], ranked):
        rows = track.rows[::-1]  # best at the top
        y = range(len(rows))
        # bars grow from 1x, so a slowdown points left
        ax.barh(y, [r.best - 1.0 for r in rows], left=1.0, color="#4878a8")
        ax.scatter([r.average_best for r in rows], y, color="#d07030", zorder=3, s=18)
        ax.set_yticks(list(y), [r.label for r in rows])
        ax.set_xscale("log")
        values = [1.0] + [r.best for r in rows] + [r.average_best for r in rows]
        ax.set_xlim(min(values) / 1.3, max(values) * 1.3)
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_title(f"{track.title}: bars best run, dots average best over runs "
                     "(median of per-round paired ratios)", fontsize=9)
        ax.set_xlabel("speedup over the baseline (x, log scale)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


# ---------------------------------------------------------------------------- rendering

def _speedup(row: Row) -> str:
    note = " (inconclusive: within noise)" if row.inconclusive else ""
    return f"{row.best:.2f}x ({row.best_min:.2f}-{row.best_max:.2f}){note}"


def _ranking_table(track: Track) -> tuple[list[str], list[list[str]]]:
    header = ["rank", "entrant", "kind", "best: median speedup (min-max rounds)",
              "average best", "runs", "device", "isolation", "calibration"]
    body = [[str(i), r.label, r.kind, _speedup(r), f"{r.average_best:.2f}x", str(r.runs),
             ", ".join(r.devices), ", ".join(r.isolation), ", ".join(r.calibrations)]
            for i, r in enumerate(track.rows, 1)]
    return header, body


def _rejected_table(track: Track) -> tuple[list[str], list[list[str]]]:
    header = ["entrant", "rejected by", "why", "record"]
    body = [[entrant_label(r["entrant"]), str(r["rejected_by"]), r.get("message", ""),
             os.path.basename(r["_path"])] for r in track.rejected]
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


_RULES = (f"Statistic: the {STATISTIC} of one official evaluation (`speedup bench`). "
          "Only records whose candidate passed every training check rank. Agents are "
          "grouped by policy and model: 'best' is the best run, 'average best' the mean of "
          "each run's best, the statistic the published anchors use.")
_ANCHOR_NOTE = ("NOT measured here: published numbers from a different, internal task, "
                "shown for orientation only. " + ANCHOR_TASK + ".")


def render_markdown(tracks: list[Track], png_name: str | None) -> str:
    lines = ["# Speedup Bench leaderboard", "", _RULES, ""]
    if png_name:
        lines += [f"![speedup by entrant]({png_name})", ""]
    if not tracks:
        lines += ["No records yet: run `speedup bench DIR` to make one.", ""]
    for track in tracks:
        lines += [f"## Track: {track.title}", ""]
        lines += _md_table(*_ranking_table(track)) if track.rows else ["No correct records."]
        lines.append("")
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


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}th,td{border:1px solid #ccc;
padding:0.25rem 0.6rem;text-align:left}th{background:#f0f0f0}
section.anchors{border:2px dashed #b06000;padding:0 1rem;background:#fff8ee}
img{max-width:100%}"""


def render_html(tracks: list[Track], png: bytes | None) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Speedup Bench leaderboard</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>Speedup Bench leaderboard</h1>", f"<p>{html.escape(_RULES)}</p>"]
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
    (out / "leaderboard.md").write_text(render_markdown(tracks, "leaderboard.png" if png else None))
    (out / "leaderboard.html").write_text(render_html(tracks, png))
    return [out / "leaderboard.md", out / "leaderboard.html", *written]
