"""The sandboxed runner: the only way a solution's code ever runs.

    run_solution(solution_dir, cfg, inputs) -> RunResult         train, timed by the parent
    profile_solution(solution_dir, cfg, inputs, top=20) -> str   torch.profiler's top ops
    check_solution_kernels(solution_dir, device) -> {slot: report dict}   its KERNELS

One run: the static scan; a fresh temporary directory holding a fresh COPY of the solution
(writes to it never reach the next run), a work directory, a HOME and TMPDIR, and a private
copy of the compile caches; a fresh child process (`_child.py`) in a new session with a
scrubbed environment. Protocol over two dedicated pipes (never stdout, which goes to a log):

    child: ready   (imports done; setup is bounded by setup_timeout and untimed)
    parent:        writes init/tokens/batches (safetensors) to the work dir, says go,
                   starts its clock (time.perf_counter, in this process)
    child: done    (results written: safetensors weights, JSON losses; never pickle)
    parent:        stops the clock, kills the process group at once, sweeps escaped
                   descendants, then reads and validates the results

Every rejection names its check (RunResult.check) and says why. No secret exists in the
child: its inputs are data, and the judge draws the held-out seed after the child is dead.
While a child lives this process is non-dumpable, so the child cannot read its memory or
environment through /proc (the API key of an agent lives there).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

import baseline
from baseline.model import param_shapes
from baseline.ops import SLOTS

from . import static_scan as scanner

BASELINE_DIR = Path(baseline.__file__).resolve().parent
PROJECT_DIR = BASELINE_DIR.parent
CHILD_SCRIPT = Path(__file__).resolve().parent / "_child.py"
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "speedup-bench"
# Compile caches (env var -> subdirectory): Triton kernels, torch.compile's code, and
# torch.utils.cpp_extension builds, so a warm-up run saves the timed runs the compiling.
CACHES = {"TRITON_CACHE_DIR": "triton", "TORCHINDUCTOR_CACHE_DIR": "inductor",
          "TORCH_EXTENSIONS_DIR": "torch_extensions"}

# Passed through from the judge's environment; nothing else (no keys, no seeds) reaches
# the child. LD_LIBRARY_PATH and CUDA_HOME: where some CUDA installs keep libcuda/ptxas.
ENV_PASSTHROUGH = ("PATH", "LANG", "CUDA_VISIBLE_DEVICES", "TRITON_INTERPRET",
                   "OMP_NUM_THREADS", "LD_LIBRARY_PATH", "CUDA_HOME")
BLOCKED_PACKAGES = tuple(sorted(scanner.PROJECT_PACKAGES))  # the scan and the import blocker agree
READ_ROOTS_SYSTEM = ("/usr", "/lib", "/lib64", "/etc", "/opt", "/sys", "/dev",
                     "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/sys",
                     "/proc/driver")

# CPU runs only (CUDA reserves huge virtual ranges): a cpu-preset baseline child peaked at
# 1.4 GiB of address space here (VmPeak; tiny: 0.8 GiB), so 16 GiB leaves room for more
# threads, torch.compile and bigger legal buffers, and still stops a runaway allocation.
DEFAULT_MEMORY_LIMIT = 16 << 30
FILE_SIZE_LIMIT = 1 << 30  # per file: results, logs, caches; stops a disk-filling loop
TAIL_BYTES = 4000
PAYLOAD_LIMIT = 16 << 20  # a profile table or the kernel reports: kilobytes in practice


@dataclass
class RunResult:
    ok: bool
    check: str | None = None
    message: str = ""
    seconds: float | None = None
    state_dict: dict[str, torch.Tensor] | None = None
    losses: list[float] | None = None
    output_tail: str = ""
    refused: list[dict] = field(default_factory=list)

    def __repr__(self) -> str:
        status = "ok" if self.ok else f"rejected by {self.check}: {self.message}"
        seconds = "" if self.seconds is None else f", {self.seconds:.3f} s"
        return f"RunResult({status}{seconds})"


def reject(check: str, message: str, **kw) -> RunResult:
    return RunResult(ok=False, check=check, message=message, **kw)


# ---------------------------------------------------------------------------- public API

def run_solution(solution_dir: str | Path, cfg: dict, inputs: dict, *,
                 setup_timeout: float = 120.0, run_timeout: float = 600.0,
                 allow_library: bool = False, static_scan: bool = True, audit: bool = True,
                 memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
                 compile_cache: str = "snapshot") -> RunResult:
    """Train `solution_dir` on `inputs` ({"init", "tokens", "batches"}) in a fresh sandbox.

    `compile_cache`: "snapshot" (default) gives the run a private copy of the persistent
    Triton/Inductor caches, so nothing it writes reaches a later run; "update" lets it write
    the persistent caches: only for untimed warm-up runs on inputs of their own seed.
    `static_scan=False` and `audit=False` exist for tests of the defences behind them."""
    return _session(solution_dir, cfg, "train", inputs, _Options(
        setup_timeout, run_timeout, allow_library, static_scan, audit, memory_limit,
        compile_cache))[0]


def profile_solution(solution_dir: str | Path, cfg: dict, inputs: dict, top: int = 20, *,
                     allow_library: bool = False, run_timeout: float = 600.0) -> str:
    """torch.profiler's table of the top `top` ops of one sandboxed training run; on a
    rejected run, a line saying which check rejected it and why (and the output tail)."""
    options = _Options(run_timeout=run_timeout, allow_library=allow_library, profile_top=top)
    result, table = _session(solution_dir, cfg, "profile", inputs, options)
    if not result.ok:
        return (f"profile failed ({result.check}): {result.message}\n"
                f"{result.output_tail}").rstrip()
    return table


def check_solution_kernels(solution_dir: str | Path, device: str, *,
                           allow_library: bool = False, run_timeout: float = 600.0,
                           static_scan: bool = True) -> dict[str, dict]:
    """Kernel-check every implementation the solution declares in `KERNELS` (sandboxed):
    {slot: KernelReport.to_dict()}; {} if it declares none. A run that fails as a whole
    gives {"*": {"passed": False, "failures": [why]}}."""
    if not scanner.declares_kernels(solution_dir):
        return {}
    cfg = {"device": device, "steps": 0}
    options = _Options(run_timeout=run_timeout, allow_library=allow_library,
                       static_scan=static_scan)
    result, reports = _session(solution_dir, cfg, "kernels", None, options)
    try:
        parsed = json.loads(reports) if result.ok else None
    except ValueError as e:
        result = reject("results", f"unreadable kernel reports: {e}")
    if not result.ok or not isinstance(parsed, dict):
        why = f"{result.check}: {result.message}" if not result.ok else "reports are not a dict"
        return {"*": {"slot": "*", "passed": False, "cases": [], "failures": [why]}}
    return parsed


def kernel_failures(reports: dict[str, dict]) -> str | None:
    """What check_solution_kernels' reports reject, in one line (the first three failures
    of each failing slot), or None when every declared slot passed."""
    failed = {slot: r for slot, r in reports.items() if not r.get("passed")}
    if not failed:
        return None
    return "; ".join(f"{slot}: {'; '.join(r.get('failures', [])[:3])}"
                     for slot, r in failed.items())


# ---------------------------------------------------------------------------- one session

@dataclass
class _Options:
    setup_timeout: float = 120.0
    run_timeout: float = 600.0
    allow_library: bool = False
    static_scan: bool = True
    audit: bool = True
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT
    compile_cache: str = "snapshot"
    profile_top: int = 20


def _session(solution_dir: str | Path, cfg: dict, mode: str, inputs: dict | None,
             opts: _Options) -> tuple[RunResult, str | None]:
    """(the run's verdict, the profile table or kernel reports JSON when the mode has one)."""
    solution_dir = Path(solution_dir)
    if not (solution_dir / "solution.py").is_file():
        return reject("input", f"{solution_dir} has no solution.py"), None
    if opts.compile_cache not in ("snapshot", "update"):
        raise ValueError(f"compile_cache must be snapshot or update, not {opts.compile_cache!r}")
    if opts.static_scan:
        findings = scanner.scan(solution_dir, allow_library=opts.allow_library)
        if findings:
            return reject("static_scan", "; ".join(str(f) for f in findings[:10])), None
    with _temp_root() as root, _parent_guard():
        sandbox = _Sandbox(root, solution_dir, cfg, mode, opts)
        return sandbox.run(inputs), sandbox.payload


@contextlib.contextmanager
def _temp_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="speedup-run-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, onerror=_force_remove)


def _force_remove(func, path, exc_info) -> None:
    """rmtree's error handler: a solution may have made files or dirs read-only."""
    with contextlib.suppress(OSError):
        os.chmod(os.path.dirname(path), 0o700)
        os.chmod(path, 0o700)
        func(path)


class _Sandbox:
    def __init__(self, root: Path, solution_dir: Path, cfg: dict, mode: str, opts: _Options):
        self.root, self.cfg, self.mode, self.opts = root, cfg, mode, opts
        self.solution = root / "solution"
        self.work = root / "work"
        self.log_path = root / "output.log"
        self.marker = secrets.token_hex(8)
        shutil.copytree(solution_dir, self.solution, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for sub in ("work", "home", "tmp"):
            (root / sub).mkdir()
        self.caches = self._caches()
        self.refused: list[dict] = []
        self.error: dict | None = None
        self.payload: str | None = None  # profile table or kernel reports

    def _caches(self) -> dict[str, Path]:
        if self.opts.compile_cache == "update":
            caches = {var: CACHE_ROOT / sub for var, sub in CACHES.items()}
        else:
            caches = {var: self.root / "cache" / sub for var, sub in CACHES.items()}
            for var, sub in CACHES.items():
                if (CACHE_ROOT / sub).is_dir():
                    shutil.copytree(CACHE_ROOT / sub, caches[var], symlinks=True)
        for path in caches.values():
            path.mkdir(parents=True, exist_ok=True)
        return caches

    # ------------------------------------------------------------------ the protocol

    def run(self, inputs: dict | None) -> RunResult:
        status_r, status_w = os.pipe()
        control_r, control_w = os.pipe()
        self._write_config(status_w, control_r)
        with open(self.log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-B", "-u", str(CHILD_SCRIPT),
                 str(self.root / "harness.json")],  # -u: prints reach the log before a kill
                cwd=self.work, env=self._env(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, pass_fds=(status_w, control_r),
                start_new_session=True)
        os.close(status_w)
        os.close(control_r)
        reader = _LineReader(status_r)
        try:
            phase, event, seconds = self._protocol(proc, reader, control_w, inputs)
        finally:
            _kill_group(proc)  # at once: work not finished at done does not exist
            _sweep_strays(proc.pid, self.marker)
            os.close(control_w)
        self._drain(reader)
        os.close(status_r)
        return self._verdict(proc, phase, event, seconds)

    def _protocol(self, proc, reader, control_w: int,
                  inputs) -> tuple[str, str, float | None]:
        """(phase, last event, parent's go->done seconds or None)."""
        event = self._await(reader, time.monotonic() + self.opts.setup_timeout, "ready")
        if event != "ready":
            return "setup", self._settle(proc, event), None
        if inputs is not None:
            _write_inputs(self.work / "inputs.safetensors", inputs)
        start = time.perf_counter()
        os.write(control_w, b"go\n")
        event = self._await(reader, time.monotonic() + self.opts.run_timeout, "done")
        seconds = time.perf_counter() - start
        return "run", self._settle(proc, event), seconds

    @staticmethod
    def _settle(proc, event: str) -> str:
        """At EOF the child is normally exiting; if it lives on, it closed the channel."""
        if event == "eof":
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                return "closed"
        return event

    def _await(self, reader, deadline: float, expected: str) -> str:
        """The next protocol event: `expected`, "error", "eof", "timeout" or "garbage"."""
        while True:
            line = reader.next_line(deadline)
            if line is None:
                return "timeout"
            if line == "":
                return "eof"
            kind, _, payload = line.partition(" ")
            if kind == "refused":
                self.refused.append(_parse(payload))
            elif kind == "error":
                self.error = _parse(payload)
                return "error"
            elif kind == expected and not payload:
                return expected
            else:
                self.error = {"check": "protocol", "message": f"unexpected message {line[:80]!r}"}
                return "garbage"

    def _drain(self, reader) -> None:
        """Refusals still in the pipe once the group is dead (EOF comes at once then)."""
        while (line := reader.next_line(time.monotonic() + 1.0)) not in (None, ""):
            kind, _, payload = line.partition(" ")
            if kind == "refused":
                self.refused.append(_parse(payload))

    def _verdict(self, proc, phase: str, event: str, seconds: float | None) -> RunResult:
        tail = self._tail()
        if self.refused:
            return reject("forbidden_call", _refusals(self.refused), output_tail=tail,
                          refused=self.refused)
        if event == "done":
            return self._results(seconds, tail)
        if event == "timeout":
            limit = self.opts.setup_timeout if phase == "setup" else self.opts.run_timeout
            said = "ready" if phase == "setup" else "done"
            return reject(f"{phase}_timeout", f"no {said} within {limit:g} s", output_tail=tail)
        if event in ("error", "garbage"):
            return reject(str(self.error.get("check", "crash")),
                          str(self.error.get("message", "")), output_tail=tail)
        if event == "closed":
            return reject("protocol", "the child closed its status channel and lived on",
                          output_tail=tail)
        return reject(*_death(proc.returncode, tail), output_tail=tail)

    # ------------------------------------------------------------------ results

    def _results(self, seconds: float, tail: str) -> RunResult:
        if self.mode == "train":
            return _read_training(self.work, self.cfg, seconds, tail)
        name = "profile.txt" if self.mode == "profile" else "kernels.json"
        path = self.work / name
        if not path.is_file():
            return reject("protocol", f"said done, but no {name} was written", output_tail=tail)
        if path.stat().st_size > PAYLOAD_LIMIT:
            return reject("results", f"{name} is larger than {PAYLOAD_LIMIT} bytes",
                          output_tail=tail)
        self.payload = path.read_text(errors="replace")
        return RunResult(ok=True, seconds=seconds, output_tail=tail)

    def _tail(self) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - TAIL_BYTES))
            return f.read().decode(errors="replace")

    # ------------------------------------------------------------------ child setup

    def _env(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in ENV_PASSTHROUGH if k in os.environ}
        env.setdefault("PATH", "/usr/bin:/bin")
        env.update({
            "HOME": str(self.root / "home"), "TMPDIR": str(self.root / "tmp"),
            "TORCHINDUCTOR_COMPILE_THREADS": "1",  # no compile worker pool outliving done
            "SPEEDUP_SANDBOX_RUN": self.marker,  # finds escaped descendants in /proc
        })
        env.update({var: str(path) for var, path in self.caches.items()})
        return env

    def _write_config(self, status_w: int, control_r: int) -> None:
        blocked = list(BLOCKED_PACKAGES) + ([] if self.opts.allow_library else ["kernels"])
        read_roots = [sys.prefix, sys.base_prefix, sys.exec_prefix, str(BASELINE_DIR),
                      *READ_ROOTS_SYSTEM, *_site_dirs()]
        if self.opts.allow_library:
            read_roots.append(str(PROJECT_DIR / "kernels"))
        cuda = self.cfg.get("device") == "cuda"
        config = {
            "mode": self.mode, "cfg": self.cfg, "solution_dir": str(self.solution),
            "project_dir": str(PROJECT_DIR),
            "work_dir": str(self.work), "status_fd": status_w, "control_fd": control_r,
            "shapes": param_shapes(self.cfg) if self.mode == "train" else {},
            "slots": list(SLOTS), "blocked": blocked, "audit": self.opts.audit,
            "preimport": scanner.preimports(self.solution),
            "read_roots": read_roots,
            "write_roots": [str(self.root), "/dev/null",
                            *(str(p) for p in self.caches.values())],
            "deny_roots": [str(PROJECT_DIR / d) for d in (*BLOCKED_PACKAGES, "results")],
            "memory_limit": None if cuda else self.opts.memory_limit,
            "file_size_limit": FILE_SIZE_LIMIT, "profile_top": self.opts.profile_top,
        }
        (self.root / "harness.json").write_text(json.dumps(config))


def _site_dirs() -> list[str]:
    import site
    import sysconfig

    dirs = set(site.getsitepackages()) | {sysconfig.get_path(k) for k in ("purelib", "platlib")}
    return sorted(d for d in dirs if d)


def _write_inputs(path: Path, inputs: dict) -> None:
    from safetensors.torch import save_file

    flat = {f"init.{k}": v.detach().contiguous() for k, v in inputs["init"].items()}
    flat["tokens"] = inputs["tokens"].contiguous()
    flat["batches"] = inputs["batches"].contiguous()
    save_file(flat, str(path))


def _parse(payload: str) -> dict:
    try:
        value = json.loads(payload)
    except ValueError:
        return {"message": payload[:200]}
    return value if isinstance(value, dict) else {"message": str(value)[:200]}


def _refusals(refused: list[dict]) -> str:
    shown = "; ".join(f"{r.get('event')} {r.get('detail', '')} ({r.get('why', '')})"
                      for r in refused[:5])
    more = f" (+{len(refused) - 5} more)" if len(refused) > 5 else ""
    return f"refused {len(refused)} call(s): {shown}{more}"


def _death(code: int, tail: str) -> tuple[str, str]:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        if -code == signal.SIGKILL and "memory" in tail.lower():
            return "oom", f"killed by {name} (out of memory)"
        return "crash", f"the child died of {name} before done"
    return "crash", f"the child exited with status {code} before done"


# ---------------------------------------------------------------------------- results

def _read_training(work: Path, cfg: dict, seconds: float, tail: str) -> RunResult:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights, losses_path = work / "result.safetensors", work / "losses.json"
    if not weights.is_file() or not losses_path.is_file():
        return reject("protocol", "said done before its results existed", seconds=seconds,
                      output_tail=tail)
    shapes = param_shapes(cfg)
    budget = 4 * sum(math.prod(s) for s in shapes.values()) + (1 << 20)  # + header
    if weights.stat().st_size > budget or losses_path.stat().st_size > 64 * cfg["steps"] + 1024:
        return reject("results", "result files are larger than the model could need",
                      seconds=seconds, output_tail=tail)
    try:
        state = load_file(str(weights))
        losses = json.loads(losses_path.read_text())
    except (SafetensorError, ValueError, OSError) as e:
        return reject("results", f"unreadable results: {e}", seconds=seconds, output_tail=tail)
    problem = validate_results(state, losses, cfg)
    if problem:
        return reject(*problem, seconds=seconds, output_tail=tail)
    return RunResult(ok=True, seconds=seconds, state_dict=state,
                     losses=[float(x) for x in losses], output_tail=tail)


def validate_results(state: dict, losses, cfg: dict) -> tuple[str, str] | None:
    """(check, why) if the results break the solution format, else None: canonical names
    and shapes, float32, finite weights, one finite float loss per step."""
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


# ---------------------------------------------------------------------------- processes

class _LineReader:
    """Lines from a pipe with a deadline; "" at EOF, None on timeout."""

    def __init__(self, fd: int):
        self.fd, self.buffer, self.eof = fd, b"", False

    def next_line(self, deadline: float) -> str | None:
        while b"\n" not in self.buffer:
            if self.eof:
                return ""
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
                if not self.buffer:
                    return ""
                self.buffer += b"\n"
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode(errors="replace").strip()


def _kill_group(proc: subprocess.Popen) -> None:
    """The child's whole process group at once, and the child itself should it have left
    the group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)


def _sweep_strays(child_pid: int, marker: str, rounds: int = 20) -> list[int]:
    """Kill every process the child left behind, even ones that left its process group or
    session: same session, or our marker in their environment (reparented orphans land on
    this process, a subreaper while the run lives, or on init). Returns the pids killed."""
    killed = []
    for _ in range(rounds):
        strays = [pid for pid in _proc_pids() if _is_stray(pid, child_pid, marker)]
        if not strays:
            break
        for pid in strays:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.02)
        _reap(strays)
    return sorted(set(killed))


def _proc_pids() -> list[int]:
    if not os.path.isdir("/proc"):
        return []
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, ppid, pgrp, session) from /proc/PID/stat."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[3])


def _is_stray(pid: int, child_pid: int, marker: str) -> bool:
    stat = _stat(pid)
    if stat is None or (stat[0] == "Z" and stat[1] != os.getpid()):
        return False  # gone, or a zombie whose parent will reap it
    if stat[2] == child_pid or stat[3] == child_pid:
        return True
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"SPEEDUP_SANDBOX_RUN={marker}".encode() in environ.split(b"\0")


def _reap(pids: list[int]) -> None:
    """Reap the strays that became our children (we are their subreaper while a run lives);
    no other child of this process is touched."""
    for pid in pids:
        stat = _stat(pid)
        if stat and stat[1] == os.getpid():
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


@contextlib.contextmanager
def _parent_guard() -> Iterator[None]:
    """While a child lives (Linux): non-dumpable, so no process of our user can read our
    memory or environment via /proc; a subreaper, so descendants that escape the child's
    process group are reparented to us and can be swept."""
    libc = _libc()
    if libc is None:
        yield
        return
    pr_get_dumpable, pr_set_dumpable, pr_set_child_subreaper = 3, 4, 36
    was_dumpable = libc.prctl(pr_get_dumpable, 0, 0, 0, 0)
    libc.prctl(pr_set_dumpable, 0, 0, 0, 0)
    libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(pr_set_child_subreaper, 0, 0, 0, 0)
        if was_dumpable > 0:
            libc.prctl(pr_set_dumpable, was_dumpable, 0, 0, 0)


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
