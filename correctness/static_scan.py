"""Static scan of a solution directory (AST), before any of its code runs.

    scan(solution_dir, allow_library=False) -> list[Finding]     empty: nothing found

An allowlist of importable modules, plus forbidden calls, attributes and patterns, applied
to what a name refers to: chains of library modules are resolved in the judge's own process
(correctness/scan_resolve.py), spellings are the backstop where they cannot be. Every
finding names its rule, file and line. The scan is the first line of defence; the sandbox's
import blocker and audit hook stand behind it for what a scan cannot see, and the kernel's
isolation behind both.

Rules:
  syntax          the file does not parse
  file            a symlink, or native code / bytecode (.so, .pyd, .pyc) shipped in the dir
  import          a module outside the allowlist (or `kernels` without --allow-library),
                  whatever a library calls it (`from random import _os`)
  dynamic_import  __import__/importlib with a non-literal or forbidden name
  forbidden_call  eval/exec/compile & co, pickle, process/thread/network entry points, and
                  every API that opens, maps or writes a file natively (torch.save, from_file
                  on storages, ...), whatever it is called; on values, methods of those names
  attribute       reaching a forbidden module or introspection hook through an attribute
                  (torch.os.environ, random._os, f.f_back, fn.__globals__ ...); reflection
                  (getattr & co) used other than by a call by name, or with an attribute
                  name the scan cannot read: a literal, or a loop over a constant tuple of
                  literals (`{s: getattr(ops, s) for s in SLOTS}`) is read
  timer_patch     assigning (or setattr/delattr) an attribute of time, torch.cuda & co.
  monkey_patch    assigning an attribute of builtins or other interpreter modules
  path            open()/Path() of an absolute path or one that climbs out with '..'
"""

from __future__ import annotations

import ast
from pathlib import Path

from .scan_rules import ALLOWED_MODULES, PROJECT_PACKAGES, Context, Finding, scan_tree

__all__ = ["ALLOWED_MODULES", "PROJECT_PACKAGES", "Finding", "declares_kernels", "preimports",
           "scan"]
NATIVE_SUFFIXES = (".so", ".pyd", ".pyc", ".dylib", ".dll")


def scan(solution_dir: str | Path, allow_library: bool = False) -> list[Finding]:
    root = Path(solution_dir)
    findings: list[Finding] = []
    siblings = _sibling_modules(root)
    libraries = ALLOWED_MODULES | ({"kernels"} if allow_library else set())
    context = Context(libraries | siblings | {"submission"}, frozenset(libraries),
                       frozenset(siblings | {"submission"}))
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
            findings.extend(_scan_file(path, rel, context))
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


def _scan_file(path: Path, rel: str, context: Context) -> list[Finding]:
    try:
        tree = ast.parse(path.read_text(), filename=rel)
    except (SyntaxError, UnicodeDecodeError, ValueError) as e:
        return [Finding("syntax", rel, getattr(e, "lineno", 0) or 0, f"does not parse: {e}")]
    return scan_tree(tree, rel, context)
