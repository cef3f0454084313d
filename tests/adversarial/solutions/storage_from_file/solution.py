"""EXPLOIT: `torch.UntypedStorage.from_file(path, shared=True, nbytes)` is the same shared
mapping as the refused `torch.from_file`, spelled through the storage class: writing into
the storage writes the file, natively, with no audit event. The target's path is in
`victim.txt` beside this file (the test writes it).
Caught by: the static scan (the chain is the forbidden from_file, whatever it is called);
the audit hook cannot see a mapping, so without the scan the kernel holds: under
namespaces or Landlock the file is not the run's to open."""

import torch

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    victim = open(__file__.rsplit("/", 1)[0] + "/victim.txt").read().strip()
    try:
        storage = torch.UntypedStorage.from_file(victim, True, 5)
        view = torch.empty(0, dtype=torch.uint8).set_(storage)
        view.copy_(torch.tensor(list(b"PWNED"), dtype=torch.uint8))
        print("MAPPED WRITE", flush=True)
    except RuntimeError as e:
        print(f"MAP FAILED {e}", flush=True)
    return reference_train(cfg, init, tokens, batches)
