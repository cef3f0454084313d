"""The roofline of one training step: FLOPs and minimum bytes from the preset alone, the
device's peaks (datasheet table, or measured with one large matmul and one large copy),
and what a timed run achieved against them.

FLOPs. Matrix products only (elementwise work is bytes, not FLOPs), 2 FLOPs per
multiply-add, training = forward + backward = 3x forward (the backward computes two
products per forward product: the gradient of the input and of the weight). Per token and
layer the forward does
    qkv 2*d*3d + out-projection 2*d*d + MLP 2*(2*d*4d)        = 24 d^2
    scores q k^T 2*T*d + probs @ v 2*T*d                       = 4 T d   (full T x T,
        as the naive baseline computes it; a causal kernel that skips the masked half
        does half of this)
and the tied output head 2*d*V once per token.

Minimum bytes. A lower bound on the memory traffic of one step for an implementation
that keeps float32 master weights and AdamW moments (as the task's training requires),
makes one pass over the weights per phase, and fuses everything else on chip. With P
parameters, N = batch * seq_len tokens, d = d_model, L = n_layer:
    weights      forward reads W (4P), backward reads W (4P) and writes grad (4P),
                 AdamW reads W, grad, m, v (16P) and writes W, m, v (12P)      = 40 P
    activations  each block's input is saved in the forward and re-read in the
                 backward (checkpointing at block boundaries: the least a backward
                 can store without recomputing the whole forward), and the residual
                 gradient is read and written once per block: 4 * 4 N d per layer  = 16 N d L
    tokens       the batch's int64 ids, seq_len + 1 per sequence                = 8 B (T+1)
Logits are never materialised by a fused head + cross-entropy, so they cost nothing here.
A cache that holds all weights across phases (small presets on a 50 MB L2) can beat this
bound; it is a yardstick for arithmetic intensity, not any real kernel's traffic.

Shapes. `step_matmuls` lists the step's products one by one (their FLOPs are
`flops_per_step`), so that bench/shape_ceiling.py can price each at the rate this machine
reaches at its shape: the shape-aware ceiling. The big-GEMM ceiling below prices them all at
one large matmul's rate: an upper bound, which smaller products need not reach.

Ceilings. A GPU has datasheet peaks; a CPU has none worth trusting, so its ceiling is
measured (`measure_ceiling`: an fp32 matmul and a copy) and cached per machine and device in
$XDG_CACHE_HOME/speedup-bench/ceiling-<machine>-<device>.json (`ensure_ceiling` measures
when there is none, `cached_ceiling` only reads). A record's roofline uses the ceiling it is
given, else the cached measurement, else the datasheet.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch


def flops_per_step(cfg: dict) -> float:
    d, T, V, L = cfg["d_model"], cfg["seq_len"], cfg["vocab_size"], cfg["n_layer"]
    forward_per_token = L * (24 * d * d + 4 * T * d) + 2 * d * V
    return 3.0 * forward_per_token * cfg["batch_size"] * T


@dataclass(frozen=True)
class Matmul:
    """One matrix product of a training step: `batch` independent (m x k) @ (k x n)
    products in one call (attention's per-sequence, per-head products), made `count`
    times a step (once per layer)."""
    name: str
    m: int
    n: int
    k: int
    batch: int = 1
    count: int = 1

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(batch, m, n, k): what a throughput measurement is keyed by."""
        return (self.batch, self.m, self.n, self.k)

    @property
    def flops(self) -> float:
        """Per step, all `count` calls."""
        return 2.0 * self.batch * self.m * self.n * self.k * self.count


def step_matmuls(cfg: dict) -> list[Matmul]:
    """Every matrix product of one training step at cfg's shapes, forward and backward;
    their FLOPs add up to `flops_per_step`. A linear layer y = x W^T, x (N, in), W (out,
    in), N = batch * seq_len tokens, computes y (N, out, in), then dx = dy W (N, in, out)
    and dW = dy^T x (out, in, N). Attention, per sequence and head (hd = d / n_head):
    s = q k^T (T, T, hd), y = p v (T, hd, T); backward dp = dy v^T (T, T, hd), dv = p^T dy,
    dq = ds k, dk = ds^T q (each T, hd, T). The tied head is a linear layer d -> vocab."""
    B, T, d, L = cfg["batch_size"], cfg["seq_len"], cfg["d_model"], cfg["n_layer"]
    N, hd, heads = B * T, d // cfg["n_head"], B * cfg["n_head"]
    linears = (("attn.c_attn", d, 3 * d, L), ("attn.c_proj", d, d, L),
               ("mlp.c_fc", d, 4 * d, L), ("mlp.c_proj", 4 * d, d, L),
               ("lm_head", d, cfg["vocab_size"], 1))
    found = []
    for name, d_in, d_out, count in linears:
        found += [Matmul(f"{name} forward", N, d_out, d_in, 1, count),
                  Matmul(f"{name} grad input", N, d_in, d_out, 1, count),
                  Matmul(f"{name} grad weight", d_out, d_in, N, 1, count)]
    return found + [Matmul(f"attention {name}", T, n, k, heads, L) for name, n, k in (
        ("q k^T", T, hd), ("p v", hd, T), ("grad p", T, hd), ("grad v", hd, T),
        ("grad q", hd, T), ("grad k", hd, T))]


def param_count(cfg: dict) -> int:
    from baseline.model import param_shapes

    return sum(math.prod(shape) for shape in param_shapes(cfg).values())


def min_bytes_per_step(cfg: dict) -> float:
    """The lower bound derived in the module docstring, in bytes."""
    B, T, d, L = cfg["batch_size"], cfg["seq_len"], cfg["d_model"], cfg["n_layer"]
    weights = 40 * param_count(cfg)
    activations = 16 * B * T * d * L
    tokens = 8 * B * (T + 1)
    return float(weights + activations + tokens)


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
    """What this machine does at best: one large square matmul (bf16 on CUDA, the fastest
    dtype a legal solution may use; float32 on CPU, where bf16 is usually slower) and one
    large copy (bytes read + written). The best of `repeats` after a warm-up: a ceiling is
    what the device can do, not what it usually does."""
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
    new BLAS or a new GPU measures again); None otherwise. Never measures."""
    from correctness.provenance import device_name

    try:
        ceiling = json.loads(ceiling_path(device).read_text())
    except (OSError, ValueError):
        return None
    same = (ceiling.get("device") == device_name(device)
            and ceiling.get("torch") == torch.__version__)
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
    from bench.shape_ceiling import step_seconds
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
    from bench.shape_ceiling import cached_shapes

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
