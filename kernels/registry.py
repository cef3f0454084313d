"""Every implementation of every slot, by name:

    naive   baseline/ops.py, the reference the judge runs in float64
    torch   kernels/native.py, PyTorch's own fused operators
    triton  kernels/<slot>.py, our Triton kernels (forward and backward)

Modules load on first use of `Impl.fn`, so listing the registry needs no Triton. Triton
kernels run on CUDA, or on a CPU through Triton's interpreter, which `Impl.fn` switches on
when no GPU is present (the variable must be set before the kernel modules are imported).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from baseline.ops import SLOTS

NAMES = ("naive", "torch", "triton")


@dataclass(frozen=True)
class Impl:
    slot: str
    name: str
    needs_triton: bool

    @property
    def module(self) -> str:
        return {"naive": "baseline.ops", "torch": "kernels.native"}.get(
            self.name, f"kernels.{self.slot}")

    @property
    def fn(self) -> Callable:
        if self.needs_triton:
            use_interpreter_without_gpu()
        return getattr(importlib.import_module(self.module), self.slot)


def implementations(slot: str | None = None) -> list[Impl]:
    if slot is not None:
        _check_slot(slot)
    return [Impl(s, name, name == "triton") for s in SLOTS if slot in (None, s) for name in NAMES]


def get(slot: str, name: str) -> Callable:
    _check_slot(slot)
    if name not in NAMES:
        raise ValueError(f"unknown implementation {name!r}; choose one of {', '.join(NAMES)}")
    return Impl(slot, name, name == "triton").fn


def _check_slot(slot: str) -> None:
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r}; choose one of {', '.join(SLOTS)}")


def interpreting() -> bool:
    """True when Triton kernels run through the interpreter (CPU tensors, no GPU)."""
    return os.environ.get("TRITON_INTERPRET") == "1"


def use_interpreter_without_gpu() -> None:
    """On a machine without CUDA the interpreter is the only way a Triton kernel runs."""
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")
