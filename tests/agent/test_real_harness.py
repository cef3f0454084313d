"""The loop on the project's real judge, clock and records, on `tiny`: a scripted model
swaps one kernel for a torch-native one, checks it, tries a forbidden import (rejected by
the judge, reported to the model), and submits; the official evaluation writes a record."""

from __future__ import annotations

import json

import pytest
from agentfakes import ScriptedAPI, message, tool_use

pytest.importorskip("correctness.training_check")
pytest.importorskip("correctness.sandbox")
pytest.importorskip("bench.clock")
pytest.importorskip("bench.records")


def _calibrated() -> bool:
    from correctness import tolerances

    try:
        tolerances.load("tiny", "cpu")
    except tolerances.ToleranceError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _calibrated(), reason="tiny/cpu tolerances not calibrated")

from agent.claude import ClaudePolicy  # noqa: E402
from agent.harness import ProjectHarness  # noqa: E402
from agent.prompt import system_prompt  # noqa: E402
from agent.session import RunConfig, Session  # noqa: E402
from agent.transcript import read_events  # noqa: E402

GELU = '''def gelu(x: Tensor) -> Tensor:
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1.0 + torch.tanh(inner))'''
FUSED = '''def gelu(x: Tensor) -> Tensor:
    return torch.nn.functional.gelu(x, approximate="tanh")'''


def test_scripted_session_on_the_real_judge_and_clock(tmp_path):
    script = [
        message(tool_use("edit_file", "t1", path="ops.py", old_string=GELU, new_string=FUSED),
                tool_use("run_check", "t2")),
        message(tool_use("write_file", "t3", path="sneaky.py", content="import subprocess\n"),
                tool_use("run_check", "t4"),
                tool_use("write_file", "t5", path="sneaky.py", content="X = 1\n")),
        message(tool_use("submit", "t6")),
    ]
    api = ScriptedAPI(script)
    config = RunConfig(run_id="real", policy="claude", model="claude-sonnet-5-5",
                       preset="tiny", device="cpu", eval_rounds=1,
                       results_dir=str(tmp_path / "results"))
    policy = ClaudePolicy(api.client(), config.model, system_prompt("tiny", "cpu"))
    outcome = Session.start(tmp_path / "runs", config, policy, ProjectHarness()).run()

    results = [e for e in read_events(tmp_path / "runs" / "real" / "transcript.jsonl")
               if e["event"] == "tool_result"]
    assert results[1]["content"].startswith("PASSED"), results[1]["content"]
    assert results[3]["content"].startswith("FAILED: rejected by static_scan")
    assert "subprocess" in results[3]["content"]
    record = json.loads(outcome.record.read_text())
    assert record["passed"] and record["entrant"]["policy"] == "claude"
    assert record["agent"]["turns"] == 3 and record["agent"]["scored_state"] == "submitted"
    assert outcome.evaluation["median_ratio"] > 0
