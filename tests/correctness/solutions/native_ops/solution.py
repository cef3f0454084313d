"""A legal rewrite through the kernel library: every slot torch-native (`kernels.native`).
Needs --allow-library, like our reference entries."""

from baseline.train import train as reference_train
from kernels import native


def train(cfg, init, tokens, batches):
    return reference_train(cfg, init, tokens, batches, ops=native)
