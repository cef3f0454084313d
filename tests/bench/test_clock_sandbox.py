"""The clock on real sandboxed processes (tiny, CPU). Nothing here asserts a time: the
protocol (alternation, judging, who leaves the field and why) is what is checked. The
statistics are checked exactly, on work-count fakes, in test_clock.py."""

import functools
import shutil
import textwrap

import pytest

from bench import clock

pytestmark = [pytest.mark.slow, pytest.mark.quiet_machine]  # pyproject.toml says what each is

LAZY = '''
"""The exploit: return at once, train on a thread afterwards into the returned tensors,
so the clock would stop before the work is done."""
import threading

from baseline.train import train as baseline_train


def train(cfg, init, tokens, batches):
    out = {"state_dict": {k: v.clone() for k, v in init.items()},
           "losses": [0.0] * cfg["steps"]}

    def work():
        result = baseline_train(cfg, init, tokens, batches)
        for k, v in result["state_dict"].items():
            out["state_dict"][k].copy_(v)
        out["losses"][:] = result["losses"]

    threading.Thread(target=work).start()
    return out
'''


def test_real_processes_baseline_passes_and_a_thread_cannot_lower_its_time(
        tmp_path):
    from correctness.sandbox import BASELINE_DIR, run_solution

    same = tmp_path / "same"
    shutil.copytree(BASELINE_DIR, same, ignore=shutil.ignore_patterns("__pycache__"))
    lazy = tmp_path / "lazy"
    lazy.mkdir()
    (lazy / "solution.py").write_text(textwrap.dedent(LAZY))
    statuses = []
    # The static scan would refuse `threading` before anything runs; switched off here so
    # the runtime defences and the clock's own protocol are what this test exercises.
    runner = functools.partial(run_solution, static_scan=False, run_timeout=300)
    same_ev, lazy_ev = clock.official_evaluations(
        [same, lazy], "tiny", "cpu", rounds=2, warmup=False, runner=runner,
        on_progress=lambda done, total, status: statuses.append(status))

    assert same_ev.passed, same_ev.message
    assert [r["order"] for r in same_ev.rounds] == ["baseline,candidate", "candidate,baseline"]
    assert all(r["baseline_s"] > 0 and r["candidate_s"] > 0 for r in same_ev.rounds)
    assert all(r["ratio"] == pytest.approx(r["baseline_s"] / r["candidate_s"])
               for r in same_ev.rounds)
    # each run's wall-clock window spans its monotonic time, and no two runs overlapped
    for r in same_ev.rounds:
        for side in ("baseline", "candidate"):
            span = r[f"{side}_ended_at"] - r[f"{side}_started_at"]
            assert span == pytest.approx(r[f"{side}_s"], abs=0.05)
    from bench.windows import overlaps

    assert overlaps([{**same_ev.to_dict(), "_path": "same"},
                     {**lazy_ev.to_dict(), "_path": "lazy"}]) == []
    assert same_ev.timing["device"] == "cpu" and same_ev.timing["lease"] is None
    assert all(c["passed"] for r in same_ev.rounds for c in r["checks"])
    assert {c["name"] for c in same_ev.rounds[0]["checks"]} >= {"heldout_loss", "weights",
                                                                "trajectory"}
    # The lazy solution never gets a speedup: rejected in its first round, and gone after.
    assert not lazy_ev.passed and lazy_ev.median_ratio is None
    assert lazy_ev.rejected_by in {"threads", "weights", "heldout_loss", "trajectory"}
    assert len(lazy_ev.rounds) == 1 and lazy_ev.rounds[0]["ratio"] is None
    assert sum("lazy" in s for s in statuses) == 1
