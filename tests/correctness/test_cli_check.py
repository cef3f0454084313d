"""`speedup check` and `speedup calibrate` as a user runs them: the verdict table, exit 0 on
pass, 1 on reject, 2 on unusable input (one line, no traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.cli import main
from correctness import calibrate, tolerances

SOLUTIONS = Path(__file__).parent / "solutions"


def _speedup(*args):
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True,
                          text=True, timeout=600)


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
    (["check", "baseline", "--preset", "gpu", "--device", "cpu"], "speedup calibrate"),
])
def test_check_unusable_input_is_exit_2(args, needle, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_check_unknown_preset_is_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["check", "baseline", "--preset", "huge"])
    assert e.value.code == 2


def test_calibrate_writes_its_entry(monkeypatch, tmp_path, capsys):
    """The command's plumbing, with measurements faked: the variants themselves are
    covered in test_calibration.py, and a real tiny calibration takes minutes."""
    def fake_measure(preset, device, seeds, on_run=None):
        rows = lambda v: {m: [v] * len(seeds) for m in tolerances.METRICS}  # noqa: E731
        return {"legal": {"same_code": rows(0.0), "torch_native": rows(1e-4)},
                "illegal": {"skip_5pct": rows(1e-2), "half_steps_double_lr": rows(1e-1)},
                "skipped": {"bf16_autocast": "not here"}}

    monkeypatch.setattr(calibrate, "measure", fake_measure)
    monkeypatch.setattr(tolerances, "PATH", tmp_path / "tolerances.json")
    assert main(["calibrate", "--preset", "tiny", "--device", "cpu", "--seeds", "2"]) == 0
    entry = tolerances.load_entry("tiny", "cpu", tmp_path / "tolerances.json")
    assert entry["seeds"] == [7000, 7001] and entry["undetected"] == []
    assert entry["thresholds"]["weights"] == pytest.approx(1e-3)  # sqrt(1e-4 * 1e-2)
    out = capsys.readouterr().out
    assert "smallest cheat detected: skip_5pct" in out and "not used: bf16_autocast" in out
