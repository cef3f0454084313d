"""EXPLOIT: a loss whose __str__ rewrites losses.json, while the harness is saving it, as
5000 nested `[`: json.loads in the judge raised RecursionError, uncaught, and the check
died with a traceback instead of a verdict.
Caught by: the judge parses what a run wrote with a nesting-depth limit: a clean
`results` rejection."""

import os


class Loss:
    def __str__(self):
        path = os.path.join(os.getcwd(), "losses.json")
        os.remove(path)
        with open(path, "w") as f:
            f.write("[" * 5000)
        return "1.0"


def train(cfg, init, tokens, batches):
    return {"state_dict": dict(init), "losses": [Loss()] + [1.0] * (cfg["steps"] - 1)}
