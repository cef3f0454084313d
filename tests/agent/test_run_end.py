"""What the end of `speedup run` and `speedup agent` shows: the user's own result (the median
speedup with its interval, and the word inconclusive when it is), where it stands among the
shipped reference records of its track, and the paths of its record and of the leaderboard,
where the user's run has a row of its own. The shipped records are made as maintainers make
them (shippedfakes: torch_native 2.00x, cpu_expert 4.00x on tiny); the session's judge and
clock are faked (agentfakes), its record and the leaderboard real."""

from __future__ import annotations

import pytest
from mockapi import DocumentedAPI
from shippedfakes import ship
from test_cli_outcomes import CLIHarness, _submit, cli  # noqa: F401
from test_cli_run import RecordingHarness

import agent.launch.project_harness
from speedup.cli import main

CASES = [  # median, its interval, inconclusive, where it stands
    (3.0, [2.5, 3.5], False,
     "on tiny/cpu: between the shipped references torch_native 2.00x and cpu_expert 4.00x"),
    (0.712, [0.4, 1.3], True, "on tiny/cpu: below the shipped reference torch_native 2.00x"),
    (5.0, None, True, "on tiny/cpu: above every shipped reference (the best: cpu_expert 4.00x)"),
]


def _scored(base, ratio: float, interval, inconclusive: bool):
    """`base`'s harness, its official evaluation at `ratio`."""

    class Scored(base):
        def official_evaluation(self, *args, **kw):
            ev = super().official_evaluation(*args, **kw)
            ev.median_ratio = ev.min_ratio = ev.max_ratio = ratio
            ev.rounds[0]["ratio"] = ratio
            ev.ratio_interval, ev.inconclusive = interval, inconclusive
            return ev

    return Scored


def _score_line(ratio: float, interval, inconclusive: bool) -> str:
    shown = (f"95% interval {interval[0]:.3f}x to {interval[1]:.3f}x" if interval
             else "one round: no interval")
    return f"median speedup {ratio:.3f}x ({shown})" + (", inconclusive" if inconclusive else "")


@pytest.mark.parametrize("ratio,interval,inconclusive,standing", CASES)
def test_speedup_run_ends_with_the_users_result_its_standing_and_paths(
        tmp_path, monkeypatch, capsys, ratio, interval, inconclusive, standing):
    ship(monkeypatch, tmp_path / "project", {"torch_native": 2.0, "cpu_expert": 4.0})
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness",
                        _scored(RecordingHarness, ratio, interval, inconclusive))
    capsys.readouterr()
    assert main(["run", "--device", "cpu", "--runs-dir", str(tmp_path / "runs")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    data = tmp_path / "xdg" / "speedup-bench"
    (record,) = (data / "results").glob("*.json")  # the user's data directory
    assert lines[-1].endswith(_score_line(ratio, interval, inconclusive)), lines[-1]
    assert standing in lines[-2]
    board = data / "leaderboard" / "leaderboard.html"
    assert f"record {record}" in lines[-4]
    assert f"leaderboard {board}" in lines[-3] and "row library (yours)" in lines[-3]
    assert board.is_file()


@pytest.fixture(autouse=True)
def _data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def test_speedup_agent_ends_the_same_way(cli, tmp_path, monkeypatch, capsys):  # noqa: F811
    ship(monkeypatch, tmp_path / "project", {"torch_native": 2.0, "cpu_expert": 4.0})
    ratio, interval, inconclusive, standing = CASES[1]
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness",
                        _scored(CLIHarness, ratio, interval, inconclusive))
    capsys.readouterr()
    assert cli(DocumentedAPI([_submit()])) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    (record,) = (tmp_path / "results").glob("*.json")  # the cli fixture's --results-dir
    board = tmp_path / "xdg" / "speedup-bench" / "leaderboard" / "leaderboard.html"
    assert lines[-1].endswith(_score_line(ratio, interval, inconclusive)), lines[-1]
    assert standing in lines[-2]
    assert f"leaderboard {board}" in lines[-3]
    assert "row claude / claude-sonnet-5-5 (yours)" in lines[-3]
    assert f"record {record}" in lines[-4]
