"""Declares KERNELS: a correct torch-native gelu and an entry under a name that is no slot."""

import torch.nn.functional as F

from baseline.train import train as reference_train


def gelu(x):
    return F.gelu(x, approximate="tanh")


KERNELS = {"gelu": gelu, "softmax": gelu}


def train(cfg, init, tokens, batches):
    return reference_train(cfg, init, tokens, batches)
