"""The baseline time a session's prompt states is read from this machine's records in both
places the leaderboard reads: the shipped reference records measured on the same CPU model
and the user's own, so a user whose folder is empty is told the shipped measurement instead
of waiting for a baseline run."""

from __future__ import annotations

from agent.launch.project_harness import ProjectHarness
from bench import clock, records
from correctness.sandbox import BASELINE_DIR


def _record(results_dir, baseline_s: float) -> None:
    """An official evaluation of the baseline on tiny/cpu, on this machine (build_record
    takes the environment, the CPU model included, from where it runs)."""
    ev = clock.Evaluation(str(BASELINE_DIR), "tiny", "cpu", 1, False,
                          passed=True, median_ratio=1.0, min_ratio=1.0, max_ratio=1.0)
    ev.rounds = [{"order": "AB", "baseline_s": baseline_s, "candidate_s": baseline_s,
                  "ratio": 1.0, "checks": []}]
    records.write_record(records.build_record(ev, {"kind": "reference", "name": "baseline"},
                                              command="speedup test", roofline=None,
                                              archive=None), results_dir)


def test_the_baseline_time_reads_the_shipped_records_and_the_users(tmp_path):
    yours = tmp_path / "yours"
    for seconds in (2.0, 3.0):
        _record(records.SHIPPED_DIR, seconds)
    _record(yours, 9.0)
    facts = ProjectHarness().track_facts("tiny", "cpu", str(yours))
    assert facts.baseline_s == 3.0  # the median of 2, 3 and 9: both folders read
    assert "3 official evaluation" in facts.baseline_source
    assert "shipped" in facts.baseline_source and str(yours) in facts.baseline_source
