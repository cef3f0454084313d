"""bench/gpu_check.sh end to end in its --cpu-smoke mode: the same steps as the one GPU run,
on the CPU with the tiny preset, so that run works the first time."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.sh"
pytestmark = pytest.mark.skipif(not (shutil.which("bash") and shutil.which("timeout")),
                                reason="gpu_check.sh needs bash and coreutils' timeout")


def _run(out, *args, **env):
    # Without TRITON_INTERPRET (conftest sets it for this process), as on a user's machine:
    # the Triton solution then refuses the CPU at once instead of training for minutes in
    # the interpreter (its test-only path, which tests/solutions covers).
    inherited = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    return subprocess.run([str(SCRIPT), str(out), "--cpu-smoke", *args], capture_output=True,
                          text=True, timeout=900,
                          env={**inherited, "PYTHON": sys.executable, **env})


def _summary(out) -> dict[str, list[str]]:
    lines = (out / "summary.tsv").read_text().splitlines()
    return {line.split("\t")[0]: line.split("\t")[1:] for line in lines}


def test_cpu_smoke_runs_every_step_and_leaves_its_results(tmp_path):
    out = tmp_path / "gpu-check"
    # gpu/cpu is never calibrated and would take hours to: the plan must measure that and
    # fall back to tiny, as it does on a GPU whose gpu/cuda calibration cannot fit the box.
    r = _run(out, "--preset", "gpu")
    summary = _summary(out)
    plan = (out / "calibration-plan.log").read_text()
    assert "gpu/cpu would need about" in plan and "evaluating on tiny/cpu" in plan, plan
    assert list(summary) == ["env", "kernel-tests", "sandbox-tests", "bench-kernels", "ceiling",
                             "calibrate", "bench", "leaderboard"], r.stdout
    for name in ("env", "kernel-tests", "sandbox-tests", "bench-kernels", "ceiling",
                 "leaderboard"):
        assert summary[name][0] == "0", (name, (out / f"{name}.log").read_text()[-2000:])
    # a solution that needs CUDA is rejected on the CPU (exit 1); the others pass
    assert summary["bench"][0] in ("0", "1"), (out / "bench.log").read_text()[-2000:]
    assert r.returncode == (0 if summary["bench"][0] == "0" else 1)

    versions = json.loads((out / "env" / "versions.json").read_text())
    assert versions["python"] and versions["torch"] and versions["cuda_visible_devices"] == ""
    rows = json.loads((out / "kernels.json").read_text())["rows"]
    assert {row["slot"] for row in rows} == {"gelu"}
    assert any(row["median_ms"] for row in rows)
    records = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert records and all((r["preset"], r["device"]) == ("tiny", "cpu") for r in records)
    assert any(r["passed"] and r["entrant"]["name"] == "torch_native" for r in records)
    assert all(r["roofline"]["candidate"]["ceiling"]["kind"] == "measured" for r in records)
    assert "torch_native" in (out / "leaderboard.md").read_text()
    assert "measured" in (out / "ceiling.log").read_text()


def test_a_spent_budget_skips_steps_but_still_renders_the_leaderboard(tmp_path):
    out = tmp_path / "gpu-check"
    r = _run(out, GPU_CHECK_TOTAL="60")  # all of it is the leaderboard's reserve
    summary = _summary(out)
    assert summary["env"][0] == summary["bench-kernels"][0] == "skipped"
    assert summary["leaderboard"][0] == "0"
    assert "No records yet" in (out / "leaderboard.md").read_text()
    assert r.returncode == 1
