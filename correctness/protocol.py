"""The run protocol between the judge (correctness.sandbox) and a sandboxed child
(correctness.child): the one place that names a run's directories and files, its modes, its
messages, and what the child is told (`RunSpec`, written as harness.json).

The child imports this module before its limits are set and before any library
(correctness/child/main.py), and inside the run's namespaces it is bound read-only beside
the child's code: it imports only the standard library.

A run's directory (the run root; the child never writes it, and in namespaces never sees it):

    output.log  the child's stdout and stderr, read by the judge through its descriptor
    in/         what the judge writes after `ready` and the child only reads (bound
                read-only): harness.json, then the inputs or the kernel cases
    work/       the child's working directory: everything it gives back
    home/, tmp/ its HOME and TMPDIR
    solution/   its private copy of the solution (an installed reference runs in place)
    cache/      its private copy of the solution's compile caches

The exchange over two pipes (never stdout): the child says READY (imports done), the judge
writes the inputs into in/ and says GO (its clock starts), the child runs the mode, writes
its results into work/ and says DONE (the clock stops). ERROR ends a run with a verdict;
REFUSED reports one refused call and the run goes on, to be rejected at the end.
"""

from __future__ import annotations

import dataclasses
import json

# ---------------------------------------------------------------------------- modes

TRAIN = "train"      # train(cfg, init, tokens, batches) -> RESULT, LOSSES
PROFILE = "profile"  # the same run under torch.profiler -> PROFILE_TABLE
KERNELS = "kernels"  # the declared KERNELS: DECLARED before ready; KERNEL_CASES in, after go,
                     # KERNEL_OUTPUTS and KERNEL_INFO out
SCRIPT = "script"    # a script of the solution's directory as __main__ (its output only)
MODES = (TRAIN, PROFILE, KERNELS, SCRIPT)
# a script run's cfg: the script's path relative to the solution, and its ARGS
SCRIPT_PATH, SCRIPT_ARGS = "script", "args"

# ---------------------------------------------------------------------------- messages

READY, DONE, ERROR, REFUSED = "ready", "done", "error", "refused"  # child -> judge
GO = b"go\n"  # judge -> child, the control pipe's one message

# ---------------------------------------------------------------------------- the run root

LOG = "output.log"
IN_DIR, WORK_DIR, HOME_DIR, TMP_DIR = "in", "work", "home", "tmp"
SOLUTION_DIR, CACHE_DIR = "solution", "cache"

# in/: written by the judge
HARNESS = "harness.json"  # the RunSpec
INPUTS = "inputs.safetensors"  # "init.<name>", "tokens", "batches"
KERNEL_CASES = "kernel_cases.safetensors"  # "case<i>.<tensor>"
KERNEL_CASE_META = "kernel_cases.json"  # one meta dict per case

# work/: written by the child
RESULT = "result.safetensors"  # the trained weights
LOSSES = "losses.json"  # one loss per step
PROFILE_TABLE = "profile.txt"
DECLARED = "declared.json"  # {slot: callable?}
KERNEL_OUTPUTS = "kernel_outputs.safetensors"  # "case<i>.<output>"
KERNEL_INFO = "kernel_info.json"  # one info dict per case


# ---------------------------------------------------------------------------- the spec

@dataclasses.dataclass(frozen=True)
class RunSpec:
    """What the child is told, and nothing more (no seed, no key): harness.json. Paths are
    absolute, as the child sees them (the same inside the namespaces and outside)."""

    mode: str  # one of MODES
    cfg: dict  # the preset as plain values (`train`'s cfg); a script's SCRIPT_PATH, SCRIPT_ARGS
    solution_dir: str
    work_dir: str
    input_dir: str
    status_fd: int  # the child's messages to the judge
    control_fd: int  # GO
    blocked: list[str]  # top-level packages the import blocker refuses
    audit: bool  # install the audit hook (False only in tests of the defences behind it)
    preimport: list[str]  # libraries imported in the untimed setup (static_scan.preimports)
    # the audit hook's roots (correctness.child.audit.AuditHook)
    read_roots: list[str]
    write_roots: list[str]
    deny_roots: list[str]
    untrusted_roots: list[str]
    memory_limit: int | None  # bytes of address space; None on CUDA
    file_size_limit: int
    profile_top: int
    confinement: dict | None  # the Landlock rules under landlock isolation, else None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")

    def to_json(self) -> bytes:
        return json.dumps(dataclasses.asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> RunSpec:
        """The spec harness.json holds; a missing or unknown key is a TypeError."""
        return cls(**json.loads(data))

    @classmethod
    def read(cls, path: str) -> RunSpec:
        with open(path, "rb") as f:
            return cls.from_json(f.read())
