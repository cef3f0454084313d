"""Load a solution directory the way the sandbox does: as a package whose __path__ is the
directory, so `from .sibling import x` works, with `solution.py` as its submodule."""

from __future__ import annotations

import types
from pathlib import Path

import torch

import baseline
from correctness.trusted import import_solution

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


def load_solution(name: str) -> types.ModuleType:
    return import_solution(SOLUTIONS / name, f"test_submission_{name}")


def assert_solution_format(result: dict, cfg: dict) -> None:
    assert len(result["losses"]) == cfg["steps"]
    assert all(isinstance(x, float) for x in result["losses"])
    shapes = baseline.param_shapes(cfg)
    assert {k: tuple(v.shape) for k, v in result["state_dict"].items()} == shapes
    assert all(v.dtype == torch.float32 and v.device.type == "cpu"
               for v in result["state_dict"].values())
