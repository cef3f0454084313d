"""What the judge left out of a timed run (RunResult.notes: its compile cache's entries a
private copy skipped) goes into the run's row, so the record carries it, and `speedup
bench` shows each note once, on one line, whichever runs it came from."""

from __future__ import annotations

from pathlib import Path

from clockfakes import WorkCountRunner, train_baseline
from officialfakes import exact_checks

from bench import clock, contention

LEFT_OUT = "compile cache triton/evil: skipped (a symlink)"


class NotingRunner(WorkCountRunner):
    """The work-count fake whose candidate runs report a cache entry left out."""

    def __call__(self, solution_dir, *args, **kw):
        result = super().__call__(solution_dir, *args, **kw)
        result.notes = [LEFT_OUT] if Path(solution_dir).name == "candidate" else []
        return result


def _evaluate(dirs, **kw):
    runner = NotingRunner({Path(dirs["baseline"]): train_baseline,
                           Path(dirs["candidate"]): train_baseline}, **kw)
    return clock.official_evaluation(dirs["candidate"], "tiny", "cpu", rounds=2,
                                     repeat_self=True, runner=runner, judge=exact_checks,
                                     baseline_dir=dirs["baseline"], kernel_check=lambda *a: {})


def test_every_row_carries_the_notes_of_its_runs_into_the_record(dirs):
    ev = _evaluate(dirs, contention={"candidate": [0.0, 0.5]})  # round 1 timed twice
    record = ev.to_dict()
    rows = [record["warmup"], *record["rounds"], *record["rounds"][0]["discarded"]]
    assert all(row["candidate_notes"] == [LEFT_OUT] and row["baseline_notes"] == []
               for row in rows)
    assert all(row[f"{side}_notes"] == [LEFT_OUT] for row in record["self_rounds"]
               for side in ("first", "second"))
    assert contention.notes(ev) == [f"the candidate's runs: {LEFT_OUT}"]  # once, not 11 times


def test_speedup_bench_prints_each_note_on_its_own_line(dirs, monkeypatch, capsys):
    from speedup.commands import bench as command

    monkeypatch.setattr("bench.roofline.for_evaluation", lambda *a: None)  # no ceilings here
    command._report(_evaluate(dirs), None, {})
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("note: ")] == [
        f"note: the candidate's runs: {LEFT_OUT}"]
