"""EXPLOIT: a changed batch order (reversed), e.g. to make data loading contiguous.
Caught by: the training checks (weights, trajectory, held-out loss)."""

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    return reference_train(cfg, init, tokens, batches.flip(0))
