"""`speedup agent --policy claude` end to end through the real SDK against the documented-
rules mock (mockapi.py), with the judge and the clock faked and the records and the
leaderboard real: one test per way the loop could disagree with the Messages API or with
what a record means. Written against the command line, so each runs unchanged on the
previous code, where each failed."""

from __future__ import annotations

import json

import anthropic
import httpx2
import pytest
from agentfakes import FakeClock, FakeHarness, error, message, tool_use, usage
from mockapi import DocumentedAPI

import agent.launch.project_harness
import agent.policies.claude
from bench import clock as clock_mod
from bench import records
from correctness.sandbox import BASELINE_DIR
from speedup.cli import main

REAL_HARNESS = agent.launch.project_harness.ProjectHarness
MARK = "  # fast"  # the fake clock's +0.5x marker (conftest: gains)
OLD = "return 0.5 * x * (1.0 + torch.tanh(inner))"
THOUGHT = {"type": "thinking", "thinking": "the gelu is three passes", "signature": "?"}


class CLIHarness(FakeHarness):
    """The fake judge and clock, a real Evaluation and the real record writer."""

    def __init__(self, tolerances=None):
        super().__init__(FakeClock(), gains={MARK: 0.5})
        self.tolerances = tolerances

    def official_evaluation(self, solution_dir, preset, device, rounds, on_progress=None):
        self.calls.append(("evaluate", str(solution_dir)))
        passed, ratio = self._verdict(solution_dir)
        ev = clock_mod.Evaluation(str(solution_dir), preset, device, rounds, False,
                                  passed=passed, median_ratio=ratio, min_ratio=ratio,
                                  max_ratio=ratio, isolation="namespaces")
        ev.rounds = [{"order": "BA", "baseline_s": 2.0, "candidate_s": 2.0 / ratio,
                      "ratio": ratio, "checks": []}]
        return ev

    def baseline_evaluation(self, solution_dir, preset, device, outcome):
        return REAL_HARNESS().baseline_evaluation(solution_dir, preset, device, outcome)

    def write_record(self, evaluation, entrant, extra, results_dir, **where):
        return REAL_HARNESS().write_record(evaluation, entrant, extra, results_dir, **where)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """cli(api, *args) -> exit code of `speedup agent` against the mock `api`."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", CLIHarness)

    def run(api, *args) -> int:
        def client(key, max_retries=0, http_client=None):
            transport = httpx2.Client(transport=httpx2.MockTransport(api.handler))
            return anthropic.Anthropic(api_key=key, max_retries=0, http_client=transport)

        monkeypatch.setattr(agent.policies.claude, "make_client", client)
        return main(["agent", "--device", "cpu", "--runs-dir", str(tmp_path / "runs"),
                     "--results-dir", str(tmp_path / "results"), "--eval-rounds", "1",
                     *args])

    return run


def _records(tmp_path) -> list[dict]:
    return records.load_records(tmp_path / "results") if (tmp_path / "results").exists() \
        else []


def _run_dir(tmp_path):
    (run,) = (tmp_path / "runs").iterdir()
    return run


def _submit(*blocks, **kw) -> dict:
    return message(*blocks, tool_use("submit", "s1"), **kw)


def test_a_thinking_budget_for_a_model_that_thinks_adaptively_is_refused_up_front(cli, tmp_path,
                                                                                  capsys):
    api = DocumentedAPI([_submit()])
    code = cli(api, "--model", "claude-sonnet-5-5", "--thinking", "4000")
    assert code == 2 and "takes no thinking budget" in capsys.readouterr().err
    assert api.bodies == [] and _records(tmp_path) == []  # no request, no record


def test_a_whole_file_write_with_thinking_fits_in_one_streamed_response(cli, tmp_path):
    ops = (BASELINE_DIR / "ops.py").read_text()
    write = tool_use("write_file", "w1", path="ops.py", content=ops.replace(OLD, OLD + MARK))
    api = DocumentedAPI([{**message(THOUGHT, write), "needs": 30_000}, _submit()])
    assert cli(api) == 0
    assert api.rejected == [] and api.bodies[0]["stream"] is True
    assert api.bodies[0]["max_tokens"] == 64_000  # Sonnet 5.5's 128K, up to 64K
    (record,) = _records(tmp_path)
    assert record["passed"] and record["median_ratio"] == pytest.approx(1.5)  # the write ran


def test_show_prints_the_reasoning_of_a_model_that_omits_it_by_default(cli, tmp_path,
                                                                       capsys):
    api = DocumentedAPI([_submit(THOUGHT)])
    assert cli(api) == 0
    capsys.readouterr()
    assert main(["agent", "show", str(_run_dir(tmp_path))]) == 0
    assert "(thinking) the gelu is three passes" in capsys.readouterr().out


@pytest.mark.parametrize("status, kind", [(401, "authentication_error"),
                                          (403, "permission_error"), (404, "not_found_error")])
def test_a_failed_start_writes_no_record_and_exits_with_the_apis_message(cli, tmp_path, capsys,
                                                                         status, kind):
    api = DocumentedAPI([error(status, kind)])
    code = cli(api)
    err = capsys.readouterr().err
    assert code == 1 and f"fake {status}" in err and "no record was written" in err
    assert _records(tmp_path) == []


def test_a_failed_start_resumes_once_the_cause_is_fixed(cli, tmp_path):
    assert cli(DocumentedAPI([error(401, "authentication_error")])) == 1
    assert cli(DocumentedAPI([_submit()]), "--resume", str(_run_dir(tmp_path))) == 0
    (record,) = _records(tmp_path)
    assert record["agent"]["outcome"] == "submitted"


def test_a_first_turn_refusal_is_a_baseline_record_marked_refused_and_counted(cli, tmp_path):
    refusal = {**message({"type": "text", "text": "I can't help with that."}, stop="refusal"),
               "stop_details": {"type": "refusal", "category": "cyber",
                                "explanation": "exploit development"}}
    assert cli(DocumentedAPI([refusal])) == 0
    edit = tool_use("edit_file", "e1", path="ops.py", old_string=OLD, new_string=OLD + MARK)
    assert cli(DocumentedAPI([message(edit), _submit()])) == 0
    refused, scored = sorted(_records(tmp_path), key=lambda r: r["median_ratio"])
    assert refused["agent"]["outcome"] == "refusal"
    assert refused["agent"]["refusal_category"] == "cyber"
    assert refused["passed"] and refused["median_ratio"] == 1.0 and refused["rounds"] == []
    assert refused["agent"]["scored_state"] == "baseline"  # untouched, and not timed
    assert scored["agent"]["outcome"] == "submitted" and scored["median_ratio"] == 1.5
    from bench.leaderboard import build

    (track,) = build(_records(tmp_path))
    (row,) = track.rows
    assert row.runs == 2 and row.average_best == pytest.approx(1.25) and row.refusals == 1


def test_a_long_session_on_a_200k_model_stays_inside_its_window(cli, tmp_path):
    big = "x = 1\n" * 16_000  # 96,000 characters: a read of it is near a tool result's limit
    reads = [message(tool_use("read_file", f"r{i}", path="big.py")) for i in range(12)]
    api = DocumentedAPI([message(tool_use("write_file", "w", path="big.py", content=big)),
                         *reads, _submit()])
    assert cli(api, "--model", "claude-haiku-4-5") == 0
    assert api.rejected == []  # never "prompt is too long"
    (record,) = _records(tmp_path)
    assert record["agent"]["outcome"] == "submitted" and record["agent"]["turns"] == 14
    events = [json.loads(line) for line in
              (_run_dir(tmp_path) / "transcript.jsonl").read_text().splitlines()]
    assert any(e["event"] == "compaction" for e in events)


def test_the_one_hour_cache_ttl_is_sent_and_priced(cli, tmp_path):
    api = DocumentedAPI([_submit(use=usage(inp=0, out=0, write=1_000_000))])
    assert cli(api, "--cache-ttl", "1h") == 0
    assert api.bodies[0]["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    (record,) = _records(tmp_path)
    fresh = record["agent"]["tokens"]["input"]  # the mock's count of the prompt, at $2/M
    assert record["agent"]["dollars"] == pytest.approx(4.0 + fresh * 2.0 / 1e6)  # 1h: $4/M


def test_replay_follows_the_recorded_turns_exactly(cli, tmp_path):
    script = [message(stop="end_turn"),  # an empty reply: not kept in the conversation
              *[message(tool_use("list_files", f"l{i}")) for i in range(4)], _submit()]
    assert cli(DocumentedAPI(script)) == 0
    transcript = _run_dir(tmp_path) / "transcript.jsonl"
    assert cli(DocumentedAPI([]), "--policy", "replay", "--replay", str(transcript),
               "--max-turns", "20") == 0
    replayed = max(_records(tmp_path), key=lambda r: r["entrant"]["policy"] == "replay")
    assert replayed["agent"]["stop_reason"] == "submitted" and replayed["agent"]["turns"] == 6


def test_the_model_gets_a_researchers_tools_and_the_facts_of_the_track(cli, tmp_path):
    script = [message(tool_use("write_file", "w", path="probe.py", content="print(ARGS)\n")),
              message(tool_use("run_python", "p", path="probe.py", args=["64"])), _submit()]
    api = DocumentedAPI(script)
    assert cli(api) == 0
    first, third = api.bodies[0], api.bodies[2]
    assert "run_python" in [t["name"] for t in first["tools"]]
    system = first["system"][0]["text"]
    for fact in ("Test CPU, 2 cores", "torch 2.13", "takes 2.00 s", "within 120 s",
                 "torch.compile", "torch.utils.cpp_extension", "paired round", "score 1.0x"):
        assert fact in system, fact
    (result,) = [b for b in third["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert "ran probe.py with ['64']" in result["content"]
    assert "[budgets left: 98 turns" in result["content"]
