"""Continuing a session from its transcript (`--resume`), after its last complete turn.

The partial turn's events are moved to a side file (what it spent still counts); the
conversation, the spend, the states seen and the stop are read back from the events; the
workspace is rebuilt by replaying the successful file-tool calls on a fresh copy of the
baseline, and its solution hash must equal the one the transcript recorded. A session that
stopped on an API failure (api_errors.py: it wrote no record) continues from there. Its
config is the start event's with every `options` event's changes applied (a resume that
changed request or budget options wrote one: agent/launch/build.py).

A transcript whose hashes are not solution hashes ('sha256:<hex>', the records' own) was
written with a workspace digest that no code here computes, so its workspace cannot be
checked: --resume refuses it with a ResumeError saying so, and `speedup agent show` still
prints it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from agent.session.budget import Price, Spend
from agent.session.run_config import RunConfig
from agent.session.run_dir import RunDir
from agent.session.snapshots import SnapshotError, Snapshots
from agent.session.tools import FILE_TOOLS
from agent.session.transcript import complete_prefix, conversation_from, read_events
from agent.session.workspace import Workspace
from correctness.sandbox import reference_dir  # a workspace starts as its copy

HASH_PREFIX = "sha256:"  # every solution_hash starts with it


class ResumeError(Exception):
    """A run that cannot be continued (finished, or its workspace cannot be rebuilt)."""


def read_start(run_dir: str | os.PathLike) -> dict:
    """A run's start event: its config, system prompt, tools and first message."""
    path = RunDir(run_dir).transcript
    if not path.is_file():
        raise ResumeError(f"{path} does not exist: not a run directory")
    for e in read_events(path):
        if e["event"] == "start":
            return e
    raise ResumeError(f"{path} has no start event")


def read_config(run_dir: str | os.PathLike) -> RunConfig:
    """The run's config: its start event's, with each resume's option changes applied."""
    config = RunConfig.from_dict(read_start(run_dir)["config"])
    for e in read_events(RunDir(run_dir).transcript):
        if e["event"] == "options":
            config = config.with_options(e["changes"])
    return config


def stopped(events: list[dict]) -> str | None:
    """Why the session stopped for good, after its last complete turn (None: it goes on;
    an API failure ended the loop but not the session)."""
    stops = [e for e in events[:complete_prefix(events)] if e["event"] == "stop"]
    reason = stops[-1]["reason"] if stops else None
    return None if reason == "api_error" else reason


def check_resumable(run_dir: RunDir) -> None:
    """ResumeError unless the run has no record yet and its hashes are solution hashes."""
    record = run_dir.record()
    if record is not None:
        raise ResumeError(f"run {run_dir.run_id} is finished: its record is {record}")
    if not read_start(run_dir)["workspace_hash"].startswith(HASH_PREFIX):
        raise ResumeError(f"run {run_dir.run_id} recorded its workspace states with the former "
                          f"workspace digest, not the records' solution_hash, so its "
                          f"workspace cannot be checked and it cannot be resumed; start a new "
                          f"run (`speedup agent show {run_dir.path}` still prints this one)")


def set_aside_partial_turn(run_dir: RunDir) -> tuple[list[dict], Path | None]:
    """Every event read, and the side file that now holds the events after the last
    complete turn (None when there were none); the transcript keeps the complete prefix."""
    transcript = run_dir.transcript
    lines = transcript.read_bytes().splitlines(keepends=True)
    events = read_events(transcript)
    keep = complete_prefix(events)
    if keep == len(lines):
        return events, None
    partial = run_dir.next_partial()
    partial.write_bytes(b"".join(lines[keep:]))
    tmp = transcript.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(b"".join(lines[:keep]))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, transcript)
    return events, partial


@dataclass
class Rebuilt:
    """A session's state after its last complete turn, read back from its events."""

    messages: list[dict]
    spend: Spend  # the partial turn's included
    lost: Spend  # what the partial turn used
    workspace: Workspace
    snapshots: Snapshots
    stop_reason: str | None
    refusal_category: str | None = None
    counted: tuple[int, int] | None = None  # context.counted of the last response


def rebuild(run_dir: RunDir, events: list[dict], price: Price, cache_ttl: str = "5m") -> Rebuilt:
    keep = complete_prefix(events)
    done, tail = events[:keep], events[keep:]
    snapshots = Snapshots(run_dir)
    snapshots.initial = _state_id(snapshots, done[0]["workspace_hash"])
    ends = [e for e in done if e["event"] in ("turn_end", "resume", "stop")]
    spend = Spend.from_dict(ends[-1]["spend"]) if ends else Spend()
    want = next((e["workspace_hash"] for e in reversed(ends) if "workspace_hash" in e),
                snapshots.initial)
    workspace = rebuild_workspace(run_dir.workspace, done, want)
    category = None
    for e in done:
        if e["event"] == "snapshot":
            snapshots.note(_state_id(snapshots, e.get("hash")), e["turn"], e.get("passed"),
                           e.get("ratio"))
        elif e["event"] == "stop":
            snapshots.submitted, category = e.get("submitted"), e.get("refusal_category")
    try:  # every state the session may score is one it saw, with its files unchanged
        for state in (*snapshots.states, snapshots.submitted or snapshots.initial):
            snapshots.verified(state)
    except SnapshotError as e:
        raise ResumeError(f"the transcript names a state this run cannot score: {e}") from e
    lost = _spent_in(tail, price, cache_ttl)
    for f in dataclasses.fields(Spend):
        if f.name != "turns":
            setattr(spend, f.name, getattr(spend, f.name) + getattr(lost, f.name))
    messages, counted = conversation_from(done)
    return Rebuilt(messages, spend, lost, workspace, snapshots, stopped(events), category,
                   counted)


def _state_id(snapshots: Snapshots, value) -> str:
    """A state id read from the transcript (untrusted input), checked to be a solution
    hash before it names any directory."""
    try:
        snapshots.path(value)
    except SnapshotError as e:
        raise ResumeError(f"the transcript names a state this run cannot score: {e}") from e
    return value


def _spent_in(events: list[dict], price: Price, cache_ttl: str) -> Spend:
    """What a partial turn used: it still counts against the budgets."""
    lost = Spend()
    for e in events:
        if e["event"] == "response":
            lost.add_usage(e["message"].get("usage", {}), price, cache_ttl)
        elif e["event"] == "tool_result":
            lost.device_s += e.get("device_s", 0.0)
    return lost


def rebuild_workspace(root: Path, done: list[dict], want: str) -> Workspace:
    """A fresh copy of the preset's reference program with the successful file-tool calls
    replayed; ResumeError unless its solution hash is `want`, the last one recorded."""
    if root.exists():
        shutil.rmtree(root)
    workspace = Workspace.create(root, reference_dir(done[0]["config"]["preset"]))
    calls = {}
    for e in done:
        if e["event"] == "tool_call" and e["name"] in FILE_TOOLS:
            calls[e["id"]] = e
        elif e["event"] == "tool_result" and e["id"] in calls and not e["is_error"]:
            args = calls[e["id"]]["input"]
            if e["name"] == "write_file":
                workspace.write(args["path"], args["content"])
            else:
                workspace.edit(args["path"], args["old_string"], args["new_string"])
    if workspace.solution_hash() != want:
        raise ResumeError("the workspace rebuilt from the transcript does not match the "
                          "recorded state (did baseline/ change since the run started?)")
    return workspace
