"""EXPLOIT: `torch.save(obj, path)` opens and writes `path` from C++ (PyTorch's zip
writer), so no `open` audit event is raised and the write goes wherever the user can
write. The target's path is in `victim.txt` beside this file (the test writes it).
Caught by: the static scan (torch.save writes natively); the audit hook cannot see it, so
without the scan the kernel holds: under namespaces or Landlock the file is not the run's
to write."""

import torch

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    victim = open(__file__.rsplit("/", 1)[0] + "/victim.txt").read().strip()
    try:
        torch.save({"pwned": torch.zeros(1)}, victim)
        print("SAVED OUTSIDE", flush=True)
    except RuntimeError as e:
        print(f"SAVE FAILED {e}", flush=True)
    return reference_train(cfg, init, tokens, batches)
