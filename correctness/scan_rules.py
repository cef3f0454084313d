"""The static scan's rules for one file: an AST visitor (correctness/static_scan.py runs
it over every file of a solution and documents the rules).

Names are checked for what they refer to first (scan_resolve walks chains of imported
library modules in the judge's own process) and for their spelling where that cannot be
done. Reflection (getattr & co) is read through: its attribute names must be known here,
either written out or drawn by a loop from a tuple of literals the scan can see.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from . import scan_resolve as resolver
from .scan_names import KnownNames
from .scan_resolve import (
    FORBIDDEN_ATTRIBUTES,
    FORBIDDEN_CALLS,
    INTERNAL_NAMES,
    MISSING,
    NATIVE_FILE_METHODS,
    REFLECTION,
)

ALLOWED_MODULES = frozenset({
    "torch", "triton", "numpy", "math", "functools", "itertools", "operator", "dataclasses",
    "typing", "collections", "types", "__future__", "enum", "abc", "contextlib", "random",
    "statistics", "warnings", "time", "baseline",
})
PROJECT_PACKAGES = frozenset({"correctness", "bench", "agent"})

TIMER_MODULES = ("time", "torch.cuda", "torch.mps", "torch.xpu", "torch.utils.benchmark",
                 "torch.profiler", "triton.testing", "datetime")
PATCH_MODULES = ("builtins", "sys", "os", "gc", "importlib", "threading", "signal")
FILE_CALLS = frozenset({"open", "io.open", "pathlib.Path", "Path"})


@dataclass(frozen=True)
class Finding:
    rule: str
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class Context:
    """What every file of one solution is scanned against."""

    allowed: frozenset[str]  # importable top-level names
    libraries: frozenset[str]  # of those, the libraries the judge may import to resolve
    siblings: frozenset[str]  # the solution's own modules: never imported by the judge


def scan_tree(tree: ast.Module, rel: str, context: Context) -> list[Finding]:
    rules = FileRules(rel, context, tree)
    rules.visit(tree)
    return rules.findings


class FileRules(ast.NodeVisitor):
    def __init__(self, rel: str, context: Context, tree: ast.Module):
        self.rel, self.context, self.allowed = rel, context, context.allowed
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}  # local name -> dotted module path it stands for
        self.libraries: set[str] = set()  # local names bound to a library by an import
        self.calls: set[int] = set()  # ids of the nodes called (`f` of `f(...)`)
        self.names = KnownNames(tree)

    def add(self, rule: str, node: ast.AST, message: str) -> None:
        finding = Finding(rule, self.rel, getattr(node, "lineno", 0), message)
        if finding not in self.findings:
            self.findings.append(finding)

    # ------------------------------------------------------------------ imports

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_module(alias.name, node)
            local = alias.asname or alias.name.partition(".")[0]
            self.bind(local, alias.name if alias.asname else local)
            # `import a.b` names the module a.b itself: its spelling is its name, and the
            # judge imports it only when a chain through it is walked
            self.check_chain(alias.name, node, library=False)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level > 1:
            self.add("import", node, "relative import beyond the solution's own package")
        if node.level == 0 and node.module:
            self.check_module(node.module, node)
            for alias in node.names:
                self.check_attribute_name(alias.name, node)
                self.bind(alias.asname or alias.name, f"{node.module}.{alias.name}")
                self.check_chain(f"{node.module}.{alias.name}", node, rule_for_module="import")

    def bind(self, local: str, dotted: str) -> None:
        self.aliases[local] = dotted
        if self.is_library(dotted):
            self.libraries.add(local)
        else:
            self.libraries.discard(local)

    def is_library(self, dotted: str) -> bool:
        """Rooted at a library the judge may import (a sibling module of the same name is
        what the solution's import finds instead)."""
        root = dotted.partition(".")[0]
        return root in self.context.libraries and root not in self.context.siblings

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

    def library_chain(self, node: ast.AST) -> str | None:
        """The dotted path of a chain rooted at an imported library, else None."""
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        return self.resolve(node) if isinstance(root, ast.Name) and \
            root.id in self.libraries else None

    def refers_to(self, dotted: str | None) -> object:
        if dotted is None:
            return MISSING
        return resolver.refers_to(dotted, self.context.libraries)

    def check_chain(self, dotted: str, node: ast.AST, rule_for_module: str = "attribute",
                    library: bool = True) -> None:
        """The forbidden module or function `dotted` is, by what it resolves to (a chain
        of a library) or else by its spelling."""
        found = resolver.spelled(dotted)
        if found is None and library and self.is_library(dotted):
            found = resolver.landing(dotted, self.context.libraries)
        if found is not None:
            rule, message = found
            self.add(rule_for_module if rule == "attribute" else rule, node, message)

    def check_attribute_name(self, name: str, node: ast.AST) -> None:
        if name in FORBIDDEN_ATTRIBUTES:
            self.add("attribute", node, f"attribute {name!r} reaches interpreter internals "
                                        "or a forbidden module")

    def check_used_as_value(self, name: str | None, node: ast.AST) -> None:
        if name is not None and id(node) not in self.calls:
            short = name.rpartition(".")[2]
            self.add("attribute", node, f"{short} used as a value (an alias, an argument, a "
                                        f"container): call {short}(...) by name, with the "
                                        "attribute's name written out, so the scan can read it")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.check_attribute_name(node.attr, node)
        chain = self.library_chain(node)
        dotted = chain or self.resolve(node)
        if dotted is not None:
            self.check_chain(dotted, node, library=chain is not None)
        target = self.refers_to(chain)
        if target is MISSING and node.attr in NATIVE_FILE_METHODS and isinstance(
                node.ctx, ast.Load):
            self.add("forbidden_call", node, f"method {node.attr!r} of a value the scan cannot "
                                             f"follow: on torch's objects it "
                                             f"{NATIVE_FILE_METHODS[node.attr]}")
        self.check_used_as_value(dotted if dotted in REFLECTION else
                                 resolver.reflection(target), node)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in INTERNAL_NAMES:
            self.add("attribute", node, f"{node.id} reaches interpreter internals")
        elif node.id in FORBIDDEN_CALLS and node.id not in self.aliases:
            self.add("forbidden_call", node, f"{node.id}: {FORBIDDEN_CALLS[node.id]}")
        elif node.id in REFLECTION and node.id not in self.aliases and \
                isinstance(node.ctx, ast.Load):
            self.check_used_as_value(node.id, node)
        elif node.id in self.libraries:
            self.check_used_as_value(resolver.reflection(self.refers_to(
                self.aliases[node.id])), node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = node.slice
        if isinstance(key, ast.Constant) and key.value in FORBIDDEN_ATTRIBUTES:
            self.add("attribute", node, f"subscript {key.value!r} reaches interpreter "
                                        "internals or a forbidden module")
        self.generic_visit(node)

    # ------------------------------------------------------------------ names known statically

    def known_names(self, node: ast.AST) -> tuple[str, ...] | None:
        """The strings an expression can be (scan_names), or a library's tuple of str."""
        known = self.names.of(node)
        if known is not None:
            return known
        value = self.refers_to(self.library_chain(node))
        if type(value) in (tuple, frozenset) and all(type(v) is str for v in value):
            return tuple(value)
        return None

    def visit_comprehension_node(self, node: ast.AST) -> None:
        with self.names.comprehension(node, self.known_names):
            self.generic_visit(node)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = \
        visit_comprehension_node

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.target)
        self.visit(node.iter)
        with self.names.loop(node, self.known_names):
            for statement in node.body:
                self.visit(statement)
        for statement in node.orelse:
            self.visit(statement)

    def visit_function(self, node: ast.AST) -> None:
        with self.names.parameters(node):
            self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_function

    # ------------------------------------------------------------------ calls

    def visit_Call(self, node: ast.Call) -> None:
        self.calls.add(id(node.func))
        dotted = self.resolve(node.func)
        if dotted is not None:
            self.check_call(dotted, node)
        self.generic_visit(node)

    def check_call(self, dotted: str, node: ast.Call) -> None:
        if dotted in ("__import__", "importlib.import_module") or dotted.endswith(
                "import_module"):
            self.check_dynamic_import(node)
        target = self.refers_to(self.library_chain(node.func))
        reflection = dotted if dotted in REFLECTION and dotted not in self.libraries else \
            resolver.reflection(target)
        if reflection is not None:
            self.check_reflection(reflection, node)
        numpy_load = target is not MISSING and target is self.refers_to("numpy.load")
        if (dotted == "numpy.load" or numpy_load) and any(
                k.arg == "allow_pickle" for k in node.keywords):
            self.add("forbidden_call", node, "numpy.load(allow_pickle=...) may unpickle")
        if dotted in FILE_CALLS or dotted.endswith(".open"):
            self.check_path_argument(node)

    def check_dynamic_import(self, node: ast.Call) -> None:
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            self.add("dynamic_import", node, "import of a name computed at run time")
        elif first.value.partition(".")[0] not in self.allowed:
            self.add("dynamic_import", node, f"imports {first.value!r}, which is not allowed")

    def check_reflection(self, name: str, node: ast.Call) -> None:
        short = name.rpartition(".")[2]
        arguments = node.args if name.startswith("operator.") else node.args[1:2]
        known = [self.known_names(n) for n in arguments]
        if not arguments or any(k is None for k in known):
            self.add("attribute", node, f"{short} with an attribute name built at run time; "
                                        "name the attribute (a literal, or a loop over a "
                                        "constant tuple of them)")
            return
        owner = None if name.startswith("operator.") else node.args[0]
        chain = self.library_chain(owner) if owner is not None else None
        for value in (v for names in known for v in names):
            for part in value.split("."):
                self.check_attribute_name(part, node)
            if chain is not None:
                self.check_chain(f"{chain}.{value}", node)
        if name in ("setattr", "delattr") and owner is not None:
            target = self.owner_name(owner)
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
        [target] = node.targets if len(node.targets) == 1 else [None]
        chain = self.library_chain(node.value)
        if isinstance(target, ast.Name) and chain and self.names.bindings[target.id] == 1:
            self.bind(target.id, chain)  # `F = torch.nn.functional`: F.x resolves as well
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
            owner = self.owner_name(target.value)
            if owner is not None:
                self.check_patch(owner, target)

    def owner_name(self, node: ast.AST) -> str | None:
        """The dotted name whose attribute is assigned: the real module's name where the
        chain resolves to one (`torch._dynamo.utils.time` is time), else as spelled."""
        return resolver.module_name(self.refers_to(self.library_chain(node))) or \
            self.resolve(node)

    def check_patch(self, owner: str, node: ast.AST) -> None:
        """`owner` is the resolved dotted name whose attribute is assigned; local objects
        (self.x = ...) resolve to names that no module prefix matches."""
        if any(owner == m or owner.startswith(m + ".") for m in TIMER_MODULES):
            self.add("timer_patch", node, f"assigns an attribute of {owner}: clocks and "
                                          "synchronisation must stay as they are")
        elif any(owner == m or owner.startswith(m + ".") for m in PATCH_MODULES):
            self.add("monkey_patch", node, f"assigns an attribute of {owner}")
