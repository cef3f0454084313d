"""The sandbox's uses, each one run of `runner.SandboxRun`:

    run_solution(solution_dir, cfg, inputs) -> RunResult         train, timed by the parent
    profile_solution(solution_dir, cfg, inputs, top=20) -> str   torch.profiler's top ops
    check_solution_kernels(solution_dir, device) -> {slot: report dict}   its KERNELS
    run_script(solution_dir, script, args, device, run_timeout=...) -> RunResult  a script

No secret exists in the child: its inputs are data, and the judge draws the held-out seed
after the child is dead. While a child lives this process is non-dumpable, so the child
cannot read its memory or environment through /proc (the API key of an agent lives there).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

from baseline.ops import SLOTS

from .. import kernel_check, protocol
from .. import static_scan as scanner
from ..solution import missing_entry
from . import boundary
from .processes import parent_guard
from .results import RunResult, read_training, reject
from .runner import DEFAULT_MEMORY_LIMIT, Options, SandboxRun

PAYLOAD_LIMIT = 16 << 20  # a profile table or the kernel infos: kilobytes in practice
MAX_DECLARED = 64  # KERNELS entries; there are five slots


def run_solution(solution_dir: str | Path, cfg: dict, inputs: dict, *,
                 setup_timeout: float = 120.0, run_timeout: float = 600.0,
                 allow_library: bool = False, static_scan: bool = True, audit: bool = True,
                 memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
                 compile_cache: str = "snapshot", isolation: str | None = None) -> RunResult:
    """Train `solution_dir` on `inputs` ({"init", "tokens", "batches"}) in a fresh sandbox.

    `compile_cache`: "snapshot" (default) gives the run a private copy of the solution's
    own persistent compile caches (regular files within a budget), so nothing it writes
    reaches a later run; "update" lets it write them: only for untimed warm-up runs on
    inputs of their own seed. The reference program has none.
    `isolation`: None (the machine's best), or "process" / "namespaces" to insist.
    `static_scan=False`: the caller scanned this directory already (the training check
    scans once for all its runs), or a test of the defences behind the scan; `audit=False`
    exists for tests of the defences behind the hook."""
    opts = Options(setup_timeout, run_timeout, allow_library, static_scan, audit, memory_limit,
                   compile_cache, isolation=isolation)

    def read_results(work_fd: int, seconds: float, tail: str) -> RunResult:
        return read_training(work_fd, cfg, seconds, tail)

    return _run(Path(solution_dir), cfg, protocol.TRAIN, opts, _inputs_writer(inputs),
                read_results)


def profile_solution(solution_dir: str | Path, cfg: dict, inputs: dict, top: int = 20, *,
                     allow_library: bool = False, run_timeout: float = 600.0) -> str:
    """torch.profiler's table of the top `top` ops of one sandboxed training run; on a
    rejected run, a line saying which check rejected it and why (and the output tail)."""
    opts = Options(run_timeout=run_timeout, allow_library=allow_library, profile_top=top)
    table: list[str] = []

    def read_table(work_fd: int, seconds: float, tail: str) -> RunResult:
        try:
            text = boundary.read_file(work_fd, protocol.PROFILE_TABLE, PAYLOAD_LIMIT)
        except boundary.BoundaryError as e:
            return reject("protocol", f"said done, but its profile is unreadable: {e}",
                          output_tail=tail)
        table.append(boundary.sanitize(text.decode(errors="replace")))
        return RunResult(ok=True, seconds=seconds, output_tail=tail)

    result = _run(Path(solution_dir), cfg, protocol.PROFILE, opts, _inputs_writer(inputs),
                  read_table)
    if not result.ok:
        return (f"profile failed ({result.check}): {result.message}\n"
                f"{result.output_tail}").rstrip()
    return table[0]


def check_solution_kernels(solution_dir: str | Path, device: str, *,
                           allow_library: bool = False, run_timeout: float = 600.0,
                           static_scan: bool = True, audit: bool = True,
                           seed: int | None = None) -> dict[str, dict]:
    """Kernel-check every implementation the solution declares in `KERNELS`: its child
    says which slots it declares, the judge draws their cases, the child only calls the
    implementations on them, and the judge grades the returned tensors here.
    {slot: KernelReport.to_dict()}; {} if it declares none. A run that fails as a whole
    gives {"*": {"passed": False, "failures": [why]}}. `static_scan` and `audit` as in
    run_solution."""
    if not scanner.declares_kernels(solution_dir):
        return {}
    seed = kernel_check.new_seed() if seed is None else seed
    opts = Options(run_timeout=run_timeout, allow_library=allow_library,
                   static_scan=static_scan, audit=audit)
    reports: dict[str, kernel_check.KernelReport] = {}
    cases: list[kernel_check.Case] = []

    def write_cases(work_fd: int, in_fd: int) -> RunResult | None:
        try:
            declared = boundary.read_json(work_fd, protocol.DECLARED, PAYLOAD_LIMIT)
        except boundary.BoundaryError as e:
            return reject("protocol", f"said ready without a readable {protocol.DECLARED}: {e}")
        if not isinstance(declared, dict) or len(declared) > MAX_DECLARED:
            return reject("protocol", f"said ready without a readable {protocol.DECLARED}")
        for name, is_callable in declared.items():
            report = reports[name] = kernel_check.KernelReport(name, device, "float32", seed)
            if name not in SLOTS or is_callable is not True:
                report.failures.append(f"{name!r} is not a slot ("
                                       f"{', '.join(SLOTS)}) with a "
                                       "callable implementation")
                continue
            cases.extend(kernel_check.make_cases(name, device, seed=seed))
        _write_cases(in_fd, cases)
        return None

    def grade(work_fd: int, seconds: float, tail: str) -> RunResult:
        return _grade_outputs(work_fd, cases, reports, seconds, tail)

    result = _run(Path(solution_dir), {"device": device, "steps": 0}, protocol.KERNELS, opts,
                  write_cases, grade)
    if not result.ok:
        why = f"{result.check}: {result.message}"
        return {"*": {"slot": "*", "passed": False, "cases": [], "failures": [why],
                      "isolation": result.isolation}}
    return {slot: {**r.to_dict(), "isolation": result.isolation} for slot, r in reports.items()}


def _grade_outputs(work_fd: int, cases: list, reports: dict, seconds: float,
                   tail: str) -> RunResult:
    """Read what the child computed for every case and grade it here, in the judge."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        infos = boundary.read_json(work_fd, protocol.KERNEL_INFO, PAYLOAD_LIMIT)
        outputs = load(boundary.read_file(work_fd, protocol.KERNEL_OUTPUTS,
                                          _output_budget(cases)))
    except (boundary.BoundaryError, SafetensorError) as e:
        return reject("results", f"kernel outputs unreadable: {boundary.sanitize(str(e))}",
                      output_tail=tail)
    if not isinstance(infos, list) or len(infos) != len(cases):
        return reject("results", f"{protocol.KERNEL_INFO} is not one entry per case",
                      output_tail=tail)
    for i, (case, info) in enumerate(zip(cases, infos)):
        prefix = f"case{i}."
        mine = {k[len(prefix):]: v for k, v in outputs.items() if k.startswith(prefix)}
        report = reports[case.slot]
        info = _clean(info) if isinstance(info, dict) else {"error": "no info",
                                                             "stage": "forward"}
        report.failures += kernel_check.grade(case, mine, info)
        report.cases.append(case.record)
    return RunResult(ok=True, seconds=seconds, output_tail=tail)


def run_script(solution_dir: str | Path, script: str, args: list[str], device: str, *,
               run_timeout: float) -> RunResult:
    """Run `script` (a path relative to solution_dir) as __main__, its global ARGS = args,
    under a solution's rules: the static scan of the whole directory, the import blocker,
    the audit hook, the namespaces and the limits. ok when it ran to its end; output_tail is
    what it printed (on a failure, the traceback too)."""
    root = Path(solution_dir).resolve()
    target = (root / script).resolve()
    if root not in target.parents or not target.is_file():
        return reject("input", f"{script!r} is not a file inside the solution directory")
    cfg = {"device": device, "steps": 0,
           protocol.SCRIPT_PATH: target.relative_to(root).as_posix(),
           protocol.SCRIPT_ARGS: [str(a) for a in args]}

    def finished(work_fd: int, seconds: float, tail: str) -> RunResult:
        return RunResult(ok=True, seconds=seconds, output_tail=tail)

    return _run(root, cfg, protocol.SCRIPT, Options(run_timeout=run_timeout),
                lambda work_fd, in_fd: None, finished)


def kernel_failures(reports: dict[str, dict]) -> str | None:
    """What check_solution_kernels' reports reject, in one line (the first three failures
    of each failing slot), or None when every declared slot passed."""
    failed = {slot: r for slot, r in reports.items() if not r.get("passed")}
    if not failed:
        return None
    return "; ".join(f"{slot}: {'; '.join(r.get('failures', [])[:3])}"
                     for slot, r in failed.items())


# ---------------------------------------------------------------------------- one run

def _run(solution_dir: Path, cfg: dict, mode: str, opts: Options, before_go,
         after_done) -> RunResult:
    early = _scan_first(solution_dir, opts)
    if early is not None:
        return early
    with _temp_root() as root, parent_guard():
        return SandboxRun(root, solution_dir, cfg, mode, opts).run(before_go, after_done)


def _scan_first(solution_dir: Path, opts: Options) -> RunResult | None:
    """The input and static-scan rejections that come before any process exists."""
    missing = missing_entry(solution_dir)
    if missing:
        return reject("input", missing)
    if opts.compile_cache not in ("snapshot", "update"):
        raise ValueError(f"compile_cache must be snapshot or update, not {opts.compile_cache!r}")
    if opts.static_scan:
        findings = scanner.scan(solution_dir, allow_library=opts.allow_library)
        if findings:
            return reject("static_scan", "; ".join(str(f) for f in findings[:10]))
    return None


@contextlib.contextmanager
def _temp_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="speedup-run-"))
    try:
        yield root
    finally:
        if not boundary.remove_tree(root):
            warnings.warn(f"could not remove the run directory {root}", stacklevel=3)


def _inputs_writer(inputs: dict):
    """before_go for a training run: the inputs, as safetensors, into in/."""
    from safetensors.torch import save

    def write(work_fd: int, in_fd: int) -> None:
        flat = {f"init.{k}": v.detach().contiguous() for k, v in inputs["init"].items()}
        flat["tokens"] = inputs["tokens"].contiguous()
        flat["batches"] = inputs["batches"].contiguous()
        boundary.write_file(in_fd, protocol.INPUTS, save(flat))

    return write


def _write_cases(in_fd: int, cases: list) -> None:
    from safetensors.torch import save

    tensors = {f"case{i}.{k}": v.contiguous() for i, case in enumerate(cases)
               for k, v in case.tensors.items()}
    boundary.write_file(in_fd, protocol.KERNEL_CASES, save(tensors))
    boundary.write_file(in_fd, protocol.KERNEL_CASE_META,
                        json.dumps([case.meta for case in cases]).encode())


def _clean(info: dict) -> dict:
    """A kernel info from the child with its text sanitized (failures quote it)."""
    return {k: boundary.sanitize(v) if isinstance(v, str) else v for k, v in info.items()}


def _output_budget(cases: list) -> int:
    """Outputs are at most three copies of each case's inputs (after the forward, after
    the backward, the gradients) and its output: four times the inputs and the reference."""
    sizes = [t.numel() * t.element_size() for case in cases
             for t in (*case.tensors.values(), *case.reference.values())]
    return 4 * sum(sizes) + (1 << 20) + 4096 * len(cases)
