"""Calibration: the cheating AdamW does exactly the cheat it names, thresholds follow the
documented rule, and bf16 autocast is admitted only when it hides no cheat."""

from __future__ import annotations

import math

import pytest
import torch

import baseline
from correctness import calibrate, tolerances
from correctness.calibrate import choose_thresholds, decide, detection, evenly_spaced, ops_with


@pytest.fixture(scope="module")
def run5(tiny_cfg, tiny_inputs):
    cfg = {**tiny_cfg, "steps": 5}
    return cfg, tiny_inputs, baseline.train(cfg, **tiny_inputs)


def test_skipping_every_step_leaves_the_initial_weights(run5):
    cfg, inputs, _ = run5
    out = baseline.train(cfg, **inputs, ops=ops_with(cfg, skip=frozenset(range(1, 6))))
    assert all(torch.equal(out["state_dict"][k], inputs["init"][k]) for k in inputs["init"])


def test_frozen_prefix_freezes_exactly_that_layer(run5):
    cfg, inputs, _ = run5
    out = baseline.train(cfg, **inputs, ops=ops_with(cfg, frozen_prefix="h.0."))
    moved = {n for n, init in inputs["init"].items() if not torch.equal(out["state_dict"][n],
                                                                        init)}
    frozen = {n for n in inputs["init"] if n.startswith("h.0.")}
    assert frozen and not moved & frozen
    assert {"wte", "h.1.attn.c_attn.weight", "ln_f.weight"} <= moved


def test_unchanged_ops_reproduce_the_baseline_and_lr_scale_does_not(run5):
    cfg, inputs, ref = run5
    same = baseline.train(cfg, **inputs, ops=ops_with(cfg))
    assert same["losses"] == ref["losses"]
    faster = baseline.train(cfg, **inputs, ops=ops_with(cfg, lr_scale=1.05))
    assert faster["losses"][0] == ref["losses"][0] and faster["losses"][-1] != ref["losses"][-1]


def test_bf16_rounding_leaves_bf16_representable_weights(run5):
    cfg, inputs, _ = run5
    out = baseline.train(cfg, **inputs, ops=ops_with(cfg, round_bf16=True))
    w = out["state_dict"]["h.0.mlp.c_fc.weight"]
    assert torch.equal(w, w.to(torch.bfloat16).float())


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
    assert set(calibrate.skipped_variants("cpu", "cpu")) == {"triton_kernels", "bf16_autocast"}
    assert set(calibrate.skipped_variants("tiny", "cpu")) == {"triton_kernels"}
    assert calibrate.skipped_variants("gpu", "cuda") == {}
    assert calibrate.runs_per_seed("cpu", "cpu") == 1 + 2 + len(calibrate.ILLEGAL)
