"""EXPLOIT: weights cached across runs. Saves the trained weights where a later run of the
same evaluation (same secret seed) could find them: its own directory, the working
directory, HOME, TMPDIR and the compile-cache directories; on a hit it returns them
without training.
Caught by: the sandbox: every run gets a fresh copy of the solution, fresh work/HOME/TMPDIR
and a private snapshot of the compile caches, so a second run always misses. (Reading the
environment is also a static-scan finding.)"""

import os

import torch
from safetensors.torch import load_file, save_file

from baseline.train import train as reference_train


def _places():
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [here, os.getcwd(), os.environ.get("HOME"), os.environ.get("TMPDIR"),
            os.environ.get("TRITON_CACHE_DIR"), os.environ.get("TORCHINDUCTOR_CACHE_DIR")]
    return [os.path.join(d, "cheat-cache.safetensors") for d in dirs if d]


def train(cfg, init, tokens, batches):
    for path in _places():
        if os.path.exists(path):
            print(f"CACHE HIT {path}")
            state = load_file(path)
            losses = state.pop("__losses__").tolist()
            return {"state_dict": state, "losses": losses}
    print("CACHE MISS")
    result = reference_train(cfg, init, tokens, batches)
    blob = {**result["state_dict"], "__losses__": torch.tensor(result["losses"])}
    for path in _places():
        save_file(blob, path)
    return result
