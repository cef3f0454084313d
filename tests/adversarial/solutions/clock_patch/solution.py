"""EXPLOIT: timer monkey-patching. Replaces time.perf_counter/monotonic and
torch.cuda.synchronize/Event.elapsed_time at import, hoping the harness times the run with
the patched clock and reads about zero seconds.
Caught by: the static scan (timer_patch); at run time the patch is harmless, since only the
parent process's clock counts."""

import time

import torch

from baseline.train import train as reference_train

time.perf_counter = lambda: 0.0
time.monotonic = lambda: 0.0
torch.cuda.synchronize = lambda device=None: None
torch.cuda.Event.elapsed_time = lambda self, end: 0.0


def train(cfg, init, tokens, batches):
    print(f"patched clock reads {time.perf_counter()} and {time.monotonic()}")
    return reference_train(cfg, init, tokens, batches)
