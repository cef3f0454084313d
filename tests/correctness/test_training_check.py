"""Training checks: the metrics are what tolerances.json says they are, compare() turns
them into checks with the right names, and check_training keeps its secrets: the seed
never reaches a child, and held-out text is drawn only once the candidate is dead."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import baseline
from correctness import tolerances, training_check
from correctness.sandbox import BASELINE_DIR, RunResult
from correctness.training_check import check_training, compare, metrics

SOLUTIONS = Path(__file__).parent / "solutions"

THRESHOLDS = {"heldout_loss": 1e-3, "weights": 0.1, "trajectory": 1e-2}


@pytest.fixture(scope="module")
def trained(tiny_cfg, tiny_inputs) -> dict:
    cfg = {**tiny_cfg, "steps": 5}
    return {"cfg": cfg, "run": baseline.train(cfg, **tiny_inputs),
            "init": tiny_inputs["init"], "heldout": baseline.make_heldout(cfg, 3)}


def _ok(run: dict) -> RunResult:
    return RunResult(ok=True, seconds=1.0, state_dict=run["state_dict"],
                     losses=list(run["losses"]))


def test_metrics_follow_their_definitions(trained):
    ref, init = trained["run"], trained["init"]
    moved = math.sqrt(sum(float(((ref["state_dict"][k] - init[k]).double() ** 2).sum())
                          for k in init))
    cand_state = {k: v.clone() for k, v in ref["state_dict"].items()}
    cand_state["wte"][0, 0] += 0.5  # a distance of exactly 0.5
    cand_losses = list(ref["losses"])
    cand_losses[2] += 0.25
    m = metrics(ref["state_dict"], ref["losses"], cand_state, cand_losses, init,
                trained["cfg"], trained["heldout"])
    assert m["weights"] == pytest.approx(0.5 / moved, rel=1e-6)
    assert m["trajectory"] == pytest.approx(0.25, rel=1e-6)
    assert m["heldout_loss"] == pytest.approx(abs(m["heldout_cand"] - m["heldout_ref"]))
    same = metrics(ref["state_dict"], ref["losses"], ref["state_dict"], ref["losses"], init,
                   trained["cfg"], trained["heldout"])
    assert (same["heldout_loss"], same["weights"], same["trajectory"]) == (0.0, 0.0, 0.0)


def test_compare_names_every_check(trained):
    run = trained["run"]
    checks = compare(_ok(run), _ok(run), trained["cfg"], trained["init"], trained["heldout"],
                     THRESHOLDS)
    assert [c.name for c in checks] == ["results", "finite", "heldout_loss", "weights",
                                        "trajectory"]
    assert all(c.passed for c in checks)
    faked = _ok(run)
    faked.losses = [x + 0.02 for x in run["losses"]]
    failed = [c for c in compare(_ok(run), faked, trained["cfg"], trained["init"],
                                 trained["heldout"], THRESHOLDS) if not c.passed]
    assert [(c.name, c.threshold) for c in failed] == [("trajectory", 1e-2)]
    assert failed[0].value == pytest.approx(0.02)


def test_compare_passes_on_a_run_rejection_and_flags_bad_results(trained):
    run, cfg = trained["run"], trained["cfg"]
    rejected = RunResult(ok=False, check="run_timeout", message="no done within 2 s")
    [check] = compare(_ok(run), rejected, cfg, trained["init"], trained["heldout"], THRESHOLDS)
    assert (check.name, check.passed, check.detail) == ("run_timeout", False,
                                                        "no done within 2 s")
    nan = _ok(run)
    nan.state_dict = {**run["state_dict"], "wpe": torch.full_like(run["state_dict"]["wpe"],
                                                                  math.nan)}
    [check] = compare(_ok(run), nan, cfg, trained["init"], trained["heldout"], THRESHOLDS)
    assert (check.name, check.passed) == ("finite", False)
    with pytest.raises(RuntimeError, match="reference run failed"):
        compare(rejected, _ok(run), cfg, trained["init"], trained["heldout"], THRESHOLDS)


def test_heldout_is_drawn_after_the_candidate_is_dead(monkeypatch, tiny_cfg, write_solution):
    """Order of events with the sandbox faked out: candidate, reference, then held-out."""
    events = []
    result = baseline.train({**tiny_cfg, "steps": 1}, **baseline.make_inputs(
        {**tiny_cfg, "steps": 1}, 0))

    def fake_run(solution_dir, cfg, inputs, **kw):
        events.append("baseline" if solution_dir == BASELINE_DIR else "candidate")
        steps = cfg["steps"]
        return RunResult(ok=True, seconds=1.0, state_dict=result["state_dict"],
                         losses=[1.0] * steps)

    real_heldout = baseline.make_heldout

    def fake_heldout(cfg, seed):
        events.append("heldout")
        return real_heldout(cfg, 0)

    monkeypatch.setattr(training_check, "run_solution", fake_run)
    monkeypatch.setattr(training_check.baseline, "make_heldout", fake_heldout)
    candidate = write_solution("def train(cfg, init, tokens, batches):\n    pass\n")
    verdict = check_training(candidate, "tiny", "cpu")
    assert events == ["candidate", "baseline", "heldout"]
    assert verdict.passed and verdict.seed_hidden


@pytest.mark.slow
def test_the_secret_seed_never_reaches_the_child(monkeypatch):
    monkeypatch.setattr(training_check.secrets, "randbits", lambda bits: 987654321987)
    verdict = check_training(SOLUTIONS / "secret_probe", "tiny", "cpu", static_scan=False)
    assert verdict.rejected_by == "crash"
    assert "SEARCHED" in verdict.cand.output_tail and "FOUND []" in verdict.cand.output_tail


@pytest.mark.slow
def test_baseline_passes_the_quick_check():
    verdict = check_training(BASELINE_DIR, "cpu", "cuda", quick=True)
    assert (verdict.preset, verdict.device) == ("tiny", "cpu")
    assert verdict.passed and verdict.rejected_by is None, verdict.message
    assert [c.name for c in verdict.checks] == ["static_scan", "results", "finite",
                                                "heldout_loss", "weights", "trajectory"]


@pytest.mark.slow
def test_torch_native_rewrite_passes_with_the_library_only():
    verdict = check_training(SOLUTIONS / "native_ops", "tiny", "cpu", allow_library=True,
                             seed=11)
    assert verdict.passed, verdict.message
    assert not verdict.seed_hidden
    assert 0 < verdict.checks[-2].value < verdict.checks[-2].threshold  # weights differ a bit
    refused = check_training(SOLUTIONS / "native_ops", "tiny", "cpu", seed=11)
    assert refused.rejected_by == "static_scan" and refused.cand is None


@pytest.mark.slow
def test_bf16_autocast_is_refused_where_admitting_it_would_hide_a_cheat():
    """On tiny, bf16 autocast moves the weights further (6.5e-2) than fp16 master weights
    do (5.3e-3), so calibration did not admit it: the judge follows the calibration."""
    entry = tolerances.Source().entry("tiny", "cpu")
    assert "bf16_autocast" not in entry["admitted_legal"]
    assert "fp16_weights" in entry["not_admitted"]["bf16_autocast"]
    verdict = check_training(SOLUTIONS / "bf16_autocast", "tiny", "cpu", seed=12)
    assert not verdict.passed and verdict.rejected_by in {"heldout_loss", "weights",
                                                          "trajectory"}


def test_a_failing_baseline_is_a_harness_error_not_a_verdict(monkeypatch, write_solution,
                                                             tiny_cfg):
    state = baseline.make_init(tiny_cfg, 0)

    def fake_run(solution_dir, cfg, inputs, **kw):
        if solution_dir == BASELINE_DIR:
            return RunResult(ok=False, check="run_timeout", message="no done within 300 s")
        return RunResult(ok=True, seconds=1.0, state_dict=state, losses=[1.0] * cfg["steps"])

    monkeypatch.setattr(training_check, "run_solution", fake_run)
    candidate = write_solution("def train(cfg, init, tokens, batches):\n    pass\n")
    with pytest.raises(training_check.HarnessError, match="baseline itself failed"):
        check_training(candidate, "tiny", "cpu")


def test_the_quick_check_judges_against_the_tracks_own_reference(monkeypatch, tiny_cfg,
                                                                 write_solution):
    """Quick is `tiny` on the CPU, but the reference is the track's program: on `range`,
    the NumPy draft, not the torch baseline."""
    from correctness.sandbox import reference_dir

    ran = []
    result = baseline.train({**tiny_cfg, "steps": 1}, **baseline.make_inputs(
        {**tiny_cfg, "steps": 1}, 0))

    def fake_run(solution_dir, cfg, inputs, **kw):
        ran.append(Path(solution_dir))
        return RunResult(ok=True, seconds=1.0, state_dict=result["state_dict"],
                         losses=[1.0] * cfg["steps"])

    monkeypatch.setattr(training_check, "run_solution", fake_run)
    candidate = write_solution("def train(cfg, init, tokens, batches):\n    pass\n")
    verdict = check_training(candidate, "range", "cpu", quick=True)
    assert (verdict.preset, verdict.device) == ("tiny", "cpu")
    assert ran == [Path(candidate), reference_dir("range")]
    assert reference_dir("range") != BASELINE_DIR


class _FakeRun:
    """The sandbox's run of one program, faked where the process would start: what the
    scan-once test counts happens before it. Training gives back the initial weights."""

    def __init__(self, root, solution_dir, cfg, mode, opts):
        self.cfg, self.mode = cfg, mode

    def run(self, before_go, after_done) -> RunResult:
        if self.mode != "train":
            return RunResult(ok=True, seconds=1.0)  # a kernel check that declared none
        return RunResult(ok=True, seconds=1.0, state_dict=baseline.make_init(self.cfg, 0),
                         losses=[1.0] * self.cfg["steps"])


def test_one_check_scans_the_candidate_once_and_resolves_its_preset_once(
        monkeypatch, write_solution, short_cfg, short_inputs):
    """The check's own scan is the candidate's only one: its kernel-check run and its
    training run are told it was scanned. A direct sandbox call still scans what it runs."""
    from correctness import static_scan
    from correctness.sandbox import api, check_solution_kernels, run_solution

    scanned, resolved = [], []
    real_scan, real_preset = static_scan.scan, baseline.get_preset
    monkeypatch.setattr(static_scan, "scan",
                        lambda d, **kw: scanned.append(Path(d)) or real_scan(d, **kw))
    monkeypatch.setattr(baseline, "get_preset",
                        lambda name: resolved.append(name) or real_preset(name))
    monkeypatch.setattr(api, "SandboxRun", _FakeRun)
    candidate = write_solution("KERNELS = {}\n\n\ndef train(cfg, init, tokens, batches):\n"
                               "    pass\n")
    verdict = check_training(candidate, "tiny", "cpu")
    assert verdict.passed, verdict.message
    assert scanned.count(candidate) == 1, scanned
    assert resolved == ["tiny"]
    scanned.clear()
    assert run_solution(candidate, short_cfg, short_inputs).ok
    assert check_solution_kernels(candidate, "cpu") == {}
    assert scanned == [candidate, candidate]
