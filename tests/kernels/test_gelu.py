"""The Triton GELU (tanh form) against the float64 reference, at odd sizes and extremes."""

import pytest
import torch
from kernelhelpers import DEVICE, assert_passes_kernel_check

from baseline import ops
from kernels import registry


@pytest.mark.parametrize("seed", [0, 1])
def test_gelu_passes_the_kernel_check(seed):
    assert_passes_kernel_check("gelu", seed)


def test_gelu_saturates_without_nan_at_large_inputs():
    gelu = registry.get("gelu", "triton")
    x = torch.tensor([-1e4, -100.0, -30.0, 30.0, 100.0, 1e4], requires_grad=True, device=DEVICE)
    y = gelu(x)
    (dx,) = torch.autograd.grad(y.sum(), x)
    assert torch.equal(y.detach(), torch.tensor([-0.0, -0.0, -0.0, 30.0, 100.0, 1e4],
                                                    device=DEVICE))
    assert torch.equal(dx, torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0], device=DEVICE))


def test_gelu_is_the_tanh_form_not_erf():
    x = torch.linspace(-4, 4, 101, dtype=torch.float64, device=DEVICE)
    tanh_form = ops.gelu(x).float()
    erf_form = torch.nn.functional.gelu(x).float()
    got = registry.get("gelu", "triton")(x.float())
    assert (got - tanh_form).abs().max() < 1e-6 < (got - erf_form).abs().max()
