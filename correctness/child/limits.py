"""Limits set in the child before any untrusted code exists: memory and file sizes, no core
dumps, death with the parent, (when the child runs as real root, as it does without
namespaces on a CI machine) no capabilities, so the parent's memory and environment stay
out of reach even for native code, and no new privileges; then, for "landlock" isolation,
the kernel's confinement (confine.py), before any library has started a thread."""

from __future__ import annotations

import signal
import sys


def limit_resources(memory_limit: int | None, file_size_limit: int,
                    confinement: dict[str, list[str]] | None = None) -> None:
    import resource

    def hard(which: int, value: int) -> None:
        resource.setrlimit(which, (value, value))

    hard(resource.RLIMIT_CORE, 0)
    hard(resource.RLIMIT_FSIZE, file_size_limit)
    if memory_limit:
        hard(resource.RLIMIT_AS, memory_limit)
    if sys.platform.startswith("linux"):
        _linux_process_limits()
    if confinement is not None:
        from .confine import apply

        apply(confinement)


def _linux_process_limits() -> None:
    import ctypes
    import os

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig, pr_capbset_drop, pr_set_no_new_privs = 1, 24, 38
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.geteuid() == 0:
        for cap in range(64):
            libc.prctl(pr_capbset_drop, cap, 0, 0, 0)  # EINVAL past the last cap: ignored
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, self
        data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable x 2 words: none
        libc.capset(header, data)
    libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0)
