"""Fixtures of the judge's tests: solution directories written on the fly, and one torch
thread in-process (the children get one through tests/conftest.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


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

