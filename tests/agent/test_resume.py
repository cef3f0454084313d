"""A run killed at any point resumes after its last complete turn: the transcript's prefix
is kept byte for byte, the next request is the one the uninterrupted run sent, the
workspace is rebuilt from the transcript, and what the partial turn spent still counts."""

from __future__ import annotations

import json

import pytest
from agentfakes import Kill, ScriptedAPI, message, tool_use, usage

from agent.policies.claude import ClaudePolicy
from agent.session.loop import Session
from agent.session.resume import ResumeError
from agent.session.transcript import read_events

OLD = "return 0.5 * x * (1.0 + torch.tanh(inner))"
NEW = OLD + "  # fast"


def _script() -> list:
    return [
        message(tool_use("list_files", "t1")),
        message(tool_use("read_file", "t2", path="ops.py")),
        message(tool_use("edit_file", "t3", path="ops.py", old_string=OLD, new_string=NEW)),
        message(tool_use("run_check", "t4")),
        message(tool_use("submit", "t5"), use=usage(inp=7, out=3)),
    ]


def _resume(run_dir, script, harness, clock):
    api = ScriptedAPI(script)
    policy = ClaudePolicy(api.client(), "claude-sonnet-5-5")
    return Session.resume(run_dir, policy, harness, clock=clock, sleep=lambda s: None), api


def _prefix_through_turn(path, turn: int) -> bytes:
    lines = path.read_bytes().splitlines(keepends=True)
    events = read_events(path)
    end = max(i for i, e in enumerate(events) if e["event"] == "turn_end" and e["turn"] == turn)
    return b"".join(lines[: end + 1])


@pytest.mark.parametrize("k", [1, 2, 4])
def test_killed_after_turn_k_resumes_at_turn_k_plus_1(start_claude, harness, clock, tmp_path, k):
    reference, ref_api = start_claude(_script(), run_id="ref")
    reference.run()

    script = _script()
    session, _ = start_claude(script[:k] + [Kill])
    with pytest.raises(Kill):
        session.run()
    transcript = session.dir / "transcript.jsonl"
    before = _prefix_through_turn(transcript, k)

    resumed, api = _resume(session.dir, script[k:], harness, clock)
    outcome = resumed.run()

    assert transcript.read_bytes().startswith(before)
    assert api.bodies[0] == ref_api.bodies[k]  # the request the uninterrupted run sent
    events = read_events(transcript)
    assert [e["turn"] for e in events if e["event"] == "response"] == [1, 2, 3, 4, 5]
    assert outcome.stop_reason == "submitted" and outcome.spend.turns == 5
    assert outcome.hash == reference.snapshots.chosen()[1]
    assert resumed.workspace.solution_hash() == reference.workspace.solution_hash()
    partial = read_events(session.dir / "transcript.partial-1.jsonl")
    assert [e["event"] for e in partial] == ["request"]


def test_a_partial_turn_is_set_aside_and_its_spend_still_counts(start_claude, harness,
                                                                clock):
    script = _script()
    session, _ = start_claude(script[:4])

    def kill_during_check():
        raise Kill()

    harness.hook = kill_during_check  # turn 4's response is paid for, its check never ends
    with pytest.raises(Kill):
        session.run()
    harness.hook = None

    resumed, api = _resume(session.dir, script[3:], harness, clock)
    outcome = resumed.run()
    one = (100 * 1.0 + 50 * 10.0) / 1e6  # a scripted turn's cost at the test price
    assert abs(outcome.spend.dollars - (5 * one + (7 * 1.0 + 3 * 10.0) / 1e6)) < 1e-12
    assert outcome.spend.turns == 5  # the set-aside turn is paid for but not counted
    assert NEW in (resumed.workspace.root / "ops.py").read_text()  # turn 3's edit rebuilt
    resume = next(e for e in read_events(session.dir / "transcript.jsonl")
                  if e["event"] == "resume")
    assert resume["partial_file"] == "transcript.partial-1.jsonl"
    assert abs(resume["lost"]["dollars"] - one) < 1e-12


def test_a_killed_evaluation_is_retried_on_resume(start_claude, harness, clock):
    session, _ = start_claude([message(tool_use("submit", "t1"))])
    real = harness.official_evaluation
    harness.official_evaluation = lambda *a, **k: (_ for _ in ()).throw(Kill())
    with pytest.raises(Kill):
        session.run()
    harness.official_evaluation = real
    resumed, api = _resume(session.dir, [], harness, clock)
    outcome = resumed.run()
    assert api.bodies == [] and outcome.stop_reason == "submitted"
    assert len(harness.records) == 1


def test_a_finished_run_is_not_resumed(start_claude, harness, clock):
    session, _ = start_claude([message(tool_use("submit", "t1"))])
    session.run()
    with pytest.raises(ResumeError, match="is finished"):
        _resume(session.dir, [], harness, clock)


def test_a_workspace_that_cannot_be_rebuilt_is_refused(start_claude, harness, clock):
    session, _ = start_claude(_script()[:3] + [Kill])
    with pytest.raises(Kill):
        session.run()
    path = session.dir / "transcript.jsonl"
    path.write_text(path.read_text().replace("# fast", "# slow"))  # a tampered edit
    with pytest.raises(ResumeError, match="does not match"):
        _resume(session.dir, [], harness, clock)


def test_a_run_recorded_with_the_former_workspace_digest_is_refused(start_claude, harness,
                                                                   clock):
    """Its hashes cannot be checked against a rebuilt workspace: a clear error, and its
    transcript is left exactly as it was."""
    session, _ = start_claude(_script()[:3] + [Kill])
    with pytest.raises(Kill):
        session.run()
    path = session.dir / "transcript.jsonl"
    path.write_text(path.read_text().replace('"sha256:', '"'))  # hex digests, no prefix
    before = path.read_bytes()
    with pytest.raises(ResumeError, match="former workspace digest"):
        _resume(session.dir, [], harness, clock)
    assert path.read_bytes() == before
    assert not list(session.dir.glob("transcript.partial-*.jsonl"))


# ---------------------------------------------------------------------------- untrusted
# EXPLOIT: transcripts are shared for replay and resume, so they are untrusted input. A
# hand-edited stop or snapshot event naming a state outside the run's snapshots must never
# be scored.

def _killed_in_evaluation(start_claude, harness):
    session, _ = start_claude([message(tool_use("submit", "t1"))])
    real = harness.official_evaluation
    harness.official_evaluation = lambda *a, **k: (_ for _ in ()).throw(Kill())
    with pytest.raises(Kill):
        session.run()
    harness.official_evaluation = real
    return session


@pytest.mark.parametrize("forged", ["../../evil", "sha256:../../../evil",
                                    "sha256:" + "0" * 64])
def test_a_forged_submitted_state_is_refused_not_scored(start_claude, harness, clock,
                                                        tmp_path, forged):
    session = _killed_in_evaluation(start_claude, harness)
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "solution.py").write_text("def train(cfg, init, tokens, batches):\n    pass\n")
    path = session.dir / "transcript.jsonl"
    events = read_events(path)
    for e in events:
        if e["event"] == "stop":
            e["submitted"] = forged
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    with pytest.raises(ResumeError, match="snapshot"):
        _resume(session.dir, [], harness, clock)[0].run()
    assert not any(c[0] == "evaluate" for c in harness.calls)
    assert harness.records == []
