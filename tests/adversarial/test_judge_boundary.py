"""The judge's own side of the sandbox boundary: what a run leaves in the files and pipes
the judge reads back, and in the caches later runs copy. Each solution here attacks the
judge, not the guards inside the run, so every run has the static scan and the audit hook
off (test-only options), under every isolation this machine gives: under namespaces and
Landlock the run cannot write where the judge reads and writes, and under process isolation
the judge's file handling (correctness/sandbox/boundary.py) must hold by itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from correctness.sandbox import (
    BASELINE_DIR,
    caches,
    check_solution_kernels,
    detect_isolation,
    run_solution,
    runner,
)
from correctness.sandbox import isolation as iso

SOLUTIONS = Path(__file__).parent / "solutions"
SECRET = "sk-ant-judge-secret-0123456789"  # in the judge's environment (a subprocess's)
HIDDEN = {"static_scan": False, "audit": False}  # the judge's side alone
DEADLINE = 180  # seconds: a check that blocks fails here instead of hanging the suite
CONTROL = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))]


@pytest.fixture(params=iso.KINDS)
def isolation(request, monkeypatch) -> str:
    """Each isolation this machine gives, made the one detection chooses, so that every
    API (kernel checks and scripts included) runs under it."""
    if request.param not in iso.available_isolations():
        pytest.skip(f"this machine cannot give {request.param} isolation")
    chosen = iso.choose(request.param)
    monkeypatch.setattr(iso, "detect_isolation", lambda: chosen)
    return request.param


def within(seconds: int, fn, *args, **kwargs):
    """fn(*args, **kwargs), or TimeoutError if it has not returned after `seconds`."""
    def expire(signum, frame):
        raise TimeoutError(f"no verdict within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        return fn(*args, **kwargs)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def shown(result) -> str:
    """Everything of a verdict that reaches a person or an agent."""
    return "\n".join([result.message, result.output_tail, repr(result.refused)])


def leaked(text: str, environ: bytes | None = None) -> list[str]:
    """The entries of the judge's environment (this process's /proc/self/environ, what a
    link to it gives the judge) found in `text`; short ones could match by chance."""
    environ = environ if environ is not None else Path("/proc/self/environ").read_bytes()
    entries = environ.decode(errors="replace").split("\0")
    return [e for e in entries if len(e) >= 16 and e in text]


def with_victim(tmp_path: Path, name: str, victim: Path) -> Path:
    copy = tmp_path / name
    shutil.copytree(SOLUTIONS / name, copy)
    (copy / "victim.txt").write_text(str(victim))
    return copy


# ---------------------------------------------------------------------------- the log

@pytest.mark.slow
def test_log_linked_to_the_judges_environ_leaks_nothing(isolation, short_cfg, short_inputs):
    """EXPLOIT log_to_environ."""
    result = within(DEADLINE, run_solution, SOLUTIONS / "log_to_environ", short_cfg,
                    short_inputs, **HIDDEN)
    assert result.ok, result.message
    assert leaked(shown(result)) == []
    said = "LOG LINKED" if isolation == "process" else "LINK FAILED"
    assert said in result.output_tail, result.output_tail


@pytest.mark.slow
def test_log_linked_to_dev_zero_is_read_within_a_bound(isolation, short_cfg, short_inputs):
    """EXPLOIT log_to_zero. The judge's address space gets 2 GiB more than it has now, so
    an unbounded read fails with MemoryError here instead of filling the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + (2 << 30), hard))
    try:
        result = within(DEADLINE, run_solution, SOLUTIONS / "log_to_zero", short_cfg,
                        short_inputs, **HIDDEN)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert result.ok, result.message
    assert 0 < len(result.output_tail.encode()) <= runner.TAIL_BYTES
    assert "\0" not in result.output_tail


def _address_space() -> int:
    status = Path("/proc/self/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmSize:"))
    return int(kib) << 10


# ---------------------------------------------------------------------------- kernel cases

@pytest.mark.slow
def test_kernel_cases_are_never_written_through_a_planted_link(isolation, tmp_path):
    """EXPLOIT cases_to_outside."""
    victim = tmp_path / "victim.json"
    victim.write_text("original")
    solution = with_victim(tmp_path, "cases_to_outside", victim)
    reports = within(DEADLINE, check_solution_kernels, solution, "cpu", **HIDDEN)
    assert victim.read_text() == "original"
    assert set(reports) in ({"gelu"}, {"*"}), reports
    if "*" in reports:  # refused to write where the run planted a name: said why
        assert "kernel_cases" in reports["*"]["failures"][0], reports


@pytest.mark.slow
def test_fifos_in_place_of_the_judges_files_end_in_a_verdict(isolation, short_cfg,
                                                             short_inputs):
    """EXPLOIT fifo_files: the log and the kernel cases made FIFOs."""
    result = within(DEADLINE, run_solution, SOLUTIONS / "fifo_files", short_cfg, short_inputs,
                    **HIDDEN)
    assert result.ok, result.message
    reports = within(DEADLINE, check_solution_kernels, SOLUTIONS / "fifo_files", "cpu",
                     **HIDDEN)
    if isolation != "process":  # nothing could be planted
        assert reports["gelu"]["passed"], reports
    else:
        assert not reports["*"]["passed"]
        assert "kernel_cases" in reports["*"]["failures"][0], reports


# ---------------------------------------------------------------------------- results

@pytest.mark.slow
def test_deeply_nested_losses_are_a_verdict_not_a_traceback(short_cfg):
    """EXPLOIT deep_losses: 5000 nested `[` in losses.json."""
    from baseline import make_inputs

    cfg = {**short_cfg, "steps": 100}  # room for 5000 bytes within the losses' size limit
    result = within(DEADLINE, run_solution, SOLUTIONS / "deep_losses", cfg,
                    make_inputs(cfg, seed=5), **HIDDEN)
    assert (result.ok, result.check) == (False, "results"), result.message
    assert "nested" in result.message


@pytest.mark.slow
def test_a_tree_1500_levels_deep_is_cleaned_up(isolation, tmp_path, short_cfg, short_inputs):
    """EXPLOIT deep_tree: the run's directory is gone afterwards, and nothing the tree's
    symlinks point to was touched."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    solution = with_victim(tmp_path, "deep_tree", outside)
    result = within(DEADLINE, run_solution, solution, short_cfg, short_inputs, **HIDDEN)
    assert result.ok, result.message
    assert "DEEP 1500" in result.output_tail, result.output_tail
    work = next(line.split(" ", 1)[1] for line in result.output_tail.splitlines()
                if line.startswith("WORK "))
    assert not os.path.lexists(os.path.dirname(work))
    assert (outside / "keep.txt").read_text() == "keep"


# ---------------------------------------------------------------------------- the status pipe

@pytest.mark.slow
def test_forged_refusals_cannot_fill_the_judges_memory(short_cfg, short_inputs):
    """EXPLOIT forged_refusals: two million `refused` lines. The judge's peak resident
    memory during the run (VmHWM, reset before it) grows by less than 200 MiB; keeping
    every line grew it by more than a gigabyte."""
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = _peak_rss()
    result = within(DEADLINE, run_solution, SOLUTIONS / "forged_refusals", short_cfg,
                    short_inputs, run_timeout=120, **HIDDEN)
    growth = _peak_rss() - before
    assert not result.ok and result.check in ("forbidden_call", "protocol"), result.message
    assert growth < 200 << 20, f"the judge grew by {growth >> 20} MiB"
    assert len(result.refused) <= runner.MAX_REFUSALS


def _peak_rss() -> int:
    status = Path("/proc/self/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) << 10


# ---------------------------------------------------------------------------- what is shown

@pytest.mark.slow
def test_control_sequences_are_stripped_from_what_the_judge_shows(short_cfg, short_inputs):
    """EXPLOIT control_sequences: in the output tail and in the error message."""
    result = within(DEADLINE, run_solution, SOLUTIONS / "control_sequences", short_cfg,
                    short_inputs, **HIDDEN)
    assert (result.ok, result.check) == (False, "crash")
    for text in (result.output_tail, result.message):
        assert not [c for c in CONTROL if c in text], repr(text)
    assert "check: PASSED (1.00x)" in result.output_tail
    assert "overwrittenclean line" in result.output_tail
    assert "speedup: PASSED" not in result.output_tail  # the window title's text
    assert "failurered" in result.message


# The agent's side: agent.launch.project_harness.ProjectHarness.run_python in a judge process
# of its own, whose environment (the one /proc/self/environ shows it) holds the API key. The
# static scan is off (the script imports os); the audit hook stays on, as in an agent's runs.
RUN_PYTHON = """
import json, sys
from agent.launch.project_harness import ProjectHarness
from correctness.sandbox import isolation as iso, runner
chosen = iso.choose(sys.argv[2])
iso.detect_isolation = lambda: chosen
runner.scanner.scan = lambda *args, **kwargs: []
outcome = ProjectHarness().run_python(sys.argv[1], "leak.py", [], "cpu", 60.0)
print(json.dumps(outcome.output_tail + outcome.message))
"""


@pytest.mark.slow
def test_run_python_leaks_nothing_through_its_log(isolation, tmp_path):
    """A workspace script links the run's log to /proc/self/environ."""
    workspace = tmp_path / "ws"
    shutil.copytree(BASELINE_DIR, workspace, ignore=shutil.ignore_patterns("__pycache__"))
    (workspace / "leak.py").write_text(
        "import os\n"
        "LOG = os.path.join(os.path.dirname(os.getcwd()), 'output.log')\n"
        "os.remove(LOG)\n"
        "os.symlink('/proc/self/environ', LOG)\n"
        "print('LOG LINKED')\n")
    env = {**os.environ, "ANTHROPIC_API_KEY": SECRET}
    done = subprocess.run([sys.executable, "-c", RUN_PYTHON, str(workspace), isolation],
                          env=env, capture_output=True, text=True, timeout=DEADLINE,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    text = json.loads(done.stdout.splitlines()[-1])
    environ = b"\0".join(f"{k}={v}".encode() for k, v in env.items())
    assert SECRET not in text and leaked(text, environ) == [], text


# ---------------------------------------------------------------------------- user namespaces

@pytest.mark.slow
def test_a_nested_user_namespace_is_refused(namespaces, short_cfg, short_inputs):
    """EXPLOIT nested_userns, with the scan and the hook off: the kernel refuses."""
    result = run_solution(SOLUTIONS / "nested_userns", short_cfg, short_inputs, **HIDDEN)
    assert result.ok, result.message
    assert "USERNS REFUSED" in result.output_tail, result.output_tail


def test_the_namespace_flags_refuse_unshare_user(namespaces):
    """bwrap with the sandbox's flags refuses `unshare --user`; without --disable-userns
    the same command succeeds (so this test can tell the two apart)."""
    def inside(flags) -> int:
        argv = [detect_isolation().bwrap, *flags, *iso._system_binds(), "--proc", "/proc",
                "--dev", "/dev", "--", "unshare", "--user", "/bin/true"]
        return subprocess.run(argv, capture_output=True, timeout=60).returncode

    assert inside(iso.NAMESPACE_FLAGS) != 0
    assert inside([f for f in iso.NAMESPACE_FLAGS if f != "--disable-userns"]) == 0


# ---------------------------------------------------------------------------- compile caches

@pytest.fixture
def cache_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache-root"
    monkeypatch.setattr(caches, "CACHE_ROOT", root)
    return root


def _cache_listing(result) -> str:
    return next(line for line in result.output_tail.splitlines()
                if line.startswith("CACHE HOLDS"))


@pytest.mark.slow
def test_a_fifo_left_in_a_cache_breaks_no_later_run(cache_root, short_cfg, short_inputs):
    """EXPLOIT cache_fifo: planted by an untimed warm-up run, which may write its caches."""
    warm = run_solution(SOLUTIONS / "cache_fifo", short_cfg, short_inputs,
                        compile_cache="update", static_scan=False)
    assert warm.ok and "FIFO PLANTED" in warm.output_tail, warm.output_tail
    base = within(DEADLINE, run_solution, BASELINE_DIR, short_cfg, short_inputs)
    assert base.ok, base.message
    again = within(DEADLINE, run_solution, SOLUTIONS / "cache_fifo", short_cfg, short_inputs,
                   static_scan=False)
    assert again.ok, again.message
    assert "planted-fifo" not in _cache_listing(again)


@pytest.mark.slow
def test_a_sparse_gigabyte_left_in_a_cache_is_not_copied(cache_root, short_cfg, short_inputs):
    """EXPLOIT cache_sparse."""
    warm = run_solution(SOLUTIONS / "cache_sparse", short_cfg, short_inputs,
                        compile_cache="update", static_scan=False)
    assert warm.ok and "SPARSE PLANTED" in warm.output_tail, warm.output_tail
    try:
        again = within(DEADLINE, run_solution, SOLUTIONS / "cache_sparse", short_cfg,
                       short_inputs, static_scan=False)
        assert again.ok, again.message
        assert "planted-sparse" not in _cache_listing(again)
        assert any("planted-sparse" in note for note in again.notes), again.notes
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(cache_root)
