"""Fixtures of the judge's tests: solution directories written on the fly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


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

