"""Torch-native implementations of every slot: what a careful engineer writes first, using
the fused operators PyTorch already ships. Same signatures as `baseline/ops.py`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)


def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def gelu(x: Tensor) -> Tensor:
    return F.gelu(x, approximate="tanh")


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    return F.cross_entropy(logits, targets)


@torch.no_grad()
def adamw(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
          exp_avg_sqs: list[Tensor], *, step: int, lr: float, beta1: float, beta2: float,
          eps: float, weight_decay: float) -> None:
    """torch.optim.AdamW(fused=True)'s kernel: one multi-tensor launch for all params."""
    if not params:
        return
    steps = [torch.tensor(float(step), device=params[0].device)] * len(params)  # read only
    torch._fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, [], steps, lr=lr, beta1=beta1,
                        beta2=beta2, weight_decay=weight_decay, eps=eps, amsgrad=False,
                        maximize=False)
