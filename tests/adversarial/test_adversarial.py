"""Every threat of docs/design.md's "Threat model" against the real judge: each solution in
solutions/ tries one exploit (its banner says which), and each test asserts that it is
rejected BY THE CHECK MEANT TO CATCH IT. Runtime defences are also shown with the static
scan switched off (a test-only option), and some with the audit hook off too, so the layer
behind each one is exercised."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from strays import gone, printed_pids

from correctness.sandbox import CACHE_ROOT, run_solution
from correctness.static_scan import scan
from correctness.training_check import check_training, compare

SOLUTIONS = Path(__file__).parent / "solutions"

# ---------------------------------------------------------------------------- static scan

STATIC = [
    ("clock_patch", "timer_patch"), ("cache_in_sandbox", "import"), ("cache_outside", "path"),
    ("read_secrets", "import"), ("copy_reference", "import"), ("background_thread", "import"),
    ("background_process", "import"), ("escaped_process", "import"), ("network", "import"),
    ("malicious_pickle", "import"), ("import_judge", "import"),
    ("obfuscated_exec", "forbidden_call"),
]


@pytest.mark.parametrize("name,rule", STATIC)
def test_static_scan_rejects_before_anything_runs(name, rule, short_cfg, short_inputs):
    assert rule in {f.rule for f in scan(SOLUTIONS / name)}
    result = run_solution(SOLUTIONS / name, short_cfg, short_inputs)
    assert (result.ok, result.check) == (False, "static_scan")
    assert f"[{rule}]" in result.message


# ---------------------------------------------------------------------------- runtime

RUNTIME = [
    ("cache_outside", "forbidden_call", "open"),
    ("copy_reference", "forbidden_call", "glob.glob"),
    ("network", "forbidden_call", "socket"),
    ("import_judge", "forbidden_call", "import"),
    ("obfuscated_exec", "forbidden_call", "os.system"),
    ("background_process", "forbidden_call", "os.fork"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,check,event", RUNTIME)
def test_audit_hook_refuses_what_the_scan_would_have(name, check, event, short_cfg,
                                                     short_inputs):
    result = run_solution(SOLUTIONS / name, short_cfg, short_inputs, static_scan=False)
    assert (result.ok, result.check) == (False, check)
    assert any(r["event"].startswith(event) for r in result.refused), result.refused


@pytest.mark.slow
def test_writing_harness_files_passes_the_scan_but_not_the_hook(short_cfg, short_inputs):
    target = Path(__file__).parents[2] / "correctness" / "tolerances.json"
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    assert scan(SOLUTIONS / "write_harness_files") == []
    result = run_solution(SOLUTIONS / "write_harness_files", short_cfg, short_inputs)
    assert result.check == "forbidden_call"
    assert "judge's own files" in result.message
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before


@pytest.mark.slow
def test_secrets_never_reach_the_child(short_cfg, short_inputs, monkeypatch):
    monkeypatch.setenv("SPEEDUP_TEST_SECRET", "hunter2")
    result = run_solution(SOLUTIONS / "read_secrets", short_cfg, short_inputs,
                          static_scan=False)
    assert result.check == "forbidden_call"
    events = " ".join(r["detail"] for r in result.refused)
    assert "/environ" in events and "tolerances.json" in events
    env_line = next(line for line in result.output_tail.splitlines() if line.startswith("ENV"))
    assert "SPEEDUP_TEST_SECRET" not in env_line and "HOME" in env_line


@pytest.mark.slow
def test_parent_environ_is_unreadable_even_without_the_hook(short_cfg, short_inputs,
                                                             monkeypatch):
    """The structural defence behind the hook in process isolation: the parent is
    non-dumpable while a child runs, and a root child has dropped its capabilities, so
    the kernel says no."""
    monkeypatch.setenv("SPEEDUP_TEST_SECRET", "hunter2")
    result = run_solution(SOLUTIONS / "read_secrets", short_cfg, short_inputs,
                          static_scan=False, audit=False, isolation="process")
    assert result.ok, result.message
    assert "PARENT-ENVIRON denied (PermissionError)" in result.output_tail
    assert "hunter2" not in result.output_tail


@pytest.mark.slow
def test_in_namespaces_the_judge_is_not_even_there(namespaces, short_cfg, short_inputs,
                                                   monkeypatch):
    """With namespaces the judge's process and files are outside the child's world: its
    parent is the namespace's init (which holds only the scrubbed environment), and the
    checkout beyond baseline/ does not exist."""
    monkeypatch.setenv("SPEEDUP_TEST_SECRET", "hunter2")
    result = run_solution(SOLUTIONS / "read_secrets", short_cfg, short_inputs,
                          static_scan=False, audit=False)
    assert result.ok and result.isolation == "namespaces", result.message
    assert "JUDGE-FILE denied (FileNotFoundError)" in result.output_tail
    assert "hunter2" not in result.output_tail


@pytest.mark.slow
def test_weights_cached_in_the_sandbox_never_reach_the_next_run(short_cfg, short_inputs):
    for _ in range(2):
        result = run_solution(SOLUTIONS / "cache_in_sandbox", short_cfg, short_inputs,
                              static_scan=False)
        assert result.ok, result.message
        assert "CACHE MISS" in result.output_tail and "CACHE HIT" not in result.output_tail
    assert not any(CACHE_ROOT.rglob("cheat-cache.safetensors"))


@pytest.mark.slow
def test_clock_patch_cannot_touch_the_parents_clock(short_cfg, short_inputs):
    result = run_solution(SOLUTIONS / "clock_patch", short_cfg, short_inputs,
                          static_scan=False)
    assert result.ok, result.message
    assert "patched clock reads 0.0 and 0.0" in result.output_tail
    assert result.seconds is not None and result.seconds > 0.0


@pytest.mark.slow
def test_background_threads_alive_after_train_are_rejected(short_cfg, short_inputs):
    """The harness's own check, behind the hook: both threads, the one started at import
    time included, are still running when train returns."""
    result = run_solution(SOLUTIONS / "background_thread", short_cfg, short_inputs,
                          static_scan=False, audit=False)
    assert result.check == "threads"
    assert result.message.count("solution.py") == 2


@pytest.mark.skipif(sys.version_info < (3, 12), reason="thread audit events: Python 3.12+")
def test_thread_start_is_refused_where_python_audits_it(short_cfg, short_inputs):
    result = run_solution(SOLUTIONS / "background_thread", short_cfg, short_inputs,
                          static_scan=False)
    assert result.check == "forbidden_call"
    assert any(r["event"].startswith("_thread.") for r in result.refused)


# The process table checks below read pids the child printed, which only mean something
# outside the child's PID namespace in process isolation (namespaces: test_isolation.py).

@pytest.mark.slow
def test_forked_process_dies_with_the_group(short_cfg, short_inputs):
    result = run_solution(SOLUTIONS / "background_process", short_cfg, short_inputs,
                          static_scan=False, audit=False, isolation="process")
    forked = printed_pids(result.output_tail, "FORKED")
    assert forked and all(gone(pid) for pid in forked)


@pytest.mark.slow
def test_killed_mid_run_leaves_no_process_even_one_that_escaped(short_cfg, short_inputs):
    result = run_solution(SOLUTIONS / "escaped_process", short_cfg, short_inputs,
                          static_scan=False, audit=False, run_timeout=5, isolation="process")
    assert result.check == "run_timeout"
    pids = printed_pids(result.output_tail, "MAIN") + printed_pids(result.output_tail,
                                                                   "ESCAPED")
    assert len(pids) == 2 and all(gone(pid) for pid in pids)


@pytest.mark.slow
def test_done_before_results_is_rejected_and_leaves_no_process(short_cfg, short_inputs):
    result = run_solution(SOLUTIONS / "done_early", short_cfg, short_inputs,
                          static_scan=False, isolation="process")
    assert result.check == "protocol"
    assert "before its results existed" in result.message
    main = printed_pids(result.output_tail, "MAIN")
    assert main and all(gone(pid) for pid in main)


@pytest.mark.slow
def test_malicious_pickle_is_never_unpickled(short_cfg, short_inputs):
    marker = Path("/tmp/pickle-ran")
    marker.unlink(missing_ok=True)
    result = run_solution(SOLUTIONS / "malicious_pickle", short_cfg, short_inputs,
                          static_scan=False)
    assert (result.check, marker.exists()) == ("results", False)
    assert "unreadable results" in result.message


@pytest.mark.slow
@pytest.mark.parametrize("name,check,words", [
    ("nan_weights", "finite", "ln_f.weight"),
    ("wrong_shapes", "results", "h.0.attn.c_attn.weight"),
    ("crash", "crash", "deliberate crash"),
])
def test_broken_results_and_crashes_get_their_verdict(name, check, words, short_cfg,
                                                      short_inputs):
    result = run_solution(SOLUTIONS / name, short_cfg, short_inputs)
    assert (result.ok, result.check) == (False, check)
    assert words in result.message


@pytest.mark.slow
def test_hang_is_killed_at_the_run_timeout(short_cfg, short_inputs):
    result = run_solution(SOLUTIONS / "hang", short_cfg, short_inputs, run_timeout=2)
    assert result.check == "run_timeout"


@pytest.mark.slow
def test_hang_at_import_is_bounded_by_the_setup_timeout(short_cfg, short_inputs):
    result = run_solution(SOLUTIONS / "hang_at_import", short_cfg, short_inputs,
                          setup_timeout=15)
    assert result.check == "setup_timeout"
    assert "importing solution" in result.output_tail


@pytest.mark.slow
def test_runaway_allocation_is_out_of_memory(short_cfg, short_inputs):
    result = run_solution(SOLUTIONS / "oom", short_cfg, short_inputs, memory_limit=4 << 30)
    assert result.check == "oom", result.message


# ---------------------------------------------------------------------------- training

TRAINING = [
    ("import_time_work", {"weights", "trajectory"}),
    ("fewer_steps", {"weights", "trajectory", "heldout_loss"}),
    ("half_steps", {"weights", "trajectory", "heldout_loss"}),
    ("frozen_layer", {"weights", "trajectory", "heldout_loss"}),
    ("changed_lr", {"trajectory", "heldout_loss"}),
    ("shuffled_batches", {"weights", "trajectory"}),
    ("precision_cut", {"trajectory", "heldout_loss"}),
    ("fp16_master_weights", {"trajectory", "heldout_loss", "weights"}),
    ("faked_losses", {"trajectory"}),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,metrics", TRAINING)
def test_training_cheats_fail_the_training_checks(name, metrics, reference, tiny_cfg,
                                                  tiny_inputs):
    assert scan(SOLUTIONS / name) == []
    cand = run_solution(SOLUTIONS / name, tiny_cfg, tiny_inputs)
    assert cand.ok, cand.message
    checks = compare(reference["ref"], cand, tiny_cfg, tiny_inputs["init"],
                     reference["heldout"], reference["tolerances"])
    failed = {c.name for c in checks if not c.passed}
    assert metrics <= failed, checks
    assert {c.name for c in checks} >= {"results", "finite"}


@pytest.mark.slow
def test_full_check_rejects_skipped_steps_on_a_secret_seed():
    verdict = check_training(SOLUTIONS / "fewer_steps", "tiny", "cpu", kernel_checks=False)
    assert not verdict.passed and verdict.seed_hidden
    assert verdict.rejected_by in {"heldout_loss", "weights", "trajectory"}


@pytest.mark.slow
def test_stale_buffer_kernel_is_rejected_by_the_kernel_check():
    verdict = check_training(SOLUTIONS / "stale_buffer", "tiny", "cpu", seed=5)
    assert verdict.rejected_by == "kernels"
    assert not verdict.kernel_reports["gelu"]["passed"]
    assert verdict.cand is None  # rejected before any training ran
