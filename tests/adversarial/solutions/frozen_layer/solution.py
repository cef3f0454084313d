"""EXPLOIT: a frozen layer. The first transformer block is never updated (so its weight
gradients need not be computed), everything else trains as usual.
Caught by: the training checks (weights, trajectory, held-out loss)."""

import types

from baseline import ops
from baseline.model import decays, param_shapes
from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    shapes = param_shapes(cfg)
    groups = {True: [n for n, s in shapes.items() if decays(n, s)],
              False: [n for n, s in shapes.items() if not decays(n, s)]}

    def adamw(params, grads, exp_avgs, exp_avg_sqs, **kw):
        names = groups[kw["weight_decay"] > 0]
        keep = [i for i, n in enumerate(names) if not n.startswith("h.0.")]
        ops.adamw(*([t[i] for i in keep] for t in (params, grads, exp_avgs, exp_avg_sqs)), **kw)

    slots = types.SimpleNamespace(layer_norm=ops.layer_norm, attention=ops.attention,
                                  gelu=ops.gelu, cross_entropy=ops.cross_entropy, adamw=adamw)
    return reference_train(cfg, init, tokens, batches, ops=slots)
