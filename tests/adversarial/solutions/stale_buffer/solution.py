"""EXPLOIT: stale-buffer reuse. The declared gelu kernel writes only the first half of its
output and returns whatever memory the allocator had in the rest (often, by luck, the last
call's result).
Caught by: the kernel check of the declared KERNELS, which poisons the allocator before
each call."""

import types

import torch

from baseline import ops
from baseline.train import train as reference_train


def gelu(x):
    out = torch.empty_like(x)
    half = x.numel() // 2
    out.view(-1)[:half] = ops.gelu(x.reshape(-1)[:half])
    return out


KERNELS = {"gelu": gelu}


def train(cfg, init, tokens, batches):
    slots = types.SimpleNamespace(layer_norm=ops.layer_norm, attention=ops.attention, gelu=gelu,
                                  cross_entropy=ops.cross_entropy, adamw=ops.adamw)
    return reference_train(cfg, init, tokens, batches, ops=slots)
