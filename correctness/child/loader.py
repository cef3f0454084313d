"""The one way a solution directory is imported: as a package whose `__path__` is the
directory, with `solution.py` as its submodule, so `from .sibling import x` works. The
sandboxed child imports every submission this way (package `submission`); trusted code
(our reference solutions in tests and measurements) uses the same function in-process
through `correctness.trusted`.

Also here: the import blocker, which keeps the judge, the clock and the agent (and the
kernel library unless allowed) out of a sandboxed solution's reach."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path


class Rejected(Exception):
    """The run ends with this check's verdict (the parent names it)."""

    def __init__(self, check: str, message: str):
        super().__init__(message)
        self.check = check


def register_package(solution_dir: str | Path, package: str) -> types.ModuleType:
    """Make `solution_dir` importable as package `package` (its modules as
    `<package>.<module>`, their relative imports working), importing nothing from it."""
    module = types.ModuleType(package)
    module.__path__ = [str(solution_dir)]
    sys.modules[package] = module
    return module


def import_solution(solution_dir: str | Path, package: str) -> types.ModuleType:
    """Import `solution_dir/solution.py` as `<package>.solution` (registered in sys.modules
    with its package; the caller picks a name no other import uses)."""
    register_package(solution_dir, package)
    return importlib.import_module(f"{package}.solution")


def load_submission(solution_dir: str) -> types.ModuleType:
    """The sandboxed import: any failure is the solution's verdict. The directory also
    goes first on sys.path, so its sibling modules import by plain name too."""
    sys.path.insert(0, solution_dir)
    try:
        return import_solution(solution_dir, "submission")
    except Exception as e:
        raise Rejected("import", f"importing solution.py failed: {type(e).__name__}: {e}") from e


def check_train(module: types.ModuleType):
    import inspect

    train = getattr(module, "train", None)
    if not callable(train):
        raise Rejected("signature", "solution.py defines no callable `train`")
    try:
        inspect.signature(train).bind({}, {}, None, None)
    except (TypeError, ValueError) as e:
        raise Rejected("signature", f"train(cfg, init, tokens, batches) does not bind: {e}") from e
    return train


class ImportBlocker:
    """A meta-path finder that refuses the project's judge, clock and agent (and the kernel
    library unless allowed): a solution must not read or patch the code that judges it."""

    def __init__(self, blocked: list[str], report):
        self.blocked, self.report = frozenset(blocked), report

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.blocked:
            self.report("refused", {"event": "import", "detail": name, "why": "blocked"})
            raise ModuleNotFoundError(f"the sandbox refuses to import {name!r}", name=name)
        return None
