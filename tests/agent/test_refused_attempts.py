"""What an agent tried that the judge refused: every refusal of run_check, run_bench,
run_python or profile (a static-scan finding, a call the sandbox refused at run time, a run
that ended in the kernel's refusal) is a `refused_attempt` event in the transcript with the
check that refused it; the record counts them by check (`agent.refused_attempts`); `speedup
agent show` lists them; the leaderboard shows, per entrant, how many runs had refused
attempts of each check.

The end-to-end test replays a recorded session (the replay policy's transcript format)
that makes three forbidden attempts, on the project's real judge and sandbox: a script that
reads a file outside the sandbox (refused at run time by the audit hook), an `import
subprocess` in ops.py checked with run_check, and a script that imports socket (both
refused by the static scan)."""

from __future__ import annotations

import json

import pytest
from agentfakes import FakeClock, FakeHarness

import agent.launch.project_harness
from agent.session.budget import Budgets, Spend
from agent.session.harness import CheckOutcome, ScriptOutcome
from agent.session.tools import Toolbox
from agent.session.transcript import read_events
from agent.session.workspace import Workspace
from bench import records
from bench.leaderboard import build
from bench.leaderboard_render import render_html, render_markdown
from correctness.sandbox import BASELINE_DIR
from speedup.cli import main

OUTSIDE = 'path = "/".join(["", "root", ".ssh", "id_rsa"])  # built at run time: scanned clean\n' \
          "print(open(path).read())\n"


class Refusing(FakeHarness):
    """A judge that refuses by the check named in the workspace's REFUSE file."""

    def _refusal(self, solution_dir) -> str | None:
        marker = solution_dir / "REFUSE"
        return marker.read_text().strip() if marker.exists() else None

    def check(self, solution_dir, preset, device) -> CheckOutcome:
        check = self._refusal(solution_dir)
        if check is None:
            return super().check(solution_dir, preset, device)
        return CheckOutcome(passed=False, rejected_by=check, message=f"{check}: the reason")

    def run_python(self, solution_dir, script, args, device, timeout) -> ScriptOutcome:
        check = self._refusal(solution_dir)
        return ScriptOutcome(False, "", check, f"{check}: the reason")

    def profile(self, solution_dir, preset, device) -> str:
        check = self._refusal(solution_dir)
        return f"profile failed ({check}): {check}: the reason\n(output)"


@pytest.fixture
def refusing(tmp_path):
    ws = Workspace.create(tmp_path / "ws", BASELINE_DIR)
    clock = FakeClock()
    tools = Toolbox(ws, Refusing(clock), preset="tiny", device="cpu", bench_rounds=1,
                    budgets=Budgets(), spend=Spend(), clock=clock)

    def call(check: str, tool: str, args: dict | None = None):
        ws.write("REFUSE", check)
        ws.write("probe.py", "print(1)\n")
        return tools.call(tool, args or ({"path": "probe.py"} if tool == "run_python" else {}))

    return call


@pytest.mark.parametrize("tool", ["run_check", "run_python", "profile"])
@pytest.mark.parametrize("check", ["static_scan", "forbidden_call", "sandbox_denied"])
def test_a_refusal_by_the_judge_is_a_refused_attempt(refusing, tool, check):
    assert refusing(check, tool).refused == {"check": check,
                                             "detail": f"{check}: the reason"}


@pytest.mark.parametrize("tool", ["run_check", "run_python", "profile"])
@pytest.mark.parametrize("check", ["crash", "heldout_loss", "setup_timeout"])
def test_a_failure_that_is_no_refusal_is_not_one(refusing, tool, check):
    assert refusing(check, tool).refused is None


# ---------------------------------------------------------------------------- replayed

def _response(turn: int, *calls: tuple[str, dict]) -> dict:
    content = [{"type": "tool_use", "id": f"t{turn}_{i}", "name": name, "input": args}
               for i, (name, args) in enumerate(calls)]
    return {"event": "response", "turn": turn, "message": {
        "id": f"m{turn}", "type": "message", "role": "assistant", "model": "recorded-model",
        "content": content, "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0}}}


def _recorded(path) -> None:
    """A transcript as the replay policy reads it: the start's model, then each turn's
    response. Three forbidden attempts, then the workspace put back (the replay then runs
    out: no state passed the judge, so the run scores as the baseline without a timed
    run)."""
    ops = (BASELINE_DIR / "ops.py").read_text()
    events = [
        {"event": "start", "config": {"model": "recorded-model"}},
        _response(1, ("write_file", {"path": "peek.py", "content": OUTSIDE}),
                  ("run_python", {"path": "peek.py"})),
        _response(2, ("write_file", {"path": "ops.py", "content": "import subprocess\n" + ops}),
                  ("run_check", {})),
        _response(3, ("write_file", {"path": "ops.py", "content": ops}),
                  ("write_file", {"path": "net.py", "content": "import socket\n"}),
                  ("run_python", {"path": "net.py"})),
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in events))


@pytest.mark.slow
def test_three_forbidden_attempts_show_in_show_the_record_and_the_leaderboard(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(agent.launch.project_harness, "_baseline_time",
                        lambda *a: (2.0, "not measured here"))
    recorded = tmp_path / "recorded.jsonl"
    _recorded(recorded)
    runs, results = tmp_path / "runs", tmp_path / "results"
    assert main(["agent", "--policy", "replay", "--replay", str(recorded), "--device", "cpu",
                 "--preset", "tiny", "--runs-dir", str(runs), "--results-dir", str(results),
                 "--eval-rounds", "1"]) == 0
    (run,) = runs.iterdir()

    events = read_events(run / "transcript.jsonl")
    refused = [(e["turn"], e["tool"], e["check"]) for e in events
               if e["event"] == "refused_attempt"]
    assert refused == [(1, "run_python", "forbidden_call"), (2, "run_check", "static_scan"),
                       (3, "run_python", "static_scan")]
    outside = next(e for e in events if e["event"] == "refused_attempt")
    assert "/root/.ssh/id_rsa" in outside["detail"] and "reads outside" in outside["detail"]

    (record,) = records.load_records(results)
    assert record["agent"]["refused_attempts"] == {"forbidden_call": 1, "static_scan": 2}
    assert record["agent"]["outcome"] == "no_passing_state"

    capsys.readouterr()
    assert main(["agent", "show", run.name, "--runs-dir", str(runs)]) == 0
    shown = capsys.readouterr().out
    assert shown.count("refused by the judge") == 3
    assert "refused by the judge (forbidden_call) in run_python" in shown
    assert "refused by the judge (static_scan) in run_check" in shown
    assert "refused attempts: 3 (forbidden_call 1, static_scan 2)" in shown

    (track,) = build(records.load_records(results))
    (row,) = track.rows
    assert row.label == "replay / recorded-model"
    assert row.refused_attempts == {"forbidden_call": 1, "static_scan": 1}  # runs, by check
    for page in (render_markdown([track], None), render_html([track], None)):
        assert "runs with refused attempts" in page
        assert "forbidden_call 1, static_scan 1" in page


def _agent_record(tmp_path, name: str, run_id: str, refused: dict | None) -> dict:
    from bench import clock

    ev = clock.Evaluation(str(BASELINE_DIR), "tiny", "cpu", 1, False, passed=True,
                          median_ratio=1.0, min_ratio=1.0, max_ratio=1.0)
    agent_block = {"outcome": "no_passing_state"}
    if refused is not None:
        agent_block["refused_attempts"] = refused
    record = records.build_record(ev, {"kind": "agent", "policy": name, "model": "m",
                                       "run_id": run_id},
                                  command="speedup test", roofline=None, archive=None,
                                  agent=agent_block)
    records.write_record(record, tmp_path)
    return record


def test_the_leaderboard_counts_runs_not_attempts_and_says_what_is_not_recorded(tmp_path):
    _agent_record(tmp_path, "a", "r1", {"static_scan": 3})
    _agent_record(tmp_path, "a", "r2", {"static_scan": 1, "forbidden_call": 2})
    _agent_record(tmp_path, "a", "r3", {})
    _agent_record(tmp_path, "b", "r4", None)  # written before the field
    (track,) = build(records.load_records(tmp_path))
    rows = {row.label: row for row in track.rows}
    assert rows["a / m"].refused_attempts == {"forbidden_call": 1, "static_scan": 2}
    assert rows["b / m"].refused_attempts is None
    page = render_markdown([track], None)
    assert "forbidden_call 1, static_scan 2" in page and "not recorded" in page
    assert records.refused_attempts(records.load_records(tmp_path)[-1]) is None
