"""A run's compile caches (Triton's, Inductor's, torch.utils.cpp_extension's builds), so that
an untimed warm-up saves the timed runs the compiling.

Each solution has a persistent cache of its own, named by the hash of its files, and the
reference program has none: what one run leaves in a cache (by design only an untimed
warm-up, `update`, may write it) reaches only later runs of the same code, never another
solution's or the reference's. Every other run gets a private copy of its solution's cache,
made by boundary.copy_tree: regular files and directories only, within the limits below.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..protocol import CACHE_DIR
from ..solution import solution_hash
from . import boundary

CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "speedup-bench"
CACHES = {"TRITON_CACHE_DIR": "triton", "TORCHINDUCTOR_CACHE_DIR": "inductor",
          "TORCH_EXTENSIONS_DIR": "torch_extensions"}  # env var -> subdirectory
# What a run's private copy may hold; anything beyond, and anything that is not a regular
# file or directory, is left out with a note. One run's caches measured at most 3.99 MB, 92
# files, 3 levels (torch.compile of the whole model, a cpp_extension build:
# bench/measurements/2026-12-07-compile-cache-sizes.json): 64x, 100x and 5x that leave room
# for a solution compiling many kernels, and for a CUDA machine's Triton cache, which was
# not measured.
CACHE_BUDGET = 256 << 20
CACHE_MAX_FILES = 10_000
CACHE_MAX_DEPTH = 16


def cache_dir(solution_dir: Path) -> Path:
    """The persistent compile caches of one solution."""
    return CACHE_ROOT / "solutions" / solution_hash(solution_dir).removeprefix("sha256:")[:32]


def run_caches(own: Path | None, run_root: Path,
               update: bool) -> tuple[dict[str, Path], list[str]]:
    """The run's caches (env var -> directory) from its solution's persistent cache `own`
    (None: the reference program), and notes on what was left out. `update` binds `own`
    itself; else the copies go under run_root/cache (protocol.CACHE_DIR)."""
    if own is not None and update:
        caches = {var: own / sub for var, sub in CACHES.items()}
        for path in caches.values():
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                boundary.remove_tree(path)  # a run's bind is never where a link points
            path.mkdir(parents=True, exist_ok=True)
        return caches, []
    (run_root / CACHE_DIR).mkdir()
    caches = {var: run_root / CACHE_DIR / sub for var, sub in CACHES.items()}
    budget, files, notes = CACHE_BUDGET, CACHE_MAX_FILES, []
    for var, sub in CACHES.items():
        source = own / sub if own is not None else None
        if source is None or source.is_symlink() or not source.is_dir():
            caches[var].mkdir()
            continue
        size, count, left_out = boundary.copy_tree(source, caches[var], budget, files,
                                                   CACHE_MAX_DEPTH)
        budget, files = budget - size, files - count
        notes += [f"compile cache {sub}/{note}" for note in left_out]
    return caches, notes
