"""bench.windows: the wall-clock windows of timed runs, read back from records, and the
overlap check anyone can run on them; the clock puts every run's window in its row."""

from pathlib import Path

from clockfakes import WorkCountRunner, train_baseline
from officialfakes import FakeResult, exact_checks

from bench import clock, windows


def _record(name, rows, machine="m1", device="cpu", self_rows=()):
    return {"_path": f"results/{name}.json", "device": "cpu",
            "timing": {"machine": machine, "device": device, "lease": None},
            "rounds": [{"round": i + 1, "baseline_started_at": b0, "baseline_ended_at": b1,
                        "candidate_started_at": c0, "candidate_ended_at": c1}
                       for i, (b0, b1, c0, c1) in enumerate(rows)],
            "self_rounds": list(self_rows), "warmup": None}


def test_windows_that_follow_each_other_do_not_overlap():
    a = _record("a", [(0.0, 1.0, 1.0, 2.0), (2.5, 3.0, 3.0, 4.0)])
    b = _record("b", [(4.0, 5.0, 5.1, 6.0)])
    assert len(windows.timed_windows(a)) == 4
    assert windows.overlaps([a, b]) == []


def test_a_run_inside_another_is_found_whichever_record_holds_it():
    a = _record("a", [(0.0, 10.0, 10.0, 11.0)])
    b = _record("b", [(3.0, 4.0, 4.0, 5.0)])  # both of b's runs fall in a's baseline run
    found = windows.overlaps([a, b])
    assert [(x.run, y.run) for x, y in found] == [
        ("a.json: rounds 1 baseline", "b.json: rounds 1 baseline"),
        ("a.json: rounds 1 baseline", "b.json: rounds 1 candidate")]


def test_other_devices_and_shared_baseline_runs_are_not_overlaps():
    a = _record("a", [(0.0, 1.0, 1.0, 2.0)])
    shared = _record("shared", [(0.0, 1.0, 2.0, 3.0)])  # the same baseline run as a's
    gpu1 = _record("gpu1", [(0.0, 1.0, 1.0, 2.0)], device="cuda:1")
    other = _record("other", [(0.0, 1.0, 1.0, 2.0)], machine="m2")
    assert windows.overlaps([a, shared, gpu1, other]) == []


def test_self_rounds_and_warm_ups_count_too():
    a = _record("a", [(0.0, 1.0, 1.0, 2.0)],
                self_rows=[{"round": 1, "first_started_at": 1.5, "first_ended_at": 1.8,
                            "second_started_at": 5.0, "second_ended_at": 6.0}])
    assert len(windows.overlaps([a])) == 1


def test_records_without_windows_have_none():
    old = {"_path": "x.json", "rounds": [{"baseline_s": 1.0, "candidate_s": 0.5}]}
    assert windows.timed_windows(old) == []


def test_device_slot_follows_the_gpu_ray_gives(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert windows.device_slot("cuda") == "cuda:3" and windows.device_slot("cpu") == "cpu"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert windows.device_slot("cuda") == "cuda:0"
    assert len(windows.machine_id()) == 12


class WindowRunner(WorkCountRunner):
    """The work-count fake, its runs given consecutive one-second windows."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.now = 100.0

    def __call__(self, *args, **kw) -> FakeResult:
        result = super().__call__(*args, **kw)
        result.started_at, result.ended_at = self.now, self.now + 1.0
        self.now += 2.0
        return result


def test_the_clock_puts_every_runs_window_in_its_row(dirs):
    runner = WindowRunner({Path(dirs["baseline"]): train_baseline,
                           Path(dirs["candidate"]): train_baseline})
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=2,
                                   repeat_self=True, runner=runner, judge=exact_checks,
                                   baseline_dir=dirs["baseline"],
                                   kernel_check=lambda *a: {})
    rows = [*ev.rounds, *ev.self_rounds, ev.warmup]
    assert all(v is not None for row in rows for k, v in row.items() if k.endswith("_at"))
    assert ev.rounds[0]["baseline_started_at"] < ev.rounds[0]["candidate_started_at"]
    assert ev.rounds[1]["candidate_started_at"] < ev.rounds[1]["baseline_started_at"]  # ABBA
    record = {**ev.to_dict(), "_path": "ev.json"}
    assert len(windows.timed_windows(record)) == 2 + 4 + 4  # warm-up, rounds, self rounds
    assert windows.overlaps([record]) == []
    assert ev.timing == windows.timing_place("cpu")


def test_discarded_attempts_are_timed_runs_and_are_marked_so():
    """A round the clock timed again keeps its discarded attempts: they held the device as
    every kept run did, so each is a window, marked as discarded, and an overlap with one is
    an overlap (a timing lease that failed shows up first as contention the clock retried)."""
    a = _record("a", [(10.0, 11.0, 11.0, 12.0)])
    a["rounds"][0]["discarded"] = [{"baseline_started_at": 0.0, "baseline_ended_at": 1.0,
                                    "candidate_started_at": 1.0, "candidate_ended_at": 2.0}]
    b = _record("b", [(1.5, 1.8, 20.0, 21.0)])  # b's baseline ran inside a's discarded run
    found = windows.timed_windows(a)
    assert len(found) == 4 and sum(w.discarded for w in found) == 2
    assert [(x.run, y.run) for x, y in windows.overlaps([a, b])] == [
        ("a.json: rounds 1 candidate, attempt 1 (discarded)", "b.json: rounds 1 baseline")]


def test_the_clock_keeps_the_windows_of_the_attempts_it_discarded(dirs):
    """A contended first attempt at round 1 (the warm-up is quiet): its two runs are in
    the record as windows beside the kept ones, none overlapping another."""
    runner = WindowRunner({Path(dirs["baseline"]): train_baseline,
                           Path(dirs["candidate"]): train_baseline},
                          contention={"candidate": [0.0, 0.5]})
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=2, runner=runner,
                                   judge=exact_checks, baseline_dir=dirs["baseline"],
                                   kernel_check=lambda *a: {})
    assert ev.rounds[0]["attempts"] == 2 and len(runner.log) == 2 + 2 * 2 + 2
    found = windows.timed_windows({**ev.to_dict(), "_path": "ev.json"})
    assert len(found) == len(runner.log)  # every run the clock timed, none left out
    assert [w.run for w in found if w.discarded] == [
        "ev.json: rounds 1 baseline, attempt 1 (discarded)",
        "ev.json: rounds 1 candidate, attempt 1 (discarded)"]
    assert windows.overlaps([{**ev.to_dict(), "_path": "ev.json"}]) == []
