"""A solution directory's identity: which of its files are the solution, and their hash.

One home for the directory hash, used by the judge (each solution's own compile caches are
named by it), by records (`solution_hash` is what a record scores) and by an agent's
workspace and snapshots (a copy's hash is the original's).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis"}


def is_cache(rel_path: str | os.PathLike) -> bool:
    """Whether a path inside a solution directory is a cache, not part of the solution:
    solution_hash leaves it out, and so does every copy of a solution (an agent's workspace
    and its snapshots), so a copy's hash is the original's."""
    rel = PurePosixPath(rel_path)
    return bool(_SKIPPED_PARTS.intersection(rel.parts)) or rel.suffix == ".pyc"


def solution_files(solution_dir: str | os.PathLike) -> list[Path]:
    """Every file of the solution, caches skipped, sorted: what solution_hash covers."""
    root = Path(solution_dir)
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and not is_cache(p.relative_to(root)))


def solution_hash(solution_dir: str | os.PathLike) -> str:
    """sha256 over the sorted relative paths and contents of every file of the solution
    (caches skipped), as 'sha256:<hex>'. Renaming, adding or editing any file changes it."""
    root = Path(solution_dir)
    digest = hashlib.sha256()
    for path in solution_files(root):
        data = path.read_bytes()
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(len(data).to_bytes(8, "little") + data)
    return f"sha256:{digest.hexdigest()}"
