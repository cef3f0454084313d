"""The sandboxed runner: the baseline runs in it exactly as in-process, a solution sees only
a scrubbed environment and a fresh copy of itself, every failure gets its named verdict,
and results are validated by the parent."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import baseline
from correctness import sandbox
from correctness.sandbox import (
    BASELINE_DIR,
    check_solution_kernels,
    profile_solution,
    run_solution,
)
from correctness.sandbox.processes import LineReader, sweep_strays
from correctness.solution import validate_results

SOLUTIONS = Path(__file__).parent / "solutions"


@pytest.mark.slow
def test_baseline_in_the_sandbox_is_bitwise_the_baseline(short_cfg, short_inputs):
    expected = baseline.train(short_cfg, **short_inputs)  # one thread, as in the child
    result = run_solution(BASELINE_DIR, short_cfg, short_inputs)
    assert result.ok and result.check is None, result.message
    assert result.losses == expected["losses"]
    assert all(torch.equal(result.state_dict[k], v) for k, v in expected["state_dict"].items())
    assert result.seconds > 0


@pytest.mark.slow
def test_child_sees_a_scrubbed_env_and_a_fresh_copy(short_cfg, short_inputs, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-not-for-children")
    lines = {}
    for _ in range(2):
        result = run_solution(SOLUTIONS / "probe", short_cfg, short_inputs, static_scan=False)
        assert result.ok, result.message
        lines = dict(line.split(" ", 1) for line in result.output_tail.splitlines()
                     if line.split(" ", 1)[0].isupper() and " " in line)
        assert lines["LEFTOVER"] == "False"  # the previous run's write is gone
    names = set(lines["ENV"].split())
    assert "ANTHROPIC_API_KEY" not in names
    assert names <= {*sandbox.ENV_PASSTHROUGH, *sandbox.CACHES, "HOME", "TMPDIR", "USER",
                     "LOGNAME", "TORCHINDUCTOR_COMPILE_THREADS", "SPEEDUP_SANDBOX_RUN",
                     "LC_CTYPE", "PWD"}  # PWD: bwrap's --chdir sets it
    root = os.path.dirname(lines["HERE"])
    assert os.path.basename(root).startswith("speedup-run-")
    assert lines["HOME"].startswith(root) and lines["TMPDIR"].startswith(root)
    assert lines["CWD"] == os.path.join(root, "work") and lines["PATH0"] == lines["HERE"]
    assert lines["NAME"] == "submission.solution submission.helper"
    assert not (SOLUTIONS / "probe" / "written.txt").exists()
    assert not os.path.exists(root)  # the sandbox is deleted after the run


@pytest.mark.slow
@pytest.mark.parametrize("name,check,words", [
    ("no_train", "signature", "no callable `train`"),
    ("bad_signature", "signature", "does not bind"),
    ("import_error", "import", "no_such_name"),
])
def test_unusable_solutions_get_their_verdict(name, check, words, short_cfg, short_inputs):
    result = run_solution(SOLUTIONS / name, short_cfg, short_inputs)
    assert (result.ok, result.check) == (False, check)
    assert words in result.message


def test_missing_solution_py_is_input_error(tmp_path, short_cfg, short_inputs):
    result = run_solution(tmp_path, short_cfg, short_inputs)
    assert (result.check, result.message) == (
        "input", f"{tmp_path} has no solution.py; a solution is a directory whose solution.py "
                 "defines train(cfg, init, tokens, batches)")


@pytest.mark.slow
def test_kernel_library_needs_allow_library(short_cfg, short_inputs):
    native = SOLUTIONS / "native_ops"
    assert run_solution(native, short_cfg, short_inputs).check == "static_scan"
    blocked = run_solution(native, short_cfg, short_inputs, static_scan=False)
    assert blocked.check == "forbidden_call" and "kernels" in blocked.message
    assert run_solution(native, short_cfg, short_inputs, allow_library=True).ok


@pytest.mark.slow
def test_profile_returns_the_top_ops_table(short_cfg, short_inputs):
    cfg = {**short_cfg, "steps": 2}  # the profiler's overhead per op is large on a CPU
    table = profile_solution(BASELINE_DIR, cfg, short_inputs, top=5)
    assert "Self CPU" in table and "aten::" in table
    assert len([line for line in table.splitlines() if "aten::" in line]) <= 5


@pytest.mark.slow
def test_profile_of_a_rejected_solution_says_why(short_cfg, short_inputs):
    text = profile_solution(SOLUTIONS / "no_train", short_cfg, short_inputs)
    assert text.startswith("profile failed (signature)")


@pytest.mark.slow
def test_declared_kernels_are_checked_in_the_sandbox():
    reports = check_solution_kernels(SOLUTIONS / "own_kernels", "cpu")
    assert reports["gelu"]["passed"], reports["gelu"]["failures"]
    assert not reports["softmax"]["passed"]
    assert "is not a slot" in reports["softmax"]["failures"][0]
    assert check_solution_kernels(BASELINE_DIR, "cpu") == {}


# ---------------------------------------------------------------------------- parent side

def _state(cfg, value=0.0):
    return {k: torch.full(s, value) for k, s in baseline.param_shapes(cfg).items()}


@pytest.mark.parametrize("change,check,words", [
    (lambda s, losses: s.pop("wte"), "results", "missing ['wte']"),
    (lambda s, losses: s.update(extra=torch.zeros(1)), "results", "unexpected ['extra']"),
    (lambda s, losses: s.update(wte=s["wte"].double()), "results", "wte: torch.float64"),
    (lambda s, losses: s.update(wpe=s["h.0.attn.c_attn.weight"].t()), "results",
     "expected float32"),
    (lambda s, losses: losses.pop(), "results", "one per step"),
    (lambda s, losses: losses.__setitem__(0, True), "results", "numbers"),
    (lambda s, losses: s["ln_f.bias"].__setitem__(0, math.inf), "finite", "ln_f.bias"),
    (lambda s, losses: losses.__setitem__(3, math.nan), "finite", "losses"),
])
def test_results_are_validated_by_the_parent(change, check, words, short_cfg):
    state, losses = _state(short_cfg), [1.0] * short_cfg["steps"]
    assert validate_results(state, losses, short_cfg) is None
    change(state, losses)
    got = validate_results(state, losses, short_cfg)
    assert got is not None and got[0] == check and words in got[1]


def test_line_reader_splits_waits_and_sees_eof():
    r, w = os.pipe()
    reader = LineReader(r)
    os.write(w, b"ready\nrefused {\"a\"")
    assert reader.next_line(time.monotonic() + 1) == "ready"
    assert reader.next_line(time.monotonic() + 0.05) is None  # half a line: keeps waiting
    os.write(w, b": 1}\n")
    assert reader.next_line(time.monotonic() + 1) == 'refused {"a": 1}'
    os.close(w)
    assert reader.next_line(time.monotonic() + 1) == ""
    os.close(r)


def test_sweep_kills_processes_that_left_the_session():
    """A process in a session of its own, found only by the run's marker."""
    env = {**os.environ, "SPEEDUP_SANDBOX_RUN": "feedface"}
    stray = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env,
                             start_new_session=True)
    try:
        killed = sweep_strays(child_pid=-1, marker="feedface")
        assert killed == [stray.pid]
        assert not os.path.exists(f"/proc/{stray.pid}")  # killed and reaped
    finally:
        stray.kill()


@pytest.mark.slow
def test_torch_compile_called_by_the_solution_runs_with_nothing_refused(short_cfg,
                                                                         short_inputs):
    """Inductor launches the C++ compiler (and `g++ --version` first) on the solution's
    behalf: torch is the first caller outside the standard library, even in a virtual
    environment, whose lib/pythonX.Y holds site-packages."""
    cfg = {**short_cfg, "steps": 2}
    result = run_solution(SOLUTIONS / "compiled", cfg, short_inputs, setup_timeout=300,
                          run_timeout=300)
    assert result.ok and result.refused == [], (result.message, result.output_tail[-2000:])
