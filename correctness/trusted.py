"""In-process import of a solution directory, for trusted code only: our own reference
solutions, in tests and in measurement scripts. A submission never comes through here; it
runs in the sandbox (`correctness.sandbox`).

The layout is the sandbox child's (`_child.load_solution`): a package whose __path__ is the
directory, with `solution.py` as its submodule, so `from .sibling import x` works.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path


def import_solution(solution_dir: str | Path, package: str) -> types.ModuleType:
    """Import `solution_dir/solution.py` as `<package>.solution` (registered in sys.modules,
    with its package; the caller picks a name no other import uses)."""
    solution_dir = Path(solution_dir)
    module = types.ModuleType(package)
    module.__path__ = [str(solution_dir)]
    sys.modules[package] = module
    spec = importlib.util.spec_from_file_location(f"{package}.solution",
                                                  solution_dir / "solution.py")
    solution = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = solution
    spec.loader.exec_module(solution)
    return solution
