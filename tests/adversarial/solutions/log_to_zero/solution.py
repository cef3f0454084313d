"""EXPLOIT: the run's output log replaced by a symlink to /dev/zero, so the judge's read of
the log's tail never ends and takes all of the judge's memory.
Caught by: namespaces (the log is outside every writable bind); without them, the judge,
which reads at most TAIL_BYTES through the file descriptor it opened for the child's
stdout, never by path."""

import os

from baseline.train import train as reference_train

LOG = os.path.join(os.path.dirname(os.getcwd()), "output.log")


def train(cfg, init, tokens, batches):
    try:
        os.remove(LOG)
        os.symlink("/dev/zero", LOG)
        print("LOG LINKED", flush=True)
    except OSError as e:
        print(f"LINK FAILED {type(e).__name__}", flush=True)
    return reference_train(cfg, init, tokens, batches)
