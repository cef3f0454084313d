"""EXPLOIT: a directory tree 1500 levels deep in the work directory, some of its levels
read-only, with a FIFO, a unix socket and symlinks to a directory outside the run (its path
in `victim.txt` beside this file; the test writes it). shutil.rmtree in the judge raised
RecursionError, uncaught, and the run's directory stayed on disk.
Caught by: the judge's cleanup, which removes any tree without recursion, with a bounded
number of open files, never following a symlink."""

import os
import socket

from baseline.train import train as reference_train

DEPTH = 1500


def _plant(fd: int, victim: str) -> None:
    os.symlink(victim, "outside", dir_fd=fd)
    os.mkfifo("fifo", dir_fd=fd)


def train(cfg, init, tokens, batches):
    victim = open(os.path.join(os.path.dirname(__file__), "victim.txt")).read().strip()
    print("WORK", os.getcwd(), flush=True)
    _plant(os.open(".", os.O_RDONLY), victim)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind("socket")
    fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    for level in range(DEPTH):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        if level % 100 == 99:
            os.chmod(fd, 0o500)  # read-only once its child exists: an unlink inside fails
        os.close(fd)
        fd = child
    print("DEEP", DEPTH, flush=True)
    return reference_train(cfg, init, tokens, batches)
