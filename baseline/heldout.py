"""The held-out evaluation: how the harness scores the weights a run returns.

    make_heldout(cfg, seed) -> tokens             text the run never trained on
    heldout_loss(state_dict, cfg, tokens) -> nats per token

The text is the same synthetic language as the corpus (data.py), from a sampling seed of its
own. The loss is computed by the reference model with the naive slots, never by the
solution, so a solution can change how it trains but not how it is scored. The judge
compares a candidate's held-out loss with the baseline's, and `speedup train` reports it
against the language's entropy floor.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import rng
from .data import generate
from .model import GPT


def make_heldout(cfg: dict, seed: int) -> Tensor:
    """Held-out text for judging: same language, a sampling seed of its own."""
    return generate(cfg["heldout_tokens"], rng.derive(seed, "heldout"), cfg["vocab_size"])


@torch.no_grad()
def heldout_loss(state_dict: dict[str, Tensor], cfg: dict, heldout_tokens: Tensor,
                 dtype: torch.dtype = torch.float32, device: str = "cpu",
                 batch_size: int = 64) -> float:
    """Mean next-token loss of `state_dict` on held-out text, with the reference model and
    naive ops (float64 when asked): non-overlapping windows of seq_len + 1 tokens."""
    model = GPT.from_weights(cfg, state_dict, device=device, dtype=dtype)
    T = cfg["seq_len"]
    n_windows = (heldout_tokens.numel() - 1) // T
    windows = heldout_tokens[: n_windows * T + 1]
    xs = windows[:-1].view(n_windows, T)  # (n, T)
    ys = windows[1:].view(n_windows, T)  # (n, T)
    total = 0.0
    for i in range(0, n_windows, batch_size):
        x, y = xs[i : i + batch_size].to(device), ys[i : i + batch_size].to(device)
        total += float(model.loss(x, y)) * x.size(0)
    return total / n_windows
