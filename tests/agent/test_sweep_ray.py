"""Sweeps on a real embedded Ray (this machine's CPUs, the CPU lease of 1), the judge and the
clock replaced by short sleeps that log their wall-clock windows (sweepfakes.py): every
timed section held the lease and no two overlapped, untimed checks held none, the driver's
thread setting reached the timed runs, and a driver killed with SIGKILL mid-sweep resumes
to one record per run. CI installs Ray (`.[sweep]`); without it these skip."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

import sweepfakes  # noqa: E402

import agent.launch.project_harness  # noqa: E402
from agent.launch.sweep import connect  # noqa: E402
from bench import windows  # noqa: E402
from bench.records import load_records  # noqa: E402
from speedup.cli import main  # noqa: E402

pytestmark = pytest.mark.slow  # a long integration test (pyproject.toml)

AGENT_TESTS = Path(__file__).resolve().parent


def _worker_env(log: Path, cache: Path) -> dict[str, str]:
    """What Ray's workers inherit from the driver: where the fakes are, their log, a cache
    folder of the test's own (the CPU ceiling the sweep measures goes there)."""
    path = os.pathsep.join(p for p in (str(AGENT_TESTS), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "SWEEP_FAKE_LOG": str(log), "XDG_CACHE_HOME": str(cache)}


@pytest.fixture(scope="module")
def ray_here(tmp_path_factory):
    """One embedded Ray for this module's in-process sweeps; yields the fakes' log."""
    import ray

    log = tmp_path_factory.mktemp("sweep") / "calls.jsonl"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in _worker_env(log, tmp_path_factory.mktemp("xdg-cache")).items():
            mp.setenv(k, v)
        _, started = connect(None, "cpu")
        yield log
        if started:
            ray.shutdown()


def _calls(log: Path, runs: Path) -> list[dict]:
    return [c for c in sweepfakes.read_log(log) if str(runs) in c["dir"]]


def _run_of(call: dict) -> str:
    return next(part for part in Path(call["dir"]).parts if part.startswith("sweep-"))


def _disjoint(spans: list[tuple[float, float]]) -> bool:
    latest = float("-inf")
    for start, end in sorted(spans):
        if start < latest:
            return False
        latest = max(latest, end)
    return True


def test_library_and_replay_sweeps_end_in_four_records_none_timed_together(
        ray_here, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", sweepfakes.LoggedHarness)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the driver's; Ray gives its workers 1
    runs, results = tmp_path / "runs", tmp_path / "results"
    common = ["--device", "cpu", "--preset", "tiny", "--runs", "2", "--eval-rounds", "2",
              "--runs-dir", str(runs), "--results-dir", str(results), "--out", str(tmp_path)]
    assert main(["sweep", "--policy", "library", "--no-exclusive", *common]) == 0
    transcript = runs / "sweep-library-tiny-cpu-01" / "transcript.jsonl"
    assert main(["sweep", "--policy", "replay", "--replay", str(transcript), *common]) == 0

    recs = load_records(results)
    assert sorted(r["entrant"]["run_id"] for r in recs) == [
        "sweep-library-tiny-cpu-01", "sweep-library-tiny-cpu-02",
        "sweep-replay-tiny-cpu-01", "sweep-replay-tiny-cpu-02"]
    assert windows.overlaps(recs) == []  # from the records alone, as anyone can check
    assert all(r["timing"]["lease"] == "ray:speedup_timing" for r in recs)
    calls = _calls(ray_here, runs)
    timed = [c for c in calls if c["kind"] != "check"]
    checks = [c for c in calls if c["kind"] == "check"]
    assert timed and checks and all(c["leased"] for c in timed)
    assert _disjoint([(c["start"], c["end"]) for c in timed])  # run_bench included
    assert {c["omp"] for c in timed} == {"3"}
    # the --no-exclusive library sweep's quick checks held no lease; on a CPU by default
    # (the replay sweep) they hold it too
    assert {(_run_of(c).split("-")[1], c["leased"]) for c in checks} == {
        ("library", False), ("replay", True)}
    lifetimes = {}
    for c in calls:
        start, end = lifetimes.get(_run_of(c), (c["start"], c["end"]))
        lifetimes[_run_of(c)] = (min(start, c["start"]), max(end, c["end"]))
    assert not _disjoint([lifetimes["sweep-library-tiny-cpu-01"],
                          lifetimes["sweep-library-tiny-cpu-02"]])  # side by side

    out, err = capsys.readouterr()
    assert "sweep: 2 runs: 0 finished before, 0 to resume, 2 new" in err
    assert "sweep-replay-tiny-cpu-02 | finished |" in err  # a log line per change
    assert "tiny on cpu: 2 ranked" in out and (tmp_path / "leaderboard.html").is_file()
    # the same command again: every run is finished, nothing is scored twice
    assert main(["sweep", "--policy", "library", "--no-exclusive", *common]) == 0
    assert "2 finished before" in capsys.readouterr().err and len(load_records(results)) == 4


def _group_members(pgid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            found.append(int(stat.parent.name))
    return found


def _reap(pgid: int) -> None:
    """After the driver's SIGKILL: give Ray's processes, which die with their driver, time
    to go, then end what is left of the group the driver led (Ray's agent processes)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        names = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in _group_members(pgid)
                 if Path(f"/proc/{pid}/cmdline").exists()]
        if not any(b"raylet" in n or b"gcs_server" in n or b"ray::session" in n
                   for n in names):
            break
        time.sleep(0.2)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_driver_killed_mid_sweep_resumes_to_one_record_per_run(tmp_path):
    runs, results, log = tmp_path / "runs", tmp_path / "results", tmp_path / "calls.jsonl"
    env = {**os.environ, **_worker_env(log, tmp_path / "cache")}
    cmd = [sys.executable, str(AGENT_TESTS / "sweepfakes.py"), str(runs), str(results),
           str(log), "4"]
    first = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not list(results.glob("*.json")):
            assert first.poll() is None and time.monotonic() < deadline, "no record came"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)  # the driver alone; Ray's processes follow it
        first.wait()
    finally:
        _reap(first.pid)
    assert len(list(results.glob("*.json"))) < 4  # killed mid-sweep

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                           start_new_session=True)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "'resume'" in again.stdout  # unfinished runs continued from their transcripts
    recs = load_records(results)
    ids = [f"sweep-library-tiny-cpu-{i:02d}" for i in range(1, 5)]
    assert sorted(r["entrant"]["run_id"] for r in recs) == ids  # each run scored once
    assert all((runs / run_id / "record.json").is_file() for run_id in ids)
    assert windows.overlaps(recs) == []  # across both drivers' runs too


def test_the_embedded_workers_run_at_the_drivers_niceness(ray_here):
    import ray

    assert ray.get(ray.remote(num_cpus=0)(lambda: os.nice(0)).remote()) == os.nice(0)
