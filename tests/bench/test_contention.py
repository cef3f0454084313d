"""The clock on a busy machine, with fakes that report what share of the CPUs other work
took (clockfakes.usage): contended rounds are timed again, a machine that stays busy ends
in "could not get a quiet machine", and no contended evaluation is conclusive."""

import json
from pathlib import Path

import pytest
from clockfakes import (
    ScriptedRunner,
    WorkCountRunner,
    pass_judge,
    train_baseline,
    train_twice,
)
from officialfakes import FakeCheck, exact_checks

from bench import clock, contention, leaderboard, records
from bench.leaderboard_render import render_markdown

BUSY = 0.5  # other work took half the CPUs: a busy loop on one of two cores
LIMIT = contention.ATTEMPTS_PER_ROUND


def _evaluate(dirs, runner, candidate="candidate", **kw):
    return clock.official_evaluation(dirs[candidate], "tiny", "cpu", runner=runner,
                                     judge=exact_checks, baseline_dir=dirs["baseline"],
                                     warmup=False, **kw)


def test_every_row_records_what_the_machine_gave_its_runs(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline, dirs["twice"]: train_twice})
    ev = _evaluate(dirs, runner, candidate="twice", rounds=2)
    row = ev.rounds[0]
    assert row["candidate_usage"]["cpu_s"] == row["candidate_s"]  # CPU beside wall seconds
    assert row["baseline_usage"]["foreign_share"] == 0.0
    assert row["baseline_usage"]["load_before"] == 0.5
    assert (row["attempts"], row["contended"], row["discarded"]) == (1, False, [])
    assert ev.contention_rule == {"max_foreign_share": contention.MAX_FOREIGN_SHARE,
                                  "attempts_per_round": LIMIT}
    assert not ev.contended and not ev.inconclusive  # 0.5x every round: a clear loss


def test_a_contended_candidate_run_times_the_round_again(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline, dirs["twice"]: train_twice},
                             contention={"twice": [BUSY]})
    events = []
    ev = _evaluate(dirs, runner, candidate="twice", rounds=2,
                   on_progress=lambda done, total, status: events.append((done, total, status)))
    names = [entry[0] for entry in runner.log]
    assert names == ["baseline", "twice", "baseline", "twice",  # round 1, twice
                     "twice", "baseline"]  # round 2
    first = ev.rounds[0]
    assert first["attempts"] == 2 and not first["contended"]
    (dropped,) = first["discarded"]
    assert dropped["candidate_usage"]["foreign_share"] == pytest.approx(BUSY)
    assert first["candidate_usage"]["foreign_share"] == 0.0  # the kept attempt: quiet
    assert runner.log[0][1] == runner.log[2][1]  # the same round's inputs again
    assert not ev.contended and not ev.inconclusive and ev.median_ratio == pytest.approx(0.5)
    assert events[-1][:2] == (6, 6)  # the plan grew by the attempt
    assert "round 1, attempt 2" in events[2][2]


def test_a_contended_baseline_run_times_the_round_again(dirs):
    runner = ScriptedRunner(dirs, [2.0, 2.0, 2.0], [1.0, 1.0, 1.0], baseline_shares=[BUSY])
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=2, warmup=False,
                                   runner=runner, judge=pass_judge,
                                   baseline_dir=dirs["baseline"])
    assert runner.log == ["baseline", "candidate", "baseline", "candidate",
                          "candidate", "baseline"]
    assert ev.rounds[0]["attempts"] == 2 and not ev.contended


def test_a_machine_busy_past_the_limit_is_not_a_quiet_machine(dirs):
    """Every run contended: round 1 uses its attempts, then the evaluation is contended and
    later rounds run once each. A 0.5x loss in every round is then still no claim."""
    runner = WorkCountRunner({dirs["baseline"]: train_baseline, dirs["twice"]: train_twice},
                             contention={"twice": [BUSY] * 20})
    ev = _evaluate(dirs, runner, candidate="twice", rounds=3)
    assert [r["attempts"] for r in ev.rounds] == [LIMIT, 1, 1]
    assert all(r["contended"] for r in ev.rounds) and len(ev.rounds[0]["discarded"]) == LIMIT - 1
    assert len(runner.log) == 2 * (LIMIT + 2)
    assert ev.passed and ev.contended and ev.inconclusive
    assert ev.median_ratio == pytest.approx(0.5) and ev.ratio_interval[1] < 1.0
    assert "could not get a quiet machine" in ev.message and "50%" in ev.message


def test_a_busy_moment_that_passes_leaves_a_conclusive_result(dirs):
    runner = WorkCountRunner({dirs["baseline"]: train_baseline, dirs["twice"]: train_twice},
                             contention={"twice": [0.0, 0.0, BUSY, BUSY, 0.0]})
    ev = _evaluate(dirs, runner, candidate="twice", rounds=3)
    assert [r["attempts"] for r in ev.rounds] == [1, 1, LIMIT]
    assert not ev.contended and not ev.inconclusive


def test_a_share_below_the_limit_is_quiet_and_runs_without_usage_count_as_quiet(dirs):
    below = ScriptedRunner(dirs, [2.0] * 2, [1.0] * 2,
                           candidate_shares=[contention.MAX_FOREIGN_SHARE - 0.01])
    unmeasured = ScriptedRunner(dirs, [2.0] * 2, [1.0] * 2, measured=False)
    for runner in (below, unmeasured):
        ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=2,
                                       warmup=False, runner=runner, judge=pass_judge,
                                       baseline_dir=dirs["baseline"])
        assert len(runner.log) == 4 and not ev.contended


def test_identical_code_with_noise_is_inconclusive(dirs):
    runner = ScriptedRunner(dirs, [1.0, 1.1, 0.95], [1.05, 0.98, 1.02])
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=3, warmup=False,
                                   runner=runner, judge=pass_judge,
                                   baseline_dir=dirs["baseline"])
    low, high = ev.ratio_interval
    assert low < 1.0 < high and ev.inconclusive and not ev.contended


def test_a_clear_gain_with_noise_is_conclusive(dirs):
    runner = ScriptedRunner(dirs, [2.0, 2.1, 1.9], [1.0, 1.02, 0.97])
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=3, warmup=False,
                                   runner=runner, judge=pass_judge,
                                   baseline_dir=dirs["baseline"])
    assert ev.ratio_interval[0] > 1.0 and not ev.inconclusive


def test_records_from_before_usage_and_intervals_load_and_render(tmp_path):
    """The superseded records predate every field of this rule: they load, rank and render,
    and a new record with the fields loads beside them."""
    committed = sorted(Path("results/superseded").glob("*.json"))
    old = [p for p in committed if "ratio_interval" not in json.loads(p.read_text())]
    assert old, "no superseded record without the new fields is left to test with"
    for path in old:
        (tmp_path / path.name).write_text(path.read_text())
    new = json.loads(old[0].read_text())
    new.update(ratio_interval=[1.1, 1.3], interval_method="t", contended=True,
               contention_rule=dict(contention.RULE))
    (tmp_path / "new.json").write_text(json.dumps(new))
    loaded = records.load_records(tmp_path)
    assert len(loaded) == len(old) + 1
    tracks = leaderboard.build(loaded)
    assert render_markdown(tracks, None).count("|") > 10


def test_speedup_bench_prints_the_interval_and_a_contended_machine(dirs):
    from speedup.commands.bench import _claim_line, _contention_cell

    gain = ScriptedRunner(dirs, [2.0, 2.1, 1.9], [1.0, 1.02, 0.97], candidate_shares=[BUSY])
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=2, warmup=False,
                                   runner=gain, judge=pass_judge, baseline_dir=dirs["baseline"])
    low, high = ev.ratio_interval
    assert _claim_line(ev).startswith(f"conclusive: the 95% interval {low:.3f}x-{high:.3f}x "
                                      "excludes 1")
    assert _contention_cell(ev.rounds[0]) == "0% (2 attempts)"
    busy = WorkCountRunner({dirs["baseline"]: train_baseline, dirs["twice"]: train_twice},
                           contention={"twice": [BUSY] * 20})
    ev = _evaluate(dirs, busy, candidate="twice", rounds=2)
    assert _claim_line(ev).startswith("INCONCLUSIVE: could not get a quiet machine")
    assert _contention_cell(ev.rounds[0]) == f"50% CONTENDED ({LIMIT} attempts)"
    assert _contention_cell({"round": 1}) == "-"  # a runner that measured nothing


def test_a_candidate_the_judge_rejects_is_not_timed_again_however_busy(dirs):
    def rejects(ref, cand, cfg, init, heldout):
        return [FakeCheck("weights", False, 1.0, 0.0, "max |dW| 1")]

    runner = ScriptedRunner(dirs, [2.0] * 3, [1.0] * 3, candidate_shares=[BUSY] * 3)
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=3, warmup=False,
                                   runner=runner, judge=rejects, baseline_dir=dirs["baseline"])
    assert runner.log == ["baseline", "candidate"]
    assert ev.rejected_by == "weights" and ev.rounds[0]["attempts"] == 1
    assert not ev.rounds[0]["contended"]  # a rejection, not a timing: nothing to re-run
