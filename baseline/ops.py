"""The kernel slots: every performance-critical operation of the task, with its signature
and a naive reference implementation.

These are written the way a first draft is: correct and readable, one tensor op per line,
several passes where one would do, Python loops over heads and parameters. They are also
the numerical reference: the judge runs them in float64 to check any other implementation
of a slot. Every function here works for float32 and float64 inputs alike.

Slots (all differentiable by autograd except `adamw`, which updates in place):
    layer_norm(x, weight, bias, eps)          (..., C) -> (..., C)
    attention(q, k, v)                        (B, H, T, hd) x3 -> (B, H, T, hd), causal
    gelu(x)                                   tanh approximation, any shape
    cross_entropy(logits, targets)            (N, V), (N,) -> scalar mean over N
    adamw(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1, beta2, eps, weight_decay)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

SLOTS = ("layer_norm", "attention", "gelu", "cross_entropy", "adamw")


def layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
    centered = x - mean  # (..., C)
    var = (centered * centered).mean(dim=-1, keepdim=True)  # (..., 1), biased
    x_hat = centered / torch.sqrt(var + eps)  # (..., C)
    return x_hat * weight + bias


def _softmax_last(scores: Tensor) -> Tensor:
    row_max = scores.max(dim=-1, keepdim=True).values  # (T, 1)
    e = torch.exp(scores - row_max)  # (T, T)
    return e / e.sum(dim=-1, keepdim=True)


def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Causal softmax(q k^T / sqrt(hd)) v, one head at a time, scores materialised."""
    B, H, T, hd = q.shape
    scale = 1.0 / math.sqrt(hd)
    mask = torch.tril(torch.ones(T, T, device=q.device, dtype=torch.bool))  # (T, T)
    heads = []
    for h in range(H):
        qh, kh, vh = q[:, h], k[:, h], v[:, h]  # (B, T, hd)
        scores = (qh @ kh.transpose(-2, -1)) * scale  # (B, T, T)
        scores = scores.masked_fill(~mask, float("-inf"))
        probs = _softmax_last(scores)  # (B, T, T)
        heads.append(probs @ vh)  # (B, T, hd)
    return torch.stack(heads, dim=1)  # (B, H, T, hd)


def gelu(x: Tensor) -> Tensor:
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1.0 + torch.tanh(inner))


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean over rows of -log softmax(logits)[target]; separate max, exp, sum, log passes."""
    row_max = logits.max(dim=-1, keepdim=True).values  # (N, 1)
    shifted = logits - row_max  # (N, V)
    log_sum = torch.log(torch.exp(shifted).sum(dim=-1))  # (N,)
    picked = shifted.gather(1, targets.unsqueeze(1)).squeeze(1)  # (N,)
    return (log_sum - picked).mean()


@torch.no_grad()
def adamw(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
) -> None:
    """One AdamW step (decoupled weight decay, bias-corrected; torch.optim.AdamW's
    semantics) over each parameter in turn, updating params and moments in place.
    `step` counts from 1."""
    bias1 = 1.0 - beta1**step
    bias2 = 1.0 - beta2**step
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        p.mul_(1.0 - lr * weight_decay)
        m.mul_(beta1).add_(g * (1.0 - beta1))
        v.mul_(beta2).add_(g * g * (1.0 - beta2))
        m_hat = m / bias1
        v_hat = v / bias2
        p.sub_(lr * m_hat / (torch.sqrt(v_hat) + eps))
