"""The states of a session's workspace that the judge or the clock saw, each copied once to
runs/<id>/snapshots/, and which one the official evaluation scores.

A state is named by its solution hash (`Workspace.solution_hash`, the records' own), so a
snapshot's id is the solution_hash of its directory and of the record that scores it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from agent.session.run_dir import RunDir
from agent.session.workspace import Workspace

# A state's id is a solution hash and nothing else: transcripts are shared for replay and
# resume, so an id read from one is untrusted input and names a directory only through this.
STATE_ID = re.compile(r"sha256:[0-9a-f]{64}")


class SnapshotError(ValueError):
    """A state id that is not a solution hash, or a snapshot whose files are not that state."""


@dataclass
class State:
    passed: bool = False  # the judge passed it at least once
    ratios: list[float] = field(default_factory=list)  # run_bench speedups that passed
    turn: int = 0  # the last turn that saw it


class Snapshots:
    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = RunDir(run_dir)
        self.states: dict[str, State] = {}
        self.initial = ""  # the untouched baseline's hash
        self.submitted: str | None = None

    def path(self, solution_hash: str) -> Path:
        """snapshots/<first 16 hex digits of the hash>/; SnapshotError for anything that is
        not a solution hash."""
        if not isinstance(solution_hash, str) or not STATE_ID.fullmatch(solution_hash):
            raise SnapshotError(f"{str(solution_hash)[:80]!r} is not a snapshot id "
                                "(a solution hash, sha256:<64 hex digits>)")
        return self.run_dir.snapshot(solution_hash)

    def verified(self, solution_hash: str) -> Path:
        """The snapshot of a state this session saw, its files checked against the hash;
        SnapshotError when the state is unknown, missing or its files differ."""
        from correctness.solution import solution_hash as hash_of

        path = self.path(solution_hash)
        if solution_hash not in self.states and solution_hash != self.initial:
            raise SnapshotError(f"no snapshot of state {solution_hash[:23]}... was taken in "
                                "this run")
        if not path.is_dir() or hash_of(path) != solution_hash:
            raise SnapshotError(f"the snapshot {path.name} does not hold state "
                                f"{solution_hash[:23]}... (missing or changed)")
        return path

    def note(self, solution_hash: str, turn: int, passed: bool | None = None,
             ratio: float | None = None) -> None:
        """What a turn learnt of a state (also replayed from the transcript on resume)."""
        state = self.states.setdefault(solution_hash, State(turn=turn))
        state.passed = state.passed or bool(passed)
        state.turn = turn
        if ratio is not None:
            state.ratios.append(ratio)

    def take(self, workspace: Workspace, solution_hash: str, turn: int,
             passed: bool | None = None, ratio: float | None = None,
             initial: bool = False) -> dict:
        """Copy the workspace (once per state) and note what was seen; the snapshot event."""
        path = self.path(solution_hash)
        if not path.exists():
            workspace.copy_to(path)
        self.note(solution_hash, turn, passed, ratio)
        event = {"event": "snapshot", "turn": turn, "hash": solution_hash,
                 "path": str(path.relative_to(self.run_dir.path))}
        if passed is not None:
            event["passed"] = passed
        if ratio is not None:
            event["ratio"] = ratio
        if initial:
            event["initial"] = True
        return event

    def chosen(self) -> tuple[str, str]:
        """(source, hash) of the state to score: the submitted one; else the passing state
        with the best mean bench ratio (the latest passing one if none was timed); else the
        untouched baseline."""
        if self.submitted:
            return "submitted", self.submitted
        passing = [(h, s) for h, s in self.states.items() if s.passed]
        timed = [(sum(s.ratios) / len(s.ratios), s.turn, h) for h, s in passing if s.ratios]
        if timed:
            return "best_checked", max(timed)[2]
        if passing:
            return "best_checked", max((s.turn, h) for h, s in passing)[1]
        return "baseline", self.initial
