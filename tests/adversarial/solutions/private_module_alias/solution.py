"""EXPLOIT: `random` binds the os module under a private name (`import os as _os`), so
`random._os` is os under a spelling that no attribute-name rule lists; through it the
solution writes a file outside the run. The target's path is in `victim.txt` beside this
file (the test writes it).
Caught by: the static scan (the chain `random._os` is the module os, resolved in the
judge's own process); the audit hook (an open for writing outside the run); the kernel
under namespaces or Landlock."""

import random

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    victim = open(__file__.rsplit("/", 1)[0] + "/victim.txt").read().strip()
    native_os = random._os
    try:
        fd = native_os.open(victim, native_os.O_WRONLY | native_os.O_TRUNC)
        native_os.write(fd, b"PWNED")
        native_os.close(fd)
        print("PRIVATE ALIAS WRITE", flush=True)
    except OSError as e:
        print(f"PRIVATE ALIAS FAILED {type(e).__name__}: {e}", flush=True)
    return reference_train(cfg, init, tokens, batches)
