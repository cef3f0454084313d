"""Probe candidate `gpu` presets: per-step time of the baseline and of the reference
solutions, in-process (trusted code, not the sandbox; these are sizing measurements, never
records). Used to pick a preset whose baseline leaves the headroom that docs/design.md,
"Presets and range", asks for.

    PYTHONPATH=. python3 bench/preset_probe.py '[{"d_model": 128, "seq_len": 128}, {}]'

Each JSON object overrides fields of the `gpu` preset; results go to $OUT/probe.json (or
/tmp/probe) as they are measured.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
import types
from pathlib import Path

import torch

import baseline
from correctness.trusted import import_solution

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str) -> types.ModuleType:
    return import_solution(ROOT / "solutions" / name, f"probe_{name}")


def _seconds(fn, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def probe(over: dict, device: str, steps: int) -> dict:
    cfg = {**baseline.get_preset("gpu").to_cfg(device), **over}
    inputs = baseline.make_inputs(cfg, 7)
    init, tokens, batches = inputs["init"], inputs["tokens"], inputs["batches"]
    row = {"over": over}
    stamps = []
    baseline.train({**cfg, "steps": 25}, init, tokens, batches[:25],
                   on_step=lambda step, loss: stamps.append(time.perf_counter()))
    row["baseline_ms"] = 1000 * (stamps[-1] - stamps[4]) / 20  # steps 6..25: past warm-up
    for label, name, bf16 in (("torch_native", "torch_native", False),
                              ("triton_bf16", "triton", True)):
        solution = _load(name)
        if hasattr(solution, "USE_BF16"):
            solution.USE_BF16 = bf16
        warm = min(30, steps)
        solution.train({**cfg, "steps": warm}, init, tokens, batches[:warm])
        s = _seconds(functools.partial(solution.train, {**cfg, "steps": steps}, init, tokens,
                                       batches[:steps]), device)
        row[f"{label}_ms"] = 1000 * s / steps
        row[f"{label}_x"] = row["baseline_ms"] / row[f"{label}_ms"]
    return row


def main() -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    out = Path(os.environ.get("OUT", "/tmp/probe"))
    out.mkdir(parents=True, exist_ok=True)
    result = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
              "torch": torch.__version__, "rows": []}
    for over in json.loads(sys.argv[1]):
        try:
            row = probe(over, device, int(os.environ.get("PROBE_STEPS", 300)))
        except Exception as e:  # one bad candidate must not lose the others' numbers
            row = {"over": over, "error": repr(e)[:500]}
        result["rows"].append(row)
        print(json.dumps(row), flush=True)
        (out / "probe.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
