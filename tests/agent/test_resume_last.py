"""Ctrl-C during `speedup run`, and the next `speedup run`: when the last run in the runs
folder was interrupted, a terminal is asked once (y/N) whether to continue it instead of
starting anew, a non-interactive one is told in one line how to continue it, and `speedup
run --resume-last` continues it without asking. A continued run ends as a fresh one does,
its leaderboard rendered; so does `speedup agent --resume`. The interrupted run is a real
one, stopped by Ctrl-C (KeyboardInterrupt) at its first check; the judge and the clock are
faked (agentfakes), the session, its record and the leaderboard real."""

from __future__ import annotations

import io
import json
import sys

import pytest
from test_cli_run import RecordingHarness

import agent.launch.project_harness
from speedup.cli import main


class Interrupted(RecordingHarness):
    def __init__(self, tolerances=None):
        super().__init__()
        self.hook = self.interrupt

    def interrupt(self):
        raise KeyboardInterrupt


class Stdin(io.StringIO):
    """A fake stdin: a terminal with `answer` typed, or (answer None) a pipe that must not
    be read."""

    def __init__(self, answer: str | None):
        super().__init__(answer or "")
        self.terminal, self.reads = answer is not None, 0

    def isatty(self) -> bool:
        return self.terminal

    def readline(self, *args) -> str:
        self.reads += 1
        assert self.terminal, "stdin was read though it is not a terminal"
        return super().readline(*args)


@pytest.fixture
def where(tmp_path) -> list[str]:
    return ["--device", "cpu", "--runs-dir", str(tmp_path / "runs"), "--results-dir",
            str(tmp_path / "results"), "--out", str(tmp_path / "board")]


@pytest.fixture
def interrupted(tmp_path, monkeypatch, capsys, where) -> str:
    """A `speedup run` stopped by Ctrl-C; its run id. The harness is then a working one."""
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", Interrupted)
    assert main(["run", *where]) == 130
    (run,) = (tmp_path / "runs").iterdir()
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", RecordingHarness)
    capsys.readouterr()
    return run.name


def _runs(tmp_path) -> dict[str, bool]:
    """run id -> finished."""
    return {p.name: (p / "record.json").is_file() for p in (tmp_path / "runs").iterdir()
            if p.is_dir()}


def _typed(monkeypatch, answer: str | None) -> Stdin:
    stdin = Stdin(answer)
    monkeypatch.setattr(sys, "stdin", stdin)
    return stdin


def _continued(tmp_path, run: str, out: str) -> None:
    """The run is finished, scored once, and its leaderboard rendered and named."""
    assert _runs(tmp_path) == {run: True}
    (record,) = (tmp_path / "results").glob("*.json")
    assert json.loads(record.read_text())["entrant"]["run_id"] == run
    assert (tmp_path / "board" / "leaderboard.md").is_file()
    assert f"leaderboard {tmp_path / 'board' / 'leaderboard.html'}" in out


def test_the_next_run_asks_once_and_continues_the_interrupted_one(
        interrupted, tmp_path, monkeypatch, capsys, where):
    stdin = _typed(monkeypatch, "y\n")
    assert main(["run", *where]) == 0
    out, err = capsys.readouterr()
    assert stdin.reads == 1
    (question,) = [line for line in err.splitlines() if "[y/N]" in line]
    assert interrupted in question
    _continued(tmp_path, interrupted, out)


@pytest.mark.parametrize("answer", ["n\n", "\n", ""])
def test_anything_but_yes_starts_a_new_run(interrupted, tmp_path, monkeypatch, capsys, where,
                                           answer):
    stdin = _typed(monkeypatch, answer)
    assert main(["run", *where]) == 0
    assert stdin.reads == 1
    runs = _runs(tmp_path)
    assert len(runs) == 2 and runs[interrupted] is False


def test_without_a_terminal_it_says_how_to_continue_and_starts_anew(
        interrupted, tmp_path, monkeypatch, capsys, where):
    _typed(monkeypatch, None)
    assert main(["run", *where]) == 0
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if "--resume-last" in x]
    assert interrupted in line and "speedup run --resume-last" in line
    runs = _runs(tmp_path)
    assert len(runs) == 2 and runs[interrupted] is False


def test_options_that_name_another_run_start_one_without_asking(
        interrupted, tmp_path, monkeypatch, capsys, where):
    stdin = _typed(monkeypatch, "y\n")
    assert main(["run", "--eval-rounds", "5", *where]) == 0  # a resume refuses it
    assert stdin.reads == 0
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "--resume-last" in x]
    assert interrupted in line
    runs = _runs(tmp_path)
    assert len(runs) == 2 and runs[interrupted] is False


def test_resume_last_continues_it_without_asking(interrupted, tmp_path, monkeypatch, capsys,
                                                 where):
    _typed(monkeypatch, None)
    assert main(["run", "--resume-last", *where]) == 0
    out, err = capsys.readouterr()
    assert "[y/N]" not in err
    _continued(tmp_path, interrupted, out)


def test_resume_last_with_no_interrupted_run_says_so(tmp_path, monkeypatch, capsys, where):
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", RecordingHarness)
    assert main(["run", *where]) == 0
    capsys.readouterr()
    assert main(["run", "--resume-last", *where]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "no interrupted run" in line and len(_runs(tmp_path)) == 1


def test_a_finished_last_run_asks_nothing(interrupted, tmp_path, monkeypatch, capsys, where):
    _typed(monkeypatch, None)
    assert main(["run", "--resume-last", *where]) == 0
    stdin = _typed(monkeypatch, "y\n")
    assert main(["run", *where]) == 0
    assert stdin.reads == 0 and len(_runs(tmp_path)) == 2


def test_agent_resume_renders_the_leaderboard_too(interrupted, tmp_path, capsys, where):
    assert main(["agent", "--resume", interrupted, *where]) == 0
    _continued(tmp_path, interrupted, capsys.readouterr().out)
