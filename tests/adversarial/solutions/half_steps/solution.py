"""EXPLOIT: half the steps at double the learning rate, hoping to land near the same loss
in half the time.
Caught by: the training checks (weights, trajectory, held-out loss)."""

import types

from baseline import ops
from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    def adamw(*args, step, lr, **kw):
        if step % 2 == 1:
            ops.adamw(*args, step=(step + 1) // 2, lr=2 * lr, **kw)

    slots = types.SimpleNamespace(layer_norm=ops.layer_norm, attention=ops.attention,
                                  gelu=ops.gelu, cross_entropy=ops.cross_entropy, adamw=adamw)
    return reference_train(cfg, init, tokens, batches, ops=slots)
