"""The per-run reaper (correctness/sandbox/reaper.py) on its own: every process a run
started is dead when it returns, whatever each did to its session and environment, and
the judge reads the run's fate from it as from the child."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from correctness.sandbox import reaper

# A daemon as a native library would make one: fork, setsid, clear the environment, fork
# again; the grandchild writes its pid and lives on.
DAEMON = r"""
import os, sys, time
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
os.environ.clear()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    time.sleep(1)
"""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _start(tmp_path: Path, then: str) -> tuple[subprocess.Popen, int]:
    """A run whose first process leaves the daemon behind, then runs `then`."""
    pidfile = tmp_path / "daemon.pid"
    first = (f"import os, subprocess, sys, time; subprocess.run([sys.executable, '-c', "
             f"{DAEMON!r}, {str(pidfile)!r}])\n"
             f"while not os.path.exists({str(pidfile)!r}): time.sleep(0.01)\n{then}")
    proc = subprocess.Popen(reaper.command([sys.executable, "-c", first]),
                            start_new_session=True)
    deadline = time.monotonic() + 30
    while not pidfile.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "no daemon started"
        time.sleep(0.02)
    return proc, int(pidfile.read_text())


def test_the_judges_word_kills_a_daemon_that_left_the_session(tmp_path):
    proc, daemon = _start(tmp_path, "time.sleep(600)")
    assert _alive(daemon)
    reaper.finish(proc)
    assert proc.returncode == -signal.SIGKILL  # the first process was still running
    assert not _alive(daemon)


def test_when_the_first_process_exits_the_rest_die_and_its_status_is_kept(tmp_path):
    proc, daemon = _start(tmp_path, "sys.exit(3)")
    assert proc.wait(timeout=30) == 3
    assert not _alive(daemon)


def test_a_first_process_killed_by_a_signal_is_reported_as_that_signal():
    proc = subprocess.Popen(reaper.command(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]))
    assert proc.wait(timeout=30) == -signal.SIGSEGV
