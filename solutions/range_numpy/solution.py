"""Reference solution `range_numpy`: the range track's draft (baseline/draft) rewritten
well in its own framework, NumPy: float32, the whole batch in one forward and backward
(gpt.py), no Python loop over sequences, heads, queries or parameters.

The parameters, their gradients and both AdamW moments each live in one flat float32
buffer, with a view per parameter (decaying parameters first): the backward writes every
gradient into its view (BLAS `out=`), clipping is one dot product over the gradient
buffer, and AdamW is a dozen in-place passes over the whole buffer instead of a dozen
per parameter. Every batch of the run is gathered up front in one indexing operation.

It trains what the draft trains: the same GPT, inputs, AdamW groups (matrices and
embeddings decay, biases and gains do not), schedule (baseline.train.lr_at) and clipping
(every gradient times max_norm / (norm + 1e-6) when that is below 1), in float32 instead
of float64. README.md says what each change gained.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from baseline.model import decays, param_shapes
from baseline.train import lr_at

from .gpt import F32, gpt_backward, gpt_forward


def flat_views(shapes: dict[str, tuple[int, ...]], order: list[str]):
    """One zeroed float32 buffer holding every parameter in `order`, and a view per name."""
    sizes = [math.prod(shapes[n]) for n in order]
    buf = np.zeros(sum(sizes), F32)
    views, at = {}, 0
    for name, size in zip(order, sizes):
        views[name] = buf[at : at + size].reshape(shapes[name])
        at += size
    return buf, views


def clip_(g: np.ndarray, max_norm: float) -> None:
    """Scale the gradient buffer by max_norm / (norm + 1e-6) when that is below 1."""
    coef = max_norm / (math.sqrt(float(np.dot(g, g))) + 1e-6)
    if coef < 1.0:
        g *= coef


def adamw_(w, g, m, v, tmp, n_decay: int, step: int, lr: float, cfg: dict) -> None:
    """One AdamW step (decoupled decay on w[:n_decay], bias-corrected) over the flat
    buffers, in place; `tmp` is scratch of the same size."""
    b1, b2 = cfg["beta1"], cfg["beta2"]
    w[:n_decay] *= 1.0 - lr * cfg["weight_decay"]
    m *= b1
    np.multiply(g, 1.0 - b1, out=tmp)
    m += tmp
    v *= b2
    np.multiply(g, g, out=tmp)
    tmp *= 1.0 - b2
    v += tmp
    np.sqrt(v, out=tmp)  # sqrt(v_hat) + eps = sqrt(v) / sqrt(1 - b2^t) + eps
    tmp *= 1.0 / math.sqrt(1.0 - b2**step)
    tmp += cfg["eps"]
    np.divide(m, tmp, out=tmp)
    tmp *= lr / (1.0 - b1**step)  # m_hat = m / (1 - b1^t)
    w -= tmp


def train(cfg: dict, init: dict[str, torch.Tensor], tokens: torch.Tensor,
          batches: torch.Tensor) -> dict:
    T = cfg["seq_len"]
    shapes = param_shapes(cfg)  # the model's order, whatever the order of init's keys
    order = sorted(shapes, key=lambda name: not decays(name, shapes[name]))  # decaying first
    n_decay = sum(math.prod(shapes[n]) for n in order if decays(n, shapes[n]))
    w, p = flat_views(shapes, order)
    for name, t in init.items():
        p[name][...] = t.numpy()
    g_buf, g = flat_views(shapes, order)
    m, v, tmp = np.zeros_like(w), np.zeros_like(w), np.empty_like(w)
    window = np.arange(T + 1)
    chunks = tokens.numpy()[batches.numpy()[:, :, None] + window]  # (steps, B, T+1)
    losses = []

    for step in range(1, cfg["steps"] + 1):
        # ---------------------------------------------------------------- forward, backward
        chunk = chunks[step - 1]
        loss, caches = gpt_forward(p, cfg, chunk[:, :-1], chunk[:, 1:])
        gpt_backward(p, g, cfg, caches)
        losses.append(loss)

        # ---------------------------------------------------------------- clip, update
        clip_(g_buf, cfg["grad_clip"])
        adamw_(w, g_buf, m, v, tmp, n_decay, step, lr_at(step, cfg), cfg)

    state_dict = {name: torch.from_numpy(p[name].copy()) for name in shapes}
    return {"state_dict": state_dict, "losses": losses}
