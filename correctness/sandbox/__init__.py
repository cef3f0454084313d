"""The sandboxed runner: the only way a solution's code ever runs.

    api         run_solution, profile_solution, check_solution_kernels, run_script (its uses)
    runner      one run: directories, the child process, the ready/go/done protocol
    isolation   Linux namespaces through bubblewrap, or process isolation where refused
    processes   the status pipe, killing a run's processes, the parent's own guard
    results     RunResult, and reading a run's results
    boundary    every file the judge reads or writes in a run's directory, its removal,
                the run's text the judge shows
    caches      each solution's own compile caches, and a run's private copy of them

The child side (what runs inside) is `correctness.child`; what both sides say to each other
is `correctness.protocol`. The solution format (directories, which program is a preset's
reference, result validation) is `correctness.solution`: BASELINE_DIR, PROJECT_DIR and
reference_dir are re-exported from it here.
"""

from ..solution import BASELINE_DIR, PROJECT_DIR, reference_dir
from .api import (
    check_solution_kernels,
    kernel_failures,
    profile_solution,
    run_script,
    run_solution,
)
from .caches import CACHE_ROOT, CACHES
from .isolation import Isolation, detect_isolation
from .results import RunResult
from .runner import ENV_PASSTHROUGH

__all__ = [
    "BASELINE_DIR", "CACHES", "CACHE_ROOT", "ENV_PASSTHROUGH", "PROJECT_DIR", "Isolation",
    "RunResult", "check_solution_kernels", "detect_isolation", "kernel_failures",
    "profile_solution", "reference_dir", "run_script", "run_solution",
]
