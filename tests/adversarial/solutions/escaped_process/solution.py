"""EXPLOIT: a process that escapes the process group and session (double fork + setsid),
then the solution hangs, so the harness has to kill it mid-run.
Caught by: the static scan (os); at run time the audit hook refuses os.fork; without the
hook, the run timeout kills the group and the stray sweep kills the escaped grandchild
(found by the run's marker in its environment; the test checks the process table)."""

import os
import time


def train(cfg, init, tokens, batches):
    print(f"MAIN {os.getpid()}", flush=True)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            print(f"ESCAPED {os.getpid()}", flush=True)
            while True:
                time.sleep(0.1)
        os._exit(0)
    while True:
        time.sleep(0.1)
