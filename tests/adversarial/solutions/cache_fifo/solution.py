"""EXPLOIT: a FIFO left in the Triton compile cache by an untimed warm-up run (which may
write the persistent caches): every later run's private copy of the cache blocked on it or
failed, the untouched baseline's included.
Caught by: each solution has a persistent cache of its own and the baseline uses none, and
a cache is copied into a run as regular files and directories only (a FIFO is skipped with
a note, never reproduced)."""

import os

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    cache = os.environ["TRITON_CACHE_DIR"]
    print("CACHE HOLDS", sorted(os.listdir(cache)), flush=True)
    try:
        os.mkfifo(os.path.join(cache, "planted-fifo"))
        print("FIFO PLANTED", flush=True)
    except OSError as e:
        print(f"FIFO FAILED {type(e).__name__}", flush=True)
    return reference_train(cfg, init, tokens, batches)
