"""Which isolation judges a run, and that the fallback says so: namespaces where bwrap
runs, process isolation (the interpreter-level guards alone) where it cannot."""

from __future__ import annotations

import os

import pytest

from correctness.sandbox import BASELINE_DIR, detect_isolation, run_solution
from correctness.sandbox import isolation as iso


def test_ci_runs_with_namespaces():
    """.ci/run installs bubblewrap and sets SPEEDUP_REQUIRE_NAMESPACES: CI must never pass
    on the weaker fallback without saying so."""
    if os.environ.get("SPEEDUP_REQUIRE_NAMESPACES") != "1":
        pytest.skip("only where SPEEDUP_REQUIRE_NAMESPACES=1 (CI)")
    assert detect_isolation().kind == "namespaces", detect_isolation().reason


def test_every_run_names_its_isolation(short_cfg, short_inputs):
    best = detect_isolation().kind
    assert run_solution(BASELINE_DIR, short_cfg, short_inputs).isolation == best
    forced = run_solution(BASELINE_DIR, short_cfg, short_inputs, isolation="process")
    assert forced.ok and forced.isolation == "process"


def test_without_bwrap_runs_fall_back_and_say_why(monkeypatch):
    iso.detect_isolation.cache_clear()
    monkeypatch.setattr(iso.shutil, "which", lambda name: None)
    try:
        found = iso.detect_isolation()
        assert found.kind == "process" and "bubblewrap" in found.reason
        assert "process only" in found.describe() and "bubblewrap" in found.describe()
    finally:
        iso.detect_isolation.cache_clear()


def test_a_refused_namespace_falls_back_with_the_kernels_message(monkeypatch, tmp_path):
    """A bwrap that cannot create namespaces (as in a default Docker container) is found
    out by the probe, not by the first judged run."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    iso.detect_isolation.cache_clear()
    monkeypatch.setattr(iso.shutil, "which", lambda name: str(fake))
    try:
        found = iso.detect_isolation()
        assert found.kind == "process" and "uid map: Permission denied" in found.reason
    finally:
        iso.detect_isolation.cache_clear()


def test_a_check_without_namespaces_says_so_and_still_judges(monkeypatch, capsys):
    from speedup.cli import main

    fallback = iso.Isolation("process", "bwrap (package bubblewrap) is not installed")
    monkeypatch.setattr(iso, "detect_isolation", lambda: fallback)
    assert main(["check", str(BASELINE_DIR), "--preset", "tiny", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "warning: solutions run with process only (bwrap" in captured.err
    assert "isolation of the candidate's run: process" in captured.out
