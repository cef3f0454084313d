"""The leaderboard's plot: speedup by entrant, one panel per track, on one log x axis that
every panel shares, so a longer bar is a larger speedup wherever it is drawn.

The axis spans what the rows measured (bars from 1x to the best run, the average best and
its interval). A track's reference lines (the shape-aware ceiling, the big-GEMM rate) are
drawn where they fall, and as a marker at the panel's edge, with their value, where they lie
beyond it: a line tens of times past the rows would otherwise squeeze every bar of every
track into the axis' first inch.

A bar is named by its row's entrant, and by its source as well ("library (yours)") where an
entrant has a shipped row and one of the user's on the track.
"""

from __future__ import annotations

import io

from bench.leaderboard import Track
from bench.stats import BOOTSTRAP_LEVEL

_AVERAGE = "#d07030"
_BAR, _UNRANKED = "#4878a8", "#a8a8a8"  # a ranked row's bar; a row listed apart
_CEILING = "#2a7a3a"  # the shape-aware ceiling
_BIG_GEMM = "#a03030"  # the big-GEMM rate
_MARGIN = 1.3  # the axis reaches this factor past the outermost value on each side


def plot_png(tracks: list[Track]) -> bytes | None:
    """The plot as PNG bytes; None when no track has a correct record."""
    fig = figure(tracks)
    if fig is None:
        return None
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def figure(tracks: list[Track]):
    """The matplotlib Figure: one panel per track with rows, ranked rows above the ones
    listed apart (grey), all on one shared x range; None when no track has rows."""
    shown = [t for t in tracks if t.rows or t.unconfined]
    if not shown:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heights = [0.9 + 0.4 * (len(t.rows) + len(t.unconfined)) for t in shown]
    fig, axes = plt.subplots(len(shown), 1, figsize=(8, sum(heights) + 0.6), squeeze=False,
                             sharex=True, gridspec_kw={"height_ratios": heights})
    values = [v for t in shown for v in _measured(t)]
    limits = (min(values) / _MARGIN, max(values) * _MARGIN)
    for ax, track in zip(axes[:, 0], shown):
        _panel(ax, track, limits)
    axes[-1, 0].set_xlabel("speedup over the baseline (x, log scale, one scale for every "
                           "track)")
    fig.tight_layout()
    return fig


def _rows(track: Track) -> list:
    return [*track.rows, *track.unconfined][::-1]  # best ranked at the top


def _measured(track: Track) -> list[float]:
    """Every value a panel draws from its records: 1x, where each bar starts, and each
    row's best, average best and interval."""
    values = [1.0]
    for r in _rows(track):
        values += [r.best, r.average_best, *(r.interval or ())]
    return values


def _names(rows: list) -> list[str]:
    """Each row's label, with its source ('library (yours)') where the panel has rows of
    that label from both sources: the leaderboard keeps a shipped row and the user's apart,
    and two bars of one name would not say which is which."""
    sources: dict[str, set[str]] = {}
    for r in rows:
        sources.setdefault(r.label, set()).add(r.source)
    return [f"{r.label} ({r.source})" if len(sources[r.label]) > 1 else r.label
            for r in rows]


def _panel(ax, track: Track, limits: tuple[float, float]) -> None:
    from matplotlib import ticker

    rows = _rows(track)
    y = list(range(len(rows)))
    apart = len(track.unconfined)  # the bottom ones: judged with process isolation only
    # bars grow from 1x, so a slowdown points left
    ax.barh(y, [r.best - 1.0 for r in rows], left=1.0,
            color=[_UNRANKED] * apart + [_BAR] * len(track.rows))
    ax.scatter([r.average_best for r in rows], y, color=_AVERAGE, zorder=3, s=18)
    for i, r in zip(y, rows):
        if r.interval:
            ax.hlines(i, *r.interval, color=_AVERAGE, linewidth=1.5, zorder=3)
    ax.set_xscale("log")
    ax.set_xlim(*limits)
    # a band above and below the bars for the reference lines' labels: one at the top and
    # one at the bottom, so they overlap neither each other nor a bar
    ax.set_ylim(-0.9, len(rows) - 0.1)
    _reference_line(ax, track.headroom.shape_ceiling, limits, _CEILING, "-",
                    "shape-aware ceiling (estimate)", top=True)
    _reference_line(ax, track.headroom.big_gemm, limits, _BIG_GEMM, "--",
                    "big-GEMM rate (a reference, not a bound)", top=False)
    names = _names(rows)
    ax.set_yticks(y, [f"{name} (not ranked)" if i < apart else name
                      for i, name in enumerate(names)])
    ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.tick_params(labelbottom=True)  # every panel keeps its scale's labels
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_title(f"{track.title}: bars best run, dots average best over runs with their "
                 f"{BOOTSTRAP_LEVEL:.0%} interval", fontsize=9)


def _reference_line(ax, x: float | None, limits: tuple[float, float], color: str,
                    style: str, name: str, top: bool) -> None:
    """A reference figure at x: a vertical line inside the axis; past one of its ends, a
    marker on that edge pointing out. Labelled with its value either way; never moves the
    axis."""
    if not x:
        return
    y, va = (1.0, "top") if top else (0.0, "bottom")
    on_axis = ax.get_xaxis_transform()  # x in data, y in the panel's height
    low, high = limits
    if low <= x <= high:
        ax.axvline(x, color=color, linestyle=style, linewidth=1.5)
        ax.text(x, y, f"{name} {x:.3g}x ", color=color, fontsize=8, va=va, ha="right",
                transform=on_axis)
        return
    edge, marker, ha = (high, ">", "right") if x > high else (low, "<", "left")
    ax.plot([edge], [y], marker=marker, markersize=10, color=color, clip_on=False,
            transform=on_axis)
    ax.text(edge, y, f"   {name}: {x:.3g}x, beyond the axis   ", color=color, fontsize=8,
            va=va, ha=ha, transform=on_axis)
