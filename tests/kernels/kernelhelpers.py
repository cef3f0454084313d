"""Shared by the per-slot kernel tests: run the judge's kernel check at small shapes (the
Triton interpreter is slow, so the presets' larger shapes are left to GPU runs).

DEVICE is where the kernels run: CUDA when present (Triton compiled), else the CPU through
Triton's interpreter (tests/conftest.py sets TRITON_INTERPRET=1 there). Triton refuses CPU
tensors outside the interpreter, so on a GPU machine every kernel test must use CUDA."""

from __future__ import annotations

import torch

from correctness.kernel_check import SMALL_SHAPES, check_kernel, preset_shape
from kernels import registry

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def assert_passes_kernel_check(slot: str, seed: int, shapes=None) -> None:
    shapes = shapes or SMALL_SHAPES[slot] + [preset_shape(slot, "tiny")]
    report = check_kernel(slot, registry.get(slot, "triton"), DEVICE, shapes=shapes, seed=seed)
    assert report.passed, report.failures
