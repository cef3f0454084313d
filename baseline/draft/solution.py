"""The `range` track's reference program: a first draft of a small GPT trainer in NumPy,
float64, with the backward pass written by hand, the way from-scratch implementations are
written. It trains exactly what baseline.train trains (same GPT, inputs, AdamW groups,
schedule and clipping) and is the numerical reference the judge compares against.

    train(cfg, init, tokens, batches) -> {"state_dict": {...}, "losses": [...]}

Read `layers.py` (each layer's forward and backward), `model.py` (the GPT, both ways),
`train.py` (the loop, clipping, AdamW). torch appears only here, to take the harness's
tensors in and hand float32 tensors back (the harness reads torch tensors).

Its waste is spread over many independent places, each a habit of real first drafts; what
each costs, alone and once the others are fixed, is measured in
bench/measurements/2026-12-07-range-track-design.json:

- attention one head and one query at a time, query t looping over keys 0..t: the first,
  explicit version of causal averaging in Karpathy's "Let's build GPT" notebook
  (gpt-dev.ipynb, `for b ... for t ...: xprev = x[b, :t+1]`), and llm.c's reference
  attention_forward (train_gpt2.c), which loops over b, t, h and t2;
- one sequence at a time with gradients added up per sequence: picoGPT (jaymody/picoGPT,
  gpt2.py) runs one [n_seq] input, and min-char-rnn (Karpathy's gist) trains one
  sequence per step;
- GELU with `x**3`, which numpy computes with libm pow: picoGPT's `gelu`;
- softmax in separate max, subtract, exp, sum and divide passes: picoGPT's `softmax`;
- the layer-norm backward walked node by node through every intermediate, with
  `np.ones` broadcast arrays: F. Kratzert, "Understanding the backward pass through Batch
  Normalization Layer" (the 9-step computational graph);
- cross-entropy through one-hot rows from `np.eye(V)[targets]`: Neural Networks from
  Scratch (nnfs.io, chapter 9, Loss_CategoricalCrossentropy.backward);
- the embedding gradient with `np.add.at`: CS231n assignment 3, word_embedding_backward;
- AdamW allocating a fresh array for every intermediate of every parameter: CS231n
  assignment 2, optim.adam;
- the global norm for clipping summed from per-parameter norms read into Python floats:
  torch.nn.utils.clip_grad_norm_ before its foreach version (`param_norm.item()` per
  parameter);
- float64 throughout (numpy's default, kept for numerical gradient checks: CS231n);
- NumPy itself: every operation a separate pass over memory, on one core (its BLAS
  threads gain nothing at these sizes).
"""

from __future__ import annotations

import numpy as np
import torch

from .layers import DTYPE
from .train import train_numpy


def train(cfg: dict, init: dict[str, torch.Tensor], tokens: torch.Tensor,
          batches: torch.Tensor, on_step=None) -> dict:
    """The solution-format entry point; `on_step(step, loss)` as baseline.train's."""
    params = {name: w.numpy().astype(DTYPE) for name, w in init.items()}  # copies
    params, losses = train_numpy(cfg, params, tokens.numpy(), batches.numpy(), on_step)
    state_dict = {name: torch.from_numpy(p.astype(np.float32)) for name, p in params.items()}
    return {"state_dict": state_dict, "losses": losses}
