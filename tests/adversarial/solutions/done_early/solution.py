"""EXPLOIT: `done` before results exist: forges `done` on the status pipe (found through
/proc/self/fd) at the start, then trains, hoping the clock stops at once and the results
land in time.
Caught by: the protocol: the parent kills the group at `done`, finds no results
(protocol), and no process is left behind (the test checks the process table)."""

import os

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    print(f"MAIN {os.getpid()}", flush=True)
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("pipe:"):
                os.write(int(name), b"done\n")
        except OSError:  # the listing's own fd, or a pipe's read end
            pass
    return reference_train(cfg, init, tokens, batches)
