"""Load a solution directory the way the sandbox does: as a package whose __path__ is the
directory, so `from .sibling import x` works, with `solution.py` as its submodule."""

from __future__ import annotations

import types
from pathlib import Path

import torch

import baseline
from correctness.trusted import import_solution

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"

# Measured on tiny (seed 1234, CPU), largest per-step loss gap to the baseline over 150
# steps: torch_native 9.5e-7, cpu_expert 9.5e-7; triton (interpreter, 20 steps) 4.8e-7;
# on an H200: torch_native 4.8e-7, triton 1.2e-6 (bf16 autocast: 2.6e-3). The baseline's
# own tests set float32 noise at 1e-5 (ten times the perturbation of the initial weights by
# one float32 rounding; an erf-for-tanh GELU measured 3.1e-5), and these whole-program
# rewrites stay inside it, so they get no wider bound.
FLOAT32_NOISE = 1e-5


def load_solution(name: str) -> types.ModuleType:
    return import_solution(SOLUTIONS / name, f"test_submission_{name}")


def max_loss_gap(a: dict, b: dict) -> float:
    return max(abs(x - y) for x, y in zip(a["losses"], b["losses"], strict=True))


def assert_solution_format(result: dict, cfg: dict) -> None:
    assert len(result["losses"]) == cfg["steps"]
    assert all(isinstance(x, float) for x in result["losses"])
    shapes = baseline.param_shapes(cfg)
    assert {k: tuple(v.shape) for k, v in result["state_dict"].items()} == shapes
    assert all(v.dtype == torch.float32 and v.device.type == "cpu"
               for v in result["state_dict"].values())
