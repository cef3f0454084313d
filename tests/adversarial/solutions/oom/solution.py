"""EXPLOIT: out of memory (a runaway allocation).
Caught by: the sandbox's memory limit (oom)."""

import torch


def train(cfg, init, tokens, batches):
    hog = torch.ones(1 << 34, dtype=torch.uint8)  # 16 GiB
    return {"state_dict": {}, "losses": [float(hog[0])]}
