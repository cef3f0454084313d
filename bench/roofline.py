"""The roofline of one training step: its FLOPs and minimum bytes (bench/step_cost.py, from
the preset alone), the device's reference rates (a GPU's datasheet peaks, or measured with
one large matmul and one large copy), and what a timed run achieved against them.

The big-GEMM rate prices all of the step's products at one large matmul's rate, as torch
reaches it on this machine: a reference, not a bound. A step's smaller products usually run
slower, and a hand-written kernel can run faster: range_cpp's products run at 107-115
GFLOP/s on one core (bench/measurements/2026-12-07-range-ladder.json, range_cpp.gemm), where
torch's 2048^3 matmul ran at 93.5 on one thread (the ceiling its official record carries,
results/20261207T151512_range_cpu_range-cpp_08e7992d.json). So a record's
`fraction_of_ceiling` can pass 1 and its `roofline_bound_s` is no lower limit on a run's
time. bench/shape_ceiling.py prices each product at the rate this machine reaches at its
own shape: the shape-aware ceiling, an estimate, not a proof.

The FLOPs are bench/step_cost.py's count, attention over the full T x T: a causal kernel
that skips the masked half does fewer, so its achieved FLOP/s overstates the work it did.

Ceilings (the code's and the records' name for the big-GEMM rate and the copy bandwidth).
A GPU has datasheet peaks; a CPU has none worth trusting, so its ceiling is measured
(`measure_ceiling`: an fp32 matmul and a copy) and cached per machine and device in
$XDG_CACHE_HOME/speedup-bench/ceiling-<machine>-<device>.json (`ensure_ceiling` measures
when there is none, `cached_ceiling` only reads). A record's roofline uses the ceiling it is
given, else the cached measurement, else the datasheet.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from bench.shape_ceiling import cached_shapes, step_seconds
from bench.step_cost import flops_per_step, min_bytes_per_step

# ---------------------------------------------------------------------------- device peaks

@dataclass(frozen=True)
class Peak:
    """Datasheet peaks (dense, i.e. without 2:4 sparsity) of one device model."""
    name: str  # exactly as torch.cuda.get_device_name() reports it
    fp32_flops: float  # CUDA cores, no tensor cores
    tf32_flops: float  # tensor cores, dense
    bf16_flops: float  # tensor cores, dense
    bytes_per_s: float  # DRAM bandwidth
    source: str

    def to_dict(self) -> dict:
        return {**asdict(self), "kind": "datasheet"}


_T = 1e12
# NVIDIA's datasheets list tensor-core numbers "with sparsity"; dense is half of that.
# Names are matched exactly: variants of one chip (PCIe, NVL, 40GB) have other peaks.
DATASHEET_PEAKS = {p.name: p for p in (
    Peak("NVIDIA H100 80GB HBM3", 67 * _T, 494.5 * _T, 989.5 * _T, 3.35e12,
         "NVIDIA H100 Tensor Core GPU datasheet, H100 SXM column (989 / 1,979 TFLOPS "
         "TF32 / BF16 listed with sparsity, halved)"),
    Peak("NVIDIA H100 PCIe", 51 * _T, 378 * _T, 756.5 * _T, 2.0e12,
         "NVIDIA H100 Tensor Core GPU datasheet, H100 PCIe column (756 / 1,513 TFLOPS "
         "TF32 / BF16 listed with sparsity, halved)"),
    Peak("NVIDIA H200", 67 * _T, 494.5 * _T, 989.5 * _T, 4.8e12,
         "NVIDIA H200 Tensor Core GPU datasheet, H200 SXM column (989 / 1,979 TFLOPS "
         "TF32 / BF16 listed with sparsity, halved)"),
    Peak("NVIDIA A100-SXM4-80GB", 19.5 * _T, 156 * _T, 312 * _T, 2.039e12,
         "NVIDIA A100 Tensor Core GPU datasheet, A100 80GB SXM column (dense)"),
)}


def datasheet_peak(name: str) -> Peak | None:
    """The table's entry for a device name, or None (no CPU has one: CPUs vary too much)."""
    return DATASHEET_PEAKS.get(name)


# ---------------------------------------------------------------------------- measured ceiling

def _cuda_seconds(fn, repeats: int) -> float:
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(repeats):
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return min(times)


def _cpu_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure_ceiling(device: str, *, matmul_n: int | None = None,
                    copy_bytes: int | None = None, repeats: int = 5) -> dict:
    """The big-GEMM rate: one large square matmul through torch (bf16 on CUDA, the fastest
    dtype a legal solution may use; float32 on CPU, where bf16 is usually slower), on a CPU
    with one thread per core this process may use (the entry's `threads`: what a timed run
    gets, whatever this process was started with), and one large copy (bytes read +
    written). The best of `repeats` after a warm-up: what the device gives that call, not
    what it usually does; a reference rate, not a bound (the module docstring)."""
    cuda = device == "cuda"
    if cuda:
        return _measure(device, matmul_n, copy_bytes, repeats)
    threads = torch.get_num_threads()
    torch.set_num_threads(cpu_cores())
    try:
        return _measure(device, matmul_n, copy_bytes, repeats)
    finally:
        torch.set_num_threads(threads)


def cpu_cores() -> int:
    """The cores this process may run on: the threads a CPU ceiling is measured with."""
    return len(os.sched_getaffinity(0))


def _measure(device: str, matmul_n: int | None, copy_bytes: int | None, repeats: int) -> dict:
    from correctness.provenance import device_name

    cuda = device == "cuda"
    n = matmul_n or (8192 if cuda else 2048)
    size = copy_bytes or (1 << 30 if cuda else 1 << 28)
    dtype = torch.bfloat16 if cuda else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    src = torch.empty(size // 4, device=device, dtype=torch.float32).uniform_()
    dst = torch.empty_like(src)
    seconds = _cuda_seconds if cuda else _cpu_seconds

    def matmul() -> None:
        torch.mm(a, b)

    def copy() -> None:
        dst.copy_(src)

    matmul(), copy()  # warm-up: library handles, page faults, clocks up
    matmul_s, copy_s = seconds(matmul, repeats), seconds(copy, repeats)
    return {"kind": "measured", "device": device_name(device),
            "matmul_dtype": str(dtype).removeprefix("torch."), "matmul_n": n,
            "flops_per_s": 2.0 * n**3 / matmul_s,
            "copy_bytes": 2 * src.numel() * 4, "bytes_per_s": 2.0 * src.numel() * 4 / copy_s,
            "torch": torch.__version__, "threads": None if cuda else torch.get_num_threads()}


def ceiling_path(device: str) -> Path:
    """Where this machine's measured ceiling for `device` is cached."""
    from bench.windows import machine_id

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "speedup-bench" / f"ceiling-{machine_id()}-{device}.json"


def cached_ceiling(device: str) -> dict | None:
    """The cached measurement, if it was made on this device model with this torch (a
    new BLAS or a new GPU measures again) and, on a CPU, on every core (a cache written by a
    one-thread process measures again); None otherwise. Never measures."""
    from correctness.provenance import device_name

    try:
        ceiling = json.loads(ceiling_path(device).read_text())
    except (OSError, ValueError):
        return None
    same = (ceiling.get("device") == device_name(device)
            and ceiling.get("torch") == torch.__version__
            and (device == "cuda" or ceiling.get("threads") in (None, cpu_cores())))
    return ceiling if same else None


def ensure_ceiling(device: str, *, refresh: bool = False) -> dict:
    """The cached ceiling, measured and cached first when there is none (or `refresh`).
    Measure it alone on the device: anything else running lowers it."""
    ceiling = None if refresh else cached_ceiling(device)
    if ceiling is None:
        ceiling = measure_ceiling(device)
        path = ceiling_path(device)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(ceiling, indent=1) + "\n")
        os.replace(tmp, path)  # whole or not at all: readers never see half a file
    return ceiling


# ---------------------------------------------------------------------------- achieved

def achieved(cfg: dict, run_seconds: float, device: str, ceiling: dict | None = None,
             shapes: dict | None = None) -> dict:
    """The roofline numbers of one training run of cfg['steps'] steps in run_seconds.
    The ceiling is the measured one when given, else the datasheet's bf16 tensor-core peak
    (the fastest a legal solution could go), else none (CPUs have no table entry).
    `shapes`: a bench.shape_ceiling entry for cfg's step, which gives the shape-aware
    ceiling's time for the run and the fraction of it the run reaches."""
    from correctness.provenance import device_name

    steps = cfg["steps"]
    flops, nbytes = flops_per_step(cfg), min_bytes_per_step(cfg)
    shape_bound_s = steps * step_seconds(shapes) if shapes else None
    result = {
        "flops_per_step": flops, "min_bytes_per_step": nbytes,
        "arithmetic_intensity": flops / nbytes,
        "tokens_per_s": cfg["batch_size"] * cfg["seq_len"] * steps / run_seconds,
        "achieved_flops_per_s": flops * steps / run_seconds,
        "shape_ceiling": shapes, "shape_bound_s": shape_bound_s,
        "fraction_of_shape_ceiling": shape_bound_s / run_seconds if shapes else None,
        "ceiling": None, "fraction_of_ceiling": None, "roofline_bound_s": None,
    }
    peak = datasheet_peak(device_name(device)) if device == "cuda" else None
    if ceiling is not None:
        ceiling_flops, ceiling_bytes = ceiling["flops_per_s"], ceiling["bytes_per_s"]
        result["ceiling"] = ceiling
    elif peak is not None:
        ceiling_flops, ceiling_bytes = peak.bf16_flops, peak.bytes_per_s
        result["ceiling"] = peak.to_dict()
    else:
        return result
    result["fraction_of_ceiling"] = result["achieved_flops_per_s"] / ceiling_flops
    result["roofline_bound_s"] = steps * max(flops / ceiling_flops, nbytes / ceiling_bytes)
    return result


def for_evaluation(evaluation, ceiling: dict | None = None,
                   shapes: dict | None = None) -> dict | None:
    """Roofline numbers of an evaluation's median baseline and candidate runs (None when
    the candidate never finished a timed run), against `ceiling` and the shape measurement
    `shapes`, else this machine's cached ones."""
    from baseline import get_preset

    if evaluation.candidate_median_s is None:
        return None
    ceiling = ceiling or cached_ceiling(evaluation.device)
    cfg = get_preset(evaluation.preset).to_cfg(evaluation.device)
    shapes = shapes or cached_shapes(cfg, evaluation.preset, evaluation.device)
    return {side: achieved(cfg, seconds, evaluation.device, ceiling, shapes)
            for side, seconds in (("candidate", evaluation.candidate_median_s),
                                  ("baseline", evaluation.baseline_median_s))}


def format_rate(flops_per_s: float, device: str) -> str:
    """TFLOP/s on a GPU, GFLOP/s on a CPU, where each reads naturally; 3 digits."""
    if device == "cuda":
        return f"{flops_per_s / 1e12:.3g} TFLOP/s"
    return f"{flops_per_s / 1e9:.3g} GFLOP/s"
