"""The kernel checks' tolerance table: largest allowed max|impl - ref| / max|ref| per tensor,
by dtype and slot, the reference being `baseline.ops` in float64 on the same rounded inputs.

Every entry is set from a measurement (`python -m correctness.kernel_check --seeds N`
prints the largest error of every registered implementation over N seeds;
`tests/kernels/gpu_measure.py` does it on a GPU, bfloat16 included) with about 10x
headroom: wide enough that no correct kernel fails on a new seed, narrow enough that a
real bug (a wrong constant, a missing term, a dropped block) lands orders of magnitude
above it. Never raise an entry to make a kernel pass; find out why it differs.
"""

from __future__ import annotations

import torch

# float32: the worst errors of every registered implementation (naive in float32, torch,
# triton through its interpreter) over 30 seeds at the default shapes, in
# bench/measurements/2026-12-01-kernel-check-errors-cpu.json; no entry has a committed GPU
# measurement yet (tests/kernels/gpu_measure.py and `python -m correctness.kernel_check
# --device cuda` make one). Each entry is about 10x the worst measured.
TOLERANCES: dict[torch.dtype, dict[str, float]] = {
    torch.float32: {
        # worst 8.6e-6: torch's F.layer_norm, dx of short rows with a large offset / scale
        # (the mean's cancellation); naive and triton 3.4e-6
        "layer_norm": 1e-4,
        # worst 3.4e-6 (torch; naive 2.7e-6, triton 2.9e-6). dq and dk are graded above a
        # floor where they cancel (kernel_check._floors): without it torch's own SDPA
        # reached 3.9e-4 and the Triton kernel 2.8e-3 (dk, (1, 2, 2, 7), v ~ 2 +- 3), about
        # one rounding of the cancelling terms (kernel_check.ATTENTION_ROUNDINGS is 16).
        "attention": 5e-5,
        # worst 1.5e-6: triton (exp-based sigmoid); torch 9.3e-7, naive 4.8e-7
        "gelu": 2e-5,
        # worst 8.0e-7: torch; naive 5.2e-7, triton 4.1e-7
        "cross_entropy": 2e-5,
        # Graded relative to the update, not to |p|: float32 params of size ~3 store an
        # lr = 1e-3 update to within ulp(3) = 2.4e-7, i.e. 2e-4 of it. Worst 1.2e-4, the
        # same for naive, torch and triton (it is the storage rounding, not the kernel)
        "adamw": 2e-3,
    },
    # bfloat16 inputs and outputs (float32 math inside), for kernels used under autocast.
    # Set from the format, not yet from a measurement: rounding an output to bfloat16's 8
    # bits costs up to half an ulp, 2^-9 = 2.0e-3 relative to the largest output, so 1e-2
    # is 5x that; attention also rounds P to bfloat16 before P V (as every bf16 flash
    # kernel does), one more rounding compounded over the keys, hence 5e-2. The naive code
    # run in bf16 rounds every intermediate and is not expected to pass. adamw has no bf16
    # entry: parameters and moments stay float32.
    torch.bfloat16: {
        "layer_norm": 1e-2,
        "attention": 5e-2,
        "gelu": 1e-2,
        "cross_entropy": 1e-2,
    },
}


def tolerance(dtype: torch.dtype, slot: str) -> float:
    if dtype not in TOLERANCES:
        known = ", ".join(str(d).replace("torch.", "") for d in TOLERANCES)
        raise ValueError(f"no kernel tolerances for {dtype}; measured dtypes: {known}")
    if slot not in TOLERANCES[dtype]:
        raise ValueError(f"no {dtype} tolerance for {slot}: it is only checked in float32")
    return TOLERANCES[dtype][slot]
