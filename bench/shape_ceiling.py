"""The shape-aware ceiling of a track: how fast one training step could go on this machine if
every matrix product of the step ran at the rate this machine measures for THAT product's
shape, and everything else moved only the step's minimum bytes at the copy bandwidth this
machine measures at that size:

    seconds per step = sum over the step's matmuls (bench.step_cost.step_matmuls) of
                           FLOPs / FLOP/s measured at its (batch, m, n, k)
                       + min_bytes_per_step / copy bytes/s measured at min_bytes_per_step

It is an estimate of what a fused program can reach, not a proof: a program can beat one
torch call's rate at a shape (fusing products, its own register-tiled kernels, no
dispatch), skip work the ceiling prices (attention's masked half: bench/step_cost.py counts
the full T x T), or spend more than the minimum bytes on the elementwise work. range_cpp
does the first two, and its official record reaches 103% of the ceiling
(bench/measurements/2026-12-07-range-ladder.json, section official; in that record's
measurement, results/20261207T151512_range_cpu_range-cpp_08e7992d.json, attention is 23%
of the ceiling's matmul time). The big-GEMM rate (bench/roofline.py) runs every product at
a 2048^3 matmul's rate through torch, which a step's smaller products usually do not reach:
a reference figure, not a bound either.

Measurement (`measure_shapes`): float32 (the baseline's dtype) on the device, torch.mm, or
torch.bmm for attention's batched products, on contiguous operands into a preallocated
output, on a CPU with one thread and with torch's threads as configured (the faster
counts: beside other work torch's threads wait on a busy core, where one thread keeps its
rate); the rate is the median over the blocks of torch.utils.benchmark's
`blocked_autorange` after a warm-up call, so each timing includes one torch call's
dispatch. Every distinct shape is measured once.

Cache: one entry per preset in $XDG_CACHE_HOME/speedup-bench/shapes-<machine>-<device>.json,
next to the big-GEMM rate and under its rules (another device model or torch measures
again), and measured again when the preset's shapes changed. An entry is self-contained
(device, torch, each product's shape, count and rate, the copy), so a record, a committed
measurement file and the cache carry the same thing, and `step_seconds` prices any of them
without torch: the leaderboard never imports torch.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from bench.step_cost import min_bytes_per_step, step_matmuls

KIND = "measured at the step's shapes"


def step_parts(entry: dict) -> tuple[float, float]:
    """One step at an entry's measured rates, in seconds: (every product's FLOPs at its
    shape's rate, the step's minimum bytes at the copy bandwidth)."""
    matmul_s = sum(2.0 * m["batch"] * m["m"] * m["n"] * m["k"] * m["count"] / m["flops_per_s"]
                   for m in entry["matmuls"])
    return matmul_s, entry["step_bytes"] / entry["bytes_per_s"]


def step_seconds(entry: dict) -> float:
    """The shape-aware ceiling's time for one step: the sum of `step_parts`."""
    return sum(step_parts(entry))


def _shapes(matmuls) -> list[list]:
    return [[m.name, m.m, m.n, m.k, m.batch, m.count] for m in matmuls]


def _rates(stmt: str, arrays: dict, seconds: float, threads: tuple[int, ...]) -> dict:
    """Calls per second of `stmt` with each thread count (median over blocks)."""
    from torch.utils.benchmark import Timer

    rates = {}
    for n in threads:
        timer = Timer(stmt, globals=arrays, num_threads=n)
        timer.timeit(1)  # warm-up: first-touch pages, BLAS setup
        rates[n] = 1.0 / timer.blocked_autorange(min_run_time=seconds).median
    return rates


def measure_shapes(cfg: dict, preset: str, device: str, *, seconds: float = 0.1) -> dict:
    """This machine's float32 rate at every distinct product shape of cfg's training step
    and its copy bandwidth at the step's minimum bytes, as a cache entry; `seconds`: the
    least time each shape is timed for. On a CPU each is timed with one thread and with
    torch's threads as configured, and the faster counts: beside other work, 2 threads fell
    to 1.7 GFLOP/s at 2048x128x128 where one thread kept 94.7
    (bench/measurements/2026-12-07-shape-ceiling.json, cpu run 4)."""
    import torch

    from correctness.provenance import device_name

    threads = (torch.get_num_threads(),) if device == "cuda" else tuple(
        sorted({1, torch.get_num_threads()}))
    matmuls = step_matmuls(cfg)
    rates = {}
    for shape in dict.fromkeys(m.shape for m in matmuls):
        batch, m, n, k = shape
        lead = (batch,) if batch > 1 else ()
        arrays = {"a": torch.randn(*lead, m, k, device=device),
                  "b": torch.randn(*lead, k, n, device=device),
                  "c": torch.empty(*lead, m, n, device=device)}
        stmt = f"torch.{'bmm' if lead else 'mm'}(a, b, out=c)"
        calls = _rates(stmt, arrays, seconds, threads)
        rates[shape] = {str(t): 2.0 * batch * m * n * k * r for t, r in calls.items()}
    step_bytes = min_bytes_per_step(cfg)
    src = torch.empty(max(1, int(step_bytes) // 8), device=device).uniform_()
    copies = _rates("dst.copy_(src)", {"src": src, "dst": torch.empty_like(src)}, seconds,
                    threads)
    entry = {
        "kind": KIND, "preset": preset, "device": device_name(device), "device_kind": device,
        "torch": torch.__version__, "threads": None if device == "cuda" else list(threads),
        "dtype": "float32", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "flops_per_step": sum(m.flops for m in matmuls), "step_bytes": step_bytes,
        "bytes_per_s": 2.0 * src.numel() * 4 * max(copies.values()),  # read + write
        "matmuls": [{"name": m.name, "m": m.m, "n": m.n, "k": m.k, "batch": m.batch,
                     "count": m.count, "flops_per_s": max(rates[m.shape].values()),
                     "flops_per_s_by_threads": rates[m.shape]} for m in matmuls],
    }
    entry["seconds_per_step"] = step_seconds(entry)
    return entry


# ---------------------------------------------------------------------------- cache

def shapes_path(device: str) -> Path:
    """Where this machine's shape measurements for `device` are cached (no torch import)."""
    from bench.windows import machine_id

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "speedup-bench" / f"shapes-{machine_id()}-{device}.json"


def cache_entries(device: str) -> list[dict]:
    """Every entry cached for `device` on this machine, unchecked (the leaderboard matches
    them to a track by device name, preset and FLOPs per step)."""
    try:
        return list(json.loads(shapes_path(device).read_text())["presets"].values())
    except (OSError, ValueError, KeyError, AttributeError):
        return []


def cached_shapes(cfg: dict, preset: str, device: str) -> dict | None:
    """The cached entry of `preset`, if it was measured on this device model, with this
    torch, at cfg's current shapes; None otherwise. Never measures."""
    import torch

    from correctness.provenance import device_name

    for entry in cache_entries(device):
        if (entry.get("preset") == preset and entry.get("device") == device_name(device)
                and entry.get("torch") == torch.__version__
                and [[m["name"], m["m"], m["n"], m["k"], m["batch"], m["count"]]
                     for m in entry["matmuls"]] == _shapes(step_matmuls(cfg))):
            return entry
    return None


def ensure_shapes(cfg: dict, preset: str, device: str, *, refresh: bool = False) -> dict:
    """The cached entry of `preset`, measured and cached first when there is none (or
    `refresh`). Measure it alone on the device: anything else running lowers it."""
    entry = None if refresh else cached_shapes(cfg, preset, device)
    if entry is None:
        entry = measure_shapes(cfg, preset, device)
        same = [e for e in cache_entries(device) if e.get("device") == entry["device"]
                and e.get("torch") == entry["torch"] and e.get("preset") != preset]
        presets = {e["preset"]: e for e in [*same, entry]}
        path = shapes_path(device)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"presets": presets}, indent=1) + "\n")
        os.replace(tmp, path)  # whole or not at all: readers never see half a file
    return entry
