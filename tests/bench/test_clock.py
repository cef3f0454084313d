"""The clock's protocol and statistics with work-count fakes (conftest.py): every "second"
is a counted slot call, so the assertions below are exact, never wall-clock luck."""

import threading
from pathlib import Path

import pytest
from clockfakes import (
    ScriptedRunner,
    WorkCountRunner,
    pass_judge,
    train_baseline,
    train_twice,
)
from officialfakes import FakeResult, exact_checks

from bench import clock
from bench.stats import STATISTIC
from correctness.training_check import HarnessError


def _evaluate(dirs, runner, candidate="candidate", **kw):
    return clock.official_evaluation(dirs[candidate], "tiny", "cpu", runner=runner,
                                     judge=exact_checks, baseline_dir=dirs["baseline"], **kw)


def test_baseline_against_itself_is_one(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline,
                              dirs["candidate"]: train_baseline})
    ev = _evaluate(dirs, runner, rounds=3)
    assert ev.passed and ev.rejected_by is None
    assert 0.9 <= ev.median_ratio <= 1.1
    assert ev.median_ratio == ev.min_ratio == ev.max_ratio == 1.0  # same work, same count
    assert ev.inconclusive  # no gain is never a claim
    assert ev.statistic == STATISTIC


def test_same_work_twice_is_half(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline, dirs["twice"]: train_twice})
    ev = _evaluate(dirs, runner, candidate="twice", rounds=3)
    assert ev.passed
    assert ev.median_ratio == pytest.approx(0.5)
    assert not ev.inconclusive


def test_rounds_alternate_and_share_one_fresh_seed(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline,
                              dirs["candidate"]: train_baseline})
    ev = _evaluate(dirs, runner, rounds=4)
    warm, timed = runner.log[:2], runner.log[2:]
    assert [w[2] for w in warm] == [clock.WARMUP_STEPS] * 2  # untimed, cut to a few steps
    assert [w[4] for w in warm] == ["update"] * 2  # only warm-up may fill the caches
    assert {entry[4] for entry in timed} == {"snapshot"}
    assert [r["order"] for r in ev.rounds] == ["baseline,candidate", "candidate,baseline"] * 2
    names = [entry[0] for entry in timed]
    assert names == ["baseline", "candidate", "candidate", "baseline"] * 2  # ABBA
    input_ids = [entry[1] for entry in timed]
    assert all(input_ids[i] == input_ids[i + 1] for i in range(0, 8, 2))  # one seed per round
    assert all(entry[2] == 150 for entry in timed)  # timed runs get the full preset


def test_no_warmup_means_no_untimed_runs(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline,
                              dirs["candidate"]: train_baseline})
    ev = _evaluate(dirs, runner, rounds=1, warmup=False)
    assert len(runner.log) == 2 and ev.warmup is None


def test_repeat_self_measures_the_candidate_against_itself(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline, dirs["twice"]: train_twice})
    ev = _evaluate(dirs, runner, candidate="twice", rounds=2, repeat_self=True)
    assert [entry[0] for entry in runner.log[-4:]] == ["twice"] * 4
    assert [r["ratio"] for r in ev.self_rounds] == [1.0, 1.0]
    assert ev.self_spread == 0.0 and ev.noise_source == "repeat-self"


def test_a_gain_within_the_self_noise_is_still_judged_by_the_interval(dirs):
    # rounds: ratios 1.04, 1.04; self rounds: 1.0/1.1 and 1.0/1.0 -> spread 10%, reported
    runner = ScriptedRunner(dirs, [1.04, 1.04], [1.0, 1.0, 1.0, 1.1, 1.0, 1.0])
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=2, warmup=False,
                        repeat_self=True, runner=runner, judge=pass_judge,
                        baseline_dir=dirs["baseline"])
    assert ev.median_ratio == pytest.approx(1.04)
    assert ev.self_spread == pytest.approx(1.1 - 1.0) and ev.noise_source == "repeat-self"
    assert ev.ratio_interval == [pytest.approx(1.04), pytest.approx(1.04)]
    assert not ev.inconclusive  # paired rounds that agree exactly: the interval is a point


def test_drift_that_hits_both_sides_alike_cancels_in_the_pairs(dirs):
    # the baseline's own times spread 40% across rounds, the pairs' ratios do not
    runner = ScriptedRunner(dirs, [1.3, 1.82, 1.3], [1.0, 1.4, 1.0])
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=3, warmup=False,
                        runner=runner, judge=pass_judge, baseline_dir=dirs["baseline"])
    assert ev.median_ratio == pytest.approx(1.3)
    assert ev.noise_source == "baseline rounds" and ev.baseline_spread == pytest.approx(0.4)
    assert ev.ratio_interval == [pytest.approx(1.3), pytest.approx(1.3)]
    assert not ev.inconclusive


def test_without_repeat_self_the_baseline_rounds_are_the_noise(dirs):
    runner = ScriptedRunner(dirs, [2.0, 2.2, 2.0], [1.0, 1.0, 1.0])
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=3, warmup=False,
                        runner=runner, judge=pass_judge, baseline_dir=dirs["baseline"])
    assert ev.noise_source == "baseline rounds"
    assert ev.baseline_spread == pytest.approx(0.1)
    assert ev.median_ratio == 2.0 and not ev.inconclusive


def train_lazily(cfg, init, tokens, batches, ops):
    """The exploit: return at once and let a thread do the training afterwards, filling
    the returned tensors in place."""
    out = {"state_dict": {k: v.clone() for k, v in init.items()},
           "losses": [0.0] * cfg["steps"]}

    def work():
        result = baseline_train_uncounted(cfg, init, tokens, batches)
        for k, v in result["state_dict"].items():
            out["state_dict"][k].copy_(v)
        out["losses"][:] = result["losses"]

    train_lazily.thread = threading.Thread(target=work)
    train_lazily.thread.start()
    return out


def baseline_train_uncounted(cfg, init, tokens, batches):
    from baseline import train
    return train(cfg, init, tokens, batches)


def test_work_after_return_on_a_thread_cannot_lower_the_time(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline, dirs["lazy"]: train_lazily})
    try:
        ev = _evaluate(dirs, runner, candidate="lazy", rounds=3, warmup=False)
    finally:
        train_lazily.thread.join()
    # Its time was ~0, but the results read at `done` are the untrained weights.
    assert not ev.passed and ev.rejected_by == "weights"
    assert ev.median_ratio is None and ev.rounds[0]["ratio"] is None
    assert len(ev.rounds) == 1  # the first rejection ends the evaluation


def test_a_rejected_run_names_the_check_and_stops(dirs):
    class Crashes(WorkCountRunner):
        def __call__(self, solution_dir, cfg, inputs, **options):
            if solution_dir == dirs["candidate"]:
                self.log.append(("candidate",))
                return FakeResult(ok=False, check="crash", message="ZeroDivisionError")
            return super().__call__(solution_dir, cfg, inputs, **options)

    runner = Crashes({dirs["baseline"]: train_baseline})
    ev = _evaluate(dirs, runner, rounds=3)
    assert not ev.passed and ev.rejected_by == "crash"
    assert "ZeroDivisionError" in ev.message and "warm-up" in ev.message
    assert not ev.candidate_ran and len(runner.log) == 2


def test_a_failing_baseline_is_a_harness_error_not_a_verdict(dirs):
    def runner(solution_dir, cfg, inputs, **options):
        return FakeResult(ok=False, check="oom", message="out of memory")

    with pytest.raises(HarnessError, match="baseline failed"):
        _evaluate(dirs, runner, rounds=1)


def test_library_allowed_for_the_candidate_only(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline,
                              dirs["candidate"]: train_baseline})
    _evaluate(dirs, runner, rounds=1, allow_library=True)
    allowed = {(name, flag) for name, _, _, flag, _ in runner.log}
    assert allowed == {("baseline", False), ("candidate", True)}


def test_progress_counts_every_run(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline,
                              dirs["candidate"]: train_baseline})
    events = []
    _evaluate(dirs, runner, rounds=2, repeat_self=True,
              on_progress=lambda done, total, status: events.append((done, total)))
    assert events == [(i, 10) for i in range(1, 11)]


def test_record_fields_survive_to_dict(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline, dirs["twice"]: train_twice})
    d = _evaluate(dirs, runner, candidate="twice", rounds=1).to_dict()
    assert d["candidate_median_s"] == pytest.approx(2 * d["baseline_median_s"])
    assert d["rounds"][0]["checks"][0]["name"] == "weights"
    assert d["candidate_ran"] is True


def test_many_candidates_share_the_baseline_runs(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline,
                              dirs["candidate"]: train_baseline, dirs["twice"]: train_twice})
    events = []
    same, twice = clock.official_evaluations(
        [dirs["candidate"], dirs["twice"]], "tiny", "cpu", rounds=2, runner=runner,
        judge=exact_checks, baseline_dir=dirs["baseline"],
        on_progress=lambda done, total, status: events.append((done, total)))
    names = [entry[0] for entry in runner.log]
    assert names == ["baseline", "candidate",  # warm-up
                     "baseline", "candidate",  # round 1
                     "candidate", "baseline",  # round 2, reversed
                     "twice", "twice", "twice"]  # warm-up, rounds 1 and 2: no baseline runs
    assert (same.median_ratio, twice.median_ratio) == (1.0, pytest.approx(0.5))
    assert [r["order"] for r in same.rounds] == ["baseline,candidate", "candidate,baseline"]
    assert [r["order"] for r in twice.rounds] == ["baseline,candidate"] * 2  # as they ran
    assert [r["baseline_s"] for r in same.rounds] == [r["baseline_s"] for r in twice.rounds]
    timed = runner.log[2:]
    # each round's seed is the one its baseline run had, for every candidate
    assert timed[0][1] == timed[1][1] == timed[5][1] and timed[2][1] == timed[3][1] == timed[6][1]
    assert timed[0][1] != timed[2][1]
    assert events == [(i, 9) for i in range(1, 10)]


def test_each_evaluation_is_delivered_before_the_next_candidate_runs(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline,
                              dirs["candidate"]: train_baseline, dirs["twice"]: train_twice})
    delivered = []

    def on_evaluation(ev):
        delivered.append((Path(ev.solution_dir).name, ev.passed, ev.median_ratio,
                          [entry[0] for entry in runner.log]))

    clock.official_evaluations([dirs["twice"], dirs["candidate"]], "tiny", "cpu", rounds=2,
                        runner=runner, judge=exact_checks, baseline_dir=dirs["baseline"],
                        on_evaluation=on_evaluation)
    assert [d[:3] for d in delivered] == [("twice", True, pytest.approx(0.5)),
                                          ("candidate", True, 1.0)]
    assert "candidate" not in delivered[0][3]  # delivered before the next one's first run


def test_a_cut_off_keeps_the_candidates_that_finished(dirs):
    """The bench is stopped (a time box's SIGINT) during the second candidate: the first
    one's evaluation has already been delivered, whole."""
    class CutOff(WorkCountRunner):
        def __call__(self, solution_dir, cfg, inputs, **options):
            if Path(solution_dir) == dirs["twice"]:
                raise KeyboardInterrupt
            return super().__call__(solution_dir, cfg, inputs, **options)

    runner = CutOff({dirs["baseline"]: train_baseline, dirs["candidate"]: train_baseline})
    delivered = []
    with pytest.raises(KeyboardInterrupt):
        clock.official_evaluations([dirs["candidate"], dirs["twice"]], "tiny", "cpu", rounds=3,
                            runner=runner, judge=exact_checks, baseline_dir=dirs["baseline"],
                            on_evaluation=delivered.append)
    (ev,) = delivered
    assert Path(ev.solution_dir) == dirs["candidate"] and ev.passed and len(ev.rounds) == 3
    assert ev.median_ratio == 1.0


def test_a_candidate_rejected_before_its_partner_ran_leaves_that_run_to_the_next(dirs):
    """Round 2 runs the candidate first; one that fails there needs no baseline run, so the
    next candidate to reach round 2 goes first and the baseline runs after it."""
    class FailsRound2(WorkCountRunner):
        def __call__(self, solution_dir, cfg, inputs, **options):
            if Path(solution_dir) == dirs["lazy"] and len(self.log) == 2:
                self.log.append(("lazy", id(inputs)))
                return FakeResult(ok=False, check="crash", message="ZeroDivisionError")
            return super().__call__(solution_dir, cfg, inputs, **options)

    runner = FailsRound2({dirs["baseline"]: train_baseline, dirs["lazy"]: train_baseline,
                          dirs["candidate"]: train_baseline})
    crashed, same = clock.official_evaluations(
        [dirs["lazy"], dirs["candidate"]], "tiny", "cpu", rounds=2, warmup=False,
        runner=runner, judge=exact_checks, baseline_dir=dirs["baseline"])
    assert [entry[0] for entry in runner.log] == ["baseline", "lazy", "lazy",
                                                  "candidate", "candidate", "baseline"]
    assert crashed.rejected_by == "crash" and crashed.rounds[1]["baseline_s"] is None
    assert same.passed and [r["order"] for r in same.rounds] == ["baseline,candidate",
                                                                 "candidate,baseline"]
    assert runner.log[2][1] == runner.log[4][1]  # the round's seed waited for its partner


def test_a_rejected_candidate_leaves_the_field_and_the_others_go_on(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline,
                              dirs["candidate"]: train_baseline, dirs["lazy"]: train_lazily})
    events = []
    try:
        lazy, same = clock.official_evaluations(
            [dirs["lazy"], dirs["candidate"]], "tiny", "cpu", rounds=3, warmup=False,
            runner=runner, judge=exact_checks, baseline_dir=dirs["baseline"],
            on_progress=lambda done, total, status: events.append((done, total)))
    finally:
        train_lazily.thread.join()
    assert lazy.rejected_by == "weights" and len(lazy.rounds) == 1
    assert same.passed and len(same.rounds) == 3
    assert [entry[0] for entry in runner.log].count("lazy") == 1
    assert events[-1] == (7, 7)  # 3 baseline + 3 candidate + the 1 lazy run


def test_a_failing_declared_kernel_means_the_solution_never_runs(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline,
                              dirs["candidate"]: train_baseline})

    def kernel_check(solution_dir, device, allow_library):
        return {"gelu": {"passed": False, "failures": ["shape (7, 3): grad x error 0.3"]}}

    ev = clock.official_evaluations([dirs["candidate"]], "tiny", "cpu", rounds=2, runner=runner,
                             judge=exact_checks, baseline_dir=dirs["baseline"],
                             kernel_check=kernel_check)[0]
    assert ev.rejected_by == "kernels" and "grad x error 0.3" in ev.message
    assert runner.log == [] and not ev.candidate_ran


def test_one_round_without_repeat_self_has_unknown_noise_and_claims_nothing(dirs):
    runner = ScriptedRunner(dirs, [2.0], [1.0])
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=1, warmup=False,
                        runner=runner, judge=pass_judge, baseline_dir=dirs["baseline"])
    assert ev.median_ratio == 2.0 and ev.ratio_interval is None
    assert ev.baseline_spread is None and ev.noise_source is None and ev.inconclusive


def test_an_evaluation_names_namespaces_only_if_every_run_had_them(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline,
                              dirs["candidate"]: train_baseline})
    assert _evaluate(dirs, runner, rounds=2).isolation == "namespaces"
    weak_baseline = WorkCountRunner({dirs["baseline"]: train_baseline,
                                     dirs["candidate"]: train_baseline},
                                    isolation={dirs["baseline"].name: "process"})
    assert _evaluate(dirs, weak_baseline, rounds=2).isolation == "process"


def test_an_evaluation_names_the_weakest_isolation_of_its_runs(dirs):
    """Namespaces for one side and Landlock for the other: both confine native code, so the
    evaluation is `landlock` (and ranks), not `process`."""
    mixed = WorkCountRunner({dirs["baseline"]: train_baseline,
                             dirs["candidate"]: train_baseline},
                            isolation={dirs["baseline"].name: "landlock"})
    assert _evaluate(dirs, mixed, rounds=2).isolation == "landlock"
