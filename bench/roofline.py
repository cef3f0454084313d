"""FLOPs per training step, from the preset alone.

Matrix products only (elementwise work is bytes, not FLOPs), 2 FLOPs per multiply-add,
training = forward + backward = 3x forward (the backward computes two products per
forward product: the gradient of the input and of the weight). Per token and layer the
forward does
    qkv 2*d*3d + out-projection 2*d*d + MLP 2*(2*d*4d)        = 24 d^2
    scores q k^T 2*T*d + probs @ v 2*T*d                       = 4 T d   (full T x T,
        as the naive baseline computes it; a causal kernel that skips the masked half
        does half of this)
and the tied output head 2*d*V once per token.
"""

from __future__ import annotations


def flops_per_step(cfg: dict) -> float:
    d, T, V, L = cfg["d_model"], cfg["seq_len"], cfg["vocab_size"], cfg["n_layer"]
    forward_per_token = L * (24 * d * d + 4 * T * d) + 2 * d * V
    return 3.0 * forward_per_token * cfg["batch_size"] * T
