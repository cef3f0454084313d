"""EXPLOIT: precision cut below tolerance: the master weights are kept in bf16 (rounded
after every update), which loses small updates.
Caught by: the training checks (trajectory, held-out loss)."""

import types

import torch

from baseline import ops
from baseline.train import train as reference_train


@torch.no_grad()
def adamw(params, *args, **kw):
    ops.adamw(params, *args, **kw)
    for p in params:
        p.copy_(p.to(torch.bfloat16).float())


def train(cfg, init, tokens, batches):
    slots = types.SimpleNamespace(layer_norm=ops.layer_norm, attention=ops.attention,
                                  gelu=ops.gelu, cross_entropy=ops.cross_entropy, adamw=adamw)
    return reference_train(cfg, init, tokens, batches, ops=slots)
