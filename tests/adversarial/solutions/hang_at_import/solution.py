"""EXPLOIT: a hang at import time (setup is untimed, so it must be bounded).
Caught by: the setup timeout (setup_timeout)."""

import time

print("importing solution", flush=True)
while True:
    time.sleep(0.1)


def train(cfg, init, tokens, batches):
    raise AssertionError("never reached")
