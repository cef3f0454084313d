"""The loop on the project's real judge, clock, sandbox and records, on `tiny`: a scripted
model swaps one kernel for a torch-native one, tries a forbidden import (rejected by the
judge's static scan, reported to the model), runs an experiment of its own (run_python, in
the sandbox), and submits; the official evaluation judges and times the edit and writes a
record. One training pair only (the evaluation's round): a tiny run of the naive baseline
takes up to a minute on a loaded 2-core machine, so the baseline time the prompt states is
not measured here (a test below reads it from records)."""

from __future__ import annotations

import json

import pytest
from agentfakes import ScriptedAPI, message, tool_use

import agent.launch.project_harness
from agent.launch.project_harness import ProjectHarness
from agent.policies.claude import ClaudePolicy
from agent.policies.library import library_files
from agent.session.loop import Session
from agent.session.run_config import RunConfig
from agent.session.snapshots import Snapshots
from agent.session.transcript import read_events
from baseline.ops import SLOTS
from correctness.sandbox import BASELINE_DIR

GELU = '''def gelu(x: Tensor) -> Tensor:
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1.0 + torch.tanh(inner))'''
FUSED = '''def gelu(x: Tensor) -> Tensor:
    return torch.nn.functional.gelu(x, approximate="tanh")'''


PROBE = """import torch
from submission import ops
x = torch.randn(64, 64)
print("gelu max", float(ops.gelu(x).max()) > 0, "args", ARGS)
"""


@pytest.mark.slow
@pytest.mark.quiet_machine
def test_scripted_session_on_the_real_judge_and_clock(tmp_path, monkeypatch):
    monkeypatch.setattr(agent.launch.project_harness, "_baseline_time",
                        lambda *a: (2.0, "not measured here"))
    script = [
        message(tool_use("edit_file", "t1", path="ops.py", old_string=GELU, new_string=FUSED)),
        message(tool_use("write_file", "t2", path="sneaky.py", content="import subprocess\n"),
                tool_use("run_check", "t3"),
                tool_use("write_file", "t4", path="sneaky.py", content="X = 1\n"),
                tool_use("write_file", "t5", path="probe.py", content=PROBE),
                tool_use("run_python", "t6", path="probe.py", args=["a"])),
        message(tool_use("submit", "t7")),
    ]
    api = ScriptedAPI(script)
    config = RunConfig(run_id="real", policy="claude", model="claude-sonnet-5-5",
                       preset="tiny", device="cpu", eval_rounds=1,
                       results_dir=str(tmp_path / "results"))
    policy = ClaudePolicy(api.client(), config.model)
    outcome = Session.start(tmp_path / "runs", config, policy, ProjectHarness()).run()

    results = [e for e in read_events(tmp_path / "runs" / "real" / "transcript.jsonl")
               if e["event"] == "tool_result"]
    assert results[2]["content"].startswith("FAILED: rejected by static_scan")
    assert "subprocess" in results[2]["content"]
    probe = results[5]  # the workspace's own script, run in the sandbox
    assert not probe["is_error"] and "gelu max True args ['a']" in probe["content"]
    assert probe["device_s"] > 0
    record = json.loads(outcome.record.read_text())
    assert record["passed"], record["rejected_by"]
    assert record["entrant"]["policy"] == "claude"
    assert FUSED in (Snapshots(tmp_path / "runs" / "real").path(outcome.hash)
                     / "ops.py").read_text()
    assert record["agent"]["turns"] == 3 and record["agent"]["scored_state"] == "submitted"
    (timed,) = outcome.evaluation["rounds"]  # eval_rounds=1: the edit timed once, and judged
    assert timed["baseline_s"] > 0 and timed["candidate_s"] > 0
    assert {c["name"] for c in timed["checks"]} >= {"heldout_loss", "weights", "trajectory"}


def test_the_baseline_time_comes_from_this_machines_records(tmp_path):
    from bench import clock, records

    ev = clock.Evaluation(str(BASELINE_DIR), "tiny", "cpu", 1, False,
                          passed=True, median_ratio=1.0, min_ratio=1.0, max_ratio=1.0)
    ev.rounds = [{"order": "AB", "baseline_s": s, "candidate_s": s, "ratio": 1.0, "checks": []}
                 for s in (2.0, 3.0, 4.0)]
    records.write_record(records.build_record(ev, {"kind": "reference", "name": "baseline"},
                                              command="speedup test", roofline=None,
                                              archive=None), tmp_path)
    facts = ProjectHarness().track_facts("tiny", "cpu", str(tmp_path))
    assert facts.baseline_s == 3.0 and "1 official evaluation" in facts.baseline_source
    assert facts.cpu_count >= 1 and facts.run_timeout_s > 0 and facts.versions["torch"]


def test_the_real_library_offers_every_slot_and_triton_only_on_cuda():
    cpu, cuda = ProjectHarness().library("cpu"), ProjectHarness().library("cuda")
    assert {i.slot for i in cpu if i.name == "torch"} == set(SLOTS)
    assert all(i.name != "triton" for i in cpu)  # the interpreter is not for timing
    assert {i.slot for i in cuda if i.name == "triton"} == set(SLOTS)
    for impl in cuda:  # each binding names a function that the copied source defines
        files = library_files(impl.module)  # read as source: no Triton import, no GPU
        assert any(f"\ndef {impl.slot}(" in text for text in files.values()), impl
