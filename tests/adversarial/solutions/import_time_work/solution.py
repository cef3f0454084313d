"""EXPLOIT: work moved before `go` (into import time). Trains at import, on the inputs it
guesses the harness will use (seed 0), so that train() only returns the result.
Caught by: the secret seed: the precomputed weights belong to other inputs, and the
training checks (weights, trajectory, held-out loss) reject them."""

from baseline import get_preset, make_inputs
from baseline.train import train as reference_train

_cfg = get_preset("tiny").to_cfg("cpu")
_PRECOMPUTED = reference_train(_cfg, **make_inputs(_cfg, 0))


def train(cfg, init, tokens, batches):
    return _PRECOMPUTED
