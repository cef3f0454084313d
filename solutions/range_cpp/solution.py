"""Reference solution `range_cpp`, the top rung of the range track's ladder: the whole
training (forward, backward, clipping, AdamW, every step) in C++, one call from Python.

The C++ (built at import by torch.utils.cpp_extension into the run's TORCH_EXTENSIONS_DIR,
so the sandbox's untimed warm-up compiles it and timed runs load the build):

- train.cpp: the loop. The batch splits into two halves of whole sequences, one per core
  (OpenMP, the runtime torch itself uses), each running forward and backward alone; they
  meet three times a step (add gradients and their norm, AdamW, refresh W^T).
- step.h: a half's forward and backward, the draft's GPT on all its tokens at once.
- gemm.h: register-tiled small matrix products (no BLAS call: README.md has the
  comparison with ATen's at these shapes), bias and residual folded in.
- attention.h, layers.h: causal attention as small products, layer norm, GELU, softmax,
  cross-entropy as vectorised row passes; simd.h: the vector type and exp.

Numerics: float32 (the draft is float64), with fused multiply-adds; every sum in a fixed
order, so a run is bit-identical to the next and to itself on 1 or 2 threads.
"""

from __future__ import annotations

import math

import torch
from torch.utils import cpp_extension

from baseline.model import decays, param_shapes
from baseline.train import lr_at

SOURCES = ("binding.cpp", "train.cpp")
# -march=native: the vector width and instructions of the machine that builds it (the
# build runs where it is timed); -ffp-contract=fast lets a*b+c be one FMA (C++17's ISO
# mode would otherwise forbid it); -fno-math-errno lets sqrt vectorise.
FLAGS = ["-O3", "-march=native", "-ffp-contract=fast", "-fno-math-errno", "-fopenmp"]


def build(defines: tuple[str, ...] = ()):
    """Compile (or load the cached build of) the extension. `defines` are for measurements
    (README.md): RANGE_PROFILE compiles the phase timers in (profile.h), RANGE_MICRO=n
    sets the micro-batch (step.h). The name carries the CPU's vector level as torch
    reports it, so a cache shared by machines of two levels never hands one a build for
    the other, and the defines, so each variant has a build of its own."""
    here = __file__.rpartition("/")[0]  # the scan allows no os or pathlib
    name = "_".join(["range_cpp", torch.backends.cpu.get_cpu_capability().lower(),
                     *(d.replace("=", "_").lower() for d in defines)])
    return cpp_extension.load(
        name=name,
        sources=[f"{here}/{source}" for source in SOURCES],
        extra_cflags=FLAGS + [f"-D{d}" for d in defines],
        extra_ldflags=["-fopenmp"],
    )


native = build()


def train(cfg: dict, init: dict[str, torch.Tensor], tokens: torch.Tensor,
          batches: torch.Tensor) -> dict:
    shapes = param_shapes(cfg)
    slots = native.layout(cfg)
    if sorted(name for name, *_ in slots) != sorted(shapes):
        raise ValueError("range_cpp: the C++ layout names other parameters than the model's")
    flat = torch.empty(sum(size for _, _, size, _ in slots), dtype=torch.float32)
    for name, offset, size, decay in slots:
        if size != math.prod(shapes[name]) or decay != decays(name, shapes[name]):
            raise ValueError(f"range_cpp: the C++ layout disagrees with the model on {name}")
        flat[offset : offset + size] = init[name].reshape(-1)
    lrs = torch.tensor([lr_at(step, cfg) for step in range(1, cfg["steps"] + 1)],
                       dtype=torch.float64)
    losses = torch.empty(cfg["steps"], dtype=torch.float64)
    tokens = tokens.to("cpu", torch.int64).contiguous()
    batches = batches.to("cpu", torch.int64).contiguous()
    if tuple(batches.shape) != (cfg["steps"], cfg["batch_size"]):
        raise ValueError(f"range_cpp: batches must be (steps, batch_size), not {batches.shape}")
    # the C++ reads these by address: every one is contiguous, of the dtype and size it
    # expects (train.h), and alive until it returns
    native.train(cfg, flat.data_ptr(), tokens.data_ptr(), tokens.numel(), batches.data_ptr(),
                 lrs.data_ptr(), losses.data_ptr())
    state_dict = {name: flat[offset : offset + size].view(shapes[name]).clone()
                  for name, offset, size, _ in slots}
    return {"state_dict": state_dict, "losses": losses.tolist()}
