"""`speedup bench` and `speedup bench-kernels` refuse bad input in one line, exit code 2,
before any long work starts. In-process (speedup.cli.main): each case would otherwise pay a
Python and torch start-up."""

from pathlib import Path

import pytest

from speedup.cli import main


def _speedup(capsys, *args) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args, needle", [
    (["bench"], "give a solution directory"),
    (["bench", "no/such/dir", "--device", "cpu"], "no/such/dir has no solution.py"),
    (["bench", "baseline", "--rounds", "0", "--device", "cpu"], "--rounds must be a positive"),
    (["bench", "baseline", "baseline", "--name", "x", "--device", "cpu"], "--name names one"),
    (["bench", "baseline", "--device", "cpu", "--results-dir", "/proc/x"], "cannot write to"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, needle):
    code, err = _speedup(capsys, *args)
    assert code == 2 and needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("args, needle", [
    (["bench", "baseline", "--preset", "huge"], "invalid choice: 'huge'"),
    (["bench-kernels", "--device", "cpu", "--slots", "softmax"], "invalid choice: 'softmax'"),
])
def test_argparse_refusals_are_one_line_and_exit_2(capsys, args, needle):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and needle in err
    assert len(err.strip().splitlines()) == 1


def test_an_uncalibrated_track_is_refused_before_anything_runs(capsys, tmp_path, monkeypatch):
    from correctness import tolerances

    monkeypatch.setattr(tolerances, "PATH", tmp_path / "no-tolerances.json")
    code, err = _speedup(capsys, "bench", "baseline", "--preset", "gpu", "--device", "cpu",
                         "--results-dir", str(tmp_path), "--no-auto-calibrate")
    assert code == 2 and "speedup calibrate --preset gpu --device cpu" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.quiet_machine
def test_bench_calibrates_a_new_track_and_its_record_names_that_calibration(
        capsys, tmp_path, monkeypatch):
    """Calibration faked (its variants are tested in tests/correctness), the bench real: one
    round on tiny, whose record must carry the identity of the thresholds that judged it."""
    import json

    from correctness import calibrate, tolerances

    def measure(preset, device, seeds, on_run=None, **kw):
        rows = lambda v: {m: [v] * len(seeds) for m in tolerances.METRICS}  # noqa: E731
        return {"legal": {"same_code": rows(0.0), "torch_native": rows(1e-4)},
                "illegal": {"skip_5pct": rows(1e-2)}, "skipped": {}, "runs": {}}

    monkeypatch.setattr(calibrate, "measure", measure)
    file = tmp_path / "cal.json"
    code = main(["--tolerances", str(file), "bench", "baseline", "--preset", "tiny",
                 "--device", "cpu", "--rounds", "1", "--results-dir", str(tmp_path / "r")])
    assert code == 0, capsys.readouterr().err
    assert "calibrating it first" in capsys.readouterr().err
    (path,) = (tmp_path / "r").glob("*.json")
    record = json.loads(path.read_text())
    assert record["calibration"] == tolerances.Source(file).identity("tiny", "cpu")
    assert record["isolation"] in ("namespaces", "process")
    # a CPU has no datasheet: its ceiling is measured once and cached, never left out
    assert record["roofline"]["baseline"]["ceiling"]["kind"] == "measured"


@pytest.mark.slow
def test_each_record_is_written_when_its_rounds_end_so_a_cut_off_keeps_it(
        capsys, tmp_path, monkeypatch, dirs):
    """Two DIRs; the bench is interrupted (a time box's SIGINT) during the second one's
    first run: the first one's record is already on disk, and the second has none."""
    import json

    from clockfakes import WorkCountRunner, train_baseline, train_twice
    from officialfakes import exact_checks

    from bench import clock

    class CutOff(WorkCountRunner):
        def __call__(self, solution_dir, cfg, inputs, **options):
            if Path(solution_dir).name == "twice":
                raise KeyboardInterrupt
            return super().__call__(Path(Path(solution_dir).name), cfg, inputs, **options)

    runner = CutOff({Path("baseline"): train_baseline, Path("candidate"): train_baseline,
                     Path("twice"): train_twice})
    monkeypatch.setattr(clock, "_default_runner", lambda preset: runner)
    monkeypatch.setattr(clock, "_default_judge", lambda *a: (exact_checks, None))
    results = tmp_path / "results"
    code = main(["bench", str(dirs["candidate"]), str(dirs["twice"]), "--preset", "tiny",
                 "--device", "cpu", "--rounds", "2", "--results-dir", str(results)])
    assert code == 130, capsys.readouterr().err
    (path,) = results.glob("*.json")
    record = json.loads(path.read_text())
    assert record["entrant"]["name"] == "candidate" and record["passed"]
    assert [r["order"] for r in record["rounds"]] == ["baseline,candidate", "candidate,baseline"]
