"""The range track's reference program (baseline/draft): the torch GPT's training, in NumPy.

Its gradients are checked against autograd through baseline.model in float64, its training
against baseline.train's own pieces (model, clipping, AdamW update, schedule) run in
float64, and it must run where a solution runs: copied, scanned and sandboxed, and judged
against itself by the training check."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import torch

import baseline
from baseline import config, ops
from baseline.draft import model as draft_model
from baseline.draft import solution as draft_solution
from baseline.draft import train as draft_train
from baseline.model import decays
from baseline.train import clip_grad_norm, update
from correctness import tolerances
from correctness.sandbox import BASELINE_DIR, reference_dir, run_solution
from correctness.static_scan import scan
from correctness.training_check import check_training

# Small enough to run in seconds, odd enough to catch a transposed or misindexed axis:
# vocab not a power of two, 3 heads of 4, seq_len below the position table's length.
SMALL = {**baseline.get_preset("range").to_cfg("cpu"), "vocab_size": 29, "d_model": 12,
         "n_layer": 2, "n_head": 3, "seq_len": 9, "batch_size": 3, "steps": 6,
         "warmup_steps": 2, "corpus_tokens": 1 << 12}


@pytest.fixture(scope="module")
def inputs() -> dict:
    return baseline.make_inputs(SMALL, seed=11)


def perturbed(init: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights away from make_init's symmetric start (gains of 1, biases of 0), so every
    gradient term is exercised."""
    g = torch.Generator().manual_seed(0)
    return {k: v.double() + 0.1 * torch.randn(v.shape, generator=g, dtype=torch.float64)
            for k, v in init.items()}


def torch_grads(cfg: dict, weights: dict, x: torch.Tensor, y: torch.Tensor):
    gpt = baseline.GPT.from_weights(cfg, weights, dtype=torch.float64)
    loss = gpt.loss(x, y)
    loss.backward()
    return loss.item(), {n: p.grad for n, p in gpt.named_parameters()}


def test_one_sequence_loss_and_every_gradient_match_the_torch_gpt(inputs):
    weights = perturbed(inputs["init"])
    start, T = int(inputs["batches"][0, 0]), SMALL["seq_len"]
    chunk = inputs["tokens"][start : start + T + 1]
    loss, grads = torch_grads(SMALL, weights, chunk[None, :-1], chunk[None, 1:])
    params = {k: v.numpy() for k, v in weights.items()}
    d_loss, caches = draft_model.gpt_forward(params, SMALL, chunk[:-1].numpy(),
                                             chunk[1:].numpy())
    d_grads = draft_model.gpt_backward(params, SMALL, caches)
    assert d_loss == pytest.approx(loss, rel=1e-12)
    assert set(d_grads) == set(grads)
    for name, g in grads.items():
        assert d_grads[name].shape == tuple(g.shape), name
        np.testing.assert_allclose(d_grads[name], g.numpy(), rtol=0, atol=1e-10 * g.abs().max(),
                                   err_msg=name)


def test_a_batch_is_the_mean_over_its_sequences(inputs):
    weights = perturbed(inputs["init"])
    starts, T = inputs["batches"][1], SMALL["seq_len"]
    chunk = torch.stack([inputs["tokens"][s : s + T + 1] for s in starts.tolist()])
    loss, grads = torch_grads(SMALL, weights, chunk[:, :-1], chunk[:, 1:])
    params = {k: v.numpy() for k, v in weights.items()}
    d_loss, d_grads = draft_train.batch_loss_and_grads(params, SMALL, inputs["tokens"].numpy(),
                                                       starts.numpy())
    assert d_loss == pytest.approx(loss, rel=1e-12)
    for name, g in grads.items():
        np.testing.assert_allclose(d_grads[name], g.numpy(), rtol=0, atol=1e-10 * g.abs().max(),
                                   err_msg=name)


def torch_float64_training(cfg: dict, init: dict, tokens: torch.Tensor,
                           batches: torch.Tensor) -> dict:
    """baseline.train's loop in float64 (train() itself is float32 only), from its own
    parts: the GPT, clip_grad_norm, update (both AdamW groups, decaying first) and lr_at."""
    gpt = baseline.GPT.from_weights(cfg, init, dtype=torch.float64)
    names, params = zip(*gpt.named_parameters())
    groups = {True: [], False: []}
    for i, (name, p) in enumerate(zip(names, params)):
        groups[decays(name, tuple(p.shape))].append(i)
    exp_avgs = [torch.zeros_like(p) for p in params]
    exp_avg_sqs = [torch.zeros_like(p) for p in params]
    T, losses = cfg["seq_len"], []
    for step in range(1, cfg["steps"] + 1):
        chunk = torch.stack([tokens[s : s + T + 1] for s in batches[step - 1].tolist()])
        for p in params:
            p.grad = None
        loss = gpt.loss(chunk[:, :-1], chunk[:, 1:])
        loss.backward()
        losses.append(loss.item())
        grads = [p.grad for p in params]
        clip_grad_norm(grads, cfg["grad_clip"])
        update(ops, cfg, step, groups, list(params), grads, exp_avgs, exp_avg_sqs)
    return {"state_dict": {n: p.detach() for n, p in zip(names, params)}, "losses": losses}


def test_training_matches_the_baseline_loop_in_float64(inputs):
    # at seed 11 the gradient norms are 1.91, 0.93, 1.01, 1.16, 0.94, 0.85: both sides of
    # grad_clip (1.0), so the clipped and the unclipped update are both compared
    cfg = SMALL
    ref = torch_float64_training(cfg, inputs["init"], inputs["tokens"], inputs["batches"])
    params = {k: v.numpy().astype(np.float64) for k, v in inputs["init"].items()}
    params, losses = draft_train.train_numpy(cfg, params, inputs["tokens"].numpy(),
                                             inputs["batches"].numpy())
    np.testing.assert_allclose(losses, ref["losses"], rtol=1e-10)
    for name, w in ref["state_dict"].items():
        moved = (w - inputs["init"][name].double()).abs().max().item()
        np.testing.assert_allclose(params[name], w.numpy(), rtol=0, atol=1e-9 * moved,
                                   err_msg=name)


def test_train_is_deterministic_and_has_the_solution_format(inputs):
    first = draft_solution.train(SMALL, **inputs)
    again = draft_solution.train(SMALL, **inputs)
    assert first["losses"] == again["losses"]
    assert all(isinstance(x, float) for x in first["losses"])
    assert len(first["losses"]) == SMALL["steps"]
    shapes = baseline.param_shapes(SMALL)
    assert {k: tuple(v.shape) for k, v in first["state_dict"].items()} == shapes
    for name, w in first["state_dict"].items():
        assert w.dtype == torch.float32
        assert torch.equal(w, again["state_dict"][name]), name
    fresh = baseline.make_inputs(SMALL, seed=11)
    assert all(torch.equal(fresh["init"][k], inputs["init"][k]) for k in fresh["init"])


def test_the_range_preset_names_the_draft_and_the_others_baseline():
    assert reference_dir("range") == BASELINE_DIR / "draft"
    assert (reference_dir("range") / "solution.py").is_file()
    for name in ("tiny", "cpu", "gpu"):
        assert reference_dir(name) == BASELINE_DIR
    assert "reference" not in baseline.get_preset("range").to_cfg()


@pytest.mark.slow
def test_a_copy_scans_clean_and_runs_sandboxed_like_the_installed_one(tmp_path, inputs):
    copy = tmp_path / "workspace"
    shutil.copytree(reference_dir("range"), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert scan(copy) == []
    cfg = {**SMALL, "steps": 3}
    installed = run_solution(reference_dir("range"), cfg, inputs)
    copied = run_solution(copy, cfg, inputs)
    assert installed.ok and copied.ok, (installed.message, copied.message)
    assert copied.losses == installed.losses
    in_process = draft_solution.train(cfg, **inputs)
    assert copied.losses == in_process["losses"]
    for name, w in in_process["state_dict"].items():
        assert torch.equal(copied.state_dict[name], w), name


@pytest.mark.slow
def test_a_copy_passes_the_training_check_against_the_draft(tmp_path, monkeypatch):
    short = dataclasses.replace(baseline.get_preset("range"), vocab_size=29, d_model=12,
                                n_head=3, seq_len=9, batch_size=3, steps=4, warmup_steps=2,
                                corpus_tokens=1 << 12, heldout_tokens=1 << 10)
    monkeypatch.setitem(config.PRESETS, "range", short)
    table = tolerances.Source(tmp_path / "tolerances.json")
    tiny = tolerances.Source().entry("tiny", "cpu")  # strict: a copy must be bit-identical
    table.save("range", "cpu", tiny)
    copy = tmp_path / "workspace"
    shutil.copytree(reference_dir("range"), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    verdict = check_training(copy, "range", "cpu", seed=3, tolerances=table)
    assert verdict.passed, [c for c in verdict.checks if not c.passed]
    assert verdict.ref.losses == verdict.cand.losses
