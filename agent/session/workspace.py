"""The workspace: the one directory a policy's file tools can reach.

It starts as a copy of the baseline solution (`baseline/*.py`; the sandbox loads a solution
directory as a package, so the baseline's relative imports work there). Every path a tool
receives is checked here: relative, no '..', resolving (symlinks followed) inside the root.
So the judge's and the clock's own files, the run's transcript and the results can be
neither read nor written. A refusal is a ToolError whose message goes back to the model.

What counts as the solution (caches left out) and its hash are the solution format's
(`correctness.solution`), so a state's hash here is the solution_hash its record will carry.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from correctness.solution import is_cache, solution_files, solution_hash

MAX_FILE_BYTES = 1_000_000  # far above any sane kernel file; stops disk-filling writes
MAX_WORKSPACE_BYTES = 8_000_000


class ToolError(Exception):
    """A tool call that was refused or failed; the message is what the model reads."""


class Workspace:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    @classmethod
    def create(cls, root: str | Path, source: str | Path) -> Workspace:
        """A fresh workspace holding a copy of the source solution's .py files."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=False)
        for f in sorted(Path(source).glob("*.py")):
            shutil.copyfile(f, root / f.name)
        return cls(root)

    # ------------------------------------------------------------------ confinement

    def path(self, rel: str) -> Path:
        """The absolute path of `rel` inside the workspace, or ToolError saying why not."""
        if not isinstance(rel, str) or not rel.strip():
            raise ToolError("path must be a non-empty string relative to the workspace, "
                            "e.g. 'ops.py'")
        if "\0" in rel:
            raise ToolError("path contains a NUL byte")
        pure = PurePosixPath(rel)
        if pure.is_absolute() or rel.startswith("~") or (len(rel) > 1 and rel[1] == ":"):
            raise ToolError(f"{rel!r} is an absolute path; tools only reach files inside the "
                            f"workspace: use a relative path such as 'ops.py'")
        if ".." in pure.parts:
            raise ToolError(f"{rel!r} contains '..'; tools only reach files inside the "
                            f"workspace")
        target = (self.root / pure).resolve()
        if target != self.root and self.root not in target.parents:
            raise ToolError(f"{rel!r} resolves outside the workspace (through a symlink); "
                            f"refused")
        if is_cache(pure):
            raise ToolError(f"{rel!r} is a cache, not part of the solution")
        return target

    # ------------------------------------------------------------------ file tools

    def files(self) -> list[tuple[str, int]]:
        """(relative path, size in bytes) of every file, sorted; caches skipped."""
        return [(f.relative_to(self.root).as_posix(), f.stat().st_size)
                for f in solution_files(self.root)]

    def read(self, rel: str) -> str:
        target = self.path(rel)
        if target.is_dir():
            raise ToolError(f"{rel!r} is a directory; list_files shows its files")
        if not target.is_file():
            raise ToolError(f"{rel!r} does not exist; list_files shows what is there")
        try:
            return target.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ToolError(f"{rel!r} is not a UTF-8 text file") from None

    def write(self, rel: str, content: str) -> int:
        """Create or replace a file; returns the bytes written."""
        target = self.path(rel)
        data = content.encode("utf-8")
        if len(data) > MAX_FILE_BYTES:
            raise ToolError(f"refused: {len(data):,} bytes is over the {MAX_FILE_BYTES:,}-byte "
                            f"limit for one file")
        if target.is_dir():
            raise ToolError(f"{rel!r} is a directory")
        old = target.stat().st_size if target.is_file() else 0
        total = sum(size for _, size in self.files()) - old + len(data)
        if total > MAX_WORKSPACE_BYTES:
            raise ToolError(f"refused: the workspace would hold {total:,} bytes, over its "
                            f"{MAX_WORKSPACE_BYTES:,}-byte limit")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return len(data)

    def edit(self, rel: str, old: str, new: str) -> int:
        """Replace the one occurrence of `old` with `new`; returns the new size in bytes."""
        text = self.read(rel)
        if not old:
            raise ToolError("old_string is empty; give the exact text to replace")
        count = text.count(old)
        if count != 1:
            where = "not found" if count == 0 else f"found {count} times"
            raise ToolError(f"old_string {where} in {rel!r}; it must match exactly once "
                            f"(copy it from read_file, whitespace included, and add context "
                            f"lines if it repeats)")
        return self.write(rel, text.replace(old, new, 1))

    # ------------------------------------------------------------------ state

    def solution_hash(self) -> str:
        """The state's identity: the records' solution_hash of the workspace's files."""
        return solution_hash(self.root)

    def copy_to(self, dest: str | Path) -> Path:
        """A copy of the workspace's files (caches skipped) at `dest`, which must not exist;
        its solution_hash is the workspace's."""
        dest = Path(dest)
        dest.mkdir(parents=True)
        for f in solution_files(self.root):
            target = dest / f.relative_to(self.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
        return dest
