"""Imports go one way (docs/design.md, "Layers"): baseline <- kernels <- correctness <- bench
<- agent <- speedup. Every import in every module of the project, lazy ones inside functions
included, is read from the source: none may reach a package above its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("baseline", "kernels", "correctness", "bench", "agent", "speedup")


def imported_packages(path: Path, package: str, root: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in a file, relative ones resolved."""
    depth = len(path.relative_to(root).parts) - 1  # packages above the module's own file
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.partition(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                found.append((node.lineno, node.module.partition(".")[0]))
            elif node.level > depth:
                found.append((node.lineno, "<outside the project>"))
            else:
                found.append((node.lineno, package))  # relative: within its own package
    return found


def upward_imports(root: Path = ROOT) -> list[str]:
    bad = []
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            for line, target in imported_packages(path, package, root):
                if target in LAYERS and LAYERS.index(target) > LAYERS.index(package):
                    bad.append(f"{path.relative_to(root)}:{line} imports {target}")
                elif target == "<outside the project>":
                    bad.append(f"{path.relative_to(root)}:{line} imports above the tree")
    return bad


def test_no_package_imports_one_above_it():
    assert upward_imports() == []


@pytest.mark.parametrize("line", ["import agent.session", "from agent import x",
                                  "    from bench.clock import evaluate"])
def test_a_planted_upward_import_is_found(tmp_path, line):
    for package in LAYERS:
        (tmp_path / package).mkdir()
    body = f"def f():\n{line}\n" if line.startswith(" ") else f"{line}\n"
    (tmp_path / "correctness" / "planted.py").write_text(body)
    found = upward_imports(tmp_path)
    assert len(found) == 1 and found[0].startswith("correctness/planted.py"), found
