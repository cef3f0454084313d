"""EXPLOIT: a subtler precision cut: the master weights kept in fp16 (rounded after every
update). fp16 keeps 3 more mantissa bits than bf16, so it loses 8x less of each update:
it passed thresholds calibrated without it, with bf16 autocast admitted as legal.
Caught by: the training checks, since calibration measures fp16 master weights and
admits no legal variant (bf16 autocast on tiny) whose distance would hide them."""

import types

import torch

from baseline import ops
from baseline.train import train as reference_train


@torch.no_grad()
def adamw(params, *args, **kw):
    ops.adamw(params, *args, **kw)
    for p in params:
        p.copy_(p.to(torch.float16).float())


def train(cfg, init, tokens, batches):
    slots = types.SimpleNamespace(layer_norm=ops.layer_norm, attention=ops.attention,
                                  gelu=ops.gelu, cross_entropy=ops.cross_entropy, adamw=adamw)
    return reference_train(cfg, init, tokens, batches, ops=slots)
