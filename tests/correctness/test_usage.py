"""correctness.sandbox.usage: a run's CPU time and other work's share of the machine, on a
fake /proc (exact arithmetic) and once on real processes (two CPU accountings agree)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from correctness.sandbox import usage

TICK = 1 / usage.TICKS_PER_S


class FakeProc:
    """A directory standing in for /proc: per-process stat files, stat, loadavg."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir()
        self.load(0.0)

    def process(self, pid: int, ppid: int, utime: int, stime: int = 0, cutime: int = 0,
                cstime: int = 0, born: int = 1000) -> None:
        # the name holds what a naive split would trip on: spaces and a ')'
        fields = (["S", ppid, pid, pid, 0, -1, 0, 0, 0, 0, 0, utime, stime, cutime, cstime,
                   20, 0, 1, 0, born] + [0] * 32)
        (self.root / str(pid)).mkdir(exist_ok=True)
        (self.root / str(pid) / "stat").write_text(
            f"{pid} (py thon) x) {' '.join(map(str, fields))}\n")

    def gone(self, pid: int) -> None:
        (self.root / str(pid) / "stat").unlink()

    def cpus(self, *rows: tuple[int, ...]) -> None:
        """One row per CPU: user nice system idle iowait irq softirq steal guest guest_nice."""
        total = [sum(col) for col in zip(*rows)]
        lines = ["cpu  " + " ".join(map(str, total))]
        lines += [f"cpu{n} " + " ".join(map(str, row)) for n, row in enumerate(rows)]
        lines += ["intr 12345 0 0", "ctxt 999", "btime 1700000000", "processes 4242"]
        (self.root / "stat").write_text("\n".join(lines) + "\n")

    def load(self, one_minute: float) -> None:
        (self.root / "loadavg").write_text(f"{one_minute:.2f} 0.50 0.25 3/129 9446\n")


class Clock:
    def __init__(self, now: float = 10.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def proc(tmp_path) -> FakeProc:
    return FakeProc(tmp_path / "proc")


def _go(proc: FakeProc, clock: Clock) -> usage.Meter:
    proc.process(1, 0, utime=5)
    proc.process(100, 1, utime=50, stime=10)  # the sandbox's child: setup before go
    proc.process(101, 100, utime=5)  # its child
    proc.process(300, 1, utime=1000)  # someone else's process
    proc.cpus((1000, 0, 200, 5000, 10, 0, 0, 0, 0, 0),
              (800, 5, 100, 6000, 0, 0, 0, 0, 0, 0),
              (9000, 0, 900, 100, 0, 0, 0, 0, 0, 0))  # cpu2: not in the affinity set
    proc.load(1.5)
    return usage.start(100, proc=proc.root, cpus={0, 1}, clock=clock)


def test_run_and_machine_over_the_window(proc):
    clock = Clock()
    meter = _go(proc, clock)
    proc.process(100, 1, utime=50 + 150, stime=10 + 30)  # the run: 180 + 20 ticks
    proc.process(101, 100, utime=5 + 20)
    proc.process(300, 1, utime=1000 + 500)  # not the run's, whatever it did
    proc.cpus((1150, 0, 230, 5020, 15, 0, 0, 0, 40, 0),  # +180 busy (iowait, guest: no)
              (870, 15, 100, 6080, 0, 5, 5, 30, 0, 0),  # +120 busy (steal counts)
              (9900, 0, 950, 100, 0, 0, 0, 0, 0, 0))
    proc.load(9.0)  # after go: not the load before
    clock.now += 2.0
    u = meter.stop()
    assert u.wall_s == 2.0 and u.cpus == 2 and u.load_before == 1.5
    assert u.cpu_s == pytest.approx(200 * TICK)
    assert u.machine_busy_s == pytest.approx(300 * TICK)
    # (300 - 200) ticks of other work over 2 CPUs x 2 s
    assert u.foreign_share == pytest.approx(100 * TICK / 4.0)
    assert u.to_dict()["foreign_share"] == u.foreign_share


def test_a_reaped_child_counts_once_and_a_reused_pid_not_at_all(proc):
    clock = Clock()
    meter = _go(proc, clock)
    proc.gone(101)  # it used 20 more ticks, then its parent reaped it: cutime 25
    proc.process(100, 1, utime=50 + 100, stime=10, cutime=25)
    proc.process(101, 1, utime=7000, born=5000)  # the pid again: another process
    proc.cpus((1150, 0, 200, 5000, 10, 0, 0, 0, 0, 0),
              (800, 5, 100, 6000, 0, 0, 0, 0, 0, 0),
              (9000, 0, 900, 100, 0, 0, 0, 0, 0, 0))
    clock.now += 1.0
    u = meter.stop()
    assert u.cpu_s == pytest.approx((100 + 20) * TICK)
    assert u.foreign_share == pytest.approx((150 - 120) * TICK / 2.0)


def test_the_run_alone_leaves_no_foreign_share(proc):
    clock = Clock()
    meter = _go(proc, clock)
    proc.process(100, 1, utime=50 + 300, stime=10)
    # tick accounting rounds: the CPUs show a little less than the run's own time
    proc.cpus((1148, 0, 200, 5000, 10, 0, 0, 0, 0, 0),
              (950, 5, 100, 6000, 0, 0, 0, 0, 0, 0),
              (9000, 0, 900, 100, 0, 0, 0, 0, 0, 0))
    clock.now += 1.5
    assert meter.stop().foreign_share == 0.0


def test_without_proc_the_usage_is_unknown(tmp_path):
    assert usage.start(os.getpid(), proc=tmp_path / "nothing").stop() is None


def test_a_child_gone_before_go_is_unknown_usage(proc):
    proc.cpus((1, 0, 1, 1, 0, 0, 0, 0, 0, 0))
    assert usage.start(4242, proc=proc.root, cpus={0}).stop() is None


BUSY_CHILD = textwrap.dedent("""
    import os, subprocess, sys, time
    burn = "import time\\nend = time.process_time() + 0.2\\nwhile time.process_time() < end: pass"
    print("ready", flush=True)
    sys.stdin.readline()  # go
    own0, kids0 = time.process_time(), os.times()
    subprocess.run([sys.executable, "-c", burn], check=True)  # reaped: into cutime
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    kids1 = os.times()
    kids = kids1.children_user + kids1.children_system - kids0.children_user - kids0.children_system
    print(time.process_time() - own0 + kids, flush=True)
    sys.stdin.readline()  # killed while waiting here
""")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_real_busy_run_reads_as_what_it_spent():
    """Under a shell (so the interpreter is a descendant, as in the sandbox), a process that
    burns CPU itself and in a child it reaps: the meter's CPU time is what the process's
    own clocks say it spent between go and done, to the ticks /proc rounds to."""
    shell = subprocess.Popen(["/bin/sh", "-c", f'"{sys.executable}" -c "$0"; true', BUSY_CHILD],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        assert shell.stdout.readline() == "ready\n"
        meter = usage.start(shell.pid)
        shell.stdin.write("go\n")
        shell.stdin.flush()
        spent = float(shell.stdout.readline())
        u = meter.stop()
    finally:
        os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()
    assert spent >= 0.5
    assert u.cpu_s == pytest.approx(spent, abs=6 * TICK)
    assert u.machine_busy_s >= u.cpu_s - 6 * TICK  # the CPUs were busy with it at least
    assert 0.0 <= u.foreign_share <= 1.0
    assert u.cpus == len(os.sched_getaffinity(0)) and u.load_before >= 0.0


@pytest.mark.slow
def test_every_sandboxed_run_reports_what_it_spent(short_cfg, short_inputs):
    """The sandbox meters each timed run from go to done, under whatever isolation: the
    clock reads the run's CPU time and other work's share from RunResult.usage."""
    from correctness.sandbox import BASELINE_DIR, run_solution

    result = run_solution(BASELINE_DIR, short_cfg, short_inputs)
    assert result.ok, result.message
    u = result.usage
    assert u is not None and u["cpu_s"] > 0.0
    assert u["wall_s"] == pytest.approx(result.seconds, rel=0.2)
    assert 0.0 <= u["foreign_share"] <= 1.0
