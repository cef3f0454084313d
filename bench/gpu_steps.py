"""The Python side of bench/gpu_check.sh, one function per job it hands over, so the
script stays shell (time boxes, packing, signals) and this stays tested Python:

    python -m bench.gpu_steps seed SHIPPED OUT [DEVICE]   OUTDIR's tolerances file
    python -m bench.gpu_steps env OUT                     versions.json, isolation.txt
    python -m bench.gpu_steps plan PRESET DEVICE BOX TOLERANCES OUT
    python -m bench.gpu_steps profile SOLUTION PRESET DEVICE STEPS OUT
    python -m bench.gpu_steps result STEP WORK OUTDIR PRESET DEVICE   summary.md's line

Each prints one line for the script's log and summary.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path


def seed(shipped: str, out: str, device: str | None = None) -> None:
    """Copy the shipped tolerances to OUTDIR, without DEVICE's entries if given (the CPU
    smoke run drops its CPU entries so that calibration runs as it must on a GPU)."""
    data = json.loads(Path(shipped).read_text())
    if device:
        data["entries"] = {k: v for k, v in data["entries"].items()
                           if not k.endswith("/" + device)}
    Path(out).write_text(json.dumps(data, indent=1) + "\n")


def env(out: str) -> None:
    import torch

    from correctness.provenance import environment
    from correctness.sandbox import detect_isolation

    isolation = detect_isolation()
    Path(out, "isolation.txt").write_text(f"{isolation}\n")
    found = environment("cuda" if torch.cuda.is_available() else "cpu")
    found.update(executable=sys.executable, isolation=isolation.describe(),
                 cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"))
    Path(out, "versions.json").write_text(json.dumps(found, indent=1) + "\n")
    print(isolation)


def plan(preset: str, device: str, box: str, path: str, out: str) -> None:
    """Writes "EVAL CALIBRATE WHY" to OUT: calibrate PRESET when calibrate.estimate says it
    fits in 90% of the box, else evaluate on tiny (calibrated first if it is not)."""
    from correctness import calibrate, tolerances

    source = tolerances.Source(Path(path))

    def calibrated(p: str) -> bool:
        try:
            source.entry(p, device)
            return True
        except tolerances.NotCalibrated:
            return False

    if calibrated(preset):
        chosen = (preset, "no", f"{preset}/{device} is calibrated already")
    else:
        guess = calibrate.estimate(preset, device, 1)
        need = guess["wall_s"]
        sizes = (f"estimate {need:.0f} s: a naive run {guess['reference_s']:.1f} s, a variant "
                 f"{guess['variant_s']:.1f} s; box {float(box):.0f} s")
        if need <= 0.9 * float(box):
            chosen = (preset, "yes", f"calibrating {preset}/{device}, {sizes}")
        else:
            chosen = ("tiny", "no" if calibrated("tiny") else "yes",
                      f"{preset}/{device} cannot be calibrated in time ({sizes}): "
                      f"tiny/{device} instead")
    Path(out).write_text(" ".join(chosen) + "\n")
    print(*chosen)


def profile(solution: str, preset: str, device: str, steps: str, out: str) -> int:
    """torch.profiler's top 25 ops of a few sandboxed training steps of SOLUTION."""
    import baseline
    from correctness.sandbox import profile_solution

    cfg = {**baseline.get_preset(preset).to_cfg(device), "steps": int(steps)}
    table = profile_solution(solution, cfg, baseline.make_inputs(cfg, 0), top=25,
                             allow_library=True)
    Path(out).write_text(table + "\n")
    if table.startswith("profile failed"):
        print(table.splitlines()[0])
        return 1
    rows = [line for line in table.splitlines() if line.strip()]
    dashes = [i for i, line in enumerate(rows) if line.startswith("---")]
    top = rows[dashes[1] + 1].strip().split("  ")[0] if len(dashes) > 1 else "?"
    print(f"{solution.rstrip('/').rsplit('/', 1)[-1]}, {preset}, {steps} steps: top op {top}")
    return 0


# ---------------------------------------------------------------------------- summary lines

def result(name: str, work: str, outdir: str, preset: str, device: str) -> None:
    """The one line summary.md shows for a finished step."""
    work_dir, out_dir = Path(work), Path(outdir)
    try:
        line = RESULTS[name](work_dir, out_dir, preset, device)
    except (OSError, ValueError, KeyError, AttributeError, TypeError, SyntaxError) as e:
        line = f"no result ({type(e).__name__}: {e})"
    print(line)


def _env_line(work: Path, outdir: Path, preset: str, device: str) -> str:
    v = json.loads((work / "env" / "versions.json").read_text())
    return (f"{v['device_name']}; python {v['python']}, torch {v['torch']}, triton "
            f"{v['triton']}, cuda {v['cuda']}; {v['isolation']}")


def _calibrate_line(work: Path, outdir: Path, preset: str, device: str) -> str:
    e = json.loads((outdir / "tolerances.json").read_text())["entries"].get(f"{preset}/{device}")
    if e is None or "wall_s" not in e:
        return f"no {preset}/{device} entry written: see calibrate.log"
    t = e["thresholds"]
    caught = ("NOT caught: " + ", ".join(e["undetected"]) if e["undetected"]
              else "every cheat caught")
    return (f"{preset}/{device} in {e['wall_s']:.0f} s: loss {t['heldout_loss']:.2e}, "
            f"weights {t['weights']:.2e}, trajectory {t['trajectory']:.2e}; {caught}")


def _tests_line(work: Path, outdir: Path, preset: str, device: str, *, name: str) -> str:
    import xml.etree.ElementTree as ET

    suite = ET.parse(work / f"{name}.xml").getroot()
    suite = suite.find("testsuite") if suite.tag == "testsuites" else suite
    n = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    return (f"{n['tests']} tests: {n['tests'] - n['failures'] - n['errors'] - n['skipped']} "
            f"passed, {n['failures']} failed, {n['errors']} errors, {n['skipped']} skipped "
            f"in {float(suite.get('time', 0)):.0f} s")


def _bench_line(work: Path, outdir: Path, preset: str, device: str) -> str:
    log = (work / "bench.log").read_text()
    ceiling = re.search(r"^ceiling of .*?: (.*)$", log, re.M)
    verdicts, current = {}, None
    for line in log.splitlines():
        match = re.match(rf"^(\S+) on {preset}/{device}$", line)
        current = match.group(1).rstrip("/").rsplit("/", 1)[-1] if match else current
        if line.startswith("verdict: ") and current:
            verdicts[current] = line.split(": ", 1)[1][:60]
    for path in sorted((outdir / "results").glob("*.json")):
        r = json.loads(path.read_text())
        verdicts[r["entrant"]["name"]] = (
            f"{r['median_ratio']:.2f}x {r.get('isolation')}" if r["passed"]
            else f"REJECTED by {r['rejected_by']}, recorded")
    return (f"{preset}/{device}: " + ("; ".join(f"{k} {v}" for k, v in verdicts.items())
                                      or "no verdicts")
            + (f"; ceiling {ceiling.group(1)}" if ceiling else ""))


def _kernels_line(work: Path, outdir: Path, preset: str, device: str) -> str:
    rows = json.loads((work / "kernels.json").read_text())["rows"]
    timed = sum(1 for r in rows if r.get("median_ms") is not None)
    errors = sum(1 for r in rows if r.get("error"))
    return f"{timed} timed, {len(rows) - timed - errors} skipped, {errors} failed"


RESULTS = {
    "env": _env_line, "calibrate": _calibrate_line, "bench": _bench_line,
    "kernel-tests": lambda *a: _tests_line(*a, name="kernel-tests"),
    "sandbox-tests": lambda *a: _tests_line(*a, name="sandbox-tests"),
    "bench-kernels": _kernels_line,
}
STEPS = {"seed": seed, "env": env, "plan": plan, "profile": profile, "result": result}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in STEPS:
        print(f"usage: python -m bench.gpu_steps {{{','.join(STEPS)}}} ARGS...",
              file=sys.stderr)
        return 2
    return STEPS[argv[0]](*argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
