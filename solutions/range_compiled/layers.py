"""The GPT's layers as forward/backward pairs of plain torch operators, written so that
Inductor can fuse each run of elementwise work into one C++ loop: no autograd, every
intermediate the backward needs returned by the forward. Rows are tokens: x (N, C),
N = B * T. The math is the draft's (baseline/draft/layers.py), batched.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

GELU_C = math.sqrt(2 / math.pi)

# tanh(x) as the rational minimax approximation of Eigen's generic_fast_tanh_float
# (Eigen/src/Core/MathFunctionsImpl.h): x * P(x^2) / Q(x^2) on x clamped to [-9, 9], whose
# tanh is 1 in float32. Evaluated in float32 it is within 3.4e-7 of tanh (torch.tanh:
# 5.4e-8) everywhere, and a few float32 ulp relative near 0. It costs multiplies, adds and
# one division per element, against the libm-style tanh that torch and Inductor call.
TANH_P = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
          5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
          -2.76076847742355e-16)  # x^1, x^3, ..., x^13
TANH_Q = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
          1.19825839466702e-06)  # x^0, x^2, x^4, x^6


def tanh(x: Tensor) -> Tensor:
    x = x.clamp(-9.0, 9.0)
    x2 = x * x
    p = torch.full_like(x, TANH_P[-1])
    for c in reversed(TANH_P[:-1]):
        p = p * x2 + c
    q = torch.full_like(x, TANH_Q[-1])
    for c in reversed(TANH_Q[:-1]):
        q = q * x2 + c
    return x * p / q


# ---------------------------------------------------------------------------- linear

def linear_backward(dout: Tensor, x: Tensor, w: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """out = x @ w.T + b; dout (N, D_out), x (N, D_in) -> dx, dw, db."""
    return dout @ w, dout.T @ x, dout.sum(0)


# ---------------------------------------------------------------------------- layer norm

def layer_norm(x: Tensor, w: Tensor, b: Tensor, eps: float) -> tuple[Tensor, tuple]:
    mu = x.mean(-1, keepdim=True)  # (N, 1)
    xc = x - mu  # (N, C)
    rstd = torch.rsqrt((xc * xc).mean(-1, keepdim=True) + eps)  # (N, 1), biased variance
    xhat = xc * rstd  # (N, C)
    return xhat * w + b, (xhat, rstd)


def layer_norm_backward(dout: Tensor, cache: tuple, w: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The closed form: dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))."""
    xhat, rstd = cache
    dxhat = dout * w  # (N, C)
    dx = rstd * (dxhat - dxhat.mean(-1, keepdim=True)
                 - xhat * (dxhat * xhat).mean(-1, keepdim=True))
    return dx, (dout * xhat).sum(0), dout.sum(0)


# ---------------------------------------------------------------------------- GELU (tanh)

def gelu(x: Tensor) -> tuple[Tensor, Tensor]:
    t = tanh(GELU_C * (x + 0.044715 * x * x * x))
    return 0.5 * x * (1 + t), t


def gelu_backward(dout: Tensor, x: Tensor, t: Tensor) -> Tensor:
    du = GELU_C * (1 + 3 * 0.044715 * x * x)
    return dout * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)


# ---------------------------------------------------------------------------- attention

def attention(qkv: Tensor, B: int, T: int, H: int) -> tuple[Tensor, tuple]:
    """Causal attention with the (T, T) probabilities kept for the backward: at T = 64 and
    head size 16 they are 16 KiB per head and sequence. qkv (N, 3C) -> (N, C)."""
    C = qkv.shape[1] // 3
    hd = C // H
    q, k, v = qkv.view(B, T, 3, H, hd).permute(2, 0, 3, 1, 4).unbind(0)  # (B, H, T, hd)
    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))  # (B, H, T, T)
    causal = torch.ones(T, T, dtype=torch.bool, device=qkv.device).tril()
    s = s.masked_fill(~causal, float("-inf"))
    p = torch.softmax(s, dim=-1)  # (B, H, T, T)
    y = p @ v  # (B, H, T, hd)
    return y.transpose(1, 2).reshape(B * T, C), (q, k, v, p)


def attention_backward(dy: Tensor, cache: tuple) -> Tensor:
    """dy (N, C) -> dqkv (N, 3C), through softmax's Jacobian row by row."""
    q, k, v, p = cache
    B, H, T, hd = q.shape
    dy = dy.view(B, T, H, hd).transpose(1, 2)  # (B, H, T, hd)
    dv = p.transpose(-1, -2) @ dy  # (B, H, T, hd)
    dp = dy @ v.transpose(-1, -2)  # (B, H, T, T)
    ds = p * (dp - (dp * p).sum(-1, keepdim=True)) * (1.0 / math.sqrt(hd))  # (B, H, T, T)
    dq = ds @ k  # (B, H, T, hd)
    dk = ds.transpose(-1, -2) @ q  # (B, H, T, hd)
    return torch.stack([dq, dk, dv], dim=2).permute(0, 3, 2, 1, 4).reshape(B * T, 3 * H * hd)


# ---------------------------------------------------------------------------- loss

def cross_entropy(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean negative log-likelihood over rows and its gradient (softmax - one_hot(y)) / N,
    elementwise, so the gradient is written where its consumer wants it. logits (N, V),
    y (N,) int32."""
    N, V = logits.shape
    mx = logits.amax(-1, keepdim=True)  # (N, 1)
    e = torch.exp(logits - mx)  # (N, V)
    s = e.sum(-1, keepdim=True)  # (N, 1)
    loss = (mx + torch.log(s) - logits.gather(1, y[:, None].long())).mean()
    p = e / s  # (N, V)
    hit = y[:, None] == torch.arange(V, dtype=y.dtype, device=y.device)  # (N, V)
    return loss, torch.where(hit, p - 1.0, p) * (1.0 / N)
