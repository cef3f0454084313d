"""Reference solution `range_obvious`: the range track's draft (baseline/draft) after the
fixes a careful engineer makes in about an hour, each the top line of a profile:

1. attention: every head and query of a sequence at once, through (H, T, T) score
   matrices with the keys after each query masked out (layers.attention_forward/_backward),
   instead of a loop over heads and queries with one softmax per query;
2. GELU: `x * x * x` instead of `x**3`, which NumPy computes with libm's pow (it
   special-cases a few exponents, 2 among them, but not 3).

Everything else is the draft's, unchanged: float64, one sequence at a time, the layer-norm
backward node by node, one-hot cross-entropy, np.add.at, AdamW with temporaries. After the
two fixes the profile is flat (its largest layer function, the layer-norm backward, takes
13% of the step), where an hour's work stops. README.md has the profiles and the measured
factor of each fix.

    train(cfg, init, tokens, batches) -> {"state_dict": {...}, "losses": [...]}
"""

from __future__ import annotations

import numpy as np
import torch

from .layers import DTYPE
from .train import train_numpy


def train(cfg: dict, init: dict[str, torch.Tensor], tokens: torch.Tensor,
          batches: torch.Tensor) -> dict:
    params = {name: w.numpy().astype(DTYPE) for name, w in init.items()}  # copies
    params, losses = train_numpy(cfg, params, tokens.numpy(), batches.numpy())
    state_dict = {name: torch.from_numpy(p.astype(np.float32)) for name, p in params.items()}
    return {"state_dict": state_dict, "losses": losses}
