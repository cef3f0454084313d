"""Fixtures of the bench tests; the fakes themselves live in clockfakes.py."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def dirs(tmp_path) -> dict[str, Path]:
    names = ("baseline", "candidate", "twice", "lazy")
    made = {n: tmp_path / n for n in names}
    for path in made.values():
        path.mkdir()
        (path / "solution.py").write_text(f"# fake solution {path.name}\n")
    return made


@pytest.fixture(autouse=True)
def user_cache_home(tmp_path_factory, monkeypatch):
    """Ceilings a test measures or fakes go to a fresh XDG_CACHE_HOME, never into the real
    ~/.cache: a ceiling measured beside a test suite is too low to keep."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
