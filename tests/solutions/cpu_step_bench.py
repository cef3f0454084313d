"""Interleaved per-step timing of solutions on a preset, for development on a noisy shared
machine (not a pytest file, and not the official clock: `speedup bench` is). Usage:

    python tests/solutions/cpu_step_bench.py STEPS ROUNDS THREADS PRESET baseline \
        solutions/torch_native/solution.py solutions/cpu_expert/solution.py

Runs each entry for STEPS steps per round, alternating the order every round (ABBA), and
prints the median and minimum per-step wall time and process CPU time of each.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time

import torch

import baseline


def main() -> None:
    steps, rounds, threads, preset = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                      sys.argv[4])
    entries = sys.argv[5:]
    torch.set_num_threads(threads)
    cfg = dict(baseline.get_preset(preset).to_cfg("cpu"), steps=steps)
    inputs = baseline.make_inputs(cfg, seed=3)
    modules = {}
    for path in entries:
        if path == "baseline":
            modules[path] = baseline
            continue
        spec = importlib.util.spec_from_file_location(f"entry{len(modules)}", path)
        modules[path] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(modules[path])
    wall = {p: [] for p in entries}
    cpu = {p: [] for p in entries}
    for r in range(rounds):
        for path in entries if r % 2 == 0 else entries[::-1]:
            t0, c0 = time.perf_counter(), time.process_time()
            modules[path].train(cfg, **inputs)
            wall[path].append((time.perf_counter() - t0) / steps * 1e3)
            cpu[path].append((time.process_time() - c0) / steps * 1e3)
    for path in entries:
        print(f"{path:40s} wall ms/step median {statistics.median(wall[path]):8.1f} "
              f"min {min(wall[path]):8.1f} | cpu ms/step median "
              f"{statistics.median(cpu[path]):8.1f} min {min(cpu[path]):8.1f}")


if __name__ == "__main__":
    main()
