"""Native code against the kernel, under every isolation level this machine can give a run
(tests/isolation_levels.py): what the interpreter-level guards never see must still stay in
the run. Each exploit writes outside the run, reads a root-only file, connects to the
judge's loopback and leaves a daemon that changed its session and cleared its environment;
ctypes runs with the scan and the hook off (test-only options), C++ built by
torch.utils.cpp_extension with both on (they allow the build: only the kernel stops it).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sys
from pathlib import Path

import pytest
from isolation_levels import levels, use
from strays import kill_all, printed_pids, processes_with

from correctness.sandbox import run_solution

pytestmark = pytest.mark.slow  # a long integration test (pyproject.toml)

SOLUTIONS = Path(__file__).parent / "solutions"
HIDDEN = {"static_scan": False, "audit": False}
CONFINING = [level for level in levels() if level != "process"]
# A C++ build takes tens of seconds: once per kind (the bundled bwrap gives the same
# namespaces as the system's, and the ctypes exploit runs under both)
COMPILED = [level for level in CONFINING if level in ("namespaces", "landlock")]


def _with_targets(tmp_path: Path, name: str, lines: list[str]) -> Path:
    copy = tmp_path / name
    shutil.copytree(SOLUTIONS / name, copy)
    (copy / "targets.txt").write_text("\n".join(lines))
    return copy


def _outcomes(tail: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in tail.splitlines():
        if line.startswith("NATIVE "):
            _, action, outcome = line.split(" ", 2)
            found.setdefault(action, []).append(outcome)
    return found


@pytest.fixture
def root_secret():
    """A root-only (0600) file where root's secrets live (/etc, as /etc/shadow): a root
    judge's run maps to root, so only not seeing the file keeps it out."""
    if os.geteuid() != 0:
        pytest.skip("a root-only file needs a root judge")
    path = Path("/etc") / f"speedup-test-secret-{secrets.token_hex(4)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"hunter2")
    os.close(fd)
    yield path
    path.unlink()


@pytest.fixture
def victims(tmp_path):
    """Two world-writable files outside the run: one where no run looks (the test's own
    directory), one inside a directory every run reads (the interpreter's prefix)."""
    paths = [tmp_path / "victim.txt",
             Path(sys.prefix) / f"speedup-test-victim-{secrets.token_hex(4)}"]
    for path in paths:
        path.write_text("original")
        path.chmod(0o666)
    yield paths
    paths[1].unlink()


@pytest.fixture
def marker():
    name = f"speedup-test-daemon-{secrets.token_hex(4)}"
    yield name
    kill_all(processes_with(name))  # never left running on a failure


@pytest.mark.parametrize("level", CONFINING)
def test_native_code_stays_in_the_run(level, monkeypatch, tmp_path, short_cfg, short_inputs,
                                      root_secret, victims, marker):
    """EXPLOIT native_escape with the scan and the hook off: every attempt refused by the
    kernel, and the daemon dead once the run is over."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        lines = [f"write {victims[0]}", f"write {victims[1]}", f"read {root_secret}",
                 f"connect 127.0.0.1:{server.getsockname()[1]}", f"daemon {marker}"]
        solution = _with_targets(tmp_path, "native_escape", lines)
        result = run_solution(solution, short_cfg, short_inputs,
                              isolation=use(level, monkeypatch), **HIDDEN)
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing connected
    assert result.ok and result.isolation == level.partition("-")[0], result.message
    outcomes = _outcomes(result.output_tail)
    assert all(o.startswith("open errno") for o in outcomes["write"] + outcomes["read"]), \
        outcomes
    assert outcomes["connect"][0].split()[0] in ("socket", "connect"), outcomes
    assert [v.read_text() for v in victims] == ["original", "original"]
    assert "hunter2" not in result.output_tail
    _assert_daemon_died(outcomes, result.output_tail, marker)


def test_a_daemon_dies_at_done_without_confinement(tmp_path, short_cfg, short_inputs, marker):
    """EXPLOIT native_escape's daemon under process isolation: no namespace, no Landlock,
    and still the run's reaper finds it whatever it did to its session and environment."""
    solution = _with_targets(tmp_path, "native_escape", [f"daemon {marker}"])
    result = run_solution(solution, short_cfg, short_inputs, isolation="process", **HIDDEN)
    assert result.ok and result.isolation == "process", result.message
    _assert_daemon_died(_outcomes(result.output_tail), result.output_tail, marker)


@pytest.mark.parametrize("level", COMPILED)
def test_compiled_code_stays_in_the_run(level, monkeypatch, tmp_path, short_cfg,
                                        short_inputs, victims, marker):
    """EXPLOIT cpp_escape, every guard on: torch.utils.cpp_extension's compilers work under
    the isolation; the C++ they built cannot write outside the run, and its daemon dies."""
    solution = _with_targets(tmp_path, "cpp_escape", [f"write {victims[1]}", f"daemon {marker}"])
    result = run_solution(solution, short_cfg, short_inputs,
                          isolation=use(level, monkeypatch), run_timeout=300)
    assert result.ok, f"{result.message}\n{result.output_tail}"
    outcomes = _outcomes(result.output_tail)
    assert outcomes["write"][0].startswith("open errno"), outcomes
    assert victims[1].read_text() == "original"
    _assert_daemon_died(outcomes, result.output_tail, marker)


def _assert_daemon_died(outcomes: dict, tail: str, marker: str) -> None:
    """It was started (it printed its pid: in a PID namespace, not the host's) and no
    process with its marker is left on the host."""
    assert outcomes["daemon"] == ["started"] and len(printed_pids(tail, "DAEMON")) == 1, tail
    assert processes_with(marker) == []
