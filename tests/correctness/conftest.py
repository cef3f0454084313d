"""Fixtures of the judge's tests: solution directories written on the fly, and one torch
thread for sandboxed children."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def one_thread_children():
    """Sandboxed children inherit OMP_NUM_THREADS: on a shared 2-core machine torch's
    second thread mostly spin-waits, and `tiny` gains nothing from it."""
    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    yield
    if before is None:
        del os.environ["OMP_NUM_THREADS"]
    else:
        os.environ["OMP_NUM_THREADS"] = before


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """In-process training and evaluation too: with two threads on a loaded 2-core machine,
    torch's second thread spends its time spin-waiting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def write_solution(tmp_path):
    """write_solution(source, **siblings) -> a solution dir holding solution.py."""
    def write(source: str, **siblings: str) -> Path:
        root = tmp_path / "solution"
        root.mkdir(exist_ok=True)
        (root / "solution.py").write_text(textwrap.dedent(source))
        for name, text in siblings.items():
            (root / f"{name}.py").write_text(textwrap.dedent(text))
        return root

    return write


@pytest.fixture(scope="session")
def short_cfg(tiny_cfg) -> dict:
    return {**tiny_cfg, "steps": 10}


@pytest.fixture(scope="session")
def short_inputs(short_cfg) -> dict:
    from baseline import make_inputs

    return make_inputs(short_cfg, seed=99)
