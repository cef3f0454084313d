"""EXPLOIT: NaN weights (a diverged or deliberately broken run that hopes to pass).
Caught by: the results check (finite)."""

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    result = reference_train(cfg, init, tokens, batches)
    result["state_dict"]["ln_f.weight"][0] = float("nan")
    return result
