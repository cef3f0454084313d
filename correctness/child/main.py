"""A sandboxed run, in the child. Order matters, and is the point of this file:

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

import json
import os
import signal
import sys
import traceback

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


def prepare(config: dict) -> dict:
    """Everything imported and initialised before untrusted code exists; returns the
    library locations the audit hook trusts."""
    import importlib.util
    import site
    import sysconfig

    import numpy  # noqa: F401
    import safetensors.torch  # noqa: F401
    import torch

    for name in config["preimport"]:
        try:
            __import__(name)
        except ImportError:
            pass
    if config["mode"] == "profile":
        import torch.profiler  # noqa: F401
    modes.capture(config["cfg"]["device"])
    if config["cfg"]["device"] == "cuda":
        torch.zeros(1, device="cuda")  # create the context now: it is not the solution's time
        torch.cuda.synchronize()
    launchers = [os.path.dirname(torch.__file__)]
    triton = importlib.util.find_spec("triton")
    if triton is not None and triton.submodule_search_locations:
        launchers += list(triton.submodule_search_locations)
    sites = set(site.getsitepackages()) | {sysconfig.get_path(k) for k in ("purelib", "platlib")}
    for name in list(sys.modules):  # loaded by the harness, but the solution may not see them
        if name.partition(".")[0] in config["blocked"]:
            del sys.modules[name]
    return {"site_dirs": sorted(d for d in sites if d), "launcher_roots": launchers}


def classify(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    if isinstance(e, MemoryError) or "out of memory" in text.lower() \
            or "can't allocate memory" in text:
        return "oom"
    return "crash"


def _load(config: dict, threads_before: set[int]):
    """Before `ready`: import what the mode runs (the solution; for a script, only its
    package); returns what runs after `go`."""
    mode = config["mode"]
    if mode == "script":
        modes.register_workspace(config["solution_dir"])
        return lambda: modes.run_script(config)
    module = load_submission(config["solution_dir"])
    if mode == "kernels":
        kernels = modes.declare_kernels(module, config)
        return lambda: modes.run_kernels(kernels, config)
    train = check_train(module)
    if mode == "profile":
        return lambda: modes.run_profile(train, config)
    return lambda: modes.run_train(train, config, threads_before)


def main() -> None:
    with open(sys.argv[1]) as f:
        config = json.load(f)
    channel = Channel(config["status_fd"])
    limit_resources(config["memory_limit"], config["file_size_limit"], config["confinement"])
    libraries = prepare(config)
    sys.meta_path.insert(0, ImportBlocker(config["blocked"], channel.send))
    if config["audit"]:
        sys.addaudithook(AuditHook({**config, **libraries}, channel.send))
    threads_before = set(sys._current_frames())  # the libraries' own, if any
    try:
        run = _load(config, threads_before)
        channel.send("ready")
        if os.read(config["control_fd"], 3) != b"go\n":
            return
        run()
    except Rejected as e:
        traceback.print_exc()
        channel.send("error", {"check": e.check, "message": str(e)})
        return
    except BaseException as e:  # noqa: BLE001 - every failure of untrusted code is a verdict
        traceback.print_exc()
        channel.send("error", {"check": classify(e), "message": f"{type(e).__name__}: {e}"})
        return
    channel.send("done")
    signal.pause()  # the parent kills the process group now; nothing runs after done
