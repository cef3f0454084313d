"""EXPLOIT: grade your own kernel. KERNELS declares a GELU that is simply wrong (x / 2),
and at import time the solution replaces `torch.isfinite`, which the kernel check used to
find the elements it grades, with one that says nothing is finite: in the solution's own
process every error then came out as 0 and the wrong kernel passed.
Caught by: the kernel check, which grades in the judge's process: the solution's process
only computes the outputs and gradients for the judge's inputs and returns them as data."""

import torch

from baseline.train import train as reference_train


def wrong_gelu(x):
    return x * 0.5


def _nothing_is_finite(t):
    return torch.zeros(t.shape, dtype=torch.bool, device=t.device)


torch.isfinite = _nothing_is_finite
KERNELS = {"gelu": wrong_gelu}


def train(cfg, init, tokens, batches):
    return reference_train(cfg, init, tokens, batches)
