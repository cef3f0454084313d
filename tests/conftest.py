"""Shared fixtures. Triton runs through its interpreter on machines without CUDA, so every
kernel is testable on a laptop CPU; the variable must be set before triton is imported."""

import os

import pytest

try:
    import torch

    _has_cuda = torch.cuda.is_available()
except ImportError:  # pragma: no cover - torch is a hard dependency
    _has_cuda = False
if not _has_cuda:
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture(scope="session")
def tiny_cfg() -> dict:
    from baseline import get_preset

    return get_preset("tiny").to_cfg("cpu")


@pytest.fixture(scope="session")
def tiny_inputs(tiny_cfg) -> dict:
    from baseline import make_inputs

    return make_inputs(tiny_cfg, seed=1234)
