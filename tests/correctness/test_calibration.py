"""Calibration: the cheating AdamW does exactly the cheat it names, the fast base trains
what the baseline trains, thresholds follow the documented rule, bf16 autocast is admitted
only when it hides no cheat, a fast base too far from the reference is refused, the
precision cuts are reported plainly, a real (shortened) calibration runs its variants
in worker processes on the implementations it records, a preset's reference is its own
reference program (sandboxed), and shipped solutions run sandboxed as legal variants."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

import baseline
from baseline.draft import solution as draft_solution
from correctness import calibrate, calibration_variants, fast_base, tolerances
from correctness.calibration_rule import (
    FAST_BASE_LIMIT,
    ILLEGAL,
    choose_thresholds,
    decide,
    detection,
)
from correctness.calibration_variants import cheating_ops, evenly_spaced, skipped_variants
from correctness.sandbox import PROJECT_DIR, RunResult
from correctness.solution import solution_hash


@pytest.fixture(scope="module")
def run5(tiny_cfg, tiny_inputs):
    cfg = {**tiny_cfg, "steps": 5}
    return cfg, tiny_inputs, baseline.train(cfg, **tiny_inputs)


def test_skipping_every_step_leaves_the_initial_weights(run5):
    cfg, inputs, _ = run5
    out = baseline.train(cfg, **inputs, ops=cheating_ops(cfg, skip=frozenset(range(1, 6))))
    assert all(torch.equal(out["state_dict"][k], inputs["init"][k]) for k in inputs["init"])


def test_frozen_prefix_freezes_exactly_that_layer(run5):
    cfg, inputs, _ = run5
    out = baseline.train(cfg, **inputs, ops=cheating_ops(cfg, frozen_prefix="h.0."))
    moved = {n for n, init in inputs["init"].items() if not torch.equal(out["state_dict"][n],
                                                                        init)}
    frozen = {n for n in inputs["init"] if n.startswith("h.0.")}
    assert frozen and not moved & frozen
    assert {"wte", "h.1.attn.c_attn.weight", "ln_f.weight"} <= moved


def test_unchanged_ops_reproduce_the_baseline_and_lr_scale_does_not(run5):
    cfg, inputs, ref = run5
    same = baseline.train(cfg, **inputs, ops=cheating_ops(cfg))
    assert same["losses"] == ref["losses"]
    faster = baseline.train(cfg, **inputs, ops=cheating_ops(cfg, lr_scale=1.05))
    assert faster["losses"][0] == ref["losses"][0] and faster["losses"][-1] != ref["losses"][-1]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_rounding_leaves_weights_representable_in_that_dtype(run5, dtype):
    cfg, inputs, ref = run5
    out = baseline.train(cfg, **inputs, ops=cheating_ops(cfg, round_to=dtype))
    w = out["state_dict"]["h.0.mlp.c_fc.weight"]
    assert torch.equal(w, w.to(dtype).float())
    assert not torch.equal(w, ref["state_dict"]["h.0.mlp.c_fc.weight"])


def test_the_fast_base_trains_what_the_baseline_trains(run5):
    cfg, inputs, ref = run5
    out = fast_base.train(cfg, **inputs)
    assert max(abs(a - b) for a, b in zip(out["losses"], ref["losses"])) < 1e-5
    for name, w in ref["state_dict"].items():
        moved = (w - inputs["init"][name]).norm()
        assert (out["state_dict"][name] - w).norm() <= 1e-3 * moved + 1e-7, name


def test_the_cheats_act_on_the_fast_base(run5):
    cfg, inputs, ref = run5
    skipped = fast_base.train(cfg, **inputs, ops=cheating_ops(cfg, base=fast_base.OPS,
                                                              skip=frozenset(range(1, 6))))
    assert all(torch.equal(skipped["state_dict"][k], inputs["init"][k]) for k in inputs["init"])
    frozen = fast_base.train(cfg, **inputs, ops=cheating_ops(cfg, base=fast_base.OPS,
                                                             frozen_prefix="h.0."))
    assert torch.equal(frozen["state_dict"]["h.0.ln_1.weight"], inputs["init"]["h.0.ln_1.weight"])
    assert not torch.equal(frozen["state_dict"]["h.1.ln_1.weight"],
                           inputs["init"]["h.1.ln_1.weight"])


@pytest.mark.parametrize("steps,fraction,count", [(150, 0.01, 2), (150, 0.05, 8),
                                                  (150, 0.2, 30), (10, 0.01, 1)])
def test_evenly_spaced_steps(steps, fraction, count):
    chosen = evenly_spaced(steps, fraction)
    assert len(chosen) == count and min(chosen) >= 1 and max(chosen) <= steps


def _rows(**values):
    return {name: {m: list(v) for m in tolerances.METRICS} for name, v in values.items()}


def test_threshold_is_the_geometric_mean_of_legal_and_the_first_separable_cheat():
    legal = _rows(same=[0.0, 0.0], native=[1e-4, 2e-4])
    illegal = _rows(close=[5e-4, 9e-4], far=[8e-3, 1e-2])  # close: within 4x of legal
    thresholds, margins = choose_thresholds(legal, illegal)
    assert thresholds["weights"] == pytest.approx(math.sqrt(2e-4 * 8e-3))
    assert margins["weights"]["legal"] == pytest.approx(margins["weights"]["illegal"])
    found = detection(illegal, thresholds)
    assert found["far"]["detected"] and not found["close"]["detected"]


def test_no_separable_cheat_still_bounds_legal_drift():
    thresholds, margins = choose_thresholds(_rows(native=[1e-3]), _rows(cheat=[2e-3]))
    assert thresholds["trajectory"] == pytest.approx(2e-3)
    assert margins["trajectory"]["illegal"] is None


def test_bf16_is_admitted_only_if_it_hides_nothing():
    illegal = _rows(skip=[1e-2, 2e-2])
    quiet = {"legal": _rows(same_code=[0.0], torch_native=[1e-5], bf16_autocast=[1e-4]),
             "illegal": illegal}
    assert "bf16_autocast" in decide(quiet)["admitted_legal"]
    loud = {"legal": _rows(same_code=[0.0], torch_native=[1e-5], bf16_autocast=[5e-3]),
            "illegal": illegal}
    out = decide(loud)
    assert "bf16_autocast" not in out["admitted_legal"]
    assert "skip" in out["not_admitted"]["bf16_autocast"]
    assert out["smallest_cheat_detected"]["variant"] == "skip"


def test_skipped_variants_say_why():
    assert set(skipped_variants("cpu", "cpu")) == {"triton_kernels", "bf16_autocast"}
    assert set(skipped_variants("tiny", "cpu")) == {"triton_kernels"}
    assert skipped_variants("gpu", "cuda") == {}
    assert calibrate.runs_per_seed("cpu", "cpu") == 1 + 2 + len(calibrate.ILLEGAL)


def _measured(**legal_and_illegal):
    """Synthetic measurements: names in ILLEGAL go to the illegal side."""
    rows = _rows(**legal_and_illegal)
    return {"legal": {k: v for k, v in rows.items() if k not in ILLEGAL},
            "illegal": {k: v for k, v in rows.items() if k in ILLEGAL}}


def test_the_fast_base_is_measured_against_the_smallest_cheat():
    near = decide(_measured(same_code=[0.0], torch_native=[FAST_BASE_LIMIT * 1e-2],
                            skip_1pct=[1e-2], skip_20pct=[1.0]))["fast_base"]
    assert near["ok"] and near["metrics"]["weights"]["ratio"] == pytest.approx(FAST_BASE_LIMIT)
    assert near["metrics"]["weights"]["smallest_illegal_variant"] == "skip_1pct"
    far = decide(_measured(same_code=[0.0], torch_native=[1e-3], skip_1pct=[1e-2],
                           skip_20pct=[1.0]))["fast_base"]
    assert not far["ok"] and far["metrics"]["trajectory"]["ratio"] == pytest.approx(0.1)


def test_a_fast_base_too_far_from_the_reference_writes_nothing(monkeypatch, tmp_path):
    far = {**_measured(same_code=[0.0], torch_native=[1e-3], skip_1pct=[1e-2],
                       half_steps_double_lr=[1.0]), "skipped": {}, "runs": {}}
    monkeypatch.setattr(calibrate, "measure", lambda *args, **kw: far)
    target = tmp_path / "t.json"
    with pytest.raises(calibrate.CalibrationError, match=r"10\.0% of the smallest illegal"):
        calibrate.calibrate("tiny", "cpu", 1, source=tolerances.Source(target), jobs=1)
    assert not target.exists()


def test_a_precision_cut_inside_the_legal_band_is_reported_plainly():
    # fp16 master weights as close to the reference as bf16 autocast: nothing separates them
    out = decide(_measured(same_code=[0.0], torch_native=[1e-5], bf16_autocast=[1e-3],
                           fp16_weights=[2e-5], skip_5pct=[1e-1]))
    assert out["undetected"] == ["fp16_weights"]
    fp16 = out["precision"]["fp16_weights"]
    assert fp16["kind"] == "illegal" and fp16["verdict"].startswith("NOT separable")
    assert fp16["metrics"]["weights"]["x_legal_band"] == pytest.approx(0.02)  # bf16 autocast
    assert "bf16_autocast" in out["admitted_legal"]  # it hid nothing that was caught before
    # a cut between the bands: caught only because bf16 autocast is then not admitted
    out = decide(_measured(same_code=[0.0], torch_native=[1e-5], bf16_autocast=[1e-3],
                           fp16_weights=[2e-4], skip_5pct=[1e-1]))
    assert out["undetected"] == [] and "bf16_autocast" not in out["admitted_legal"]
    assert out["precision"]["bf16_autocast"]["verdict"] == (
        "not admitted as legal: admitting it would hide: fp16_weights")
    assert out["precision"]["fp16_weights"]["verdict"].startswith("caught on every seed")


@pytest.mark.slow
def test_a_short_real_calibration_runs_on_the_recorded_implementations():
    """tiny cut to 12 steps, one seed, two worker processes: thresholds need whole runs, so
    nothing here is a threshold; the plumbing and the fast base's closeness are."""
    measured = calibrate.measure("tiny", "cpu", [7000], jobs=2, steps=12)
    names = calibrate.variant_names("tiny", "cpu")
    assert set(measured["legal"]) | set(measured["illegal"]) == set(names)
    runs = measured["runs"]
    assert runs["reference"]["implementation"] == "naive"
    assert {runs[n]["implementation"] for n in names} == {"fast"}
    assert runs["same_code"]["against"] == "torch_native"
    assert {runs[n]["against"] for n in names if n != "same_code"} == {"reference"}
    assert measured["legal"]["same_code"] == {m: [0.0] for m in tolerances.METRICS}
    base = decide(measured)["fast_base"]
    assert base["ok"], base
    assert all(min(row["weights"]) > 0 for row in measured["illegal"].values())


def test_the_estimate_covers_the_longest_run():
    guess = calibrate.estimate("tiny", "cpu", 1, jobs=1)
    assert 0 < guess["variant_s"] and 0 < guess["reference_s"] <= guess["wall_s"]


# ---------------------------------------------------------------------------- the reference
# program and sandboxed solutions

@pytest.mark.slow
def test_the_range_reference_is_the_draft_run_sandboxed():
    cfg = {**baseline.get_preset("range").to_cfg("cpu"), "steps": 3}
    ref = calibrate.run(cfg, 7000, calibrate.REFERENCE)
    draft = draft_solution.train(cfg, **baseline.make_inputs(cfg, 7000))
    assert ref["losses"] == draft["losses"]
    for name, w in draft["state_dict"].items():
        assert np.array_equal(ref["state_dict"][name], w.numpy()), name


LR_UP = '''"""A test's reference program: baseline.train with the learning rate 5% higher."""
import baseline


def train(cfg, init, tokens, batches):
    up = {**cfg, "lr": cfg["lr"] * 1.05, "min_lr": cfg["min_lr"] * 1.05}
    return baseline.train(up, init, tokens, batches)
'''


@pytest.fixture(scope="module")
def lr_up(tmp_path_factory):
    """A preset `lr_up` (tiny, 12 steps) whose reference program is baseline.train with the
    learning rate 5% higher: what the lr_plus_5pct cheat trains, and no legal variant."""
    program = tmp_path_factory.mktemp("lr_up")
    (program / "solution.py").write_text(LR_UP)
    preset = dataclasses.replace(baseline.get_preset("tiny"), name="lr_up", steps=12,
                                 reference="lr_up")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(baseline.config.PRESETS, "lr_up", preset)
        mp.setattr(calibration_variants, "reference_dir", lambda p: program, raising=False)
        yield program


@pytest.mark.slow
def test_a_presets_reference_program_is_the_reference(lr_up):
    measured = calibrate.measure("lr_up", "cpu", [7000], jobs=1)
    ref = measured["runs"]["reference"]
    assert ref["implementation"] == "sandboxed" and ref["program"] == str(lr_up)
    # against that program the lr cheat is the variant that trains the same, and the fast
    # base is as far as a 5% lr change moves the weights
    cheat = measured["illegal"]["lr_plus_5pct"]["weights"][0]
    native = measured["legal"]["torch_native"]["weights"][0]
    assert cheat < native / 20


@pytest.mark.slow
def test_a_fast_base_too_far_from_the_reference_program_is_refused(lr_up, tmp_path):
    target = tmp_path / "t.json"
    with pytest.raises(calibrate.CalibrationError, match=f"reference \\({lr_up}\\)"):
        calibrate.calibrate("lr_up", "cpu", 1, source=tolerances.Source(target), jobs=1)
    assert not target.exists()


def test_the_estimate_times_a_sandboxed_reference_by_the_sandboxs_clock(lr_up, monkeypatch):
    def run_solution(directory, cfg, inputs, **kw):  # 10 s a step by the go-done clock
        out = baseline.train(cfg, **inputs)
        return RunResult(ok=True, seconds=10.0 * cfg["steps"], state_dict=out["state_dict"],
                         losses=out["losses"])

    monkeypatch.setattr(calibration_variants, "run_solution", run_solution, raising=False)
    guess = calibrate.estimate("lr_up", "cpu", 1, jobs=1)
    assert guess["reference_s"] >= 10.0 * 12 and guess["wall_s"] >= guess["reference_s"]


BROKEN = '''import os


def train(cfg, init, tokens, batches):
    return os.getcwd()
'''


@pytest.mark.slow
def test_a_shipped_solution_runs_sandboxed_as_a_legal_variant(monkeypatch, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "solution.py").write_text(BROKEN)
    monkeypatch.setattr(calibration_variants, "SOLUTION_VARIANTS",
                        {"tiny": ("solutions/cpu_expert", str(broken))}, raising=False)
    measured = calibrate.measure("tiny", "cpu", [7000], jobs=1, steps=12)
    run = measured["runs"]["solutions/cpu_expert"]
    assert run["implementation"] == "sandboxed" and run["against"] == "reference"
    assert run["program"] == "solutions/cpu_expert"
    # the CPU time of its training is recorded (the sandbox's meter), as an in-process run's
    assert run["cpu_s"][0] > 0 and measured["runs"]["torch_native"]["cpu_s"][0] > 0
    # and the version that ran: a solution edited between calibrations is told apart
    assert run["program_hash"] == [solution_hash(PROJECT_DIR / "solutions/cpu_expert")]
    expert = measured["legal"]["solutions/cpu_expert"]["weights"][0]
    smallest = min(min(row["weights"]) for row in measured["illegal"].values())
    assert 0 < expert < 0.05 * smallest
    assert "static_scan" in measured["failed"][str(broken)]
    decided = decide(measured)
    assert "solutions/cpu_expert" in decided["admitted_legal"]
    assert decided["not_admitted"][str(broken)].startswith("its run failed: rejected by "
                                                           "static_scan")


def test_a_configured_solution_not_in_the_checkout_is_skipped_with_why(monkeypatch, tmp_path):
    missing = str(tmp_path / "missing")
    monkeypatch.setattr(calibration_variants, "SOLUTION_VARIANTS",
                        {"tiny": ("solutions/cpu_expert", missing)}, raising=False)
    assert skipped_variants("tiny", "cpu")[missing].startswith(f"no solution at {missing}")
    assert missing not in calibrate.variant_names("tiny", "cpu")
    assert "solutions/cpu_expert" in calibrate.variant_names("tiny", "cpu")
    assert calibrate.runs_per_seed("tiny", "cpu") == 1 + 3 + len(ILLEGAL) + 1


def test_the_range_track_accounts_for_its_top_rung():
    """Run when it is in the checkout, else skipped with why: never silently left out."""
    names = calibrate.variant_names("range", "cpu")
    assert "solutions/range_cpp" in names or "solutions/range_cpp" in skipped_variants(
        "range", "cpu")
