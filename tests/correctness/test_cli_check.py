"""`speedup check` and `speedup calibrate` as a user runs them: the verdict table, exit 0 on
pass, 1 on reject, 2 on unusable input (one line, no traceback); an uncalibrated track is
calibrated on first use into the user's file or --tolerances FILE, then reused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from correctness import calibrate, tolerances
from speedup.cli import main

SOLUTIONS = Path(__file__).parent / "solutions"


def _speedup(*args):
    return subprocess.run([sys.executable, "-m", "speedup", *args], capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_check_passes_the_baseline_with_a_table():
    r = _speedup("check", "baseline", "--preset", "tiny", "--device", "cpu")
    assert r.returncode == 0, r.stdout + r.stderr
    for word in ("static_scan", "heldout_loss", "weights", "trajectory", "PASSED"):
        assert word in r.stdout


def test_check_rejects_with_exit_1_naming_the_check(capsys):
    assert main(["check", str(SOLUTIONS / "native_ops"), "--preset", "tiny",
                 "--device", "cpu"]) == 1
    out = capsys.readouterr().out
    assert "REJECTED by static_scan" in out and "kernel library" in out


@pytest.mark.parametrize("args,needle", [
    (["check", "no/such/dir", "--device", "cpu"], "is not a directory"),
    (["check", "tests", "--device", "cpu"], "has no solution.py"),
    pytest.param(["check", "baseline", "--device", "cuda"], "no CUDA GPU",
                 marks=pytest.mark.skipif(torch.cuda.is_available(),
                                          reason="this machine has a GPU")),
    (["check", "baseline", "--preset", "gpu", "--device", "cpu", "--no-auto-calibrate"],
     "speedup calibrate --preset gpu --device cpu"),
])
def test_check_unusable_input_is_exit_2(args, needle, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_check_unknown_preset_is_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["check", "baseline", "--preset", "huge"])
    assert e.value.code == 2


def _fake_measure(calls: list | None = None):
    """Measurements without training: the command's plumbing is under test here, the
    variants in test_calibration.py (a real tiny calibration takes tens of seconds)."""
    def measure(preset, device, seeds, on_run=None, **kw):
        if calls is not None:
            calls.append((preset, device))
        rows = lambda v: {m: [v] * len(seeds) for m in tolerances.METRICS}  # noqa: E731
        if on_run is not None:
            on_run(1, 1, "seed 7000: reference")
        return {"legal": {"same_code": rows(0.0), "torch_native": rows(1e-4)},
                "illegal": {"skip_5pct": rows(1e-2), "half_steps_double_lr": rows(1e-1)},
                "skipped": {"bf16_autocast": "not here"},
                "runs": {"reference": {"implementation": "naive", "seconds": [1.0]}}}
    return measure


@pytest.fixture
def fake_calibration(monkeypatch):
    calls = []
    monkeypatch.setattr(calibrate, "measure", _fake_measure(calls))
    monkeypatch.setattr(calibrate, "estimate", lambda *a, **kw: {
        "reference_s": 1.0, "variant_s": 0.5, "wall_s": 4.0})
    return calls


def test_calibrate_writes_the_user_file_never_the_shipped_one(fake_calibration, capsys):
    shipped = tolerances.PATH.read_bytes()
    assert main(["calibrate", "--preset", "tiny", "--device", "cpu", "--seeds", "2"]) == 0
    assert tolerances.PATH.read_bytes() == shipped
    entry = tolerances.Source(tolerances.user_path()).entry("tiny", "cpu")
    assert entry["seeds"] == [7000, 7001] and entry["undetected"] == []
    assert entry["thresholds"]["weights"] == pytest.approx(1e-3)  # sqrt(1e-4 * 1e-2)
    out = capsys.readouterr().out
    assert "smallest cheat detected: skip_5pct" in out and "not used: bf16_autocast" in out
    assert "fast base (torch_native)" in out


def test_calibrate_writes_the_tolerances_file_it_is_given(fake_calibration, tmp_path):
    target = tmp_path / "cal.json"
    assert main(["calibrate", "--preset", "tiny", "--device", "cpu", "--seeds", "1",
                 "--tolerances", str(target)]) == 0
    assert tolerances.Source(target).entry("tiny", "cpu")["seeds"] == [7000]
    assert not tolerances.user_path().exists()


def test_calibrate_refuses_a_fast_base_far_from_the_reference(monkeypatch, tmp_path, capsys):
    far = _fake_measure()("tiny", "cpu", [7000])
    far["legal"]["torch_native"] = {m: [1e-3] for m in tolerances.METRICS}  # 10% of skip_5pct
    monkeypatch.setattr(calibrate, "measure", lambda *a, **kw: far)
    target = tmp_path / "cal.json"
    assert main(["calibrate", "--preset", "tiny", "--device", "cpu", "--seeds", "1",
                 "--tolerances", str(target)]) == 1
    assert "fast base (torch_native) is too far" in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.slow
def test_check_calibrates_a_new_track_first_then_reuses_it(fake_calibration, tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text("")
    args = ["check", "baseline", "--preset", "tiny", "--device", "cpu", "--tolerances",
            str(empty)]
    assert main(args) == 0
    first = capsys.readouterr()
    assert fake_calibration == [("tiny", "cpu")]
    assert "calibrating it first" in first.err and "PASSED" in first.out
    identity = tolerances.Source(empty).identity("tiny", "cpu")
    assert f"calibration: {tolerances.label(identity)}" in first.out
    assert "isolation of the candidate's run: " in first.out
    assert main(args) == 0
    assert fake_calibration == [("tiny", "cpu")]  # the file's entry, no second calibration
    assert "calibrating" not in capsys.readouterr().err


def test_no_auto_calibrate_refuses_and_bad_files_are_one_line(fake_calibration, tmp_path,
                                                              capsys):
    def refused(*extra):
        assert main(["check", "baseline", "--preset", "tiny", "--device", "cpu", *extra]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        return err

    empty = tmp_path / "empty.json"
    assert "speedup calibrate --preset tiny --device cpu" in refused(
        "--tolerances", str(empty), "--no-auto-calibrate")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{")
    assert f"{corrupt} is not a tolerances file" in refused("--tolerances", str(corrupt))
    assert "cannot write /proc/t.json" in refused("--tolerances", "/proc/t.json")
    assert "no directory" in refused("--tolerances", str(tmp_path / "no" / "t.json"))
    assert fake_calibration == []  # refused before any calibration started
