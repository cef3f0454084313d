"""Fixtures of the adversarial tests: one shared reference run of the full `tiny` preset."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def reference(tiny_cfg, tiny_inputs) -> dict:
    """The baseline's sandboxed run on the full `tiny` preset, the held-out text and the
    calibrated thresholds: what every training-check cheat is compared with."""
    from baseline import make_heldout
    from correctness.sandbox import BASELINE_DIR, run_solution
    from correctness.tolerances import Source

    ref = run_solution(BASELINE_DIR, tiny_cfg, tiny_inputs)
    assert ref.ok, ref.message
    return {"ref": ref, "heldout": make_heldout(tiny_cfg, seed=4321),
            "tolerances": Source().thresholds("tiny", "cpu")}


@pytest.fixture
def namespaces() -> None:
    """Skip where this machine runs solutions without namespaces (CI requires them:
    tests/correctness/test_isolation.py fails there if they are missing)."""
    from correctness.sandbox import detect_isolation

    isolation = detect_isolation()
    if isolation.kind != "namespaces":
        pytest.skip(f"solutions run without namespaces here: {isolation.reason}")
