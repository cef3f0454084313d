"""The naive training loop, and the solution-format entry point `train`.

    train(cfg, init, tokens, batches) -> {"state_dict": {...}, "losses": [...]}

This is THE TASK: a correct, readable, slow first draft. Each step gathers its batch on the
host, runs the model in float32 through the naive slots, reads the loss back, clips the
gradients by reading every norm back to the host, and updates each parameter with a Python
loop of separate elementwise ops.

Its inputs come from `data.make_inputs` (one seed: the initial weights, the corpus, the
batch order); the harness scores the weights it returns with `heldout.heldout_loss`.
"""

from __future__ import annotations

import math
import types

import torch
from torch import Tensor

from . import ops as naive_ops
from .model import GPT, decays


def lr_at(step: int, cfg: dict) -> float:
    """Linear warmup to cfg['lr'], then cosine decay to cfg['min_lr'] at the last step.
    `step` counts from 1."""
    if step <= cfg["warmup_steps"]:
        return cfg["lr"] * step / cfg["warmup_steps"]
    progress = (step - cfg["warmup_steps"]) / max(1, cfg["steps"] - cfg["warmup_steps"])
    return cfg["min_lr"] + 0.5 * (cfg["lr"] - cfg["min_lr"]) * (1.0 + math.cos(math.pi * progress))


def clip_grad_norm(grads: list[Tensor], max_norm: float) -> float:
    """Scale grads so their global L2 norm is at most max_norm; returns the norm before."""
    total_sq = 0.0
    for g in grads:
        total_sq += g.norm().item() ** 2  # one host sync per parameter
    total = math.sqrt(total_sq)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g.mul_(coef)
    return total


def update(ops, cfg: dict, step: int, groups: dict[bool, list[int]], params: list[Tensor],
           grads: list[Tensor], exp_avgs: list[Tensor], exp_avg_sqs: list[Tensor]) -> None:
    """One AdamW step at this step's learning rate: one `ops.adamw` call per weight-decay
    group (`groups`: decays? -> parameter indices), decaying parameters first."""
    lr = lr_at(step, cfg)
    for decay, idx in groups.items():
        ops.adamw(
            [params[i] for i in idx], [grads[i] for i in idx],
            [exp_avgs[i] for i in idx], [exp_avg_sqs[i] for i in idx],
            step=step, lr=lr, beta1=cfg["beta1"], beta2=cfg["beta2"], eps=cfg["eps"],
            weight_decay=cfg["weight_decay"] if decay else 0.0,
        )


def train(cfg: dict, init: dict[str, Tensor], tokens: Tensor, batches: Tensor,
          ops: types.ModuleType = naive_ops, on_step=None) -> dict:
    """The solution-format entry point. `ops` swaps slot implementations; `on_step(step,
    loss)` is called after each step (the CLI's progress bar), at the cost of nothing: the
    loss is read back every step anyway."""
    device = cfg["device"]
    T = cfg["seq_len"]
    model = GPT.from_weights(cfg, init, ops, device=device)
    names = [name for name, _ in model.named_parameters()]
    params = [p for _, p in model.named_parameters()]
    groups = {True: [], False: []}  # decays? -> parameter indices
    for i, (name, p) in enumerate(zip(names, params)):
        groups[decays(name, tuple(p.shape))].append(i)
    exp_avgs = [torch.zeros_like(p) for p in params]
    exp_avg_sqs = [torch.zeros_like(p) for p in params]
    losses = []

    for step in range(1, cfg["steps"] + 1):
        # ---------------------------------------------------------------- batch, on the host
        starts = batches[step - 1].tolist()
        chunk = torch.stack([tokens[s : s + T + 1] for s in starts])  # (B, T+1)
        x = chunk[:, :-1].to(device)  # (B, T)
        y = chunk[:, 1:].to(device)  # (B, T)

        # ---------------------------------------------------------------- forward, backward
        for p in params:
            p.grad = None
        loss = model.loss(x, y)
        loss.backward()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])

        # ---------------------------------------------------------------- clip, update
        grads = [p.grad for p in params]
        clip_grad_norm(grads, cfg["grad_clip"])
        update(ops, cfg, step, groups, params, grads, exp_avgs, exp_avg_sqs)

    state_dict = {n: p.detach().to("cpu", torch.float32).clone()
                  for n, p in zip(names, params)}
    return {"state_dict": state_dict, "losses": losses}
