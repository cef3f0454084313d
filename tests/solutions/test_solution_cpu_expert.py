"""solutions/cpu_expert: the solution format, and the baseline's training on tiny."""

from lossgap import FLOAT32_NOISE, max_loss_gap
from solutionloader import assert_solution_format, load_solution


def test_trains_like_the_baseline(tiny_cfg, tiny_inputs, tiny_reference):
    result = load_solution("cpu_expert").train(tiny_cfg, **tiny_inputs)
    assert_solution_format(result, tiny_cfg)
    assert max_loss_gap(result, tiny_reference) < FLOAT32_NOISE
    assert result["losses"][-1] < result["losses"][0] - 1.0


def test_a_wrong_schedule_is_visible(tiny_cfg, tiny_inputs, tiny_reference):
    # The negative control for the bound above: 5% more learning rate leaves it.
    faster = dict(tiny_cfg, lr=tiny_cfg["lr"] * 1.05, min_lr=tiny_cfg["min_lr"] * 1.05)
    result = load_solution("cpu_expert").train(faster, **tiny_inputs)
    assert max_loss_gap(result, tiny_reference) > FLOAT32_NOISE
