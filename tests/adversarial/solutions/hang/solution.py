"""EXPLOIT: a hang (deadlock or infinite loop) in training.
Caught by: the run timeout (run_timeout); the harness kills it mid-run."""


def train(cfg, init, tokens, batches):
    while True:
        pass
