"""Compaction: near the model's context window the conversation is replaced by the task, a
digest of the session and the last tool results; the transcript logs it, so a resumed
session rebuilds the same conversation; a 'prompt is too long' from the API compacts and
asks again once, and a second one ends the session as the model's, with a record."""

from __future__ import annotations

import dataclasses

from agentfakes import Kill, ScriptedAPI, error, message, tool_use, usage

from agent.policies.claude import ClaudePolicy
from agent.policies.models import TABLE
from agent.session import context
from agent.session.loop import Session
from agent.session.transcript import messages_from, read_events, render

SMALL = dataclasses.replace(TABLE["claude-sonnet-5-5"], context_window=20_000)


def _reads(n: int, tokens: int) -> list:
    """n turns that read ops.py, each response counting `tokens` of prompt."""
    return [message({"type": "text", "text": f"reading, step {i}"},
                    tool_use("read_file", f"r{i}", path="ops.py"),
                    use=usage(inp=tokens, out=10)) for i in range(n)]


def _small_window(session) -> None:
    session.policy.caps = SMALL


def test_near_the_window_the_conversation_becomes_task_digest_and_last_results(start_claude):
    script = [*_reads(3, 12_000), message(tool_use("submit", "s"))]
    session, api = start_claude(script, max_tokens=4_000)
    _small_window(session)
    outcome = session.run()
    assert outcome.stop_reason == "submitted"
    events = read_events(session.dir / "transcript.jsonl")
    compaction = next(e for e in events if e["event"] == "compaction")
    # 12,010 counted + the read of ops.py at 3 characters a token + 4,000 max_tokens: over
    # 80% of 20,000 from turn 2 on (each compaction leaves the task, a digest, one result)
    assert compaction["turn"] == 2 and "context window" in compaction["reason"]
    (sent,) = api.bodies[1]["messages"]  # one user message, the cache breakpoint on it
    text = sent["content"][0]["text"]
    assert text.startswith(session.first) and "compacted to fit the context window" in text
    assert "turn 1:\nyou wrote: reading, step 0\nyou called read_file(path=\"ops.py\")" in text
    assert "The results of your last tool calls:" in text and "def gelu" in text
    assert messages_from(events) == session.messages  # the transcript rebuilds it
    assert any(line.startswith("  (context compacted: ") for line in render(events))


def test_a_resumed_session_sends_the_compacted_conversation(start_claude, harness, clock):
    script = [*_reads(3, 12_000), message(tool_use("submit", "s"))]
    session, _ = start_claude(script[:1] + [Kill], max_tokens=4_000)
    _small_window(session)
    try:
        session.run()
    except Kill:
        pass
    api = ScriptedAPI(script[1:])
    policy = ClaudePolicy(api.client(), "claude-sonnet-5-5", caps=SMALL)
    resumed = Session.resume(session.dir, policy, harness, clock=clock)
    assert resumed.run().stop_reason == "submitted"
    # turn 2 was killed after its compaction: the resumed session compacts again, the same
    assert len(api.bodies[0]["messages"]) == 1


def test_prompt_too_long_compacts_once_then_ends_the_session(start_claude, harness):
    too_long = error(400, "invalid_request_error")
    too_long[1]["error"]["message"] = "prompt is too long: 210000 tokens > 200000 maximum"
    session, api = start_claude([message(tool_use("list_files", "l")), too_long,
                                 message(tool_use("submit", "s"))])
    assert session.run().stop_reason == "submitted"
    assert len(api.bodies[2]["messages"]) == 1  # asked again with the compacted conversation
    session, api = start_claude([too_long, too_long], run_id="r2")
    outcome = session.run()
    assert outcome.stop_reason == "context_window" and outcome.outcome == "no_passing_state"
    assert harness.records[-1]["agent"]["outcome"] == "no_passing_state"


def test_the_digest_keeps_the_latest_turns_that_fit():
    messages = [{"role": "user", "content": "task"}]
    for i in range(400):
        messages += [{"role": "assistant", "content": [
                         {"type": "text", "text": "x" * 400},
                         {"type": "tool_use", "id": f"t{i}", "name": "list_files", "input": {}}]},
                     {"role": "user", "content": [
                         {"type": "tool_result", "tool_use_id": f"t{i}", "content": "ok"}]}]
    text = context.digest(messages)
    assert len(text) <= context.DIGEST_CHARS + 100
    assert text.startswith("(turns 1 to") and "turn 400:" in text
