"""The loop driven through the real `anthropic` SDK over a scripted transport: a whole
session that ends in a record, retries, and every stop reason the API can give."""

from __future__ import annotations

import json

import pytest
from agentfakes import BENCH_S, CHECK_S, error, message, tool_use, usage

from agent.session.api_errors import InfrastructureError
from agent.session.run_config import BENCH_ROUNDS, RunConfig
from agent.session.tools import TOOL_NAMES, Toolbox
from agent.session.transcript import messages_from, read_events

OLD = "return 0.5 * x * (1.0 + torch.tanh(inner))"
NEW = "return 0.5 * x * (1.0 + torch.tanh(inner))  # fast"  # the fake harness: +0.5x


def _session_script() -> list:
    return [
        message({"type": "text", "text": "Let me look."}, tool_use("list_files", "t1")),
        message(tool_use("read_file", "t2", path="ops.py")),
        message(tool_use("edit_file", "t3", path="ops.py", old_string=OLD, new_string=NEW)),
        message(tool_use("run_check", "t4"), tool_use("run_bench", "t5")),
        message({"type": "text", "text": "Done."}, tool_use("submit", "t6", note="gelu")),
    ]


def _last_results(body: dict) -> list[dict]:
    return [b for b in body["messages"][-1]["content"] if b["type"] == "tool_result"]


def test_scripted_session_reads_edits_checks_benches_submits_and_records(start_claude,
                                                                        harness):
    session, api = start_claude(_session_script())
    outcome = session.run()

    assert outcome.stop_reason == "submitted" and outcome.source == "submitted"
    assert len(api.bodies) == 5
    first = api.bodies[0]
    cache = {"type": "ephemeral", "ttl": "5m"}
    assert first["stream"] is True  # streamed: max_tokens up to the model's limit
    assert first["system"][0]["cache_control"] == cache
    assert [t["name"] for t in first["tools"]] == TOOL_NAMES
    assert first["messages"][-1]["content"][-1]["cache_control"] == cache
    # the model reads the real baseline file, and its edit lands in the workspace
    (ops,) = _last_results(api.bodies[2])
    assert Toolbox.without_budgets(ops["content"]) == \
        (session.workspace.root / "ops.py").read_text().replace(NEW, OLD)
    assert ops["content"].endswith("device s, 14400 wall s]")  # every result: budgets left
    assert NEW in (session.workspace.root / "ops.py").read_text()
    check, bench = _last_results(api.bodies[4])
    assert check["content"].startswith("PASSED") and "heldout_loss" in check["content"]
    assert "0.001" in check["content"] and "0.02" in check["content"]  # value vs threshold
    assert bench["content"].startswith("speedup 1.500x")
    # only one breakpoint on the conversation: earlier user messages carry none
    assert all("cache_control" not in json.dumps(m) for m in api.bodies[4]["messages"][:-1])

    # the submitted state is what the official evaluation scored, from its snapshot
    kind, path, *_ = harness.calls[-1]
    assert kind == "evaluate" and path == str(session.snapshots.path(outcome.hash))
    assert NEW in (session.snapshots.path(outcome.hash) / "ops.py").read_text()
    (record,) = harness.records
    assert record["entrant"] == {"kind": "agent", "policy": "claude",
                                 "model": "claude-sonnet-5-5", "run_id": "r1"}
    extra = record["agent"]
    assert extra["turns"] == 5 and extra["tokens"]["input"] == 500
    assert extra["tokens"]["output"] == 250
    assert abs(extra["dollars"] - 5 * (100 * 1.0 + 50 * 10.0) / 1e6) < 1e-12
    assert extra["device_s"] == CHECK_S + BENCH_S
    transcript = session.dir / "transcript.jsonl"
    assert record["transcript"] == str(transcript)  # the harness archives it with the record
    assert json.loads((session.dir / "record.json").read_text())["record"] == str(outcome.record)


def test_transcript_rebuilds_the_conversation_exactly(start_claude):
    session, _ = start_claude(_session_script())
    session.run()
    events = read_events(session.dir / "transcript.jsonl")
    assert messages_from(events) == session.messages
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-2:] == ["stop", "evaluation"]
    assert kinds.count("turn_end") == 5 and kinds.count("tool_call") == 6


def test_429_and_500_are_retried_by_the_sdk(start_claude):
    script = [error(429, "rate_limit_error"), error(500),
              message(tool_use("submit", "t1"))]
    session, api = start_claude(script, max_retries=2)
    outcome = session.run()
    assert len(api.bodies) == 3 and outcome.stop_reason == "submitted"
    assert all(e["event"] != "api_error" for e in read_events(session.dir / "transcript.jsonl"))


def test_errors_that_outlive_the_retries_stop_the_run_without_a_record(start_claude,
                                                                        harness):
    session, api = start_claude([error(529, "overloaded_error")] * 3)
    with pytest.raises(InfrastructureError, match="overloaded"):
        session.run()
    events = read_events(session.dir / "transcript.jsonl")
    assert [e["status"] for e in events if e["event"] == "api_error"] == [529, 529, 529]
    assert events[-1]["event"] == "stop" and events[-1]["reason"] == "api_error"
    assert harness.records == [] and not (session.dir / "record.json").exists()


def test_a_bad_request_is_not_retried(start_claude, harness):
    session, api = start_claude([error(400, "invalid_request_error")])
    with pytest.raises(InfrastructureError, match="fake 400"):
        session.run()
    assert len(api.bodies) == 1 and harness.records == []


def test_max_tokens_answers_the_cut_tool_call_with_an_error_and_goes_on(start_claude):
    script = [message(tool_use("write_file", "t1", path="new.py"), stop="max_tokens"),
              message({"type": "text", "text": "Hmm"}, stop="max_tokens"),
              message(tool_use("submit", "t2"))]
    session, api = start_claude(script)
    session.run()
    (result,) = _last_results(api.bodies[1])
    assert result["is_error"] and "max_tokens" in result["content"]
    assert not (session.workspace.root / "new.py").exists()
    assert "cut off at max_tokens" in api.bodies[2]["messages"][-1]["content"][0]["text"]


def test_refusal_stops_the_run_and_scores_the_best_state(start_claude, harness):
    session, api = start_claude([message({"type": "text", "text": "No."}, stop="refusal")])
    outcome = session.run()
    assert len(api.bodies) == 1 and outcome.stop_reason == "refusal"
    assert outcome.source == "baseline" and len(harness.records) == 1


def test_ending_twice_without_a_tool_scores_the_best_checked_state(start_claude, harness):
    script = [message(tool_use("edit_file", "t1", path="ops.py", old_string=OLD,
                               new_string=NEW), tool_use("run_check", "t2")),
              message(tool_use("write_file", "t3", path="ops.py", content="BROKEN")),
              message({"type": "text", "text": "I am done."}, stop="end_turn"),
              message({"type": "text", "text": "Really done."}, stop="end_turn")]
    session, api = start_claude(script)
    outcome = session.run()
    assert outcome.stop_reason == "end_turn" and len(api.bodies) == 4
    assert "without calling a tool" in api.bodies[3]["messages"][-1]["content"][0]["text"]
    # the broken last state was never checked: the checked one with the edit is scored
    assert outcome.source == "best_checked"
    assert NEW in (session.snapshots.path(outcome.hash) / "ops.py").read_text()
    assert harness.records[0]["passed"]


def test_pause_turn_lets_the_model_continue_its_own_message(start_claude):
    script = [message({"type": "text", "text": "Working"}, stop="pause_turn"),
              message(tool_use("submit", "t1"))]
    session, api = start_claude(script)
    session.run()
    assert api.bodies[1]["messages"][-1] == {"role": "assistant", "content": [
        {"type": "text", "text": "Working"}]}


def test_thinking_is_requested_and_its_blocks_are_sent_back_unchanged(start_claude):
    thought = {"type": "thinking", "thinking": "plan", "signature": "sig-123"}
    script = [message(thought, tool_use("list_files", "t1")),
              message(tool_use("submit", "t2"))]
    session, api = start_claude(script, thinking=2048, model="claude-haiku-4-5")
    session.run()
    assert api.bodies[0]["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert api.bodies[1]["messages"][1]["content"][0] == thought


def test_tool_calls_after_submit_are_not_run(start_claude):
    script = [message(tool_use("submit", "t1"),
                      tool_use("write_file", "t2", path="late.py", content="x = 1"))]
    session, _ = start_claude(script)
    session.run()
    assert not (session.workspace.root / "late.py").exists()
    results = [e for e in read_events(session.dir / "transcript.jsonl")
               if e["event"] == "tool_result"]
    assert results[1]["is_error"] and "submit ended the session" in results[1]["content"]


def test_reads_outside_the_workspace_come_back_as_errors_the_model_reads(start_claude):
    script = [message(tool_use("read_file", "t1", path="../../correctness/sandbox.py")),
              message(tool_use("submit", "t2"))]
    session, api = start_claude(script)
    session.run()
    (result,) = _last_results(api.bodies[1])
    assert result["is_error"] is True and "'..'" in result["content"]


def test_usage_with_cache_reads_and_writes_is_priced(start_claude):
    script = [message(tool_use("submit", "t1"),
                      use=usage(inp=10, out=20, write=1000, read=5000))]
    session, _ = start_claude(script)
    outcome = session.run()
    assert abs(outcome.spend.dollars - (10 * 1.0 + 20 * 10.0 + 1000 * 1.25 + 5000 * 0.1) / 1e6) \
        < 1e-12
    assert outcome.spend.prompt_tokens == 6010


def test_every_model_gets_the_same_task_text(start_claude):
    texts = []
    for model in ("claude-sonnet-5-5", "claude-opus-5-5"):
        session, api = start_claude([message(tool_use("submit", "t1"))], run_id=model)
        session.policy.model = model
        session.run()
        texts.append((api.bodies[0]["system"], api.bodies[0]["messages"], api.bodies[0]["tools"]))
    assert texts[0] == texts[1]
    system = texts[0][0][0]["text"]
    assert "preset `tiny` on device `cpu`" in system and "steps = 150" in system
    from correctness.static_scan import ALLOWED_MODULES

    assert all(m in system for m in ALLOWED_MODULES - {"__future__"})


def test_an_empty_response_is_left_out_of_the_rebuilt_conversation_too(start_claude):
    """The live loop drops an empty assistant message (not valid API input); a resume
    rebuilds the conversation from the transcript and must drop it the same way."""
    session, api = start_claude([message(stop="end_turn"), *_session_script()])
    session.run()
    assert not any(m["role"] == "assistant" and not m["content"] for m in session.messages)
    assert messages_from(read_events(session.dir / "transcript.jsonl")) == session.messages


def test_bench_rounds_default_to_the_policys_and_survive_a_round_trip():
    def config(policy, **kw):
        return RunConfig(run_id="r", policy=policy, model=None, preset="tiny", device="cpu", **kw)

    assert config("claude").bench_rounds == 1
    assert config("library").bench_rounds == BENCH_ROUNDS["library"] > 1
    assert config("library", bench_rounds=2).bench_rounds == 2
    saved = config("library").to_dict()
    assert RunConfig.from_dict(saved) == config("library")


def test_a_refusal_after_a_passing_state_scores_that_state_and_keeps_its_category(
        start_claude, harness):
    refusal = {**message({"type": "text", "text": "I won't."}, stop="refusal"),
               "stop_details": {"type": "refusal", "category": "frontier_llm",
                                "explanation": None}}
    script = [message(tool_use("edit_file", "t1", path="ops.py", old_string=OLD,
                               new_string=NEW), tool_use("run_check", "t2")), refusal]
    session, _ = start_claude(script)
    outcome = session.run()
    assert outcome.outcome == "refusal" and outcome.source == "best_checked"
    assert harness.calls[-1][0] == "evaluate"  # a state that passed: evaluated, not assumed
    extra = harness.records[0]["agent"]
    assert extra["outcome"] == "refusal" and extra["refusal_category"] == "frontier_llm"


@pytest.mark.parametrize("stop_reason, source, outcome", [
    ("submitted", "submitted", "submitted"), ("refusal", "baseline", "refusal"),
    ("budget:dollars", "best_checked", "budget"), ("budget:turns", "baseline",
                                                   "no_passing_state"),
    ("end_turn", "best_checked", "ended"), ("context_window", "baseline", "no_passing_state"),
    ("policy_done", "best_checked", "ended"),
])
def test_outcomes(stop_reason, source, outcome):
    from agent.session.scoring import outcome_of

    assert outcome_of(stop_reason, source) == outcome
