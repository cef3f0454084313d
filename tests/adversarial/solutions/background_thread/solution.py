"""EXPLOIT: background threads that outlive `done`: one started at import time (before the
harness could be watching) and one in train(); train() returns while they keep working
(here they just spin), hoping the harness stops the clock anyway.
Caught by: the static scan (threading); at run time the harness finds the live threads
when train returns and rejects the run (threads)."""

import threading
import time

from baseline.train import train as reference_train


def _keep_working():
    while True:
        time.sleep(0.01)


threading.Thread(target=_keep_working, name="from-import", daemon=True).start()


def train(cfg, init, tokens, batches):
    threading.Thread(target=_keep_working, name="from-train", daemon=True).start()
    return reference_train(cfg, init, tokens, batches)
