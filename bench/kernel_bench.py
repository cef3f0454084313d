"""Kernel microbenchmarks: every registered slot implementation at the shape it sees in
training on each preset (`baseline.model.slot_shape`, the shapes the kernel check uses too),
forward and forward+backward, with GB/s and TFLOP/s beside each median time.

Timers: `triton.testing.do_bench` on CUDA (median, L2 flushed between calls);
`torch.utils.benchmark` on CPU (blocked_autorange's median). Triton implementations are
skipped on a CPU: there they run only through the interpreter, which is for correctness,
never for timing.

Work per case (N rows of width C; the attention's B*H heads of T x hd; P parameters):
FLOPs count the useful arithmetic (causal attention: the unmasked half of the scores);
bytes are the minimum traffic, each input read once and each output written once, float32:
    layer_norm     fwd 8 N C FLOPs,  bytes 4 (2 N C + 2 C);  bwd 2x the FLOPs, reads x, w,
                   dy, writes dx, dw, db
    attention      fwd 2 B H T^2 hd FLOPs (two products, causal half), bytes 4 * 4 B H T hd;
                   bwd 2.5x the FLOPs (five products), reads q k v o dy, writes dq dk dv
    gelu           fwd 8 n FLOPs, bytes 8 n;  bwd 2x, reads x and dy, writes dx
    cross_entropy  fwd 4 N V FLOPs, bytes 4 N V + 8 N;  bwd reads logits, writes dlogits
    adamw          one step, 12 P FLOPs, reads p g m v and writes p m v: 28 P bytes; no backward
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from baseline import get_preset
from baseline.model import slot_shape

MODES = ("fwd", "fwd+bwd")
# On CUDA only the GPU track's shapes: the cpu preset's are launch-bound there, and the
# one GPU check has about a minute for every case.
DEFAULT_PRESETS = {"cpu": ("tiny", "cpu"), "cuda": ("gpu",)}
TRITON_ON_CPU = ("Triton runs on a CPU only through its interpreter, which is for "
                 "correctness, never for timing")
ADAMW_HAS_NO_BACKWARD = "adamw updates parameters in place: it has no backward"


@dataclass(frozen=True)
class Case:
    slot: str
    impl: str
    preset: str
    mode: str
    needs_triton: bool

    @property
    def name(self) -> str:
        """The benchmark entry's id: slot first, as the kernel naming ladder has it."""
        return f"{self.slot}-{self.impl}-{self.preset}-{self.mode}"


def cases(device: str, presets: tuple[str, ...] | None = None,
          slots: tuple[str, ...] | None = None) -> list[Case]:
    from kernels.registry import implementations

    presets = presets or DEFAULT_PRESETS[device]
    return [Case(impl.slot, impl.name, preset, mode, bool(impl.needs_triton))
            for preset in presets for impl in implementations()
            if slots is None or impl.slot in slots for mode in MODES]


def skip_reason(case: Case, device: str) -> str | None:
    if case.needs_triton and device != "cuda":
        return TRITON_ON_CPU
    if case.slot == "adamw" and case.mode == "fwd+bwd":
        return ADAMW_HAS_NO_BACKWARD
    return None


# ---------------------------------------------------------------------------- inputs and work

def _inputs(slot: str, cfg: dict, device: str) -> tuple[list, dict]:
    """(positional args, keyword args) of one call at the shape the slot sees in training
    (baseline.model.slot_shape); fixed seed, so every implementation sees the same values."""
    g = torch.Generator().manual_seed(0)
    shape = slot_shape(slot, cfg)

    def randn(*dims):
        return torch.randn(*dims, generator=g).to(device)

    if slot == "layer_norm":
        C = shape[-1]
        return [randn(*shape), 1 + 0.1 * randn(C), 0.1 * randn(C), cfg["layer_norm_eps"]], {}
    if slot == "attention":
        return [randn(*shape) for _ in range(3)], {}  # q, k, v
    if slot == "gelu":
        return [randn(*shape)], {}
    if slot == "cross_entropy":
        N, V = shape
        targets = torch.randint(0, V, (N,), generator=g).to(device)
        return [randn(N, V), targets], {}
    params = [randn(*s) for s in shape]  # adamw: one tensor per parameter
    lists = [params, [randn(*s) for s in shape], [torch.zeros_like(p) for p in params],
             [torch.zeros_like(p) for p in params]]
    return lists, {"step": 10, "lr": cfg["lr"], "beta1": cfg["beta1"], "beta2": cfg["beta2"],
                   "eps": cfg["eps"], "weight_decay": cfg["weight_decay"]}


def work(slot: str, cfg: dict, mode: str) -> tuple[float, float]:
    """(FLOPs, minimum bytes) of one call, per the module docstring's table."""
    shape = slot_shape(slot, cfg)
    bwd = mode == "fwd+bwd"
    if slot == "layer_norm":
        N, d = math.prod(shape[:-1]), shape[-1]
        flops, nbytes = 8 * N * d, 4 * (2 * N * d + 2 * d)
        return (3 * flops, nbytes + 4 * (3 * N * d + 3 * d)) if bwd else (flops, nbytes)
    if slot == "attention":
        B, H, T, hd = shape
        per_tensor = B * H * T * hd
        flops = 2 * B * H * T * T * hd
        return ((3.5 * flops, 4 * 4 * per_tensor + 4 * 8 * per_tensor) if bwd
                else (flops, 4 * 4 * per_tensor))
    if slot == "gelu":
        n = math.prod(shape)
        return (24 * n, 8 * n + 12 * n) if bwd else (8 * n, 8 * n)
    if slot == "cross_entropy":
        N, V = shape
        flops, nbytes = 4 * N * V, 4 * N * V + 8 * N
        return (2 * flops, nbytes + 8 * N * V) if bwd else (flops, nbytes)
    P = sum(math.prod(s) for s in shape)  # adamw
    return 12 * P, 28 * P


def make_fn(case: Case, device: str) -> Callable[[], object]:
    """The callable to time: one forward as training runs it (inputs require grad, so the
    kernel saves what its backward needs), or that forward and its backward."""
    from kernels.registry import get

    fn = get(case.slot, case.impl)
    args, kwargs = _inputs(case.slot, get_preset(case.preset).to_cfg(device), device)
    if case.slot == "adamw":
        return lambda: fn(*args, **kwargs)
    leaves = [a.requires_grad_(True) for a in args
              if isinstance(a, torch.Tensor) and a.is_floating_point()]
    if case.mode == "fwd":
        return lambda: fn(*args, **kwargs)
    grad_out = torch.randn_like(fn(*args, **kwargs))

    def forward_backward():
        return torch.autograd.grad(fn(*args, **kwargs), leaves, grad_out)

    return forward_backward


# ---------------------------------------------------------------------------- timing

def median_seconds(fn: Callable[[], object], device: str, min_run_time: float = 0.2) -> float:
    if device == "cuda":
        from triton.testing import do_bench

        return do_bench(fn, warmup=25, rep=100, return_mode="median") / 1e3
    from torch.utils import benchmark

    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn},
                            num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median


def timer_name(device: str) -> str:
    return ("triton.testing.do_bench (median, L2 flushed)" if device == "cuda"
            else "torch.utils.benchmark blocked_autorange (median)")


@dataclass
class Row:
    slot: str
    impl: str
    preset: str
    mode: str
    device: str
    median_ms: float | None = None
    gb_per_s: float | None = None
    tflop_per_s: float | None = None
    flops: float | None = None
    bytes: float | None = None
    skipped: str | None = None  # why the case was not timed
    error: str | None = None  # the case was tried and failed

    def to_dict(self) -> dict:
        return asdict(self)


def bench_case(case: Case, device: str, min_run_time: float = 0.2) -> Row:
    row = Row(case.slot, case.impl, case.preset, case.mode, device)
    row.skipped = skip_reason(case, device)
    if row.skipped:
        return row
    cfg = get_preset(case.preset).to_cfg(device)
    row.flops, row.bytes = work(case.slot, cfg, case.mode)
    try:
        seconds = median_seconds(make_fn(case, device), device, min_run_time)
    except Exception as e:  # one broken kernel must not hide every other result
        row.error = f"{type(e).__name__}: {str(e)[:300]}"
        return row
    row.median_ms = seconds * 1e3
    row.gb_per_s = row.bytes / seconds / 1e9
    row.tflop_per_s = row.flops / seconds / 1e12
    if not math.isfinite(row.median_ms):
        row.error = "non-finite time"
    return row
