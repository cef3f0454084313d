"""A sandboxed run, in the child. Order matters, and is the point of this file:

0. read the run's spec (harness.json, correctness.protocol.RunSpec). Until step 2 only the
   standard library, this package's guards and the protocol are imported: no library has
   started a thread;
1. limits (memory, file size, no core dumps, die with the parent, no capabilities when
   running as real root) and, for landlock isolation, the kernel's confinement, while only
   this trusted code runs and before any library starts a thread;
2. import torch, numpy, safetensors, this package's modules (and what the mode or the
   solution's scan-detected libraries need) BEFORE the solution, so their start-up is
   neither policed nor timed;
3. install the import blocker (correctness/bench/agent, and kernels unless allowed) and the
   audit hook: from here on untrusted code may run;
4. import the solution as package `submission`, check `train` (or declare KERNELS; or, for
   a workspace script, only make the package importable), say `ready`;
5. wait for `go`, run the mode, say `done`, then wait to be killed.

Everything refused is reported to the parent at once over the status pipe, so a solution
that swallows the exception is still rejected.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import signal
import sys
import traceback

from .. import protocol
from ..protocol import RunSpec
from . import modes
from .audit import AuditHook
from .limits import limit_resources
from .loader import ImportBlocker, Rejected, check_train, load_submission


class Channel:
    """Line messages to the parent over the status pipe (never stdout: prints go to the log)."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, kind: str, payload: dict | None = None) -> None:
        line = kind if payload is None else f"{kind} {json.dumps(payload, default=str)}"
        data = (line.replace("\n", " ") + "\n").encode()
        while data:
            data = data[os.write(self.fd, data):]


def prepare(spec: RunSpec) -> dict:
    """Everything imported and initialised before untrusted code exists; returns the
    library locations the audit hook trusts."""
    import importlib.util
    import site
    import sysconfig

    import numpy  # noqa: F401
    import safetensors.torch  # noqa: F401
    import torch

    for name in spec.preimport:
        try:
            __import__(name)
        except ImportError:
            pass
    if spec.mode == protocol.PROFILE:
        import torch.profiler  # noqa: F401
    modes.capture(spec.cfg["device"])
    if spec.cfg["device"] == "cuda":
        torch.zeros(1, device="cuda")  # create the context now: it is not the solution's time
        torch.cuda.synchronize()
    launchers = [os.path.dirname(torch.__file__)]
    triton = importlib.util.find_spec("triton")
    if triton is not None and triton.submodule_search_locations:
        launchers += list(triton.submodule_search_locations)
    sites = set(site.getsitepackages()) | {sysconfig.get_path(k) for k in ("purelib", "platlib")}
    for name in list(sys.modules):  # loaded by the harness, but the solution may not see them
        if name.partition(".")[0] in spec.blocked:
            del sys.modules[name]
    return {"site_dirs": sorted(d for d in sites if d), "launcher_roots": launchers}


# The operating system's refusals: a seccomp rule (EPERM), Landlock (EACCES), a read-only
# bind (EROFS), a capability the run does not hold (EPERM). A run that ends in one failed
# because the sandbox refused what it tried; a missing file (ENOENT) is no refusal.
DENIED_ERRNOS = (errno.EPERM, errno.EACCES, errno.EROFS)


def classify(e: BaseException) -> str:
    """The check a run that raised `e` failed: sandbox_denied, oom or crash."""
    if isinstance(e, OSError) and e.errno in DENIED_ERRNOS:
        return "sandbox_denied"
    text = f"{type(e).__name__}: {e}"
    if isinstance(e, MemoryError) or "out of memory" in text.lower() \
            or "can't allocate memory" in text:
        return "oom"
    return "crash"


def _load(spec: RunSpec, threads_before: set[int]):
    """Before `ready`: import what the mode runs (the solution; for a script, only its
    package); returns what runs after `go`."""
    if spec.mode == protocol.SCRIPT:
        modes.register_workspace(spec.solution_dir)
        return lambda: modes.run_script(spec)
    module = load_submission(spec.solution_dir)
    if spec.mode == protocol.KERNELS:
        kernels = modes.declare_kernels(module, spec)
        return lambda: modes.run_kernels(kernels, spec)
    train = check_train(module)
    if spec.mode == protocol.PROFILE:
        return lambda: modes.run_profile(train, spec)
    return lambda: modes.run_train(train, spec, threads_before)


def main() -> None:
    spec = RunSpec.read(sys.argv[1])
    channel = Channel(spec.status_fd)
    limit_resources(spec.memory_limit, spec.file_size_limit, spec.confinement)
    libraries = prepare(spec)
    sys.meta_path.insert(0, ImportBlocker(spec.blocked, channel.send))
    if spec.audit:
        sys.addaudithook(AuditHook({**dataclasses.asdict(spec), **libraries}, channel.send))
    threads_before = set(sys._current_frames())  # the libraries' own, if any
    try:
        run = _load(spec, threads_before)
        channel.send(protocol.READY)
        if os.read(spec.control_fd, len(protocol.GO)) != protocol.GO:
            return
        run()
    except Rejected as e:
        traceback.print_exc()
        channel.send(protocol.ERROR, {"check": e.check, "message": str(e)})
        return
    except BaseException as e:  # noqa: BLE001 - every failure of untrusted code is a verdict
        traceback.print_exc()
        channel.send(protocol.ERROR, {"check": classify(e),
                                      "message": f"{type(e).__name__}: {e}"})
        return
    channel.send(protocol.DONE)
    signal.pause()  # the parent kills the process group now; nothing runs after done
