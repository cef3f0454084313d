"""The draft's training loop in NumPy: the training of baseline/train.py, step for step.

Each step walks the batch one sequence at a time, forward and backward, and adds each
sequence's gradients into the step's; then it clips by the global norm and takes one AdamW
step per parameter at the schedule's learning rate (baseline.lr_at: warmup, then cosine).
"""

from __future__ import annotations

import math

import numpy as np

from baseline.model import decays
from baseline.train import lr_at

from .layers import DTYPE
from .model import gpt_backward, gpt_forward

# ---------------------------------------------------------------------------- one batch

def batch_loss_and_grads(params, cfg, tokens, starts):
    """Mean loss and gradients over the batch whose sequences start at `starts`."""
    T = cfg["seq_len"]
    loss = 0.0
    grads = {name: np.zeros(p.shape, dtype=DTYPE) for name, p in params.items()}
    for s in starts:
        x = tokens[s : s + T]  # (T,)
        y = tokens[s + 1 : s + T + 1]  # (T,)
        seq_loss, caches = gpt_forward(params, cfg, x, y)
        seq_grads = gpt_backward(params, cfg, caches)
        loss += seq_loss / len(starts)
        for name in grads:
            grads[name] += seq_grads[name] / len(starts)
    return loss, grads


# ---------------------------------------------------------------------------- clip, update

def clip_grads(grads, max_norm):
    """Scale every gradient by max_norm / (norm + 1e-6) when that is below 1."""
    norms = [float(np.sqrt(np.sum(g**2))) for g in grads.values()]
    total = math.sqrt(sum(n**2 for n in norms))
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for name in grads:
            grads[name] = grads[name] * coef
    return total


def adamw(p, g, m, v, step, lr, cfg, weight_decay):
    """One AdamW step (decoupled decay, bias-corrected) -> new (p, m, v)."""
    beta1, beta2 = cfg["beta1"], cfg["beta2"]
    p = p * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**step)
    v_hat = v / (1 - beta2**step)
    p = p - lr * m_hat / (np.sqrt(v_hat) + cfg["eps"])
    return p, m, v


# ---------------------------------------------------------------------------- the loop

def train_numpy(cfg, params, tokens, batches):
    """params: name -> float64 array (updated copies are returned); tokens (n,) and
    batches (steps, B) int arrays. -> (params, losses)."""
    m = {name: np.zeros(p.shape, dtype=DTYPE) for name, p in params.items()}
    v = {name: np.zeros(p.shape, dtype=DTYPE) for name, p in params.items()}
    losses = []
    for step in range(1, cfg["steps"] + 1):
        # ---------------------------------------------------------------- forward, backward
        loss, grads = batch_loss_and_grads(params, cfg, tokens, batches[step - 1])
        losses.append(float(loss))

        # ---------------------------------------------------------------- clip, update
        clip_grads(grads, cfg["grad_clip"])
        lr = lr_at(step, cfg)
        for name in params:
            wd = cfg["weight_decay"] if decays(name, params[name].shape) else 0.0
            params[name], m[name], v[name] = adamw(params[name], grads[name], m[name],
                                                   v[name], step, lr, cfg, wd)
    return params, losses
