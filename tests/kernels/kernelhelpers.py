"""Shared by the per-slot kernel tests: run the judge's kernel check at small shapes (the
Triton interpreter is slow, so the presets' larger shapes are left to GPU runs)."""

from __future__ import annotations

from correctness.kernel_check import SMALL_SHAPES, check_kernel, preset_shape
from kernels import registry


def assert_passes_kernel_check(slot: str, seed: int, shapes=None) -> None:
    shapes = shapes or SMALL_SHAPES[slot] + [preset_shape(slot, "tiny")]
    report = check_kernel(slot, registry.get(slot, "triton"), "cpu", shapes=shapes, seed=seed)
    assert report.passed, report.failures
