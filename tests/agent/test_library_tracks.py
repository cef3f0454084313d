"""The library policy binds kernel slots in the reference program's ops.py, which only the torch
tracks' reference (baseline/) has. On the range track, whose reference is the NumPy draft
(baseline/draft), it could only submit the draft unchanged after minutes of baseline runs:
`speedup run` (the library policy by default), `speedup agent --policy library` and the
Inspect provider speedup/library refuse that track before anything runs, with one line
saying what works there."""

from __future__ import annotations

import pytest
from agentfakes import FakeClock, FakeHarness

import agent.launch.project_harness
from kernels.registry import Impl
from speedup.cli import main


@pytest.fixture
def harnesses(monkeypatch) -> list[FakeHarness]:
    """Every harness a command makes, recording what it was asked (calibration, runs)."""
    made = []

    class Recording(FakeHarness):
        def __init__(self, tolerances=None):
            super().__init__(FakeClock(), library=[Impl("gelu", "torch", False)])
            made.append(self)

    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", Recording)
    return made


@pytest.mark.parametrize("command", [["run"], ["agent", "--policy", "library"]])
def test_the_library_policy_on_range_is_a_usage_error_before_anything_runs(
        command, tmp_path, harnesses, capsys):
    runs = tmp_path / "runs"
    code = main([*command, "--preset", "range", "--device", "cpu", "--runs-dir", str(runs),
                 "--results-dir", str(tmp_path / "results"), "--out", str(tmp_path / "lb")])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and line.startswith("speedup: error: ")
    assert "tiny, cpu, gpu" in line and "--policy claude" in line
    assert "speedup bench solutions/range_obvious" in line
    assert [h.calls for h in harnesses if h.calls] == []  # no calibration, no run
    assert not runs.exists() and not (tmp_path / "results").exists()


def test_the_inspect_library_provider_on_range_ends_before_a_session(tmp_path, harnesses):
    pytest.importorskip("inspect_ai")
    from inspect_ai import eval as inspect_eval

    from agent.launch.inspect_task import speedup_bench

    task = speedup_bench(preset="range", device="cpu", eval_rounds=1,
                         runs_dir=str(tmp_path / "runs"), results_dir=str(tmp_path / "results"))
    (log,) = inspect_eval(task, model="speedup/library", log_dir=str(tmp_path / "logs"),
                          display="none")
    assert log.status == "error"
    assert "the library policy binds kernel slots" in log.error.message
    assert [h.calls for h in harnesses if h.calls] == []
    assert not (tmp_path / "runs").exists()
