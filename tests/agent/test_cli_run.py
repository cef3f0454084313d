"""`speedup run` wired end to end with the judge and the clock faked (their verdicts follow
the workspace's content) but the library policy, the records and the leaderboard real:
the main job ends in a valid `library` record and a rendered leaderboard."""

from __future__ import annotations

import json

import pytest
from agentfakes import FakeClock, FakeHarness

import agent.launch.project_harness
from agent.session.run_config import BENCH_ROUNDS
from bench import clock as clock_mod
from bench import records
from kernels.registry import Impl
from speedup.cli import main

REAL_HARNESS = agent.launch.project_harness.ProjectHarness
NATIVE = [Impl(slot, "torch", False)
          for slot in ("layer_norm", "adamw")]


class RecordingHarness(FakeHarness):
    """The fake judge and clock, with a real clock.Evaluation and the real record writer."""

    def __init__(self, tolerances=None):
        super().__init__(FakeClock(), gains={"import adamw  #": 1.5}, library=NATIVE)

    def official_evaluation(self, solution_dir, preset, device, rounds, on_progress=None):
        passed, ratio = self._verdict(solution_dir)
        ev = clock_mod.Evaluation(str(solution_dir), preset, device, rounds, False,
                                  passed=passed, median_ratio=ratio, min_ratio=ratio,
                                  max_ratio=ratio, isolation="namespaces")
        ev.rounds = [{"order": "BA", "baseline_s": 2.5, "candidate_s": 1.0, "ratio": ratio,
                      "checks": []}]
        return ev

    def write_record(self, evaluation, entrant, extra, results_dir, **where):
        return REAL_HARNESS().write_record(evaluation, entrant, extra, results_dir, **where)


def test_speedup_run_ends_in_a_library_record_and_a_leaderboard(tmp_path, monkeypatch,
                                                                capsys):
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", RecordingHarness)
    code = main(["run", "--device", "cpu", "--runs-dir", str(tmp_path / "runs"),
                 "--results-dir", str(tmp_path / "results"), "--out", str(tmp_path)])
    assert code == 0
    out, err = capsys.readouterr()
    assert "speedup run: policy library on preset tiny, device cpu" in err
    assert "turn 1: read_file(path='ops.py')" in err  # progress, one line per step
    (path,) = (tmp_path / "results").glob("*.json")
    record = json.loads(path.read_text())
    assert records.validate(record) == []
    assert record["entrant"]["policy"] == "library" and record["passed"]
    assert record["median_ratio"] == pytest.approx(2.5)  # adamw kept: the fake's +1.5x
    assert record["agent"]["dollars"] == 0 and record["agent"]["scored_state"] == "submitted"
    assert (tmp_path / "leaderboard.md").is_file() and "library" in (
        tmp_path / "leaderboard.md").read_text()
    assert "scored the submitted state" in out and "tiny on cpu: 1 ranked" in out


@pytest.mark.parametrize("extra,rounds", [([], BENCH_ROUNDS["library"]),
                                          (["--bench-rounds", "1"], 1)])
def test_the_library_policy_benches_on_several_rounds_unless_told(tmp_path, monkeypatch, extra,
                                                                  rounds):
    harnesses = []

    class Recorded(RecordingHarness):
        def __init__(self, tolerances=None):
            super().__init__()
            harnesses.append(self)

    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", Recorded)
    assert main(["run", "--device", "cpu", "--runs-dir", str(tmp_path / "runs"),
                 "--results-dir", str(tmp_path / "results"), "--out", str(tmp_path),
                 *extra]) == 0
    benches = [call for h in harnesses for call in h.calls if call[0] == "bench"]
    assert benches and all(call[-1] == rounds for call in benches)
    assert BENCH_ROUNDS["library"] > 1  # one round leaves the policy's choices to noise
