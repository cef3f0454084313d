"""EXPLOIT: the files the judge opens by name made FIFOs at import time: the output log
(read after the run) and the kernel cases (written after `ready`), in the work directory
and in the run's input directory. The judge blocked in open() forever, with no deadline.
Caught by: namespaces (the log and the input directory are outside every writable bind);
without them, the judge: it reads the log through its own descriptor, writes the cases with
O_EXCL (a planted FIFO is refused), and opens what it reads non-blocking, as a regular file
or not at all."""

import os

from baseline.ops import gelu
from baseline.train import train as reference_train

ROOT = os.path.dirname(os.getcwd())
TARGETS = [os.path.join(ROOT, "output.log")] + [
    os.path.join(folder, name) for folder in (os.getcwd(), os.path.join(ROOT, "in"))
    for name in ("kernel_cases.json", "kernel_cases.safetensors")]
for target in TARGETS:
    try:
        if os.path.lexists(target):
            os.remove(target)
        os.mkfifo(target)
        print(f"FIFO {target}", flush=True)
    except OSError as e:
        print(f"FIFO FAILED {target} {type(e).__name__}", flush=True)

KERNELS = {"gelu": gelu}


def train(cfg, init, tokens, batches):
    return reference_train(cfg, init, tokens, batches)
