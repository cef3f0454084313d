"""In-process import of a solution directory, for trusted code only: our own reference
solutions, in tests and in measurement scripts. A submission never comes through here; it
runs in the sandbox (`correctness.sandbox`). The import itself is the sandbox child's own
(`correctness.child.loader.import_solution`), so both see a solution the same way.
"""

from __future__ import annotations

from .child.loader import import_solution

__all__ = ["import_solution"]
