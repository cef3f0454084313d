"""EXPLOIT: importing the judge to read or patch it (here: loosen the thresholds it would
use, in case the judge ran in the same process).
Caught by: the static scan (import); at run time the import blocker refuses the import
(forbidden_call)."""

from baseline.train import train as reference_train

try:
    from correctness import tolerances

    tolerances.Source.thresholds = lambda self, preset, device: {
        "heldout_loss": 1e9, "weights": 1e9, "trajectory": 1e9}
except ImportError as e:
    print("blocked:", e)


def train(cfg, init, tokens, batches):
    return reference_train(cfg, init, tokens, batches)
