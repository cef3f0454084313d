"""The arithmetic of one training step, from the preset alone: its FLOPs, its matrix
products one by one, its parameter count and a lower bound on its memory traffic. Pure
functions of a cfg (no timing, no device): bench/roofline.py sets them against the big-GEMM
rate, bench/shape_ceiling.py prices each product at the rate measured for its shape.

FLOPs. Matrix products only (elementwise work is bytes, not FLOPs), 2 FLOPs per
multiply-add, training = forward + backward = 3x forward (the backward computes two
products per forward product: the gradient of the input and of the weight). Per token and
layer the forward does
    qkv 2*d*3d + out-projection 2*d*d + MLP 2*(2*d*4d)        = 24 d^2
    scores q k^T 2*T*d + probs @ v 2*T*d                       = 4 T d   (full T x T,
        as the naive baseline computes it; a causal kernel that skips the masked half
        does half of this: the achieved FLOP/s a record states from this count includes
        work such a kernel skipped, up to 10% of the count on `range`, where attention
        is 20% of it; the shape-aware ceiling prices the full T x T too)
and the tied output head 2*d*V once per token.

Minimum bytes. A lower bound on the memory traffic of one step for an implementation
that keeps float32 master weights and AdamW moments (as the task's training requires),
makes one pass over the weights per phase, and fuses everything else on chip. With P
parameters, N = batch * seq_len tokens, d = d_model, L = n_layer:
    weights      forward reads W (4P), backward reads W (4P) and writes grad (4P),
                 AdamW reads W, grad, m, v (16P) and writes W, m, v (12P)      = 40 P
    activations  each block's input is saved in the forward and re-read in the
                 backward (checkpointing at block boundaries: the least a backward
                 can store without recomputing the whole forward), and the residual
                 gradient is read and written once per block: 4 * 4 N d per layer  = 16 N d L
    tokens       the batch's int64 ids, seq_len + 1 per sequence                = 8 B (T+1)
Logits are never materialised by a fused head + cross-entropy, so they cost nothing here.
A cache that holds all weights across phases (small presets on a 50 MB L2) can beat this
bound; it is a yardstick for arithmetic intensity, not any real kernel's traffic.

Shapes. `step_matmuls` lists the step's products one by one (their FLOPs are
`flops_per_step`), so that bench/shape_ceiling.py can price each at the rate this machine
reaches at its shape: the shape-aware ceiling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def flops_per_step(cfg: dict) -> float:
    d, T, V, L = cfg["d_model"], cfg["seq_len"], cfg["vocab_size"], cfg["n_layer"]
    forward_per_token = L * (24 * d * d + 4 * T * d) + 2 * d * V
    return 3.0 * forward_per_token * cfg["batch_size"] * T


@dataclass(frozen=True)
class Matmul:
    """One matrix product of a training step: `batch` independent (m x k) @ (k x n)
    products in one call (attention's per-sequence, per-head products), made `count`
    times a step (once per layer)."""
    name: str
    m: int
    n: int
    k: int
    batch: int = 1
    count: int = 1

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(batch, m, n, k): what a throughput measurement is keyed by."""
        return (self.batch, self.m, self.n, self.k)

    @property
    def flops(self) -> float:
        """Per step, all `count` calls."""
        return 2.0 * self.batch * self.m * self.n * self.k * self.count


def step_matmuls(cfg: dict) -> list[Matmul]:
    """Every matrix product of one training step at cfg's shapes, forward and backward;
    their FLOPs add up to `flops_per_step`. A linear layer y = x W^T, x (N, in), W (out,
    in), N = batch * seq_len tokens, computes y (N, out, in), then dx = dy W (N, in, out)
    and dW = dy^T x (out, in, N). Attention, per sequence and head (hd = d / n_head):
    s = q k^T (T, T, hd), y = p v (T, hd, T); backward dp = dy v^T (T, T, hd), dv = p^T dy,
    dq = ds k, dk = ds^T q (each T, hd, T). The tied head is a linear layer d -> vocab."""
    B, T, d, L = cfg["batch_size"], cfg["seq_len"], cfg["d_model"], cfg["n_layer"]
    N, hd, heads = B * T, d // cfg["n_head"], B * cfg["n_head"]
    linears = (("attn.c_attn", d, 3 * d, L), ("attn.c_proj", d, d, L),
               ("mlp.c_fc", d, 4 * d, L), ("mlp.c_proj", 4 * d, d, L),
               ("lm_head", d, cfg["vocab_size"], 1))
    found = []
    for name, d_in, d_out, count in linears:
        found += [Matmul(f"{name} forward", N, d_out, d_in, 1, count),
                  Matmul(f"{name} grad input", N, d_in, d_out, 1, count),
                  Matmul(f"{name} grad weight", d_out, d_in, N, 1, count)]
    return found + [Matmul(f"attention {name}", T, n, k, heads, L) for name, n, k in (
        ("q k^T", T, hd), ("p v", hd, T), ("grad p", T, hd), ("grad v", hd, T),
        ("grad q", hd, T), ("grad k", hd, T))]


def param_count(cfg: dict) -> int:
    from baseline.model import param_shapes

    return sum(math.prod(shape) for shape in param_shapes(cfg).values())


def min_bytes_per_step(cfg: dict) -> float:
    """The lower bound derived in the module docstring, in bytes."""
    B, T, d, L = cfg["batch_size"], cfg["seq_len"], cfg["d_model"], cfg["n_layer"]
    weights = 40 * param_count(cfg)
    activations = 16 * B * T * d * L
    tokens = 8 * B * (T + 1)
    return float(weights + activations + tokens)
