"""The child side of the sandbox: run as a script (`python -I -B -u _child.py harness.json`) in a
fresh process, never imported by the judge.

Order matters, and is the point of this file:

1. limits (memory, file size, no core dumps, die with the parent, no capabilities when
   running as root) while only this trusted code runs;
2. import torch, numpy, safetensors (and what the mode needs) BEFORE the solution, so the
   library's own start-up is not policed;
3. install the import blocker (correctness/bench/agent, and kernels unless allowed) and the
   audit hook (`Policy`): from here on untrusted code may run;
4. import the solution as package `submission`, check `train`, say `ready`;
5. wait for `go`, load the inputs, train, synchronize, validate, write results (safetensors
   and JSON, never pickle), say `done`, then wait to be killed.

Everything refused is reported to the parent at once over the status pipe, so a solution
that swallows the exception is still rejected. The hook is a tripwire for Python-level
actions: native code can bypass it, which is why the parent never lets a secret exist in
this process and times everything itself.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback

# Executables that Triton, torch.compile and torch.utils.cpp_extension launch themselves.
COMPILER_TOOLS = frozenset({
    "ptxas", "gcc", "g++", "cc", "c++", "clang", "clang++", "ld", "ldconfig", "ninja",
    "nvcc", "cuobjdump", "nvdisasm",
    "openssl",  # Inductor hashes its precompiled C++ header with `openssl sha512`
})

# Refused when solution code calls them itself: introspection that reaches the harness's
# frames, and code objects (which could carry a library's file name). The stdlib calls
# sys._getframe for its callers all the time (typing, enum, namedtuple): only the direct
# caller counts here.
DIRECT_CHECKED = frozenset({
    "sys._getframe", "sys._current_frames", "sys._current_exceptions", "sys.settrace",
    "sys.setprofile", "code.__new__",
})
# Refused when the first caller outside the stdlib is solution code (so going through the
# stdlib's own wrappers, ctypes.CDLL or pickle.loads, does not help): the heap, unpickling
# and native calls. torch and triton use them legitimately on the solution's behalf.
# Threads: Python 3.12+ raises _thread.start_new_thread (3.13 start_joinable_thread); on 3.11
# the harness's check for live threads when train returns is the only defence.
LIBRARY_ONLY = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents",
                          "pickle.find_class", "_thread.start_new_thread",
                          "_thread.start_joinable_thread"})
ALWAYS_REFUSED = frozenset({
    "os.system", "os.exec", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn",
    "os.startfile", "pty.spawn", "resource.setrlimit", "resource.prlimit", "sys.addaudithook",
    "socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
    "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
    "socket.getnameinfo", "socket.sendto", "socket.sendmsg", "socket.sethostname",
})
READ_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob", "glob.glob/2"})
# event -> positions of (path, dir_fd) pairs it writes to
WRITE_EVENTS = {
    "os.remove": [(0, 1)], "os.rmdir": [(0, 1)], "os.mkdir": [(0, 2)],
    "os.rename": [(0, 2), (1, 3)], "os.link": [(1, 3)], "os.symlink": [(1, 2)],
    "os.chmod": [(0, 2)], "os.chown": [(0, 3)], "os.utime": [(0, 3)], "os.truncate": [(0, None)],
    "os.setxattr": [(0, None)], "os.removexattr": [(0, None)], "shutil.rmtree": [(0, 1)],
    "shutil.copyfile": [(1, None)], "shutil.copytree": [(1, None)], "shutil.move": [(1, None)],
}
KILL_EVENTS = frozenset({"os.kill", "os.killpg", "signal.pthread_kill"})
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
MAX_REPORTED = 50  # refusals sent in full; beyond that only counted (a flood must not stall)


class Channel:
    """Line messages to the parent over the status pipe (never stdout: prints go to the log)."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, kind: str, payload: dict | None = None) -> None:
        line = kind if payload is None else f"{kind} {json.dumps(payload, default=str)}"
        data = (line.replace("\n", " ") + "\n").encode()
        while data:
            data = data[os.write(self.fd, data):]


# ---------------------------------------------------------------------------- limits

def limit_resources(config: dict) -> None:
    import resource

    def hard(which: int, value: int) -> None:
        resource.setrlimit(which, (value, value))

    hard(resource.RLIMIT_CORE, 0)
    hard(resource.RLIMIT_FSIZE, config["file_size_limit"])
    if config["memory_limit"]:
        hard(resource.RLIMIT_AS, config["memory_limit"])
    if sys.platform.startswith("linux"):
        _linux_process_limits()


def _linux_process_limits() -> None:
    """Die with the parent; when running as root, give up every capability (so the parent's
    memory and environment stay out of reach even for native code) and never regain any."""
    import ctypes

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


# ---------------------------------------------------------------------------- import blocker

class ImportBlocker:
    """A meta-path finder that refuses the project's judge, clock and agent (and the kernel
    library unless allowed): a solution must not read or patch the code that judges it."""

    def __init__(self, blocked: list[str], report):
        self.blocked, self.report = frozenset(blocked), report

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.blocked:
            self.report("import", name, "")
            raise ModuleNotFoundError(f"the sandbox refuses to import {name!r}", name=name)
        return None


# ---------------------------------------------------------------------------- audit hook

class Policy:
    """The audit hook. Files: reads under the read roots, writes under the write roots, the
    deny roots (the judge's own code, results) never, /proc only for this process. No
    processes except compiler tools launched by libraries, no sockets, no signals to other
    processes, no new audit hooks; introspection and native calls only by libraries."""

    def __init__(self, config: dict, channel: Channel):
        self.channel = channel
        real = os.path.realpath
        self.read_roots = tuple(real(p) for p in config["read_roots"])
        self.write_roots = tuple(real(p) for p in config["write_roots"])
        self.deny_roots = tuple(real(p) for p in config["deny_roots"])
        self.solution_root = real(config["solution_dir"])
        import sysconfig

        self.stdlib_roots = tuple({real(sysconfig.get_path(k)) for k in ("stdlib", "platstdlib")})
        self.pid = os.getpid()
        self.busy: set[int] = set()
        self.refused = 0
        import _thread

        self.ident = _thread.get_ident

    def __call__(self, event: str, args: tuple) -> None:
        if event not in WATCHED and not event.startswith("ctypes."):
            return
        me = self.ident()
        if me in self.busy:  # our own frame walk raises sys._getframe: let it through
            return
        self.busy.add(me)
        try:
            why = self.verdict(event, args)
        finally:
            self.busy.discard(me)
        if why is not None:
            self.refuse(event, args, why)

    def verdict(self, event: str, args: tuple) -> str | None:
        """None if allowed, else why not."""
        if event == "open":
            return self.check_open(args)
        if event in READ_EVENTS:
            return self.check_path(args[0] if args[0] is not None else ".", write=False)
        if event in WRITE_EVENTS:
            for path_at, fd_at in WRITE_EVENTS[event]:
                dir_fd = args[fd_at] if fd_at is not None and fd_at < len(args) else None
                why = self.check_path(args[path_at], write=True, dir_fd=dir_fd)
                if why:
                    return why
            return None
        if event in ALWAYS_REFUSED:
            return "not allowed in a solution"
        if event in KILL_EVENTS:
            return None if args[0] in (self.pid, 0) else "signals to other processes"
        if event == "subprocess.Popen":
            return self.check_popen(args)
        if event == "compile":
            return self.check_compile(args)
        if event in DIRECT_CHECKED:
            return "called by the solution itself" if self.solution_called(direct=True) else None
        if event in LIBRARY_ONLY or event.startswith("ctypes."):
            return "called by the solution itself" if self.solution_called() else None
        return None

    # ------------------------------------------------------------------ files

    def check_open(self, args: tuple) -> str | None:
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        if isinstance(path, int):
            return None  # an fd that was opened (and checked) before
        if isinstance(mode, str):
            write = any(c in mode for c in "wax+")
        else:
            write = bool((flags or 0) & WRITE_FLAGS)
        return self.check_path(path, write=write)

    def check_path(self, path, *, write: bool, dir_fd=None) -> str | None:
        if isinstance(path, int):
            return None
        path = os.fsdecode(path) if isinstance(path, (str, bytes)) else os.fspath(path)
        if isinstance(dir_fd, int) and dir_fd >= 0 and not os.path.isabs(path):
            path = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
        real = os.path.realpath(path)
        if _under(real, self.deny_roots):
            return "the judge's own files"
        if _under(real, self.write_roots):
            return None
        if real.startswith("/proc/"):
            return self.check_proc(real, write)
        if write:
            return "writes outside the sandbox"
        return None if _under(real, self.read_roots) else "reads outside the sandbox"

    def check_proc(self, real: str, write: bool) -> str | None:
        first = real.split("/")[2]
        if first.isdigit() and int(first) != self.pid:
            return "another process's /proc"
        return "writes to /proc" if write else None

    # ------------------------------------------------------------------ processes, code

    def check_popen(self, args: tuple) -> str | None:
        """Compiler tools, and this interpreter: Inductor test-loads the code it compiled
        in a `python -c` child before trusting it in-process."""
        executable, argv = args[0], args[1]
        program = executable or (argv[0] if isinstance(argv, (list, tuple)) and argv else argv)
        program = os.fsdecode(program) if program else ""
        name = os.path.basename(program)
        python = program in (sys.executable, os.path.realpath(sys.executable))
        if name not in COMPILER_TOOLS and not name.startswith("ptxas") and not python:
            return "only compiler tools may be started"
        if self.solution_called():
            return "processes started by the solution itself"
        return None

    def check_compile(self, args: tuple) -> str | None:
        """Code compiled by the solution under a foreign file name would pass for library
        code in `solution_called`; the stdlib's own generated code (dataclasses) is fine."""
        filename = os.fsdecode(args[1]) if isinstance(args[1], (str, bytes)) else ""
        if _under(os.path.realpath(filename), (self.solution_root,)):
            return None
        return "code compiled by the solution itself" if self.solution_called(direct=True) else None

    def solution_called(self, direct: bool = False) -> bool:
        """Is the first frame outside the stdlib (or, `direct`, the very caller) solution
        code? Library code acting on the solution's behalf (torch, triton) is trusted."""
        frame = sys._getframe(1)
        while frame is not None and frame.f_code in HOOK_CODE:
            frame = frame.f_back
        while frame is not None:
            name = frame.f_code.co_filename
            if not direct and (name.startswith("<frozen") or _under(name, self.stdlib_roots)):
                frame = frame.f_back
                continue
            return _under(os.path.realpath(name), (self.solution_root,))
        return False

    def refuse(self, event: str, args: tuple, why: str) -> None:
        self.refused += 1
        if self.refused <= MAX_REPORTED:
            detail = ", ".join(_short(a) for a in args[:3])
            self.channel.send("refused", {"event": event, "detail": detail, "why": why})
        if event == "open" or event in READ_EVENTS or event in WRITE_EVENTS:
            raise PermissionError(f"sandbox: {event} {_short(args[0])} refused ({why})")
        raise RuntimeError(f"sandbox: {event} refused ({why})")


HOOK_CODE = frozenset(f.__code__ for f in (
    Policy.__call__, Policy.verdict, Policy.check_popen, Policy.check_compile,
    Policy.solution_called))
WATCHED = (frozenset({"open", "subprocess.Popen", "compile"}) | DIRECT_CHECKED | LIBRARY_ONLY
           | ALWAYS_REFUSED | READ_EVENTS | frozenset(WRITE_EVENTS) | KILL_EVENTS)


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _short(value) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "..."


# ---------------------------------------------------------------------------- the run

class Rejected(Exception):
    """The run ends with this check's verdict (the parent names it)."""

    def __init__(self, check: str, message: str):
        super().__init__(message)
        self.check = check


def load_solution(solution_dir: str):
    import importlib
    import types

    package = types.ModuleType("submission")
    package.__path__ = [solution_dir]
    sys.modules["submission"] = package
    sys.path.insert(0, solution_dir)
    try:
        return importlib.import_module("submission.solution")
    except Exception as e:
        raise Rejected("import", f"importing solution.py failed: {type(e).__name__}: {e}") from e


def check_train(module) -> object:
    import inspect

    train = getattr(module, "train", None)
    if not callable(train):
        raise Rejected("signature", "solution.py defines no callable `train`")
    try:
        inspect.signature(train).bind({}, {}, None, None)
    except (TypeError, ValueError) as e:
        raise Rejected("signature", f"train(cfg, init, tokens, batches) does not bind: {e}") from e
    return train


def validate(result, config: dict) -> tuple[dict, list[float]]:
    """The structure of train's return value, for a clear message; the parent re-checks."""
    import torch

    if not isinstance(result, dict) or not {"state_dict", "losses"} <= set(result):
        raise Rejected("results", "train must return {'state_dict': ..., 'losses': [...]}, "
                                  f"got {type(result).__name__}")
    state, losses = result["state_dict"], result["losses"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise Rejected("results", "state_dict must be a dict of tensors")
    expected = {k: tuple(v) for k, v in config["shapes"].items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if got != expected:
        missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
        wrong = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])
        raise Rejected("results", f"state_dict names/shapes differ: missing {missing[:5]}, "
                                  f"unexpected {extra[:5]}, wrong shape {wrong[:5]}")
    if isinstance(losses, torch.Tensor):
        losses = losses.detach().cpu().reshape(-1).tolist()
    try:
        losses = [float(x) for x in losses]
    except (TypeError, ValueError) as e:
        raise Rejected("results", f"losses must be numbers: {e}") from e
    if len(losses) != config["cfg"]["steps"]:
        raise Rejected("results", f"expected {config['cfg']['steps']} losses (one per step), "
                                  f"got {len(losses)}")
    return state, losses


def live_threads(before: set[int]) -> list[str]:
    """Python threads still running Python code when train has returned, that were not there
    before the solution was imported (a thread started at import time counts)."""
    main = CAPTURED["main_thread"]
    frames = sys._current_frames()
    out = []
    for ident, frame in frames.items():
        if ident == main or ident in before:
            continue
        out.append(f"thread {ident} at {frame.f_code.co_filename}:{frame.f_lineno}")
    return out


def run_train(train, config: dict, threads_before: set[int]) -> None:
    from safetensors.torch import load_file, save_file

    work = config["work_dir"]
    flat = load_file(os.path.join(work, "inputs.safetensors"))
    init = {k[len("init."):]: v for k, v in flat.items() if k.startswith("init.")}
    result = train(config["cfg"], init, flat["tokens"], flat["batches"])
    if config["cfg"]["device"] == "cuda":
        CAPTURED["cuda_sync"]()
    state, losses = validate(result, config)
    stray = live_threads(threads_before)
    if stray:
        raise Rejected("threads", "threads still running after train returned: "
                       + "; ".join(stray[:5]))
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    save_file(tensors, os.path.join(work, "result.safetensors"))
    with open(os.path.join(work, "losses.json"), "w") as f:
        json.dump(losses, f)


def run_profile(train, config: dict) -> None:
    from safetensors.torch import load_file
    from torch.profiler import ProfilerActivity, profile

    work = config["work_dir"]
    flat = load_file(os.path.join(work, "inputs.safetensors"))
    init = {k[len("init."):]: v for k, v in flat.items() if k.startswith("init.")}
    cuda = config["cfg"]["device"] == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        train(config["cfg"], init, flat["tokens"], flat["batches"])
        if cuda:
            CAPTURED["cuda_sync"]()
    table = None
    averages = prof.key_averages()
    for key in (["self_device_time_total", "self_cuda_time_total"] if cuda else []) + [
            "self_cpu_time_total"]:
        try:
            table = averages.table(sort_by=key, row_limit=config["profile_top"])
            break
        except (AttributeError, KeyError, ValueError):
            continue
    with open(os.path.join(work, "profile.txt"), "w") as f:
        f.write(table or "")


def run_kernels(module, config: dict) -> None:
    kernels = getattr(module, "KERNELS", None)
    if not isinstance(kernels, dict):
        raise Rejected("kernels", "KERNELS must be a dict {slot: implementation}")
    reports = {}
    for slot, impl in kernels.items():
        if slot not in config["slots"] or not callable(impl):
            reports[str(slot)] = {"slot": str(slot), "passed": False, "cases": [],
                                  "failures": [f"{slot!r} is not a slot "
                                               f"({', '.join(config['slots'])}) "
                                               "with a callable implementation"]}
            continue
        try:
            reports[slot] = CAPTURED["check_kernel"](slot, impl, config["cfg"]["device"]).to_dict()
        except Exception as e:  # the implementation crashed inside the check
            reports[slot] = {"slot": slot, "passed": False, "cases": [],
                             "failures": [f"raised {type(e).__name__}: {e}"]}
    with open(os.path.join(config["work_dir"], "kernels.json"), "w") as f:
        json.dump(reports, f, default=str)


# References taken in `prepare`, before the solution could replace the module attributes.
CAPTURED: dict = {}


def prepare(config: dict) -> None:
    """Everything imported and initialised before untrusted code exists."""
    import threading

    import numpy  # noqa: F401
    import safetensors.torch  # noqa: F401
    import torch

    for name in config["preimport"]:
        try:
            __import__(name)
        except ImportError:
            pass
    CAPTURED["main_thread"] = threading.main_thread().ident
    if config["mode"] == "profile":
        import torch.profiler  # noqa: F401
    if config["mode"] == "kernels":
        from correctness.kernel_check import check_kernel

        CAPTURED["check_kernel"] = check_kernel
    if config["cfg"]["device"] == "cuda":
        CAPTURED["cuda_sync"] = torch.cuda.synchronize
        torch.zeros(1, device="cuda")  # create the context now: it is not the solution's time
        torch.cuda.synchronize()
    for name in list(sys.modules):  # loaded by the harness, but the solution may not see them
        if name.partition(".")[0] in config["blocked"]:
            del sys.modules[name]


def classify(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    if isinstance(e, MemoryError) or "out of memory" in text.lower() \
            or "can't allocate memory" in text:
        return "oom"
    return "crash"


def main() -> None:
    with open(sys.argv[1]) as f:
        config = json.load(f)
    channel = Channel(config["status_fd"])
    control = config["control_fd"]
    limit_resources(config)
    import importlib.util

    if importlib.util.find_spec("baseline") is None:  # the judge runs from a checkout
        sys.path.append(config["project_dir"])
    prepare(config)
    policy = Policy(config, channel)

    def report(event: str, name: str, why: str) -> None:
        channel.send("refused", {"event": event, "detail": name, "why": why or "blocked"})

    sys.meta_path.insert(0, ImportBlocker(config["blocked"], report))
    if config["audit"]:
        sys.addaudithook(policy)
    threads_before = set(sys._current_frames())  # the libraries' own, if any
    try:
        module = load_solution(config["solution_dir"])
        train = check_train(module) if config["mode"] != "kernels" else None
        channel.send("ready")
        if os.read(control, 3) != b"go\n":
            return
        if config["mode"] == "train":
            run_train(train, config, threads_before)
        elif config["mode"] == "profile":
            run_profile(train, config)
        else:
            run_kernels(module, config)
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


if __name__ == "__main__":
    main()
