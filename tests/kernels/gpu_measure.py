"""One scripted GPU session for the kernel library and the reference solutions (not a
pytest file: the GPU machine may have no pytest). Run from the repository root:

    PYTHONPATH=. python tests/kernels/gpu_measure.py OUT_DIR

It prints, and writes to OUT_DIR/gpu_measure.json:
1. every Triton and torch-native slot through the kernel check on CUDA, float32, at the
   default shapes (the presets' own included): pass/fail and the largest errors;
2. the same in bfloat16 (no tolerance exists for it yet: errors only, to set one);
3. that unwritten output memory reads as NaN on CUDA (the poisoning is deterministic there);
4. tiny and a 150-step gpu preset: baseline, torch_native, triton (float32 and bf16):
   max per-step loss gap to the baseline, final loss, wall time;
5. full gpu preset (1000 steps) wall time of torch_native and triton, after step 4 compiled
   the kernels for these shapes; baseline per-step time from step 4.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import torch

import baseline
from baseline import ops as naive
from correctness import kernel_tolerances
from correctness.kernel_check import check_kernel
from correctness.trusted import import_solution
from kernels import registry

ROOT = Path(__file__).resolve().parents[2]
RESULTS: dict = {}


def say(*args) -> None:
    print(*args, flush=True)


def load_solution(name: str):
    return import_solution(ROOT / "solutions" / name, f"gpu_submission_{name}")


def kernel_checks() -> None:
    rows = RESULTS.setdefault("kernel_checks", [])
    kernel_tolerances.TOLERANCES.setdefault(torch.bfloat16, {s: math.inf for s in naive.SLOTS})
    for dtype in (torch.float32, torch.bfloat16):
        for impl in registry.implementations():
            if dtype == torch.bfloat16 and impl.slot == "adamw":
                continue  # float32 master weights only
            if dtype == torch.float32 and impl.name == "naive":
                continue  # measured on CPU
            t0 = time.perf_counter()
            try:
                report = check_kernel(impl.slot, impl.fn, "cuda", seed=0, dtype=dtype)
                errors = {c["name"]: c["errors"] for c in report.cases}
                worst = max((e for c in report.cases for e in c["errors"].values()
                             if e is not None), default=None)
                row = {"slot": impl.slot, "impl": impl.name, "dtype": str(dtype),
                       "passed": report.passed, "worst": worst,
                       "failures": report.failures[:5], "errors": errors}
            except Exception as exc:  # keep going: one broken kernel must not hide the rest
                row = {"slot": impl.slot, "impl": impl.name, "dtype": str(dtype),
                       "passed": False, "crash": f"{type(exc).__name__}: {exc}"}
            row["seconds"] = round(time.perf_counter() - t0, 2)
            rows.append(row)
            say(f"check {impl.slot:14s} {impl.name:6s} {str(dtype):15s} passed={row['passed']}"
                f" worst={row.get('worst')} {row.get('failures') or row.get('crash') or ''}"
                f" ({row['seconds']}s)")


def stale_memory() -> None:
    def partial_write(x):
        y = torch.empty_like(x)
        y[:-1] = naive.gelu(x[:-1])
        return y

    report = check_kernel("gelu", partial_write, "cuda", shapes=[(64, 33), (4096, 1000)], seed=0)
    RESULTS["stale_memory_failures"] = report.failures
    say("stale memory:", report.failures)


def run_solution(name: str, cfg: dict, inputs: dict, bf16: bool = False) -> tuple[dict, float]:
    if name == "baseline":
        train = baseline.train
    else:
        solution = load_solution(name)
        if name == "triton":
            solution.USE_BF16 = bf16
        train = solution.train
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = train(cfg, **inputs)
    torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def trajectories() -> None:
    rows = RESULTS.setdefault("trajectories", [])
    for preset, steps in (("tiny", None), ("gpu", 150)):
        cfg = baseline.get_preset(preset).to_cfg("cuda")
        if steps:
            cfg["steps"] = steps
        inputs = baseline.make_inputs(cfg, seed=1234)
        heldout = baseline.make_heldout(cfg, seed=99)
        ref, ref_s = run_solution("baseline", cfg, inputs)
        ref_eval = baseline.heldout_loss(ref["state_dict"], cfg, heldout, device="cuda")
        rows.append({"preset": preset, "steps": cfg["steps"], "entry": "baseline",
                     "seconds": ref_s, "final_loss": ref["losses"][-1], "heldout": ref_eval})
        say(f"{preset} baseline {ref_s:.2f}s final {ref['losses'][-1]:.5f} heldout {ref_eval:.5f}")
        for name, bf16 in (("torch_native", False), ("triton", False), ("triton", True)):
            label = name + ("_bf16" if bf16 else "")
            try:
                out, secs = run_solution(name, cfg, inputs, bf16)
                gap = max(abs(a - b) for a, b in zip(out["losses"], ref["losses"]))
                dist = math.sqrt(sum(((out["state_dict"][k] - v) ** 2).sum().item()
                                     for k, v in ref["state_dict"].items())
                                 / sum((v ** 2).sum().item() for v in ref["state_dict"].values()))
                held = baseline.heldout_loss(out["state_dict"], cfg, heldout, device="cuda")
                row = {"preset": preset, "steps": cfg["steps"], "entry": label, "seconds": secs,
                       "max_loss_gap": gap, "rel_weight_dist": dist,
                       "final_loss": out["losses"][-1], "heldout": held}
            except Exception as exc:
                row = {"preset": preset, "entry": label, "crash": f"{type(exc).__name__}: {exc}"}
            rows.append(row)
            say(preset, row)


def full_timings() -> None:
    cfg = baseline.get_preset("gpu").to_cfg("cuda")
    inputs = baseline.make_inputs(cfg, seed=7)
    rows = RESULTS.setdefault("gpu_preset_seconds", [])
    for name, bf16 in (("torch_native", False), ("triton", False), ("triton", True)):
        try:  # kernels already compiled for these shapes by trajectories()
            _, secs = run_solution(name, cfg, inputs, bf16)
            row = {"entry": name + ("_bf16" if bf16 else ""), "seconds": secs,
                   "ms_per_step": 1000 * secs / cfg["steps"]}
        except Exception as exc:
            row = {"entry": name, "crash": f"{type(exc).__name__}: {exc}"}
        rows.append(row)
        say("gpu preset", row)


def main() -> None:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
    RESULTS["device"] = torch.cuda.get_device_name()
    RESULTS["versions"] = {"torch": torch.__version__,
                           "triton": __import__("triton").__version__,
                           "python": sys.version.split()[0]}
    say(RESULTS["device"], RESULTS["versions"])
    for phase in (kernel_checks, stale_memory, trajectories, full_timings):
        t0 = time.perf_counter()
        try:
            phase()
        except Exception as exc:
            RESULTS[f"{phase.__name__}_crash"] = f"{type(exc).__name__}: {exc}"
            say(phase.__name__, "CRASHED", exc)
        say(f"--- {phase.__name__} took {time.perf_counter() - t0:.1f}s")
        (out_dir / "gpu_measure.json").write_text(json.dumps(RESULTS, indent=1, default=str))


if __name__ == "__main__":
    main()
