"""Which strings a name can be, where a file shows them: what the static scan reads as the
attribute names reflection (getattr & co) is given.

Known: a str literal, a tuple/list/set display of them, a module-level name bound once in
the file to a tuple of them, and a loop variable over any of those: a comprehension's
(which nothing else can rebind) or a `for` loop's bound nowhere else in the file (a later
assignment would reach a closure made in the loop). The static scan adds a library's own
tuple of str (`baseline.ops.SLOTS`), which it resolves.
"""

from __future__ import annotations

import ast
import contextlib
from collections import Counter
from collections.abc import Callable, Iterator

Names = tuple[str, ...]


class KnownNames:
    def __init__(self, tree: ast.Module):
        self.bindings = _bindings(tree)
        self.frames: list[dict[str, Names | None]] = []  # innermost last
        self.constants = {
            node.targets[0].id: names for node in tree.body
            if isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Tuple)
            and self.bindings[node.targets[0].id] == 1
            and (names := literal_names(node.value)) is not None}

    def of(self, node: ast.AST) -> Names | None:
        if isinstance(node, ast.Name):
            for frame in reversed(self.frames):
                if node.id in frame:
                    return frame[node.id]
            if node.id in self.constants:
                return self.constants[node.id]
        return literal_names(node)

    @contextlib.contextmanager
    def frame(self, names: dict[str, Names | None]) -> Iterator[None]:
        self.frames.append(names)
        try:
            yield
        finally:
            self.frames.pop()

    def comprehension(self, node: ast.AST, known: Callable[[ast.AST], Names | None]):
        """The frame of a comprehension's variables (a tuple target's are unknown)."""
        frame: dict[str, Names | None] = {}
        for generator in node.generators:
            values = known(generator.iter) if isinstance(generator.target, ast.Name) else None
            for target in ast.walk(generator.target):
                if isinstance(target, ast.Name):
                    frame[target.id] = values
        return self.frame(frame)

    def loop(self, node: ast.For, known: Callable[[ast.AST], Names | None]):
        """The frame of a `for` body: its variable's values, if bound nowhere else."""
        target = node.target
        if isinstance(target, ast.Name) and self.bindings[target.id] == 1:
            return self.frame({target.id: known(node.iter)})
        return self.frame({})

    def parameters(self, node: ast.AST):
        """Parameters shadow whatever an enclosing loop bound."""
        return self.frame({a.arg: None for a in ast.walk(node.args) if isinstance(a, ast.arg)})


def literal_names(node: ast.AST) -> Names | None:
    """The strings of a str literal or of a tuple/list/set display of them."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    if all(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in items):
        return tuple(n.value for n in items)
    return None


def _bindings(tree: ast.AST) -> Counter:
    """How often each name is bound anywhere in the file (global/nonlocal count twice, so a
    name they touch is never known)."""
    count: Counter = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            count[node.id] += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            count[node.name] += 1
        elif isinstance(node, ast.alias):
            count[(node.asname or node.name).partition(".")[0]] += 1
        elif isinstance(node, ast.arg):
            count[node.arg] += 1
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            count[node.name] += 1
        elif isinstance(node, ast.MatchMapping) and node.rest:
            count[node.rest] += 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            count.update({name: 2 for name in node.names})
    return count
