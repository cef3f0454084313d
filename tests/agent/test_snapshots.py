"""One directory hash: a state's id in the session (its snapshot, the transcript, the
outcome) is the records' solution_hash of the same files, caches left out everywhere."""

from __future__ import annotations

import pytest
from test_session import _session_script

from agent.session.snapshots import Snapshots
from agent.session.transcript import read_events
from agent.session.workspace import ToolError, Workspace
from correctness.sandbox import BASELINE_DIR
from correctness.solution import solution_hash


def test_every_snapshot_is_named_by_the_solution_hash_of_its_directory(start_claude):
    session, _ = start_claude(_session_script())
    outcome = session.run()
    snapshots = [e for e in read_events(session.dir / "transcript.jsonl")
                 if e["event"] == "snapshot"]
    assert len({e["hash"] for e in snapshots}) == 2  # the baseline and the edited state
    for e in snapshots:
        assert solution_hash(session.dir / e["path"]) == e["hash"]
        assert session.dir / e["path"] == session.snapshots.path(e["hash"])
    assert solution_hash(session.snapshots.path(outcome.hash)) == outcome.hash
    assert session.workspace.solution_hash() == solution_hash(session.workspace.root)


def test_caches_are_neither_listed_nor_copied_nor_hashed(tmp_path):
    ws = Workspace.create(tmp_path / "ws", BASELINE_DIR)
    before = ws.solution_hash()
    for cache in ("__pycache__/ops.cpython-311.pyc", "stray.pyc", ".hypothesis/x"):
        (ws.root / cache).parent.mkdir(parents=True, exist_ok=True)
        (ws.root / cache).write_bytes(b"\0junk")
    assert ws.solution_hash() == before
    assert not any(rel.endswith(".pyc") or rel.startswith(".") for rel, _ in ws.files())
    copy = ws.copy_to(tmp_path / "copy")
    assert solution_hash(copy) == before
    assert sorted(p.name for p in copy.rglob("*")) == sorted(rel for rel, _ in ws.files())
    for cache in ("stray.pyc", "__pycache__/new.py"):  # the tools cannot write one either
        with pytest.raises(ToolError, match="is a cache"):
            ws.write(cache, "x = 1\n")


def test_a_snapshot_directory_drops_the_hash_prefix(tmp_path):
    h = "sha256:" + "ab" * 32
    assert Snapshots(tmp_path).path(h) == tmp_path / "snapshots" / ("ab" * 8)
