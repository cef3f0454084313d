"""A run's directory, runs/<run id>/: everything one session keeps, in the one layout that
every module reads through RunDir.

    transcript.jsonl            every event, appended and fsync'ed (transcript.py)
    transcript.partial-N.jsonl  the events after the last complete turn, set aside by the
                                N-th resume (resume.py)
    workspace/                  the files the tools reach (workspace.py)
    snapshots/<16 hex digits>/  each state the judge or the clock saw, named by the start of
                                its solution hash (snapshots.py)
    record.json                 where the official record went and the transcript's hash:
                                a run with this file is finished (scoring.py)

Beside it, runs/.<run id>.lock: a sweep's exclusive lock on the run, taken before the
directory exists and held until the session's process ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


class RunDir:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @classmethod
    def of(cls, runs_dir: str | os.PathLike, run_id: str) -> RunDir:
        return cls(Path(runs_dir) / run_id)

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def transcript(self) -> Path:
        return self.path / "transcript.jsonl"

    @property
    def workspace(self) -> Path:
        return self.path / "workspace"

    @property
    def snapshots(self) -> Path:
        return self.path / "snapshots"

    @property
    def marker(self) -> Path:
        """record.json: the record's path and the transcript's hash, once scored."""
        return self.path / "record.json"

    def snapshot(self, solution_hash: str) -> Path:
        """The directory of the state with this solution hash, 'sha256:<hex>' (snapshots.py
        checks that it is one before asking)."""
        return self.snapshots / solution_hash.removeprefix("sha256:")[:16]

    def next_partial(self) -> Path:
        """Where the next resume sets its partial turn aside."""
        n = sum(1 for _ in self.path.glob("transcript.partial-*.jsonl")) + 1
        return self.path / f"transcript.partial-{n}.jsonl"

    def record(self) -> str | None:
        """The record the run was scored into; None while it is unfinished."""
        if not self.marker.is_file():
            return None
        return json.loads(self.marker.read_text())["record"]

    def mark_scored(self, record: str | os.PathLike, transcript_sha256: str) -> None:
        """Name the run's record: from now on the run is finished."""
        self.marker.write_text(json.dumps(
            {"record": str(record), "transcript_sha256": transcript_sha256}, indent=1) + "\n")

    def clear(self) -> None:
        """Remove what a start killed before its first event left (nothing to resume)."""
        if self.path.exists():
            shutil.rmtree(self.path)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive, held until the holder's process ends however it ends (an flock)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / f".{self.run_id}.lock", "a") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            yield
