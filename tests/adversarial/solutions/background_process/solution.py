"""EXPLOIT: a background process that outlives `done` (fork, then keep computing).
Caught by: the static scan (os); at run time the audit hook refuses os.fork
(forbidden_call); without the hook, killing the process group at `done` ends the fork
(the test checks the process table)."""

import os
import time

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    pid = os.fork()
    if pid == 0:
        while True:
            time.sleep(0.1)
    print(f"FORKED {pid}", flush=True)
    return reference_train(cfg, init, tokens, batches)
