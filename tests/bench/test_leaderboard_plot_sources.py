"""The plot names a row's source where one entrant has a shipped row and a row of yours on a
track (bench/leaderboard.py keeps them apart): two bars that read the same name would say
nothing about which is which. An entrant with rows from one source keeps its plain name."""

import pytest
from test_leaderboard import _solution, _write

from bench import leaderboard, leaderboard_plot, records


def test_a_shipped_row_and_yours_of_one_entrant_say_their_source(tmp_path):
    sol = _solution(tmp_path)
    yours = tmp_path / "yours"
    native = {"kind": "reference", "name": "torch_native"}
    _write(records.SHIPPED_DIR, sol, native, 2.0)
    _write(yours, sol, native, 2.4)
    _write(yours, sol, {"kind": "agent", "policy": "library"}, 1.5)  # yours alone
    (track,) = leaderboard.build(records.load_sources(yours))

    (ax,) = leaderboard_plot.figure([track]).axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    bests = [1.0 + bar.get_width() for bar in ax.patches]  # bars grow from 1x, tick order
    assert sorted(labels) == ["library", "torch_native (shipped)", "torch_native (yours)"]
    assert dict(zip(labels, bests)) == pytest.approx(
        {"library": 1.5, "torch_native (shipped)": 2.0, "torch_native (yours)": 2.4})
