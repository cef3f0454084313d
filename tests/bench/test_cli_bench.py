"""`speedup bench` and `speedup bench-kernels` refuse bad input in one line, exit code 2,
before any long work starts."""

import subprocess
import sys

import pytest


def _speedup(*args):
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args, needle", [
    (["bench"], "give a solution directory"),
    (["bench", "no/such/dir", "--device", "cpu"], "no/such/dir has no solution.py"),
    (["bench", "baseline", "--rounds", "0", "--device", "cpu"], "--rounds must be a positive"),
    (["bench", "baseline", "baseline", "--name", "x", "--device", "cpu"], "--name names one"),
    (["bench", "baseline", "--preset", "huge"], "invalid choice: 'huge'"),
    (["bench", "baseline", "--device", "cpu", "--results-dir", "/proc/x"], "cannot write to"),
    (["bench-kernels", "--device", "cpu", "--slots", "softmax"], "invalid choice: 'softmax'"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle):
    r = _speedup(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_an_uncalibrated_track_is_refused_before_anything_runs(tmp_path):
    from correctness import tolerances

    try:
        tolerances.load("gpu", "cpu")
        pytest.skip("gpu/cpu is calibrated on this checkout")
    except tolerances.ToleranceError:
        pass
    r = _speedup("bench", "baseline", "--preset", "gpu", "--device", "cpu",
                 "--results-dir", str(tmp_path))
    assert r.returncode == 2 and "speedup calibrate --preset gpu --device cpu" in r.stderr
    assert list(tmp_path.iterdir()) == []
