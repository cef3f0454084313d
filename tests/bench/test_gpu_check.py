"""bench/gpu_check.sh end to end in its --cpu-smoke mode: the same steps and the same
packaging as the one GPU call, on the CPU with the tiny preset, so that call works the
first time and brings back everything it made (the device tool returns at most 8 files, at
most 2 folders deep)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.sh"
STEPS = ["env", "plan", "calibrate", "kernel-tests", "sandbox-tests", "bench", "leaderboard",
         "profile", "bench-kernels"]
pytestmark = [pytest.mark.skipif(not (shutil.which("bash") and shutil.which("timeout")),
                                 reason="gpu_check.sh needs bash and coreutils' timeout"),
              pytest.mark.quiet_machine]  # its bench step times real runs


def _start(out, *args, **env) -> subprocess.Popen:
    # Without TRITON_INTERPRET (conftest sets it for this process), as on a user's machine:
    # the Triton solution then refuses the CPU at once instead of training for minutes in
    # the interpreter (its test-only path, which tests/solutions covers).
    inherited = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    return subprocess.Popen([str(SCRIPT), str(out), "--cpu-smoke", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**inherited, "PYTHON": sys.executable, **env},
                            start_new_session=True)


def _files(out: Path) -> list[Path]:
    return [p.relative_to(out) for p in out.rglob("*") if p.is_file()]


def _watch(proc: subprocess.Popen, out: Path, until=None) -> tuple[str, int, int]:
    """Wait for the script, sampling OUTDIR as it runs; (output, most files seen at once,
    deepest folder nesting seen). `until(out)` true sends the script SIGTERM."""
    most = deepest = 0
    while proc.poll() is None:
        files = _files(out) if out.is_dir() else []
        most = max(most, len(files))
        deepest = max([deepest] + [len(f.parts) - 1 for f in files])
        if until is not None and until(out):
            os.kill(proc.pid, signal.SIGTERM)
            until = None
        time.sleep(0.1)
    return proc.communicate(timeout=60)[0], most, deepest


def _summary(out: Path) -> dict[str, list[str]]:
    rows = [line.strip("|").split(" | ") for line in (out / "summary.md").read_text()
            .splitlines() if line.startswith("| ") and not line.startswith("| step")]
    return {r[0].strip(): [c.strip() for c in r[1:]] for r in rows if r[0].strip() != "---"}


def _archive(out: Path) -> dict[str, bytes]:
    with tarfile.open(out / "logs.tar.gz") as tar:
        return {m.name.removeprefix("./"): tar.extractfile(m).read()
                for m in tar.getmembers() if m.isfile()}


@pytest.mark.slow
def test_cpu_smoke_runs_every_step_and_brings_everything_back_in_8_files(tmp_path):
    from correctness import tolerances
    from correctness.sandbox import detect_isolation

    out = tmp_path / "gpu-check"
    # gpu/cpu is never calibrated and would take hours to: the plan must measure that and
    # fall back to tiny, as it does on a GPU whose gpu/cuda calibration cannot fit its box.
    output, most, deepest = _watch(_start(out, "--preset", "gpu"), out)
    summary = _summary(out)
    assert list(summary) == STEPS, output
    logs = _archive(out)
    for name in set(STEPS) - {"bench"}:
        assert summary[name][0] == "0", (name, logs.get(f"{name}.log", b"")[-2000:])
    # the Triton solution needs CUDA: rejected on the CPU (exit 1); the others pass
    assert summary["bench"][0] in ("0", "1"), logs["bench.log"][-2000:]
    assert "gpu/cpu cannot be calibrated in time" in summary["plan"][2]
    assert "tiny/cpu instead" in summary["plan"][2]

    # at most 8 files, at most 2 folders deep, at every moment sampled and at the end
    assert most <= 8 and deepest <= 2, (most, deepest)
    records = sorted(p for p in _files(out) if p.parts[0] == "results")
    assert set(_files(out)) == {Path("summary.md"), Path("tolerances.json"),
                                Path("logs.tar.gz"), *records}
    assert 1 <= len(records) <= 4

    # the calibration came back as a file, and it judged the records
    entries = json.loads((out / "tolerances.json").read_text())["entries"]
    assert "tiny/cpu" in entries and "cpu/cpu" not in entries  # calibrated here, not shipped
    identity = tolerances.Source(out / "tolerances.json").identity("tiny", "cpu")
    recs = [json.loads((out / p).read_text()) for p in records]
    assert all(r["calibration"] == identity for r in recs)
    assert all((r["preset"], r["device"]) == ("tiny", "cpu") for r in recs)
    assert all(r["roofline"]["candidate"]["ceiling"]["kind"] == "measured" for r in recs)
    # each record's scored files came back in logs.tar.gz, to be copied beside it
    assert all(f"results/{r['archive']['solution']['path']}" in logs for r in recs)
    passed = {r["entrant"]["name"] for r in recs if r["passed"]}
    assert {"torch_native", "baseline"} <= passed
    # records were written in priority order, the baseline against itself last
    bench_log = logs["bench.log"].decode()
    wrote = [line.rsplit("_", 2)[-2] for line in bench_log.splitlines()
             if line.startswith("wrote ")]
    assert wrote[0] == "torch-native" and wrote[-1] == "baseline", wrote
    assert bench_log.index("solutions/triton on tiny/cpu") < bench_log.index("wrote ")

    versions = json.loads(logs["env/versions.json"])
    assert versions["python"] and versions["cuda_visible_devices"] == ""
    assert logs["env/isolation.txt"].decode().strip() == str(detect_isolation())
    assert json.loads(logs["kernels.json"])["rows"]
    assert {row["slot"] for row in json.loads(logs["kernels.json"])["rows"]} == {"gelu"}
    assert b"testsuite" in logs["kernel-tests.xml"] and b"testsuite" in logs["sandbox-tests.xml"]
    assert b"torch_native" in logs["leaderboard/leaderboard.md"]
    assert b"Self CPU" in logs["profile.txt"]
    assert "top op aten::" in summary["profile"][2]


@pytest.mark.slow
def test_a_signal_mid_bench_keeps_the_finished_records_and_the_logs(tmp_path):
    out = tmp_path / "gpu-check"
    proc = _start(out)
    output, most, deepest = _watch(proc, out, until=lambda o: any((o / "results").glob("*")))
    assert proc.returncode == 130, output
    summary = _summary(out)
    assert summary["bench"][0] == "130" and "profile" not in summary, output
    assert "torch_native" in summary["bench"][2]  # the row names what the bench finished
    # the first candidate's record, and no record of the baseline, the last and longest
    names = {json.loads(p.read_text())["entrant"]["name"] for p in (out / "results").iterdir()}
    assert "torch_native" in names and names <= {"torch_native", "cpu_expert"}, names
    logs = _archive(out)
    assert b"wrote " in logs["bench.log"] and "calibrate.log" in logs
    assert most <= 8 and deepest <= 2


@pytest.mark.slow
def test_a_spent_budget_skips_steps_but_still_renders_the_leaderboard(tmp_path):
    out = tmp_path / "gpu-check"
    proc = _start(out, GPU_CHECK_TOTAL="60", GPU_CHECK_BOX_PROFILE="0",
                  GPU_CHECK_BOX_BENCH_KERNELS="0")  # all 60 s are the leaderboard's
    output, _, _ = _watch(proc, out)
    summary = _summary(out)
    assert [summary[name][0] for name in STEPS] == ["skipped"] * 6 + ["0"] + ["skipped"] * 2
    # rendered from the shipped records alone: the run made none of its own
    board = _archive(out)["leaderboard/leaderboard.md"]
    assert board.startswith(b"# ") and b"(yours)" not in board and b"| yours" not in board
    assert set(_files(out)) == {Path("summary.md"), Path("tolerances.json"),
                                Path("logs.tar.gz")}
    assert proc.returncode == 1, output


def test_a_folder_that_is_not_empty_is_refused(tmp_path):
    (tmp_path / "old.json").write_text("{}")
    output, _, _ = _watch(_start(tmp_path), tmp_path)
    assert "is not empty" in output
    assert [p.name for p in tmp_path.iterdir()] == ["old.json"]
