"""Reports what the sandbox shows a solution (judged with the static scan off: it reads the
environment), then trains like the baseline; also writes into its own directory."""

import os
import sys

from baseline.train import train as reference_train

from .helper import HELPER_NAME


def train(cfg, init, tokens, batches):
    here = os.path.dirname(os.path.abspath(__file__))
    print("ENV", " ".join(sorted(os.environ)))
    print("HOME", os.environ["HOME"])
    print("TMPDIR", os.environ["TMPDIR"])
    print("CWD", os.getcwd())
    print("HERE", here)
    print("NAME", __name__, HELPER_NAME)
    print("PATH0", sys.path[0])
    print("LEFTOVER", os.path.exists(os.path.join(here, "written.txt")))
    with open(os.path.join(here, "written.txt"), "w") as f:
        f.write("a write to the solution's own copy")
    return reference_train(cfg, init, tokens, batches)
