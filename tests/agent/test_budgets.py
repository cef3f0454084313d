"""Budgets stop a run before the turn after a limit is reached, and cap what one request
may spend; device seconds come from a fake clock, tokens and dollars from canned usage."""

from __future__ import annotations

from agentfakes import BENCH_S, CHECK_S, message, tool_use, usage

from agent.session.budget import Budgets, Price, Spend, exhausted
from agent.session.transcript import read_events


def _listing(n: int, out: int = 50) -> list:
    return [message(tool_use("list_files", f"t{i}"), use=usage(inp=0, out=out))
            for i in range(n)]


def test_dollar_budget_stops_at_the_turn_that_crosses_it(start_claude):
    # each turn: 10,000 output tokens at $10/M = $0.10; budget $0.25 -> turns 1, 2, 3 run
    # (after turn 2, $0.20 < $0.25), turn 3 crosses it, and no fourth request is made
    session, api = start_claude(_listing(5, out=10_000), max_tokens=20_000,
                                budgets=Budgets(max_dollars=0.25))
    outcome = session.run()
    assert len(api.bodies) == 3 and outcome.stop_reason == "budget:dollars"
    assert outcome.spend.turns == 3 and abs(outcome.spend.dollars - 0.30) < 1e-12
    # each request's output is capped by the dollars left: $0.25, $0.15, $0.05 at $10/M
    assert [b["max_tokens"] for b in api.bodies] == [20_000, 15_000, 5_000]


def test_turn_budget(start_claude):
    session, api = start_claude(_listing(5), budgets=Budgets(max_turns=2))
    outcome = session.run()
    assert len(api.bodies) == 2 and outcome.stop_reason == "budget:turns"


def test_output_token_budget_caps_max_tokens_then_stops(start_claude):
    session, api = start_claude(_listing(5, out=3000), budgets=Budgets(max_output_tokens=5000))
    outcome = session.run()
    assert [b["max_tokens"] for b in api.bodies] == [4000, 2000]
    assert outcome.stop_reason == "budget:output_tokens"


def test_thinking_needs_room_below_max_tokens(start_claude):
    # 1,500 output tokens left cannot hold a 2,048-token thinking budget: no request is made
    session, api = start_claude(_listing(1), thinking=2048, model="claude-haiku-4-5",
                                budgets=Budgets(max_output_tokens=1500))
    outcome = session.run()
    assert api.bodies == [] and outcome.stop_reason == "budget:output_tokens"


def test_device_budget_refuses_harness_tools_then_stops(start_claude):
    script = [message(tool_use("run_check", "t1"), tool_use("run_bench", "t2")),
              message(tool_use("list_files", "t3"))]
    session, api = start_claude(script, budgets=Budgets(max_device_s=CHECK_S))
    outcome = session.run()
    bench = [e for e in read_events(session.dir / "transcript.jsonl")
             if e["event"] == "tool_result"][1]
    assert bench["is_error"] and "device budget" in bench["content"]
    assert outcome.spend.device_s == CHECK_S  # the refused bench spent nothing
    assert len(api.bodies) == 1 and outcome.stop_reason == "budget:device"


def test_wall_budget_counts_tool_time(start_claude, clock):
    script = [message(tool_use("run_bench", "t1")), message(tool_use("list_files", "t2"))]
    session, api = start_claude(script, budgets=Budgets(max_wall_s=BENCH_S))
    outcome = session.run()
    assert len(api.bodies) == 1 and outcome.stop_reason == "budget:wall"
    assert outcome.spend.wall_s == BENCH_S


def test_exhausted_names_the_first_limit_reached():
    spend = Spend(turns=3, output_tokens=10)
    assert exhausted(Budgets(max_turns=3), spend) == "budget:turns"
    assert exhausted(Budgets(max_output_tokens=10), spend) == "budget:output_tokens"
    assert exhausted(Budgets(), spend) is None


def test_input_budget_counts_cache_reads_and_writes():
    spend = Spend()
    spend.add_usage(usage(inp=1, out=0, write=2, read=3), Price(0, 0, 0, 0))
    assert spend.prompt_tokens == 6
    assert exhausted(Budgets(max_input_tokens=6), spend) == "budget:input_tokens"
