"""solutions/torch_native: the solution format, and the baseline's training on tiny."""

import torch
from lossgap import FLOAT32_NOISE, max_loss_gap
from solutionloader import assert_solution_format, load_solution


def test_trains_like_the_baseline(tiny_cfg, tiny_inputs, tiny_reference):
    result = load_solution("torch_native").train(tiny_cfg, **tiny_inputs)
    assert_solution_format(result, tiny_cfg)
    assert max_loss_gap(result, tiny_reference) < FLOAT32_NOISE
    assert result["losses"][-1] < result["losses"][0] - 1.0


def test_does_not_modify_its_inputs(tiny_cfg, tiny_inputs):
    import baseline

    load_solution("torch_native").train(tiny_cfg, **tiny_inputs)
    fresh = baseline.make_inputs(tiny_cfg, seed=1234)
    assert all(torch.equal(v, tiny_inputs["init"][k]) for k, v in fresh["init"].items())
    assert torch.equal(fresh["batches"], tiny_inputs["batches"])
