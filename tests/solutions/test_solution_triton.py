"""solutions/triton: refuses a CPU at once; its step function (eager, through the Triton
interpreter on CPU: the test-only path) trains like the baseline; on a GPU, the captured
graph does too (skipped without CUDA)."""

import pytest
import torch
from lossgap import FLOAT32_NOISE, max_loss_gap
from solutionloader import assert_solution_format, load_solution

import baseline
from kernels import registry

# The interpreter runs a tiny step in about a second, so the CPU check trains 8 steps
# (warm-up included: lr still rising) rather than 150; both sides use the same cfg.
SHORT_STEPS = 8


@pytest.fixture(scope="module")
def short(tiny_cfg, tiny_inputs):
    cfg = dict(tiny_cfg, steps=SHORT_STEPS)
    inputs = dict(tiny_inputs, batches=tiny_inputs["batches"][:SHORT_STEPS])
    return cfg, inputs, baseline.train(cfg, **inputs)


def test_refuses_a_cpu_without_the_interpreter(tiny_cfg, tiny_inputs, monkeypatch):
    solution = load_solution("triton")
    monkeypatch.setattr(registry, "interpreting", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA required"):
        solution.train(tiny_cfg, **tiny_inputs)


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="the interpreter path is CPU-only")
def test_step_function_trains_like_the_baseline(short):
    cfg, inputs, reference = short
    result = load_solution("triton").train(cfg, **inputs)
    assert_solution_format(result, cfg)
    assert max_loss_gap(result, reference) < FLOAT32_NOISE


@pytest.mark.skipif(torch.cuda.is_available(), reason="the interpreter path is CPU-only")
def test_gradients_accumulate_in_place_into_the_flat_buffer(short):
    # The optimizer's pointer table and the graph both rely on .grad never moving.
    cfg, inputs, _ = short
    trainer = load_solution("triton").Trainer(cfg, inputs["init"], inputs["tokens"],
                                              inputs["batches"])
    addresses = [p.grad.data_ptr() for p in trainer.params.values()]
    trainer.step()
    assert [p.grad.data_ptr() for p in trainer.params.values()] == addresses
    assert trainer.grads.abs().sum() > 0 and int(trainer.step_idx) == 1
    trainer.reset()
    assert int(trainer.step_idx) == 0
    assert all(torch.equal(p.detach(), trainer.init[n]) for n, p in trainer.params.items())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_graph_captured_training_matches_the_baseline_on_cuda(tiny_inputs):
    cfg = baseline.get_preset("tiny").to_cfg("cuda")
    reference = baseline.train(cfg, **tiny_inputs)
    result = load_solution("triton").train(cfg, **tiny_inputs)
    assert_solution_format(result, cfg)
    assert max_loss_gap(result, reference) < FLOAT32_NOISE
