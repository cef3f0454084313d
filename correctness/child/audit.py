"""The audit hook: the sandbox's interpreter-level guard, installed before the solution is
imported. It is the second line: in namespace isolation the kernel already confines the
process (see correctness/sandbox/isolation.py), and what native code does the hook never
sees. It refuses, and reports to the parent at once (so swallowing the exception does not
help):

- files: reads outside the read roots, writes outside the write roots (a hard link counts
  as a write to the file it links), the judge's own files and results ever, /proc of other
  processes;
- processes: one policy for every way CPython starts one (`subprocess.Popen`, whichever of
  fork/exec or `os.posix_spawn` it then takes, `os.exec*`, `os.spawn*`): allowed only when
  the first caller outside the standard library is torch or triton and the program is a
  compiler tool; this interpreter (which no hook would watch) only for Inductor's ISA probe
  (torch/_inductor/cpu_vec_isa.py), and only with the probe's own code, which loads the
  library Inductor compiled. Everything else, and `os.fork`/`os.system`, is refused;
- sockets, signals to other processes, new audit hooks, rlimit changes;
- introspection of the heap and frames, unpickling, threads and native calls (ctypes) when
  the caller is not a library: a caller is a library only if its file is in the standard
  library or in site-packages; the solution's directory, its work directory (a module it
  wrote there and imported), the baseline and the kernel library are not.

"Standard library" is the interpreter's real stdlib directory, never a site-packages
directory inside it or beside it (a virtual environment's `lib/pythonX.Y` holds its
site-packages, so the platform-stdlib path of a venv would count every library as stdlib).

The hook never runs code it did not write on an argument: a path, a program or a dir_fd
is read only from a plain str, bytes or int (or pathlib's and os.DirEntry's own path
objects), and anything else is refused as what it is; a str subclass's methods or an
object's `__fspath__` could otherwise run inside the hook and tell it one path while the
call uses another. While the hook is checking an event, the only event it lets through is
the one its own frame walk raises; any other means code that is not the hook's is running
inside it, and is refused.
"""

from __future__ import annotations

import os
import pathlib
import re
import sys

# Executables that Triton, torch.compile and torch.utils.cpp_extension start themselves
# (read in Triton 3.6 and 3.9, torch 2.11 and 2.13): ptxas (`ptxas-blackwell` too: the
# prefix counts) and cuobjdump; the C compiler for Triton's launcher and Inductor's C++
# (gcc/g++/cc/c++/clang, by name or by $CC/$CXX path); ldconfig (Triton finds libcuda);
# `file` (platform.architecture, called by Triton's build); ninja (cpp_extension); openssl
# (Inductor hashes its precompiled header); nvcc (Inductor's CUTLASS backend).
COMPILER_TOOLS = frozenset({
    "ptxas", "cuobjdump", "nvcc", "gcc", "g++", "cc", "c++", "clang", "clang++", "ldconfig",
    "file", "ninja", "openssl",
})
# Inductor's ISA probe (torch/_inductor/cpu_vec_isa.py, VecISA._probe_load; read in torch
# 2.13): `python -c` of a template that dlopens the library Inductor just compiled. Every
# line of the code must be one of the template's; the library's path is one safe string.
ISA_PROBE = os.path.join("_inductor", "cpu_vec_isa.py")
PROBE_LINE = re.compile(r'|import sys|( {4})?import torch(  # noqa: F401)?'
                        r'|if sys\.platform != "linux":|from ctypes import cdll'
                        r'|cdll\.LoadLibrary\("[A-Za-z0-9_./+@%=,:-]+"\)')
PROBE_ONLY = "this interpreter is started only by Inductor's ISA probe, with the probe's code"
# Every path by which CPython starts a program: (event, position of the program, of argv).
LAUNCH_EVENTS = {"subprocess.Popen": (0, 1), "os.posix_spawn": (0, 1), "os.exec": (0, 1),
                 "os.spawn": (1, 2)}

# Refused when the solution calls them itself (the very caller): introspection that reaches
# the harness's frames, and code objects (which could carry a library's file name). The
# stdlib calls sys._getframe for its callers all the time (typing, enum, namedtuple).
DIRECT_CHECKED = frozenset({
    "sys._getframe", "sys._current_frames", "sys._current_exceptions", "sys.settrace",
    "sys.setprofile", "code.__new__",
})
# Refused when the first caller outside the stdlib is not a library (so going through the
# stdlib's own wrappers, ctypes.CDLL or pickle.loads, does not help): the heap, unpickling,
# native calls and threads. Python 3.12+ raises _thread.start_new_thread (3.13
# start_joinable_thread); on 3.11 the harness's check for live threads when train returns
# is the interpreter-level defence.
LIBRARY_ONLY = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents",
                          "pickle.find_class", "_thread.start_new_thread",
                          "_thread.start_joinable_thread"})
ALWAYS_REFUSED = frozenset({
    "os.system", "os.fork", "os.forkpty", "os.startfile", "pty.spawn", "resource.setrlimit",
    "resource.prlimit", "sys.addaudithook",
    "socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
    "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
    "socket.getnameinfo", "socket.sendto", "socket.sendmsg", "socket.sethostname",
})
READ_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob", "glob.glob/2"})
# event -> positions of (path, dir_fd) pairs it writes to. A hard link is a write to its
# source too: writing through the new name changes the source's file.
WRITE_EVENTS = {
    "os.remove": [(0, 1)], "os.rmdir": [(0, 1)], "os.mkdir": [(0, 2)],
    "os.rename": [(0, 2), (1, 3)], "os.link": [(0, 2), (1, 3)], "os.symlink": [(1, 2)],
    "os.chmod": [(0, 2)], "os.chown": [(0, 3)], "os.utime": [(0, 3)], "os.truncate": [(0, None)],
    "os.setxattr": [(0, None)], "os.removexattr": [(0, None)], "shutil.rmtree": [(0, 1)],
    "shutil.copyfile": [(1, None)], "shutil.copytree": [(1, None)], "shutil.move": [(1, None)],
}
KILL_EVENTS = frozenset({"os.kill", "os.killpg", "signal.pthread_kill"})
HOOK_OWN_EVENTS = frozenset({"sys._getframe"})  # what the hook's own code raises
PATH_TYPES = (pathlib.PurePosixPath, pathlib.PosixPath, os.DirEntry)  # the stdlib's own
TYPE_NAME = type.__dict__["__name__"]  # a type's own name, past any metaclass property
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
MAX_REPORTED = 50  # refusals sent in full; beyond that only counted (a flood must not stall)


def stdlib_roots() -> tuple[str, ...]:
    """The interpreter's own standard library: where `os` lives, and its extension modules."""
    home = os.path.dirname(os.path.realpath(os.__file__))
    return (home, os.path.join(home, "lib-dynload"))


class AuditHook:
    """`sys.addaudithook(AuditHook(config, report))`; `report(kind, payload)` tells the
    parent of every refusal. Config: read_roots, write_roots, deny_roots, site_dirs (the
    libraries' directories), untrusted_roots (solution, work dir, baseline, kernels),
    launcher_roots (torch's and triton's package directories)."""

    def __init__(self, config: dict, report):
        real = os.path.realpath
        self.report = report
        self.read_roots = tuple(real(p) for p in config["read_roots"])
        self.write_roots = tuple(real(p) for p in config["write_roots"])
        self.deny_roots = tuple(real(p) for p in config["deny_roots"])
        self.site_dirs = tuple(real(p) for p in config["site_dirs"])
        self.untrusted_roots = tuple(real(p) for p in config["untrusted_roots"])
        self.launcher_roots = tuple(real(p) for p in config["launcher_roots"])
        self.isa_probe = {os.path.join(root, ISA_PROBE) for root in self.launcher_roots
                          if os.path.basename(root) == "torch"}
        self.harness_roots = (real(os.path.dirname(__file__)),)
        self.library_roots = self.site_dirs + self.harness_roots
        self.stdlib = stdlib_roots()
        self.python = {sys.executable, real(sys.executable)}
        self.pid = os.getpid()
        self.busy: set[int] = set()
        self.refused = 0
        import _thread

        self.ident = _thread.get_ident

    def __call__(self, event: str, args: tuple) -> None:
        if event not in WATCHED and not event.startswith("ctypes."):
            return
        me = self.ident()
        if me in self.busy:
            if event in HOOK_OWN_EVENTS:
                return
            self.refuse(event, args, "raised inside the audit hook by code it did not write")
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
        if event in LAUNCH_EVENTS:
            return self.check_launch(event, args)
        if event in ALWAYS_REFUSED:
            return "not allowed in a solution"
        if event in KILL_EVENTS:
            ours = type(args[0]) is int and args[0] in (self.pid, 0)
            return None if ours else "signals to other processes"
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
        if type(mode) is str:
            write = any(c in mode for c in "wax+")
        else:
            write = type(flags) is int and bool(flags & WRITE_FLAGS)
        return self.check_path(path, write=write)

    def check_path(self, value, *, write: bool, dir_fd=None) -> str | None:
        path = plain_path(value)
        if path is None:
            return f"the path is a {_type_name(value)}, not a plain str, bytes or int"
        if type(path) is int:
            return None  # an fd that was opened (and checked) before
        if dir_fd is not None and type(dir_fd) is not int:
            return f"the dir_fd is a {_type_name(dir_fd)}, not a plain int"
        if dir_fd is not None and dir_fd >= 0 and not os.path.isabs(path):
            path = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
        real = os.path.realpath(path)
        if not write and _under(real, self.harness_roots):
            return None  # this package's own source, for tracebacks
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

    def check_launch(self, event: str, args: tuple) -> str | None:
        """The one process policy, whichever path CPython takes to start the program."""
        program_at, argv_at = LAUNCH_EVENTS[event]
        program = args[program_at] if program_at < len(args) else None
        argv = args[argv_at] if argv_at < len(args) else None
        if program is None:
            program = argv[0] if type(argv) in (list, tuple) and argv else argv
        text = plain_path(program)
        if type(text) is not str:
            return f"the program is a {_type_name(program)}, not a plain str or bytes"
        caller = self.first_caller()
        if caller is None or not _under(caller, self.launcher_roots):
            return (f"a process whose first caller outside the standard library is not torch "
                    f"or triton ({caller or 'no caller'})")
        if text in self.python:
            return None if caller in self.isa_probe and _probe_argv(argv) else PROBE_ONLY
        name = os.path.basename(text)
        if name in COMPILER_TOOLS or name.startswith("ptxas"):
            return None
        return f"only compiler tools may be started, not {name!r}"

    def check_compile(self, args: tuple) -> str | None:
        """Code compiled by the solution under a foreign file name would pass for library
        code in `solution_called`; the stdlib's own generated code (dataclasses) is fine."""
        filename = plain_path(args[1])
        if type(filename) is str and _under(os.path.realpath(filename), self.untrusted_roots):
            return None
        return "code compiled by the solution itself" if self.solution_called(direct=True) else None

    def first_caller(self, direct: bool = False) -> str | None:
        """The file of the first frame outside the standard library (or, `direct`, of the
        very caller), hook frames skipped; None when only the stdlib is on the stack."""
        frame = sys._getframe(1)
        while frame is not None and frame.f_code in HOOK_CODE:
            frame = frame.f_back
        while frame is not None:
            name = frame.f_code.co_filename
            if type(name) is not str:
                return "?"  # no file the hook can read: nothing it trusts
            if direct or not self.is_stdlib(name):
                return os.path.realpath(name) if not name.startswith("<") else name
            frame = frame.f_back
        return None

    def is_stdlib(self, filename: str) -> bool:
        if filename.startswith("<frozen"):
            return True
        return _under(filename, self.stdlib) and not _under(filename, self.site_dirs)

    def solution_called(self, direct: bool = False) -> bool:
        """Is the first caller outside the stdlib (or, `direct`, the very caller) anything
        but a library? Library code acting on the solution's behalf (torch, triton) is
        trusted; a module the solution wrote anywhere is not."""
        caller = self.first_caller(direct)
        if caller is None or caller.startswith("<"):
            return False  # only libraries make code with pseudo-file names: the scan and
            # check_compile keep the solution from compiling its own
        if _under(caller, self.untrusted_roots):
            return True
        return not (_under(caller, self.library_roots) or self.is_stdlib(caller))

    def refuse(self, event: str, args: tuple, why: str) -> None:
        self.refused += 1
        if self.refused <= MAX_REPORTED:
            detail = ", ".join(_short(a) for a in args[:3])
            self.report("refused", {"event": event, "detail": detail, "why": why})
        if event == "open" or event in READ_EVENTS or event in WRITE_EVENTS:
            raise PermissionError(f"sandbox: {event} {_short(args[0])} refused ({why})")
        raise RuntimeError(f"sandbox: {event} refused ({why})")


HOOK_CODE = frozenset(f.__code__ for f in (
    AuditHook.__call__, AuditHook.verdict, AuditHook.check_launch, AuditHook.check_compile,
    AuditHook.first_caller, AuditHook.solution_called))
WATCHED = (frozenset({"open", "compile"}) | frozenset(LAUNCH_EVENTS) | DIRECT_CHECKED
           | LIBRARY_ONLY | ALWAYS_REFUSED | READ_EVENTS | frozenset(WRITE_EVENTS)
           | KILL_EVENTS)


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def plain_path(value) -> str | int | None:
    """The path (or fd) an argument names, read without running code the hook did not
    write: a plain str, bytes or int, or the standard library's own path objects (whose
    __fspath__ is pathlib's or os's); None for anything else."""
    kind = type(value)
    if kind is str or kind is int:
        return value
    if kind is bytes:
        return os.fsdecode(value)
    if kind in PATH_TYPES:
        text = os.fspath(value)
        return text if type(text) is str else os.fsdecode(text) if type(text) is bytes else None
    return None


def _probe_argv(argv) -> bool:
    """[python, "-c", the ISA probe's code], every line of it one of the template's."""
    return (type(argv) in (list, tuple) and len(argv) == 3
            and all(type(a) is str for a in argv) and argv[1] == "-c"
            and all(PROBE_LINE.fullmatch(line) for line in argv[2].split("\n")))


def _type_name(value) -> str:
    return TYPE_NAME.__get__(type(value))


def _short(value) -> str:
    """An argument for the report, formatted only if it is a plain builtin value."""
    if type(value) in (bytes, bytearray):
        return f"<{len(value)} bytes>"
    if type(value) not in (str, int, float, bool, type(None)):
        return f"<{_type_name(value)}>"
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "..."
