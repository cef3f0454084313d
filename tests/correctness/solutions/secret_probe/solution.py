"""Searches everything a child can see of its run (environment, argv, every file in its
sandbox, its inputs) for the seed the test forces the judge to draw, then fails. Judged
with the static scan off: it reads the environment and walks directories."""

import os
import sys

import torch

SEED = 987654321987  # the test makes secrets.randbits return this


def train(cfg, init, tokens, batches):
    needles = [str(SEED), hex(SEED), str(SEED).encode(), hex(SEED).encode()]
    seen = [repr(sys.argv), repr(dict(os.environ)), repr(cfg)]
    own = os.path.dirname(os.path.abspath(__file__))  # its own source holds SEED, of course
    for folder, _, files in os.walk(os.path.dirname(os.getcwd())):
        if folder.startswith(own):
            continue
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                seen.append(f.read())
    seen.append(repr(torch.cat([t.reshape(-1).double() for t in (tokens, batches)]).tolist()))
    found = [n for n in needles for blob in seen if isinstance(blob, type(n)) and n in blob]
    print(f"SEARCHED {len(seen)} places; FOUND {found}")
    raise RuntimeError("probe done")
