"""Kernel-enforced isolation against escapes: what the interpreter-level guards cannot
stop, the operating system does. Each exploit here uses only what a solution may import,
and each test shows every layer in turn: the static scan, the audit hook (scan off), and
the namespaces alone (scan and hook off, test-only options), which must hold by themselves.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from strays import kill_all, processes_with

import baseline
from correctness.sandbox import BASELINE_DIR, PROJECT_DIR, check_solution_kernels, run_solution
from correctness.static_scan import scan
from correctness.training_check import check_training

SOLUTIONS = Path(__file__).parent / "solutions"
pytestmark = pytest.mark.usefixtures("namespaces")


def _with_file(tmp_path: Path, name: str, filename: str, text: str) -> Path:
    """A copy of adversarial solution `name` with `filename` (its targets) beside it."""
    copy = tmp_path / name
    shutil.copytree(SOLUTIONS / name, copy)
    (copy / filename).write_text(text)
    return copy


# ---------------------------------------------------------------------------- escapes

@pytest.mark.slow
def test_escaped_process_cannot_rewrite_the_next_run(short_cfg, short_inputs):
    """EXPLOIT tamper_next_run: the candidate returns its initial weights, and a process it
    left behind rewrites the reference run that follows it to do the same."""
    verdict = check_training(SOLUTIONS / "tamper_next_run", "tiny", "cpu", kernel_checks=False)
    assert not verdict.passed and verdict.rejected_by == "static_scan"
    assert "__path__" in verdict.message

    hooked = run_solution(SOLUTIONS / "tamper_next_run", short_cfg, short_inputs,
                          static_scan=False)
    assert hooked.check == "forbidden_call"
    assert any(r["event"] == "subprocess.Popen" and "torch or triton" in r["why"]
               for r in hooked.refused), hooked.refused

    bare = run_solution(SOLUTIONS / "tamper_next_run", short_cfg, short_inputs,
                        static_scan=False, audit=False)
    assert "WATCHER STARTED" in bare.output_tail, bare.output_tail
    reference = run_solution(BASELINE_DIR, short_cfg, short_inputs)
    assert reference.ok, reference.message
    assert reference.losses == baseline.train(short_cfg, **short_inputs)["losses"]


@pytest.mark.slow
def test_escaped_process_dies_at_done(short_cfg, short_inputs):
    """EXPLOIT slow_next_run: a process in its own session with an empty environment keeps
    a core busy while the next run is timed."""
    assert "attribute" in {f.rule for f in scan(SOLUTIONS / "slow_next_run")}
    try:
        result = run_solution(SOLUTIONS / "slow_next_run", short_cfg, short_inputs,
                              static_scan=False, audit=False)
        assert result.ok and "BURNER STARTED" in result.output_tail, result.output_tail
        assert processes_with("speedup-test-burner") == []
    finally:
        kill_all(processes_with("speedup-test-burner"))  # never left burning on a failure


# ---------------------------------------------------------------------------- files

@pytest.mark.slow
def test_hard_link_cannot_write_outside_the_run(tmp_path, short_cfg, short_inputs):
    """EXPLOIT hard_link: link a file outside the run into the work directory, write."""
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    solution = _with_file(tmp_path, "hard_link", "victim.txt", str(victim))
    assert "attribute" in {f.rule for f in scan(solution)}

    hooked = run_solution(solution, short_cfg, short_inputs, static_scan=False)
    assert hooked.check == "forbidden_call"
    assert any(r["event"] == "os.link" for r in hooked.refused), hooked.refused
    assert victim.read_text() == "original"

    bare = run_solution(solution, short_cfg, short_inputs, static_scan=False, audit=False)
    assert bare.ok, bare.message
    assert "LINK FAILED" in bare.output_tail, bare.output_tail
    assert victim.read_text() == "original"


@pytest.mark.slow
def test_mapped_file_cannot_write_outside_the_run(tmp_path, short_cfg, short_inputs):
    """EXPLOIT from_file: a shared mapping writes natively, with no audit event."""
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"original")
    solution = _with_file(tmp_path, "from_file", "victim.txt", str(victim))
    assert "forbidden_call" in {f.rule for f in scan(solution)}
    result = run_solution(solution, short_cfg, short_inputs, static_scan=False)
    assert result.ok, result.message
    assert "MAPPED WRITE" not in result.output_tail or victim.read_bytes() == b"original"
    assert victim.read_bytes() == b"original"


class _Listener:
    """A TCP server on the judge's loopback that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        time.sleep(0.3)  # a connection in flight is accepted before we stop
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.mark.slow
def test_native_code_is_refused_by_the_kernel(tmp_path, short_cfg, short_inputs):
    """EXPLOIT native_calls: libc through ctypes, where the audit hook cannot look."""
    secret = Path.home() / f".speedup-test-secret-{tmp_path.name}"
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    listener = _Listener()
    try:
        secret.write_text("hunter2")
        targets = [f"connect 127.0.0.1:{listener.port}", f"read {secret}", f"write {victim}",
                   f"read {PROJECT_DIR / 'correctness' / 'tolerances.json'}"]
        solution = _with_file(tmp_path, "native_calls", "targets.txt", "\n".join(targets))
        assert "attribute" in {f.rule for f in scan(solution)}

        hooked = run_solution(solution, short_cfg, short_inputs, static_scan=False)
        assert hooked.check == "forbidden_call"
        assert any(r["event"].startswith("ctypes.") for r in hooked.refused), hooked.refused

        bare = run_solution(solution, short_cfg, short_inputs, static_scan=False, audit=False)
        assert bare.ok, bare.message
    finally:
        listener.close()
        secret.unlink(missing_ok=True)
    outcomes = [line.split(" ", 2)[1:] for line in bare.output_tail.splitlines()
                if line.startswith("NATIVE ")]
    assert [action for action, _ in outcomes] == ["connect", "read", "write", "read"]
    assert all("errno" in outcome for _, outcome in outcomes), outcomes
    assert "hunter2" not in bare.output_tail and "heldout_loss" not in bare.output_tail
    assert listener.accepted == 0
    assert victim.read_text() == "original"


# ---------------------------------------------------------------------------- the grader

@pytest.mark.slow
def test_the_grader_never_runs_in_the_solutions_process():
    """EXPLOIT grader_patch: a wrong kernel, and torch.isfinite replaced at import time."""
    reports = check_solution_kernels(SOLUTIONS / "grader_patch", "cpu")
    assert not reports["gelu"]["passed"]
    assert any("output: error" in f for f in reports["gelu"]["failures"]), reports["gelu"]
