"""EXPLOIT: reading the secret seed or held-out data: the environment, the parent's
/proc/<ppid>/environ and cmdline, and the judge's own files.
Caught by: the static scan (os, environ, path); at run time the scrubbed environment holds
no secret, the audit hook refuses the reads (forbidden_call), and the parent is
non-dumpable so even an unhooked read of its environ fails."""

import os

import baseline
from baseline.train import train as reference_train


def _try(path):
    try:
        with open(path, "rb") as f:
            return f"read {len(f.read())} bytes"
    except OSError as e:
        return f"denied ({type(e).__name__})"


def train(cfg, init, tokens, batches):
    print("ENV", sorted(os.environ))
    ppid = os.getppid()
    print("PARENT-ENVIRON", _try(f"/proc/{ppid}/environ"))
    print("PARENT-CMDLINE", _try(f"/proc/{ppid}/cmdline"))
    project = os.path.dirname(os.path.dirname(os.path.abspath(baseline.__file__)))
    print("JUDGE-FILE", _try(os.path.join(project, "correctness", "tolerances.json")))
    return reference_train(cfg, init, tokens, batches)
