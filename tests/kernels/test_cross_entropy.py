"""The Triton cross entropy against the float64 reference, including a vocabulary longer
than one block (the chunked online log-sum-exp) and the float32 loss under bf16."""

import pytest
import torch
from kernelhelpers import DEVICE, assert_passes_kernel_check

from baseline import ops
from kernels import cross_entropy as ce_module
from kernels import registry


@pytest.mark.parametrize("seed", [0, 1])
def test_cross_entropy_passes_the_kernel_check(seed):
    assert_passes_kernel_check("cross_entropy", seed)


def test_vocab_is_walked_in_chunks(monkeypatch):
    # 16-wide chunks: 100 logits take 7 chunks, the last one partial.
    monkeypatch.setattr(ce_module, "MAX_BLOCK_V", 16)
    assert_passes_kernel_check("cross_entropy", 3, shapes=[(9, 100), (1, 17)])


def test_extreme_logits_and_edge_targets():
    torch.manual_seed(0)
    # exp(1e3) overflows unshifted
    logits = torch.randn(6, 300, dtype=torch.float64, device=DEVICE) * 3 + 1e3
    logits[:, 0] = -torch.inf  # a masked class: probability 0, gradient 0
    targets = torch.tensor([1, 299, 5, 299, 1, 150], device=DEVICE)
    got = registry.get("cross_entropy", "triton")(logits.float(), targets)
    want = ops.cross_entropy(logits.float().double(), targets)
    # the loss is ~9.6, where one float32 ulp is 9.5e-7; measured 1.2e-8
    assert torch.isfinite(got) and abs(got.item() - want.item()) < 1e-5


def test_loss_is_float32_inside_and_the_slot_keeps_the_logits_dtype():
    logits = torch.randn(4, 10, device=DEVICE)
    targets = torch.tensor([0, 1, 2, 9], device=DEVICE)
    assert ce_module.CrossEntropyFunction.apply(logits, targets).dtype == torch.float32
    assert registry.get("cross_entropy", "triton")(logits, targets).dtype == torch.float32
