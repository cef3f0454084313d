"""Static scan of a solution directory (AST), before any of its code runs.

    scan(solution_dir, allow_library=False) -> list[Finding]     empty: nothing found

An allowlist of importable modules, plus forbidden calls, attributes and patterns. Every
finding names its rule, file and line. The scan is the first line of defence; the sandbox's
import blocker and audit hook stand behind it for what a scan cannot see (names built at
run time), and the parent's clock and secret seeds behind both.

Rules:
  syntax          the file does not parse
  file            a symlink, or native code / bytecode (.so, .pyd, .pyc) shipped in the dir
  import          a module outside the allowlist (or `kernels` without --allow-library)
  dynamic_import  __import__/importlib with a non-literal or forbidden name
  forbidden_call  eval/exec/compile/breakpoint/input, pickle (torch.load, np.load with
                  allow_pickle), process/thread/network entry points reached through torch
  attribute       reaching a forbidden module or introspection hook through an attribute
                  (torch.os.environ, f.f_back, fn.__globals__, sys.modules via torch.sys ...),
                  or an attribute whose name is built at run time (getattr(torch, "o" + "s")
                  and the like): the only way around the attribute rules
  timer_patch     assigning (or setattr/delattr) an attribute of time, torch.cuda & co.
  monkey_patch    assigning an attribute of builtins or other interpreter modules
  path            open()/Path() of an absolute path or one that climbs out with '..'
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ALLOWED_MODULES = frozenset({
    "torch", "triton", "numpy", "math", "functools", "itertools", "operator", "dataclasses",
    "typing", "collections", "types", "__future__", "enum", "abc", "contextlib", "random",
    "statistics", "warnings", "time", "baseline",
})
PROJECT_PACKAGES = frozenset({"correctness", "bench", "agent"})

# Dotted names (after resolving import aliases) that must never be called or referenced.
FORBIDDEN_CALLS = {
    "eval": "eval", "exec": "exec", "compile": "compiles source at run time",
    "breakpoint": "debugger", "input": "reads stdin", "__import__": "dynamic import",
    "torch.load": "unpickles (malicious pickles)", "torch.hub": "downloads",
    "torch.multiprocessing": "processes", "torch.distributed": "sockets and processes",
    "torch.utils.data.DataLoader": "worker processes",
    "numpy.lib.format.read_array": "may unpickle",
    "torch.from_file": "maps a file with native code (no audit event sees the writes)",
}
FORBIDDEN_PREFIXES = ("torch.multiprocessing.", "torch.distributed.", "torch.hub.")
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
})
# Reflection by name: the name must be a literal, so the attribute rules can read it.
REFLECTION = ("getattr", "setattr", "delattr", "hasattr", "operator.attrgetter",
              "operator.methodcaller")
TIMER_MODULES = ("time", "torch.cuda", "torch.mps", "torch.xpu", "torch.utils.benchmark",
                 "torch.profiler", "triton.testing", "datetime")
PATCH_MODULES = ("builtins", "sys", "os", "gc", "importlib", "threading", "signal")
FILE_CALLS = frozenset({"open", "io.open", "pathlib.Path", "Path"})
NATIVE_SUFFIXES = (".so", ".pyd", ".pyc", ".dylib", ".dll")


@dataclass(frozen=True)
class Finding:
    rule: str
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule}] {self.message}"


def scan(solution_dir: str | Path, allow_library: bool = False) -> list[Finding]:
    root = Path(solution_dir)
    findings: list[Finding] = []
    siblings = _sibling_modules(root)
    allowed = ALLOWED_MODULES | siblings | {"submission"} | (
        {"kernels"} if allow_library else set())
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if "__pycache__" in path.parts:
            continue
        if path.is_symlink():
            findings.append(Finding("file", rel, 0, "symlinks are not allowed in a solution"))
        elif path.suffix in NATIVE_SUFFIXES:
            findings.append(Finding("file", rel, 0, "native code or bytecode is not allowed "
                                                     "(ship source)"))
        elif path.suffix == ".py" and path.is_file():
            findings.extend(_scan_file(path, rel, allowed))
    return findings


def declares_kernels(solution_dir: str | Path) -> bool:
    """Does solution.py bind KERNELS at module level? (The judge then kernel-checks them.)"""
    tree = _parse(Path(solution_dir) / "solution.py")
    return tree is not None and any(
        isinstance(t, ast.Name) and t.id == "KERNELS"
        for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))


def preimports(solution_dir: str | Path) -> list[str]:
    """Heavy allowed libraries the solution will load: the sandbox imports them in the
    untimed setup, before the audit hook, as it does torch, so their start-up is neither
    policed nor timed. triton when the solution imports it or our kernel library (which
    does); torch._dynamo when it uses torch.optim or torch.compile, which import it on first
    use (the first torch.optim.AdamW took 1.6-2.9 s to build on the 2-core CPU machine,
    bench/measurements/2026-12-01-startup-costs.json)."""
    found: set[str] = set()
    for path in Path(solution_dir).rglob("*.py"):
        tree = _parse(path)
        for node in ast.walk(tree) if tree else []:
            names = _imported_names(node)
            if any(n.partition(".")[0] in ("triton", "kernels") for n in names):
                found.add("triton")
            if _loads_dynamo(node, names):
                found.add("torch._dynamo")
    return sorted(found)


def _loads_dynamo(node: ast.AST, imported: list[str]) -> bool:
    """`torch.optim` / `torch.compile` used or imported (plain references, as written)."""
    lazy = ("optim", "compile", "_dynamo")
    if any(n.startswith(tuple(f"torch.{name}" for name in lazy)) for n in imported):
        return True
    if isinstance(node, ast.ImportFrom) and node.module == "torch":
        return any(alias.name in lazy for alias in node.names)
    return (isinstance(node, ast.Attribute) and node.attr in lazy
            and isinstance(node.value, ast.Name) and node.value.id == "torch")


# ---------------------------------------------------------------------------- per file

def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
        return None


def _sibling_modules(root: Path) -> set[str]:
    names = {p.stem for p in root.glob("*.py")}
    names |= {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    return names


def _imported_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []


def _scan_file(path: Path, rel: str, allowed: frozenset[str] | set[str]) -> list[Finding]:
    try:
        tree = ast.parse(path.read_text(), filename=rel)
    except (SyntaxError, UnicodeDecodeError, ValueError) as e:
        return [Finding("syntax", rel, getattr(e, "lineno", 0) or 0, f"does not parse: {e}")]
    visitor = _Visitor(rel, allowed)
    visitor.visit(tree)
    return visitor.findings


class _Visitor(ast.NodeVisitor):
    def __init__(self, rel: str, allowed):
        self.rel, self.allowed = rel, allowed
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}  # local name -> dotted module path it stands for

    def add(self, rule: str, node: ast.AST, message: str) -> None:
        self.findings.append(Finding(rule, self.rel, getattr(node, "lineno", 0), message))

    # ------------------------------------------------------------------ imports

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_module(alias.name, node)
            local = alias.asname or alias.name.partition(".")[0]
            self.aliases[local] = alias.name if alias.asname else local

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level > 1:
            self.add("import", node, "relative import beyond the solution's own package")
        if node.level == 0 and node.module:
            self.check_module(node.module, node)
            for alias in node.names:
                self.check_attribute_name(alias.name, node)
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                self.check_dotted(f"{node.module}.{alias.name}", node)

    def check_module(self, name: str, node: ast.AST) -> None:
        top = name.partition(".")[0]
        if top in PROJECT_PACKAGES:
            self.add("import", node, f"imports {name}: the judge, clock and agent are off "
                                     "limits to a solution")
        elif top == "kernels" and "kernels" not in self.allowed:
            self.add("import", node, f"imports {name}: the kernel library is only for "
                                     "reference entries (--allow-library)")
        elif top not in self.allowed:
            self.add("import", node, f"imports {name}, which is not on the allowlist "
                                     f"({', '.join(sorted(ALLOWED_MODULES))})")
        self.check_dotted(name, node)

    # ------------------------------------------------------------------ names

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted path an expression names, through import aliases ('np.load' ->
        'numpy.load'); None for anything that is not a plain Name/Attribute chain."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def check_dotted(self, dotted: str, node: ast.AST) -> None:
        if dotted in FORBIDDEN_CALLS and "." in dotted:
            self.add("forbidden_call", node, f"{dotted}: {FORBIDDEN_CALLS[dotted]}")
        elif dotted.startswith(FORBIDDEN_PREFIXES):
            self.add("forbidden_call", node, f"{dotted} is not allowed")

    def check_attribute_name(self, name: str, node: ast.AST) -> None:
        if name in FORBIDDEN_ATTRIBUTES:
            self.add("attribute", node, f"attribute {name!r} reaches interpreter internals "
                                        "or a forbidden module")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.check_attribute_name(node.attr, node)
        dotted = self.resolve(node)
        if dotted is not None:
            self.check_dotted(dotted, node)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in ("__builtins__", "__loader__", "__spec__", "globals", "vars"):
            self.add("attribute", node, f"{node.id} reaches interpreter internals")
        elif node.id in FORBIDDEN_CALLS and node.id not in self.aliases:
            self.add("forbidden_call", node, f"{node.id}: {FORBIDDEN_CALLS[node.id]}")

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = node.slice
        if isinstance(key, ast.Constant) and key.value in FORBIDDEN_ATTRIBUTES:
            self.add("attribute", node, f"subscript {key.value!r} reaches interpreter "
                                        "internals or a forbidden module")
        self.generic_visit(node)

    # ------------------------------------------------------------------ calls

    def visit_Call(self, node: ast.Call) -> None:
        dotted = self.resolve(node.func)
        if dotted is not None:
            self.check_call(dotted, node)
        self.generic_visit(node)

    def check_call(self, dotted: str, node: ast.Call) -> None:
        if dotted in ("__import__", "importlib.import_module") or dotted.endswith(
                "import_module"):
            self.check_dynamic_import(node)
        if dotted in REFLECTION:
            self.check_reflection(dotted, node)
        if dotted == "numpy.load" and any(k.arg == "allow_pickle" for k in node.keywords):
            self.add("forbidden_call", node, "numpy.load(allow_pickle=...) may unpickle")
        if dotted in FILE_CALLS or dotted.endswith(".open"):
            self.check_path_argument(node)

    def check_dynamic_import(self, node: ast.Call) -> None:
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            self.add("dynamic_import", node, "import of a name computed at run time")
        elif first.value.partition(".")[0] not in self.allowed:
            self.add("dynamic_import", node, f"imports {first.value!r}, which is not allowed")

    def check_reflection(self, dotted: str, node: ast.Call) -> None:
        names = node.args if dotted.startswith("operator.") else node.args[1:2]
        if not names or not all(isinstance(n, ast.Constant) and isinstance(n.value, str)
                                for n in names):
            self.add("attribute", node, f"{dotted.rpartition('.')[2]} with an attribute "
                                        "name built at run time; name the attribute")
            return
        for name in names:
            for part in name.value.split("."):
                self.check_attribute_name(part, node)
        if dotted in ("setattr", "delattr"):
            target = self.resolve(node.args[0])
            if target is not None:
                self.check_patch(target, node)

    def check_path_argument(self, node: ast.Call) -> None:
        first = node.args[0] if node.args else None
        text = None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            text = first.value
        elif isinstance(first, ast.JoinedStr) and first.values and isinstance(
                first.values[0], ast.Constant):
            text = str(first.values[0].value)
        if text is not None and (text.startswith(("/", "~")) or ".." in text.split("/")):
            self.add("path", node, f"opens {text!r}: a solution may only touch files in its "
                                   "own directory and its working directory")

    # ------------------------------------------------------------------ patching

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.check_target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.check_target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.check_target(target)
        self.generic_visit(node)

    def check_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.check_target(element)
        elif isinstance(target, ast.Attribute):
            owner = self.resolve(target.value)
            if owner is not None:
                self.check_patch(owner, target)

    def check_patch(self, owner: str, node: ast.AST) -> None:
        """`owner` is the resolved dotted name whose attribute is assigned; local objects
        (self.x = ...) resolve to names that no module prefix matches."""
        if any(owner == m or owner.startswith(m + ".") for m in TIMER_MODULES):
            self.add("timer_patch", node, f"assigns an attribute of {owner}: clocks and "
                                          "synchronisation must stay as they are")
        elif any(owner == m or owner.startswith(m + ".") for m in PATCH_MODULES):
            self.add("monkey_patch", node, f"assigns an attribute of {owner}")
