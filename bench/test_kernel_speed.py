"""The kernel microbenchmarks as a pytest-benchmark suite: the same cases as
`speedup bench-kernels` (bench/kernel_bench.py), for the JSON and comparisons that
pytest-benchmark keeps. Not part of the test suite (pyproject's testpaths = tests):

    python -m pytest bench/ --benchmark-json=out/kernels.json
    SPEEDUP_BENCH_PRESETS=gpu python -m pytest bench/ -k attention --benchmark-json=...

Device: CUDA when present, else CPU (where Triton cases are skipped, with the reason).
Presets: $SPEEDUP_BENCH_PRESETS (comma-separated), else bench-kernels' defaults. On CUDA
each timed call ends with a synchronize, so the wall clock sees the kernels' whole work.
"""

from __future__ import annotations

import os

import pytest
import torch

from bench import kernel_bench

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
PRESETS = tuple(p for p in os.environ.get("SPEEDUP_BENCH_PRESETS", "").split(",") if p) or None
CASES = kernel_bench.cases(DEVICE, PRESETS)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_kernel_speed(benchmark, case):
    reason = kernel_bench.skip_reason(case, DEVICE)
    if reason:
        pytest.skip(reason)
    from baseline import get_preset

    fn = kernel_bench.make_fn(case, DEVICE)
    flops, nbytes = kernel_bench.work(case.slot, get_preset(case.preset).to_cfg(DEVICE),
                                      case.mode)
    benchmark.extra_info.update(flops=flops, bytes=nbytes, device=DEVICE)
    if DEVICE == "cuda":
        def timed():
            fn()
            torch.cuda.synchronize()
    else:
        timed = fn
    benchmark(timed)
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(gb_per_s=nbytes / median / 1e9,
                                tflop_per_s=flops / median / 1e12)
