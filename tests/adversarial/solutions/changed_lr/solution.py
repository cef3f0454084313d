"""EXPLOIT: a changed learning rate (5% higher), the kind of tweak that buys a lower loss
or fewer steps.
Caught by: the training checks (trajectory, held-out loss)."""

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    return reference_train({**cfg, "lr": cfg["lr"] * 1.05, "min_lr": cfg["min_lr"] * 1.05},
                           init, tokens, batches)
