"""One home for a run's file layout: a session writes its transcript, workspace, snapshots
and record marker where RunDir says, resume and the sweep read them back from there, and a
sweep's lock on a run is exclusive."""

from __future__ import annotations

import fcntl
import json
import os

import pytest
from test_session import _session_script

from agent.launch.sweep_plan import run_status
from agent.session.resume import ResumeError, check_resumable
from agent.session.run_dir import RunDir
from agent.session.transcript import read_events


def test_a_session_keeps_everything_where_its_run_dir_says(start_claude):
    session, _ = start_claude(_session_script())
    run = RunDir.of(session.dir.parent, session.config.run_id)
    assert run.record() is None and session.run_dir.path == run.path
    outcome = session.run()
    assert read_events(run.transcript)[-1]["event"] == "evaluation"
    assert run.workspace.is_dir() and run.snapshot(outcome.hash).is_dir()
    assert sorted(p.name for p in run.path.iterdir()) == [
        "record.json", "snapshots", "transcript.jsonl", "workspace"]
    assert run.record() == str(outcome.record)
    assert json.loads(run.marker.read_text())["transcript_sha256"] == session.transcript.sha256()
    with pytest.raises(ResumeError, match="is finished"):
        check_resumable(run)
    assert run_status(run.path.parent, session.config) == ("finished", str(outcome.record))


def test_each_resume_sets_its_partial_turn_aside_in_a_file_of_its_own(tmp_path):
    run = RunDir(tmp_path / "r1")
    run.path.mkdir()
    first = run.next_partial()
    first.write_text("{}\n")
    assert (first.name, run.next_partial().name) == ("transcript.partial-1.jsonl",
                                                     "transcript.partial-2.jsonl")


def test_the_run_lock_is_exclusive_while_held(tmp_path):
    run = RunDir.of(tmp_path / "runs", "r1")
    lock_file = tmp_path / "runs" / ".r1.lock"
    with run.lock():
        with open(lock_file) as other, pytest.raises(BlockingIOError):
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(lock_file) as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # released


def test_clearing_removes_what_an_unstarted_run_left(tmp_path):
    run = RunDir(tmp_path / "r1")
    run.clear()  # nothing there: nothing to do
    (run.workspace).mkdir(parents=True)
    run.clear()
    assert not run.path.exists()


def test_a_run_dir_is_path_like():
    run = RunDir("runs/r1")
    assert os.fspath(run) == os.path.join("runs", "r1") and RunDir(run).path == run.path
    assert run.run_id == "r1"
