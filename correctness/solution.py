"""The solution format: what a solution directory is, where the installed programs live,
which files are a solution and their hash, who entered it, and what its `train` must return.

    ENTRY, missing_entry(dir)        a solution is a directory whose solution.py defines train
    BASELINE_DIR, PROJECT_DIR        the installed baseline package, and the tree holding it
    reference_dir(preset)            the preset's reference program (`Preset.reference`)
    is_installed(dir)                a program of the installed baseline package
    is_cache, solution_files, solution_hash   the solution's files and their identity
    entrant(dir, preset, name)       a reference entry or a submission, and its name
    validate_results(state, losses, cfg)      the one validation of what train returned

Used by the judge (the sandbox runs an installed program in place and names each other
solution's compile caches by its hash), the clock and records, the CLI and an agent's
workspace (a copy's hash is the original's). Nothing here imports torch at module level:
records and the leaderboard read hashes without it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from baseline import Preset

ENTRY = "solution.py"
# Where `import baseline` finds the package, found without importing it (and torch with it).
BASELINE_DIR = Path(importlib.util.find_spec("baseline").origin).resolve().parent
PROJECT_DIR = BASELINE_DIR.parent
SHIPPED_DIR = PROJECT_DIR / "solutions"  # the reference solutions we ship
BASELINE_NAME = "baseline"  # every track's own reference program, as an entrant

_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis"}


def missing_entry(solution_dir: str | os.PathLike) -> str | None:
    """Why `solution_dir` is not a solution directory, or None when it has its entry file.
    The one message of the judge's `input` verdict and of every command's usage error."""
    if (Path(solution_dir) / ENTRY).is_file():
        return None
    return (f"{solution_dir} has no {ENTRY}; a solution is a directory whose {ENTRY} "
            "defines train(cfg, init, tokens, batches)")


# ---------------------------------------------------------------------------- directories

def reference_dir(preset: str | Preset) -> Path:
    """The directory of a preset's reference program (`baseline.Preset.reference`; `preset`
    is its name or the Preset): the solution the judge compares against, the clock times as
    the baseline, and an agent's workspace starts from. The runner runs it in place,
    read-only."""
    import baseline

    track = baseline.get_preset(preset) if isinstance(preset, str) else preset
    return BASELINE_DIR / track.reference if track.reference else BASELINE_DIR


def is_installed(solution_dir: str | os.PathLike) -> bool:
    """A program of the installed baseline package (a preset's reference program): run in
    place, read-only, never copied, with no compile cache of its own."""
    return Path(solution_dir).resolve().is_relative_to(BASELINE_DIR)


# ---------------------------------------------------------------------------- files and hash

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


# ---------------------------------------------------------------------------- entrants

def entrant(solution_dir: str | os.PathLike, preset: str, name: str | None = None) -> dict:
    """{"kind", "name"} of a record's entrant: a reference entry for the installed programs
    and the solutions we ship, else a submission. The preset's own reference program is
    named `baseline` on every track; any other defaults to its directory's name."""
    resolved = Path(solution_dir).resolve()
    ours = is_installed(resolved) or resolved.parent == SHIPPED_DIR
    default = BASELINE_NAME if resolved == reference_dir(preset) else resolved.name
    return {"kind": "reference" if ours else "submission", "name": name or default}


# ---------------------------------------------------------------------------- results

def validate_results(state: dict, losses, cfg: dict) -> tuple[str, str] | None:
    """(check, why) if the results break the solution format, else None: canonical names
    and shapes, float32, finite weights, one finite float loss per step."""
    import math

    import torch

    from baseline.model import param_shapes

    shapes = param_shapes(cfg)
    if set(state) != set(shapes):
        missing, extra = sorted(set(shapes) - set(state)), sorted(set(state) - set(shapes))
        return "results", f"parameter names differ: missing {missing[:5]}, unexpected {extra[:5]}"
    for name, shape in shapes.items():
        t = state[name]
        if tuple(t.shape) != tuple(shape) or t.dtype != torch.float32:
            return "results", (f"{name}: {t.dtype} {tuple(t.shape)}, expected float32 "
                               f"{tuple(shape)}")
    if not isinstance(losses, list) or len(losses) != cfg["steps"] or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in losses):
        return "results", f"losses must be a list of {cfg['steps']} numbers (one per step)"
    bad = [n for n, t in state.items() if not torch.isfinite(t).all()]
    if bad:
        return "finite", f"non-finite weights in {', '.join(bad[:5])}"
    if not all(math.isfinite(x) for x in losses):
        return "finite", "non-finite losses"
    return None
