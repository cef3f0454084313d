"""The leaderboard's plot reads on one scale: every track's panel shares one log x range, the
rows' measurements decide it and no bound stretches it, so a longer bar is a larger speedup
wherever it is drawn. Checked on the figure, and in the page a browser draws (headless
Chromium), by measuring the bars in the screenshot."""

import matplotlib.image
import numpy as np
import pytest
from test_leaderboard import CHROMIUM, _chromium, _solution, _write

from bench import leaderboard, leaderboard_plot, records
from bench import leaderboard_render as render

FAR_BOUND = 60.0  # a big-GEMM rate tens of times past the rows, as a CPU track's can be
NEAR_BOUND = 3.0  # one inside the rows' range: drawn where it falls
BAR_BLUE = (0x48, 0x78, 0xA8)  # a ranked row's bar (bench/leaderboard_plot.py)


@pytest.fixture
def tracks(tmp_path) -> list:
    """Two tracks whose bests interleave (2.37x on cpu, 2.55x on tiny, as a committed
    leaderboard had them), tiny with a far big-GEMM rate and cpu with a near one."""
    sol = _solution(tmp_path)
    results = tmp_path / "results"
    for preset, bests in (("cpu", {"a": 1.5, "b": 2.37, "c": 5.0}),
                          ("tiny", {"d": 1.2, "e": 2.55, "f": 4.0})):
        for name, best in bests.items():
            _write(results, sol, {"kind": "reference", "name": name}, best, preset=preset)
    built = leaderboard.build(records.load_records(results))
    bounds = {"cpu": NEAR_BOUND, "tiny": FAR_BOUND}
    for track in built:
        track.headroom.big_gemm = bounds[track.preset]
    return built


def test_every_panel_shares_one_x_range_that_no_bound_stretches(tracks):
    fig = leaderboard_plot.figure(tracks)
    (limits,) = {ax.get_xlim() for ax in fig.axes}
    low, high = limits
    bests = [r.best for t in tracks for r in t.rows]
    assert low < 1.0 and max(bests) < high < FAR_BOUND
    assert NEAR_BOUND < high  # a bound inside the rows' range is drawn where it falls
    labels = [t.get_text().strip() for ax in fig.axes for t in ax.texts]
    assert "big-GEMM rate (a reference, not a bound): 60x, beyond the axis" in labels
    assert "big-GEMM rate (a reference, not a bound) 3x" in labels
    assert not [t for t in labels if "upper bound" in t]


def _bars(shot) -> list[tuple[int, int]]:
    """(left, right) pixel columns of each ranked bar in the screenshot, top to bottom."""
    pixels = (matplotlib.image.imread(shot)[..., :3] * 255).round()
    blue = (np.abs(pixels - BAR_BLUE) <= 2).all(axis=-1)
    rows = np.flatnonzero(blue.sum(axis=1) > 3)
    # a bar is a run of pixel rows; an interval line drawn across one splits it by a pixel
    bars = np.split(rows, np.flatnonzero(np.diff(rows) > 4) + 1)
    return [(int(cols.min()), int(cols.max()))
            for cols in (np.flatnonzero(blue[bar].any(axis=0)) for bar in bars)]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install "
                    "chromium); the check needs a real browser")
def test_in_the_browser_a_longer_bar_is_a_larger_speedup_across_tracks(tracks, tmp_path):
    render.write(tracks, tmp_path)
    shot = tmp_path / "shot.png"
    r = _chromium(tmp_path / "leaderboard.html", tmp_path, f"--screenshot={shot}",
                  "--window-size=1000,2200", "--hide-scrollbars")
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    bests = np.array([row.best for t in tracks for row in t.rows])  # panels top to bottom
    bars = np.array(_bars(shot))
    assert len(bars) == len(bests)
    left, right = bars[:, 0], bars[:, 1]
    assert left.max() - left.min() <= 1  # every bar starts at the one 1x
    # one scale: each bar's end is the same linear function of log(speedup) in every panel
    slope, offset = np.polyfit(np.log(bests), right, 1)
    assert slope > 0 and np.abs(offset + slope * np.log(bests) - right).max() <= 2
    assert list(np.argsort(right - left)) == list(np.argsort(bests))
