"""EXPLOIT: a 1 GiB sparse file left in the Triton compile cache by an untimed warm-up run:
every later run's private copy of the cache took a gigabyte of disk.
Caught by: a cache is copied into a run within a size budget; a file over it is skipped
with a note, never copied."""

import os

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    cache = os.environ["TRITON_CACHE_DIR"]
    print("CACHE HOLDS", sorted(os.listdir(cache)), flush=True)
    path = os.path.join(cache, "planted-sparse")
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.truncate(1 << 30)
        print("SPARSE PLANTED", flush=True)
    return reference_train(cfg, init, tokens, batches)
