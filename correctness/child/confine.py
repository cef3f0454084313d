"""The kernel's confinement of a run where user namespaces are refused ("landlock"
isolation), applied by the child to itself before anything but this trusted code has run.

    apply(rules)   Landlock over the file system, TCP, signals and abstract sockets, then a
                   seccomp filter; for this process and everything it starts, irrevocably
    probe()        the same on a trivial rule set, for the judge's detection (in a process
                   of its own: the judge never confines itself)

Landlock (through `landlockpy`): with every file-system right the kernel's ABI knows handled,
the rule set grants
- READ: read and execute beneath each read root (the system, the interpreter, the libraries,
  the baseline, the child's code), which the judge lists file by file under /etc and /dev;
- WRITE: read, write, create, remove and rename beneath each writable directory of the run,
  but not execute, and never a FIFO, socket or device node;
- DEVICE: read, write and ioctl on the GPU's device nodes;
and nothing else: no TCP bind or connect (ABI 4), no signal to a process outside the run and
no abstract UNIX socket outside it (ABI 6). Landlock also refuses `ptrace` of any process
outside the run.
seccomp (through `pyseccomp`, a ctypes binding of libseccomp, the filter compiler Docker,
systemd and Flatpak use): `socket` (any family: Landlock does not cover UDP before ABI 10,
nor connecting to a named UNIX socket such as a container runtime's before ABI 9), `ptrace`,
`process_vm_readv/writev`, new namespaces (`unshare`, `setns`, `clone` with a CLONE_NEW*
flag; `clone3` answers ENOSYS, as Docker's profile does, so the C library falls back to
`clone`), mounts, BPF, perf events, userfaultfd, io_uring and the kernel keyrings are refused
with EPERM. Compilers that torch.utils.cpp_extension, Inductor and Triton start inherit all
of it: they read the system and write only the run's directories and caches.

Why first in the child, before torch is imported: Landlock's `restrict_self` binds the
calling thread and what it starts afterwards, never threads that already exist (TSYNC needs
ABI 8), and importing torch or creating a CUDA context starts threads that native code of
the solution can later run on (an OpenMP pool). Here the child has one thread.

Why these libraries: the `landlock` package (1.0.0.dev5) knows file-system rules only (no TCP
rules, no scopes); landlockpy covers ABIs 1 to 11 and drops, best-effort, what the running
kernel lacks. libseccomp's own Python binding is not on PyPI; pyseccomp binds the same C
API.
"""

from __future__ import annotations

import errno
import os

READ, WRITE, DEVICE = "read", "write", "device"
# clone(2) flags that create a namespace (linux/sched.h).
CLONE_NEW = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
             0x40000000, 0x00000080)  # NS, CGROUP, UTS, IPC, USER, PID, NET, TIME
REFUSED_SYSCALLS = (
    "socket", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree",
    "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "bpf",
    "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key",
)


def apply(rules: dict[str, list[str]]) -> int:
    """Confine this process (and all it starts) to `rules` ({"read": [...], "write": [...],
    "device": [...]}, absolute paths; missing ones are skipped); returns the Landlock ABI."""
    import landlockpy  # noqa: F401 - both loaded (libc, libseccomp) before anything is denied
    import pyseccomp  # noqa: F401

    abi = _landlock(rules)
    _seccomp()
    return abi


def _landlock(rules: dict[str, list[str]]) -> int:
    from landlockpy import AccessFS, AccessNet, Ruleset, Scope, abi_version

    abi = abi_version()
    if abi < 1:
        raise OSError(errno.EOPNOTSUPP, "Landlock is not enabled in this kernel")
    read = AccessFS.READ_FILE | AccessFS.READ_DIR | AccessFS.EXECUTE
    grants = {
        READ: read,
        WRITE: (AccessFS.READ_FILE | AccessFS.READ_DIR | AccessFS.WRITE_FILE
                | AccessFS.TRUNCATE | AccessFS.MAKE_REG | AccessFS.MAKE_DIR
                | AccessFS.MAKE_SYM | AccessFS.REMOVE_FILE | AccessFS.REMOVE_DIR
                | AccessFS.REFER),
        DEVICE: AccessFS.READ_FILE | AccessFS.WRITE_FILE | AccessFS.IOCTL_DEV,
    }
    file_rights = (AccessFS.EXECUTE | AccessFS.READ_FILE | AccessFS.WRITE_FILE
                   | AccessFS.TRUNCATE | AccessFS.IOCTL_DEV)
    with Ruleset(handled_net=AccessNet.BIND_TCP | AccessNet.CONNECT_TCP
                 | AccessNet.BIND_UDP | AccessNet.CONNECT_SEND_UDP,
                 scoped=Scope.ABSTRACT_UNIX_SOCKET | Scope.SIGNAL) as ruleset:
        for kind, access in grants.items():
            for path in rules.get(kind, []):
                if not os.path.exists(path):
                    continue
                ruleset.allow_path(path, access if os.path.isdir(path)
                                   else access & file_rights)
        ruleset.restrict(no_new_privs=True)
    return abi


def _seccomp() -> None:
    import pyseccomp as sc

    refuse = sc.ERRNO(errno.EPERM)
    fltr = sc.SyscallFilter(sc.ALLOW)
    for name in REFUSED_SYSCALLS:
        number = sc.resolve_syscall(sc.Arch.NATIVE, name)
        if number >= 0:  # a syscall this libseccomp does not know cannot be named
            fltr.add_rule(refuse, number)
    for flag in CLONE_NEW:
        fltr.add_rule(refuse, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    fltr.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    fltr.load()


def probe() -> None:
    """Confine this process to reading /usr, then check that the kernel holds: writing
    /dev/null and opening a socket must fail. Prints the Landlock ABI; exits non-zero, with
    the reason on stderr, when confinement is not possible here."""
    import socket
    import sys

    try:
        abi = apply({READ: ["/usr"]})
    except (OSError, ImportError, RuntimeError) as e:  # pyseccomp: RuntimeError w/o libseccomp
        sys.exit(f"{type(e).__name__}: {e}")
    for attempt in (lambda: open("/dev/null", "w"), socket.socket):
        try:
            attempt()
        except PermissionError:
            continue
        sys.exit(f"confinement did not hold: {attempt} succeeded")
    print(abi)
