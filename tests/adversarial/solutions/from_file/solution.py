"""EXPLOIT: `torch.from_file(..., shared=True)` maps a file with native code, which raises
no audit event, so writing into the tensor writes the file wherever the user can. The
target's path is in `victim.txt` beside this file (the test writes it).
Caught by: the static scan (torch.from_file); without it, the kernel: the file is not in
the run's mount namespace (a private /tmp, the system read-only)."""

import torch

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    victim = open(__file__.rsplit("/", 1)[0] + "/victim.txt").read().strip()
    try:
        mapped = torch.from_file(victim, shared=True, size=5, dtype=torch.uint8)
        mapped.copy_(torch.tensor(list(b"PWNED"), dtype=torch.uint8))
        print("MAPPED WRITE", flush=True)
    except RuntimeError as e:
        print(f"MAP FAILED {e}", flush=True)
    return reference_train(cfg, init, tokens, batches)
