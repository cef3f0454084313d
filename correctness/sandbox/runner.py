"""One sandboxed run: its directories, its child process, the protocol, the verdict.

A run has a fresh temporary directory (the run root; its layout and file names are
correctness/protocol.py's) holding a fresh COPY of the solution (writes to it never reach
the next run; a reference program is instead the installed one, read-only), a work
directory, a HOME and TMPDIR, a private copy of the solution's own compile caches, and
`in/`, where the judge writes what the child reads (harness.json: the `RunSpec`; the
inputs; the kernel cases). The child may write only its work directory, HOME, TMPDIR, its
solution copy and its caches: `in/` is bound read-only, and the root with the log is not in
its namespaces at all. The judge reads and writes the run root only through boundary.py, by
descriptors it opened before the child existed.

The child (`correctness.child.main`) starts in the run's namespaces where the machine
allows them (isolation.py), with a scrubbed environment, in a new session. Protocol over
two dedicated pipes (never stdout, which goes to a log the judge reads by its descriptor):

    child: ready   (imports done; setup is bounded by setup_timeout and untimed)
    parent:        `before_go(work_fd, in_fd)` writes the run's inputs into in/, says go,
                   starts its clock (time.perf_counter, in this process)
    child: done    (results written)
    parent:        stops the clock, kills the run at once (with namespaces: its whole PID
                   namespace; else its process group and the strays it can find), then
                   `after_done` reads and validates the results

Every rejection names its check and says why.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import protocol
from .. import static_scan as scanner
from ..protocol import RunSpec
from ..solution import BASELINE_DIR, PROJECT_DIR, is_installed
from . import boundary, reaper, usage
from . import isolation as iso
from .caches import cache_dir, run_caches
from .processes import (
    ChannelError,
    LineReader,
    kill_group,
    pid_namespace,
    sweep_namespace,
    sweep_strays,
)
from .results import RunResult, death, parse_message, refusals, reject

CORRECTNESS_DIR = Path(__file__).resolve().parents[1]
# What of the judge a child runs (bound read-only in its namespaces): its own code, the
# protocol it shares with the judge, and the package's __init__ (which imports nothing).
CHILD_CODE = (CORRECTNESS_DIR / "child", CORRECTNESS_DIR / "protocol.py",
              CORRECTNESS_DIR / "__init__.py")
# Passed through from the judge's environment; nothing else (no keys, no seeds) reaches
# the child. LD_LIBRARY_PATH and CUDA_HOME: where some CUDA installs keep libcuda/ptxas.
ENV_PASSTHROUGH = ("PATH", "LANG", "CUDA_VISIBLE_DEVICES", "TRITON_INTERPRET",
                   "OMP_NUM_THREADS", "LD_LIBRARY_PATH", "CUDA_HOME")
BLOCKED_PACKAGES = tuple(sorted(scanner.PROJECT_PACKAGES))  # the scan and the import blocker agree
READ_ROOTS_SYSTEM = ("/usr", "/lib", "/lib64", "/etc", "/opt", "/sys", "/dev",
                     "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/sys",
                     "/proc/driver")
BOOT = "import sys; sys.path.append({!r}); from correctness.child.main import main; main()"

# CPU runs only (CUDA reserves huge virtual ranges): a cpu-preset baseline child peaked at
# 1.4 GiB of address space here (VmPeak; tiny: 0.8 GiB), so 16 GiB leaves room for more
# threads, torch.compile and bigger legal buffers, and still stops a runaway allocation.
DEFAULT_MEMORY_LIMIT = 16 << 30
FILE_SIZE_LIMIT = 1 << 30  # per file: results, logs, caches; stops a disk-filling loop
TAIL_BYTES = 4000
# The status pipe: refusals kept in full (the rest only counted), the longest line and the
# most bytes read, so a run cannot grow the judge's memory through it. An honest run sends
# ready, done and a few refusals of well under a kilobyte each (the child's audit hook
# sends at most 50 in full).
MAX_REFUSALS = 100
MAX_STATUS_LINE = 64 << 10
MAX_STATUS_BYTES = 16 << 20


@dataclass
class Options:
    setup_timeout: float = 120.0
    run_timeout: float = 600.0
    allow_library: bool = False
    static_scan: bool = True
    audit: bool = True
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT
    compile_cache: str = "snapshot"  # or "update": only untimed warm-ups write the caches
    profile_top: int = 20
    isolation: str | None = None  # None: the machine's best (isolation.detect_isolation)


# (work dir fd, in/ fd): reads what the child declared, writes the inputs into in/ (with
# boundary.write_file); a RunResult rejects.
BeforeGo = Callable[[int, int], "RunResult | None"]
AfterDone = Callable[[int, float, str], RunResult]  # (work dir fd, seconds, output tail)


class SandboxRun:
    def __init__(self, root: Path, solution_dir: Path, cfg: dict, mode: str, opts: Options):
        self.root, self.cfg, self.mode, self.opts = root, cfg, mode, opts
        self.isolation = iso.choose(opts.isolation)
        self.work, self.inputs = root / protocol.WORK_DIR, root / protocol.IN_DIR
        self.home, self.tmp = root / protocol.HOME_DIR, root / protocol.TMP_DIR
        self.marker = secrets.token_hex(8)
        self.copied = not is_installed(solution_dir)  # an installed reference runs in place
        if self.copied:
            self.solution = root / protocol.SOLUTION_DIR
            shutil.copytree(solution_dir, self.solution, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            self.solution = solution_dir.resolve()
        for path in (self.work, self.home, self.tmp):
            path.mkdir()
        own = cache_dir(solution_dir) if self.copied else None
        # notes: what the judge left out of the run's caches, and why
        self.caches, self.notes = run_caches(own, root, opts.compile_cache == "update")
        self.readable = self._readable()
        self.layout = self._layout()
        # Opened now, before any child exists: from here on the judge touches the run root
        # only through these descriptors (boundary.py).
        self.root_fd = boundary.open_dir(root)
        self.work_fd = boundary.open_dir(protocol.WORK_DIR, self.root_fd)
        self.in_fd = boundary.make_dir(self.root_fd, protocol.IN_DIR, 0o755)
        self.log_fd = boundary.create_file(self.root_fd, protocol.LOG, os.O_RDWR, 0o600)
        self.refused: list[dict] = []
        self.refused_count = 0
        self.error: dict | None = None
        self.namespace: str | None = None
        self.init_pid: int | None = None
        self.window: tuple[float | None, float | None] = (None, None)  # time.time() at go, done
        self.usage: usage.RunUsage | None = None  # what the machine gave the run, go to done

    # ------------------------------------------------------------------ the protocol

    def run(self, before_go: BeforeGo, after_done: AfterDone) -> RunResult:
        try:
            verdict = self._play(before_go, after_done)
        finally:
            for fd in (self.log_fd, self.in_fd, self.work_fd, self.root_fd):
                os.close(fd)
        verdict.isolation = self.isolation.kind
        verdict.started_at, verdict.ended_at = self.window
        verdict.usage = None if self.usage is None else self.usage.to_dict()
        verdict.notes = self.notes
        return verdict

    def _play(self, before_go: BeforeGo, after_done: AfterDone) -> RunResult:
        status_r, status_w = os.pipe()
        control_r, control_w = os.pipe()
        info_r, info_w = os.pipe()
        self._write_spec(status_w, control_r)
        proc = subprocess.Popen(
            self._argv(info_w), cwd=self.work, env=self._env(), stdin=subprocess.DEVNULL,
            stdout=self.log_fd, stderr=subprocess.STDOUT,
            pass_fds=(status_w, control_r, info_w), start_new_session=True)
        for fd in (status_w, control_r, info_w):
            os.close(fd)
        reader = LineReader(status_r, MAX_STATUS_LINE, MAX_STATUS_BYTES)
        try:
            phase, event, seconds, early = self._protocol(proc, reader, control_w, info_r,
                                                          before_go)
        finally:
            self._kill(proc)
            os.close(control_w)
            os.close(info_r)
        self._drain(reader)
        os.close(status_r)
        return early or self._verdict(proc, phase, event, seconds, after_done)

    def _argv(self, info_fd: int) -> list[str]:
        argv = [sys.executable, "-I", "-B", "-u", "-c", BOOT.format(str(PROJECT_DIR)),
                str(self.inputs / protocol.HARNESS)]  # -u: prints reach the log before a kill
        if self.isolation.kind != "namespaces":
            return reaper.command(argv)  # every process of the run found and killed at done
        return iso.command(self.isolation, argv, self.layout, info_fd)

    def _readable(self) -> list[str]:
        """What the child reads besides the system and its own directories: the interpreter
        and its libraries, the baseline, the child's code (and our kernels when allowed).
        The one list behind the namespaces' read-only binds, the Landlock rules and the
        audit hook's read roots."""
        roots = [sys.prefix, sys.base_prefix, sys.exec_prefix, *site_dirs(),
                 str(BASELINE_DIR), *map(str, CHILD_CODE)]
        if self.opts.allow_library:
            roots.append(str(PROJECT_DIR / "kernels"))
        return roots

    def _layout(self) -> iso.Layout:
        """What the run sees: bound by bwrap, or as Landlock rules (isolation.py)."""
        return iso.Layout(read_only=[*self.readable, str(self.inputs), *_cuda_paths()],
                          writable=self._writable(), work_dir=str(self.work),
                          cuda=self.cfg.get("device") == "cuda")

    def _writable(self) -> list[str]:
        """What the child may write: its work dir, HOME, TMPDIR, its copy of the solution
        and its caches; never the run root (the log the judge reads, in/)."""
        own = [self.work, self.home, self.tmp] + ([self.solution] if self.copied else [])
        return [*map(str, own), *map(str, self.caches.values())]

    def _protocol(self, proc, reader, control_w: int, info_r: int, before_go: BeforeGo):
        """(phase, last event, parent's go->done seconds or None, an early verdict)."""
        event = self._await(reader, time.monotonic() + self.opts.setup_timeout, protocol.READY)
        self._find_namespace(info_r)
        if event != protocol.READY:
            return "setup", self._settle(proc, event), None, None
        try:
            early = before_go(self.work_fd, self.in_fd)
        except boundary.BoundaryError as e:  # the run planted something where the judge writes
            early = reject("protocol", f"the run's input directory was tampered with: {e}")
        if early is not None:
            return "setup", event, None, early
        meter = usage.start(proc.pid)  # the run's processes and the machine's CPUs at go
        start, started_at = time.perf_counter(), time.time()
        os.write(control_w, protocol.GO)
        event = self._await(reader, time.monotonic() + self.opts.run_timeout, protocol.DONE)
        seconds = time.perf_counter() - start
        self.usage = meter.stop()  # before the kill: the run's processes still exist
        self.window = (started_at, time.time())
        return "run", self._settle(proc, event), seconds, None

    def _find_namespace(self, info_r: int) -> None:
        """The run's PID namespace, from bwrap's info ({"child-pid": the init's pid})."""
        if self.isolation.kind != "namespaces":
            return
        reader, text = LineReader(info_r, MAX_STATUS_LINE, MAX_STATUS_LINE), ""
        try:
            while (line := reader.next_line(time.monotonic() + 1.0)) not in (None, ""):
                text += line
        except ChannelError:
            pass  # bwrap's object came first: what follows it is not read
        try:  # the first object: bwrap's own, written before the child existed
            self.init_pid = int(json.JSONDecoder().raw_decode(text)[0]["child-pid"])
        except (ValueError, KeyError, TypeError):
            return
        self.namespace = pid_namespace(self.init_pid)

    def _kill(self, proc) -> None:
        """At once: work not finished at done does not exist."""
        if self.isolation.kind != "namespaces":
            reaper.finish(proc)
        kill_group(proc)
        if self.isolation.kind == "namespaces":
            sweep_namespace(self.namespace, self.init_pid)
        else:
            sweep_strays(proc.pid, self.marker)

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
            try:
                line = reader.next_line(deadline)
            except ChannelError as e:
                self.error = {"check": "protocol", "message": str(e)}
                return "garbage"
            if line is None:
                return "timeout"
            if line == "":
                return "eof"
            kind, _, payload = line.partition(" ")
            if kind == protocol.REFUSED:
                self._refusal(payload)
            elif kind == protocol.ERROR:
                self.error = parse_message(payload)
                return "error"
            elif kind == expected and not payload:
                return expected
            else:
                self.error = {"check": "protocol", "message": f"unexpected message {line[:80]!r}"}
                return "garbage"

    def _refusal(self, payload: str) -> None:
        """Count every refusal; keep the first MAX_REFUSALS (a flood of forged ones must not
        grow the judge)."""
        self.refused_count += 1
        if len(self.refused) < MAX_REFUSALS:
            self.refused.append(parse_message(payload))

    def _drain(self, reader) -> None:
        """Refusals still in the pipe once the run is dead (EOF comes at once then)."""
        with contextlib.suppress(ChannelError):
            while (line := reader.next_line(time.monotonic() + 1.0)) not in (None, ""):
                kind, _, payload = line.partition(" ")
                if kind == protocol.REFUSED:
                    self._refusal(payload)

    def _verdict(self, proc, phase: str, event: str, seconds: float | None,
                 after_done: AfterDone) -> RunResult:
        tail = boundary.tail(self.log_fd, TAIL_BYTES)
        if self.refused:
            return reject("forbidden_call", refusals(self.refused, self.refused_count),
                          output_tail=tail, refused=self.refused)
        if event == protocol.DONE:
            try:
                return after_done(self.work_fd, seconds, tail)
            except boundary.BoundaryError as e:
                return reject("results", str(e), seconds=seconds, output_tail=tail)
        if event == "timeout":
            limit = self.opts.setup_timeout if phase == "setup" else self.opts.run_timeout
            said = protocol.READY if phase == "setup" else protocol.DONE
            return reject(f"{phase}_timeout", f"no {said} within {limit:g} s", output_tail=tail)
        if event in ("error", "garbage"):
            return reject(str(self.error.get("check", "crash")),
                          str(self.error.get("message", "")), output_tail=tail)
        if event == "closed":
            return reject("protocol", "the child closed its status channel and lived on",
                          output_tail=tail)
        code = proc.returncode
        if self.isolation.kind == "namespaces" and code > 128:
            code = 128 - code  # bwrap exits with 128 + the signal that killed the child
        return reject(*death(code, tail), output_tail=tail)

    # ------------------------------------------------------------------ child setup

    def _env(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in ENV_PASSTHROUGH if k in os.environ}
        env.setdefault("PATH", "/usr/bin:/bin")
        env.update({
            "HOME": str(self.home), "TMPDIR": str(self.tmp),
            "USER": "sandbox", "LOGNAME": "sandbox",  # getpass without a passwd entry
            "TORCHINDUCTOR_COMPILE_THREADS": "1",  # no compile worker pool outliving done
        })
        if self.isolation.kind != "namespaces":
            env["SPEEDUP_SANDBOX_RUN"] = self.marker  # finds escaped descendants in /proc
        env.update({var: str(path) for var, path in self.caches.items()})
        return env

    def _write_spec(self, status_w: int, control_r: int) -> None:
        blocked = list(BLOCKED_PACKAGES) + ([] if self.opts.allow_library else ["kernels"])
        cuda = self.cfg.get("device") == "cuda"
        spec = RunSpec(
            mode=self.mode, cfg=self.cfg, solution_dir=str(self.solution),
            work_dir=str(self.work), input_dir=str(self.inputs),
            status_fd=status_w, control_fd=control_r, blocked=blocked,
            audit=self.opts.audit, preimport=scanner.preimports(self.solution),
            read_roots=[*self.readable, str(self.root), *READ_ROOTS_SYSTEM],
            write_roots=[*self._writable(), "/dev/null"],
            deny_roots=[str(PROJECT_DIR / d) for d in (*BLOCKED_PACKAGES, "results")],
            untrusted_roots=[str(self.root), str(self.solution), str(BASELINE_DIR),
                             str(PROJECT_DIR / "kernels")],
            memory_limit=None if cuda else self.opts.memory_limit,
            file_size_limit=FILE_SIZE_LIMIT, profile_top=self.opts.profile_top,
            confinement=iso.landlock_rules(self.layout)
            if self.isolation.kind == "landlock" else None)
        boundary.write_file(self.in_fd, protocol.HARNESS, spec.to_json())


def site_dirs() -> list[str]:
    import site
    import sysconfig

    dirs = set(site.getsitepackages()) | {sysconfig.get_path(k) for k in ("purelib", "platlib")}
    return sorted(d for d in dirs if d)


def _cuda_paths() -> list[str]:
    """Where a CUDA install may keep libcuda and ptxas outside /usr (read-only in the run)."""
    paths = [os.environ.get("CUDA_HOME", "")]
    paths += os.environ.get("LD_LIBRARY_PATH", "").split(":")
    return [p for p in paths if p and os.path.isabs(p)]
