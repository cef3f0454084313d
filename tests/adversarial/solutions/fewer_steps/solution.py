"""EXPLOIT: fewer steps. Skips every 20th optimizer step (5% less work) and reports the
previous step's loss for it, so the loss list still has one entry per step.
Caught by: the training checks (weights, trajectory, held-out loss)."""

import types

from baseline import ops
from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    def adamw(*args, step, **kw):
        if step % 20 != 0:
            ops.adamw(*args, step=step, **kw)

    slots = types.SimpleNamespace(layer_norm=ops.layer_norm, attention=ops.attention,
                                  gelu=ops.gelu, cross_entropy=ops.cross_entropy, adamw=adamw)
    return reference_train(cfg, init, tokens, batches, ops=slots)
