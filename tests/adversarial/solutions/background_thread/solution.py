"""EXPLOIT: a background thread that outlives `done`: train() returns early while a thread
keeps working (here it just spins), hoping the harness stops the clock anyway.
Caught by: the static scan (threading); at run time the harness finds the live thread when
train returns and rejects the run (threads)."""

import threading
import time

from baseline.train import train as reference_train


def _keep_working():
    while True:
        time.sleep(0.01)


def train(cfg, init, tokens, batches):
    threading.Thread(target=_keep_working, daemon=True).start()
    return reference_train(cfg, init, tokens, batches)
