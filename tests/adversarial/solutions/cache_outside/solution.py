"""EXPLOIT: weights cached across runs, outside the sandbox (/tmp, shared by every run).
Caught by: the static scan (path); at run time the audit hook refuses the write
(forbidden_call)."""

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    result = reference_train(cfg, init, tokens, batches)
    with open("/tmp/speedup-bench-cheat-cache.txt", "w") as f:
        f.write(repr(result["losses"]))
    return result
