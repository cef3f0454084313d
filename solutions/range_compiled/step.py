"""One whole training step as one function of flat buffers, for torch.compile to turn into
one graph: forward, backward, global-norm clipping and AdamW; and the loop around it.

    step = make_step(dims_of(cfg))
    p, m, v, loss = step(p, m, v, decay, chunk, sched)
    run(cfg, init, tokens, batches, step) -> {"state_dict": {...}, "losses": [...]}

`p`, `m`, `v` (P,) hold every parameter, first and second moment back to back in the
canonical order (`Layout`); `decay` (P,) is 1 where weight decay applies (baseline.model.
decays) and 0 elsewhere, so both AdamW groups are one elementwise pass; `chunk` (B, T+1)
is the step's token windows; `sched` (3,) is this step's lr, lr / (1 - beta1^step) and
1 / sqrt(1 - beta2^step), computed on the host for every step before the loop. Every value
that changes from step to step is a tensor, so one compiled graph serves every step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from baseline.model import decays, param_shapes
from baseline.train import lr_at

from . import layers as L

BLOCK_KEYS = ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
              "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
              "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")


@dataclass(frozen=True)
class Dims:
    """Everything the step's graph depends on: a compiled step is made once per value."""
    shapes: tuple[tuple[str, tuple[int, ...]], ...]  # canonical (name, shape), in order
    batch_size: int
    seq_len: int
    n_head: int
    n_layer: int
    layer_norm_eps: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    grad_clip: float


def dims_of(cfg: dict) -> Dims:
    return Dims(tuple(param_shapes(cfg).items()), cfg["batch_size"], cfg["seq_len"],
                cfg["n_head"], cfg["n_layer"], cfg["layer_norm_eps"], cfg["beta1"],
                cfg["beta2"], cfg["eps"], cfg["weight_decay"], cfg["grad_clip"])


class Layout:
    """Where each parameter lives in the flat buffer."""

    def __init__(self, shapes: tuple[tuple[str, tuple[int, ...]], ...]):
        self.shapes = dict(shapes)
        self.offsets, at = {}, 0
        for name, shape in shapes:
            self.offsets[name] = at
            at += math.prod(shape)
        self.size = at

    def views(self, flat: Tensor) -> dict[str, Tensor]:
        return {n: flat[o : o + math.prod(self.shapes[n])].view(self.shapes[n])
                for n, o in self.offsets.items()}

    def flatten(self, tensors: dict[str, Tensor]) -> Tensor:
        return torch.cat([tensors[n].reshape(-1) for n in self.offsets])


# ---------------------------------------------------------------------------- forward, backward

def block_forward(w: dict, x: Tensor, d: Dims) -> tuple[Tensor, dict]:
    """x + attn(ln_1(x)), then + mlp(ln_2(x)); x (N, C)."""
    B, T, eps = d.batch_size, d.seq_len, d.layer_norm_eps
    c = {}
    a, c["ln_1"] = L.layer_norm(x, w["ln_1.weight"], w["ln_1.bias"], eps)
    qkv = torch.addmm(w["attn.c_attn.bias"], a, w["attn.c_attn.weight"].T)  # (N, 3C)
    att, c["attn"] = L.attention(qkv, B, T, d.n_head)  # (N, C)
    x = x + torch.addmm(w["attn.c_proj.bias"], att, w["attn.c_proj.weight"].T)
    mm, c["ln_2"] = L.layer_norm(x, w["ln_2.weight"], w["ln_2.bias"], eps)
    f = torch.addmm(w["mlp.c_fc.bias"], mm, w["mlp.c_fc.weight"].T)  # (N, 4C)
    g, t = L.gelu(f)
    x = x + torch.addmm(w["mlp.c_proj.bias"], g, w["mlp.c_proj.weight"].T)
    c.update(a=a, att=att, mm=mm, f=f, t=t, g=g)
    return x, c


def block_backward(w: dict, dx: Tensor, c: dict, grads: dict) -> Tensor:
    """dx (N, C), the gradient of the block's output -> its input's; parameter gradients
    go into `grads` under the block-relative keys."""
    dg, grads["mlp.c_proj.weight"], grads["mlp.c_proj.bias"] = \
        L.linear_backward(dx, c["g"], w["mlp.c_proj.weight"])
    df = L.gelu_backward(dg, c["f"], c["t"])
    dmm, grads["mlp.c_fc.weight"], grads["mlp.c_fc.bias"] = \
        L.linear_backward(df, c["mm"], w["mlp.c_fc.weight"])
    dx2, grads["ln_2.weight"], grads["ln_2.bias"] = \
        L.layer_norm_backward(dmm, c["ln_2"], w["ln_2.weight"])
    dx = dx + dx2
    datt, grads["attn.c_proj.weight"], grads["attn.c_proj.bias"] = \
        L.linear_backward(dx, c["att"], w["attn.c_proj.weight"])
    dqkv = L.attention_backward(datt, c["attn"])  # (N, 3C)
    da, grads["attn.c_attn.weight"], grads["attn.c_attn.bias"] = \
        L.linear_backward(dqkv, c["a"], w["attn.c_attn.weight"])
    dx1, grads["ln_1.weight"], grads["ln_1.bias"] = \
        L.layer_norm_backward(da, c["ln_1"], w["ln_1.weight"])
    return dx + dx1


def loss_and_grads(w: dict[str, Tensor], idx: Tensor, targets: Tensor,
                   d: Dims) -> tuple[Tensor, dict[str, Tensor]]:
    """The mean loss over the batch and every parameter's gradient; idx, targets (N,)."""
    N, T = idx.shape[0], d.seq_len
    V, C = w["wte"].shape
    x = (w["wte"][idx].view(-1, T, C) + w["wpe"]).view(N, C)  # (N, C)
    caches = []
    for i in range(d.n_layer):
        x, c = block_forward({k: w[f"h.{i}.{k}"] for k in BLOCK_KEYS}, x, d)
        caches.append(c)
    xf, ln_f = L.layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], d.layer_norm_eps)
    loss, dlogits = L.cross_entropy(xf @ w["wte"].T, targets)  # tied head: (N, V)

    grads = {}
    dx, grads["ln_f.weight"], grads["ln_f.bias"] = \
        L.layer_norm_backward(dlogits @ w["wte"], ln_f, w["ln_f.weight"])
    for i in reversed(range(d.n_layer)):
        block = {}
        dx = block_backward({k: w[f"h.{i}.{k}"] for k in BLOCK_KEYS}, dx, caches[i], block)
        grads.update({f"h.{i}.{k}": g for k, g in block.items()})
    # wte's gradient from the head (dlogits^T xf) and from the embedding (each token's row
    # of dx added to its row: one_hot(idx)^T dx) as one product over 2N rows. A fixed order
    # of additions: Inductor's scatter-add (index_add) adds atomically from every thread.
    one_hot = (idx[:, None] == torch.arange(V, dtype=idx.dtype, device=idx.device))  # (N, V)
    grads["wte"] = torch.cat([dlogits, one_hot.to(dx.dtype)]).T @ torch.cat([xf, dx])
    grads["wpe"] = dx.view(-1, T, C).sum(0)  # (T, C)
    return loss, grads


# ---------------------------------------------------------------------------- the step

def make_step(d: Dims) -> Callable:
    layout = Layout(d.shapes)

    def step(p: Tensor, m: Tensor, v: Tensor, decay: Tensor, chunk: Tensor,
             sched: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        chunk = chunk.to(torch.int32)  # vector compares at full width
        idx, targets = chunk[:, :-1].reshape(-1), chunk[:, 1:].reshape(-1)  # (N,) each
        loss, grads = loss_and_grads(layout.views(p), idx, targets, d)
        g = layout.flatten(grads)  # (P,)
        # clip by the global norm: scale by max_norm / (norm + 1e-6) where that is below 1
        coef = torch.clamp(d.grad_clip / (torch.sqrt((g * g).sum()) + 1e-6), max=1.0)
        g = g * coef
        lr, step_size, inv_sqrt_bc2 = sched[0], sched[1], sched[2]
        m = d.beta1 * m + (1 - d.beta1) * g
        v = d.beta2 * v + (1 - d.beta2) * g * g
        p = p * (1 - lr * d.weight_decay * decay)
        p = p - step_size * m / (torch.sqrt(v) * inv_sqrt_bc2 + d.eps)
        return p, m, v, loss

    return step


# ---------------------------------------------------------------------------- the loop

def schedule(cfg: dict) -> Tensor:
    """(steps, 3): per step lr, lr / (1 - beta1^step), 1 / sqrt(1 - beta2^step)."""
    rows = []
    for s in range(1, cfg["steps"] + 1):
        lr = lr_at(s, cfg)
        rows.append((lr, lr / (1 - cfg["beta1"] ** s), 1 / math.sqrt(1 - cfg["beta2"] ** s)))
    return torch.tensor(rows, dtype=torch.float32)


def run(cfg: dict, init: dict[str, Tensor], tokens: Tensor, batches: Tensor,
        step: Callable) -> dict:
    """The training loop around `step` (make_step's signature, compiled or not)."""
    layout = Layout(dims_of(cfg).shapes)
    p = layout.flatten({n: t.to(torch.float32) for n, t in init.items()})
    m, v = torch.zeros_like(p), torch.zeros_like(p)
    decay = layout.flatten({n: torch.full(s, float(decays(n, s)))
                            for n, s in layout.shapes.items()})
    window = torch.arange(cfg["seq_len"] + 1)
    chunks = tokens.long()[batches[:, :, None] + window]  # (steps, B, T+1)
    sched = schedule(cfg)
    losses = []
    for s in range(cfg["steps"]):
        p, m, v, loss = step(p, m, v, decay, chunks[s], sched[s])
        losses.append(loss)
    state_dict = {n: t.clone() for n, t in layout.views(p).items()}
    return {"state_dict": state_dict, "losses": torch.stack(losses).tolist()}
