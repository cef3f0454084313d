"""Kernel-enforced isolation of a sandboxed run: Linux namespaces through bubblewrap
(`bwrap`, Debian/Ubuntu package `bubblewrap`), the tool Flatpak and others trust for this.

    detect_isolation() -> Isolation            what this machine allows (probed once)
    command(argv, layout) -> argv              the child's command line inside bwrap

"namespaces": a run gets
- its own PID namespace: bwrap's init is the namespace's first process; when the parent
  kills it at `done`, the kernel kills every process the run started, whatever it did to
  its session, process group or environment;
- its own mount namespace: an empty root with read-only binds of the system (/usr, /etc,
  /sys), the interpreter and its libraries, the baseline package (and the kernel library
  when allowed) and the child's own code; writable only the run's directory (and, for an
  untimed warm-up, the persistent compile caches); a private /tmp and /dev/shm; a /proc of
  its own. The checkout, $HOME, other runs and the judge's files are not there at all, and
  a hard link cannot cross into a bind mount;
- an empty network namespace (a loopback that is down), its own IPC and hostname;
- a user namespace in which it is uid 1000 with no capabilities;
- on CUDA, the NVIDIA device nodes bound in (the driver's libraries are under /usr).

"process": bwrap is missing or the machine refuses unprivileged namespaces (some container
runtimes; Ubuntu 23.10+ restricts them to programs AppArmor allows). The interpreter-level
guards then stand alone; every command says so and every record names the isolation that
judged it.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
from dataclasses import dataclass, field

SANDBOX_UID = 1000
# Top-level system directories bound read-only when present (merged-/usr systems make the
# /bin, /lib... ones symlinks, recreated as symlinks).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
NVIDIA_DEVICES = ("/dev/nvidia*", "/dev/nvidia-caps/*", "/dev/dri/*")
NAMESPACE_FLAGS = ("--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc",
                   "--unshare-uts", "--unshare-cgroup-try", "--uid", str(SANDBOX_UID),
                   "--gid", str(SANDBOX_UID), "--hostname", "speedup-sandbox",
                   "--die-with-parent", "--cap-drop", "ALL")


@dataclass(frozen=True)
class Isolation:
    kind: str  # "namespaces" | "process"
    reason: str = ""  # why not namespaces
    bwrap: str | None = None

    def describe(self) -> str:
        if self.kind == "namespaces":
            return "namespaces (bubblewrap: own PID, mount, network and user namespaces)"
        return f"process only ({self.reason}): the interpreter-level guards stand alone"


@dataclass
class Layout:
    """What one run's mount namespace holds, by path (the same inside and outside)."""

    read_only: list[str] = field(default_factory=list)
    writable: list[str] = field(default_factory=list)
    work_dir: str = "/"
    cuda: bool = False


@functools.cache
def detect_isolation() -> Isolation:
    """Namespaces when bwrap is on PATH and a probe sandbox with every namespace this module
    uses starts and runs /bin/true; else process isolation, with the reason."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Isolation("process", "bwrap (package bubblewrap) is not installed")
    probe = [bwrap, *NAMESPACE_FLAGS, *_system_binds(), "--proc", "/proc", "--dev", "/dev",
             "--", "/bin/true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return Isolation("process", f"bwrap did not run: {e}")
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return Isolation("process", f"this machine refuses the namespaces: {why}")
    return Isolation("namespaces", bwrap=bwrap)


def command(isolation: Isolation, argv: list[str], layout: Layout, info_fd: int) -> list[str]:
    """`argv` run inside the namespaces of `layout`; bwrap writes the pid (in this
    namespace) of the run's init to `info_fd` as JSON ({"child-pid": N})."""
    args = [isolation.bwrap, *NAMESPACE_FLAGS, "--info-fd", str(info_fd), *_system_binds(),
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm", "--tmpfs", "/tmp"]
    if layout.cuda:
        for pattern in NVIDIA_DEVICES:
            for node in sorted(glob.glob(pattern)):
                args += ["--dev-bind", node, node]
    for path in _unique(layout.read_only):
        args += ["--ro-bind", path, path]
    for path in _unique(layout.writable):
        args += ["--bind", path, path]
    return [*args, "--chdir", layout.work_dir, "--", *argv]


def _system_binds() -> list[str]:
    args = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _unique(paths: list[str]) -> list[str]:
    """Existing paths, each once, parents before children (a later bind covers an earlier
    one at the same place, so order decides what is writable)."""
    seen, out = set(), []
    for path in paths:
        real = os.path.realpath(path)
        if real not in seen and os.path.exists(real):
            seen.add(real)
            out.append(real)
    return sorted(out, key=lambda p: p.count("/"))
