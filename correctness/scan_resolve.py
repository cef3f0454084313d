"""What a name in a solution refers to: the static scan's resolution rule.

    landing(dotted, libraries) -> (rule, message) | None   a forbidden module or function
    refers_to(dotted, libraries) -> object | MISSING        the object a chain lands on
    spelled(dotted) -> (rule, message) | None               the same tables, by spelling

and the tables of what is forbidden: modules, functions, and names (of attributes anywhere,
of methods on values).

The scan's attribute rules read spellings, but what a solution can do depends on what a
spelling reaches, and libraries bind forbidden things under names of their own: `random._os`
is os, `collections._sys` is sys, `enum.bltns` is builtins, `torch.cuda.tunable.mp` is
multiprocessing, `torch.serialization.save` is `torch.save`. So for a chain that starts at
an imported library module (never one of the solution's own), the judge imports that module
in its own process and walks the chain with static lookups only: a module's namespace (a
submodule imported when it is not loaded yet, unless it is forbidden), a class's `__dict__`
along its MRO, an instance's own dict; never a property, a module `__getattr__` or anything
else that runs code. The chain is refused at the first step that lands on a forbidden module
or function, whatever either is called. A chain through a value (`x.untyped_storage()
.from_file`) cannot be walked: NATIVE_FILE_METHODS stands behind resolution for those.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import types
import warnings

NATIVE_MAP = "maps a file natively, where no audit event sees the writes"
NATIVE_WRITE = "writes a file by path natively (C++), where no audit event sees it"
NATIVE_READ = "reads a file by path natively (C++), where no audit event sees it"

# Modules under allowed packages that a solution may not use, each with its submodules.
FORBIDDEN_MODULES = {
    "torch.multiprocessing": "starts processes",
    "torch.distributed": "opens sockets and starts processes",
    "torch.hub": "downloads",
    "torch.utils.collect_env": "starts any command (collect_env.run)",
    "torch.testing._internal": "the test suite's helpers start processes",
    "torch._C": "torch's native bindings, which open files natively (use the public API)",
    "torch.package": "archives written and read natively, then unpickled",
    "torch.export.pt2_archive": NATIVE_WRITE,
    "torch._inductor.package": NATIVE_WRITE,
    "numpy.ctypeslib": "native calls (ctypes)",
    "numpy.f2py": "builds and loads native code",
}
# Functions and classes refused under any spelling (canonical name -> why). A solution
# needs none of them in its own directories: results go back through the harness, and what
# numpy opens by path (save, load, memmap, fromfile, tofile) goes through Python's open,
# which the audit hook checks, so numpy's are allowed there.
FORBIDDEN_CALLS = {
    "eval": "eval", "exec": "exec", "compile": "compiles source at run time",
    "breakpoint": "debugger", "input": "reads stdin", "__import__": "dynamic import",
    "torch.from_file": NATIVE_MAP, "torch.UntypedStorage.from_file": NATIVE_MAP,
    "torch.TypedStorage.from_file": NATIVE_MAP,
    "torch.save": NATIVE_WRITE, "torch.load": "unpickles (malicious pickles)",
    "torch.jit.save": NATIVE_WRITE, "torch.jit.load": NATIVE_READ,
    "torch.jit.save_jit_module_to_flatbuffer": NATIVE_WRITE,
    "torch.jit.load_jit_module_from_flatbuffer": NATIVE_READ,
    "torch.export.save": NATIVE_WRITE, "torch.export.load": NATIVE_READ,
    "torch._inductor.aoti_compile_and_package": NATIVE_WRITE,
    "torch._inductor.aoti_load_package": NATIVE_READ,
    "torch.cuda.tunable.set_filename": NATIVE_WRITE,
    "torch.cuda.tunable.write_file": NATIVE_WRITE, "torch.cuda.tunable.read_file": NATIVE_READ,
    "torch.cuda.tunable.tune_gemm_in_file": NATIVE_READ,
    "torch.profiler.tensorboard_trace_handler": NATIVE_WRITE,
    "torch.profiler.ExecutionTraceObserver": NATIVE_WRITE,
    "torch.utils.data.DataLoader": "worker processes",
    "numpy.lib.format.read_array": "may unpickle",
    "typing.get_type_hints": "evaluates string annotations as code",
    "typing.ForwardRef": "evaluates a string as code",
}
# Attribute names refused on values, where a chain cannot be walked: methods that open,
# map or write a file by path natively (storages, script modules, profiler results, CUDA
# graphs). Through a module the chain is walked instead (`numpy.save` is allowed).
NATIVE_FILE_METHODS = {
    "from_file": NATIVE_MAP, "save": NATIVE_WRITE, "_save_for_lite_interpreter": NATIVE_WRITE,
    "export_chrome_trace": NATIVE_WRITE, "debug_dump": NATIVE_WRITE,
}
# Where a function or class is defined, for the re-exports no table lists: anything these
# modules define is refused however a library re-exports it (`os.*` is posix's).
FORBIDDEN_HOMES = frozenset({
    "os", "posix", "sys", "subprocess", "_posixsubprocess", "socket", "_socket", "shutil",
    "signal", "_signal", "ctypes", "_ctypes", "pickle", "_pickle", "gc", "_thread",
    "threading", "multiprocessing", "importlib", "inspect", "mmap", "resource", "pty",
    "fcntl", "marshal", "tempfile", "select",
})
# Attribute names that reach interpreter internals or forbidden modules from anywhere
# (torch and numpy re-export os and sys, so `torch.os.environ` must not get through).
FORBIDDEN_ATTRIBUTES = frozenset({
    "os", "sys", "subprocess", "socket", "ctypes", "threading", "multiprocessing",
    "importlib", "builtins", "gc", "inspect", "pickle", "shutil", "signal", "pathlib",
    "environ", "getenv", "putenv", "system", "popen", "fork", "forkpty", "execv", "execve",
    "execvp", "execl", "spawnv", "posix_spawn", "kill", "killpg", "setsid", "_exit",
    "_getframe", "_current_frames", "get_objects", "get_referrers", "get_referents",
    "f_back", "f_globals", "f_locals", "f_builtins", "tb_frame", "gi_frame", "cr_frame",
    "__globals__", "__builtins__", "__subclasses__", "__closure__", "__code__",
    "__import__", "__loader__", "__spec__", "addaudithook", "settrace", "setprofile",
    "__path__", "__dict__", "__getattribute__", "__getattr__",  # an import path widened;
    # a module's namespace, or its attributes, by a name the scan cannot read
    "__annotations__",  # dataclasses generate code from the names in it
    # on values, where a chain cannot be resolved: the names under which the allowed
    # libraries bind a module off the allowlist (test_static_scan checks every one of the
    # installed libraries' is here), forbidden modules' other names, torch's native
    # bindings and os calls that raise no audit event
    "_os", "_sys", "bltns", "mp", "python_multiprocessing", "wintypes", "posix", "_socket",
    "_posixsubprocess", "_signal", "_ctypes", "_pickle", "_thread", "mmap", "fcntl",
    "marshal", "tempfile", "pty", "_C", "collect_env", "mkfifo", "mknod",
})
INTERNAL_NAMES = ("__builtins__", "__loader__", "__spec__", "globals", "vars",
                  "__annotations__")
# Reflection: callable by name with names the scan can read, never referred to otherwise.
REFLECTION = ("getattr", "setattr", "delattr", "hasattr", "operator.attrgetter",
              "operator.methodcaller")
MISSING = object()


def spelled(dotted: str) -> tuple[str, str] | None:
    """The tables applied to a spelling, for what cannot be resolved."""
    for name, why in FORBIDDEN_MODULES.items():
        if dotted == name or dotted.startswith(name + "."):
            return "forbidden_call", f"{name}: {why}"
    if dotted in FORBIDDEN_CALLS:
        return "forbidden_call", f"{dotted}: {FORBIDDEN_CALLS[dotted]}"
    return None


@functools.lru_cache(maxsize=4096)
def landing(dotted: str, libraries: frozenset[str]) -> tuple[str, str] | None:
    """(rule, message) for the first step of `dotted` (a chain rooted at a library module
    in `libraries`) that is a forbidden module or function; None when none is, or when the
    chain leaves what static lookups can follow."""
    parts = dotted.split(".")
    if parts[0] not in libraries:
        return None
    for n in range(1, len(parts) + 1):
        step = ".".join(parts[:n])
        obj = refers_to(step, libraries)
        if obj is MISSING:
            return None
        why = _verdict(step, obj, libraries)
        if why is not None:
            return why
    return None


@functools.lru_cache(maxsize=4096)
def refers_to(dotted: str, libraries: frozenset[str]) -> object:
    """The object `dotted` reaches by static lookups, or MISSING."""
    head, _, rest = dotted.rpartition(".")
    if not head:
        return _import(dotted) if dotted in libraries else MISSING
    owner = refers_to(head, libraries)
    return MISSING if owner is MISSING else _lookup(owner, rest)


def module_name(obj: object) -> str | None:
    """The name of the module `obj` is, or None when it is no module."""
    if not issubclass(type(obj), types.ModuleType):
        return None
    name = _namespace(obj).get("__name__")
    return name if type(name) is str else None


def reflection(obj: object) -> str | None:
    """The reflection callable `obj` is, by its canonical name, or None."""
    return next((name for name in REFLECTION if _canonical(name) is obj), None)


# ---------------------------------------------------------------------------- steps

def _verdict(step: str, obj: object, libraries: frozenset[str]) -> tuple[str, str] | None:
    name = module_name(obj)
    if name is not None:
        found = spelled(name)
        if found is not None:
            rule, why = found
            return rule, why if name == step else f"{step} is {why}"
        if name.partition(".")[0] not in libraries:
            return "attribute", f"{step} is the module {name}, which a solution may not use"
        return None
    for name, why in FORBIDDEN_CALLS.items():
        if _canonical(name) is obj:
            return "forbidden_call", (f"{name}: {why}" if name == step
                                      else f"{step} is {name}: {why}")
    home = _home(obj)
    if home is not None and home.partition(".")[0] in FORBIDDEN_HOMES:
        return "forbidden_call", f"{step} is {home}.{obj.__name__}, from a module a " \
                                 "solution may not use"
    return None


def _lookup(owner: object, name: str, imports: bool = True) -> object:
    """owner.name by static lookup (importing a submodule of a library module, if
    `imports`), or MISSING."""
    parent = module_name(owner)
    if parent is not None:
        namespace = _namespace(owner)
        if name in namespace:
            return namespace[name]
        if not imports or spelled(f"{parent}.{name}") is not None:
            return MISSING  # a forbidden module is never imported, even to resolve
        return _import(f"{parent}.{name}")
    try:
        return inspect.getattr_static(owner, name)
    except AttributeError:
        return MISSING


def _import(module: str) -> object:
    """A library module, imported in the judge's process (where the solution would import
    it too, in the child); MISSING if it cannot be."""
    if module in sys.modules:
        return sys.modules[module]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a name that is no importable module
        return MISSING


def _canonical(name: str) -> object:
    """A table's entry as an object, through modules already loaded (an object of a module
    that is not loaded is not what any chain lands on); MISSING if it is not there."""
    if "." not in name:
        return getattr(importlib.import_module("builtins"), name, MISSING)
    parts = name.split(".")
    for n in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:n]))
        if module is not None:
            obj = module
            for part in parts[n:]:
                obj = _lookup(obj, part, imports=False) if obj is not MISSING else MISSING
            return obj
    return MISSING


def _namespace(module: types.ModuleType) -> dict:
    """A module's own dict, past any `__getattribute__` its class defines."""
    return object.__getattribute__(module, "__dict__")


def _home(obj: object) -> str | None:
    """The module a plain function or class (no metaclass of its own) says it is from."""
    if type(obj) in (types.FunctionType, types.BuiltinFunctionType, type):
        home = obj.__module__
        return home if type(home) is str else None
    return None
