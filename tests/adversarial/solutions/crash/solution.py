"""EXPLOIT: none; a crash mid-training must be a clean verdict, not a hung judge.
Caught by: the sandbox (crash)."""


def train(cfg, init, tokens, batches):
    raise RuntimeError("deliberate crash in step 1")
