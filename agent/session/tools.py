"""The tools a policy may call, their JSON schemas (what the model reads), and their
execution. Every result is text the model can act on; a refused or failed call comes back
as an error result (`is_error`), never as an exception that ends the run."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.session.budget import Budgets, Spend
from agent.session.harness import BenchOutcome, CheckOutcome, Harness, Progress, ScriptOutcome
from agent.session.workspace import ToolError, Workspace

MAX_RESULT_CHARS = 100_000  # one tool result; longer reads are cut and say so
RUN_PYTHON_TIMEOUT_S = 300.0  # one run_python script's run, its imports not counted
BUDGETS_LINE = "[budgets left: "  # how every result's last line starts
# The judge's checks that refuse what a solution or script tried, rather than judge what it
# computed: the static scan's findings (forbidden imports, calls, paths) and the calls the
# sandbox refused at run time (correctness/sandbox/runner.py's forbidden_call: reads and
# writes outside the sandbox, sockets, processes, blocked imports), and a run that ended in
# the operating system's refusal (sandbox_denied: correctness/child/main.py, classify). Each
# such verdict of run_check, run_bench, run_python or profile is a refused attempt
# (ToolResult.refused).
REFUSING_CHECKS = ("static_scan", "forbidden_call", "sandbox_denied")
# How profile's text says the judge rejected the run (correctness/sandbox/api.py,
# profile_solution): "profile failed (<check>): <why>"
_PROFILE_FAILED = re.compile(r"profile failed \((\w+)\): (.*)")

_NO_INPUT = {"type": "object", "properties": {}, "additionalProperties": False}
_PATH = {"type": "string", "description": "path relative to the workspace, e.g. 'ops.py'"}

TOOL_SPECS: list[dict] = [
    {"name": "list_files",
     "description": "List the files in your workspace (the solution directory) with sizes.",
     "input_schema": _NO_INPUT},
    {"name": "read_file",
     "description": "Read a text file of the workspace. Optional 1-based inclusive line range.",
     "input_schema": {"type": "object", "properties": {
         "path": _PATH,
         "start_line": {"type": "integer", "minimum": 1},
         "end_line": {"type": "integer", "minimum": 1}},
         "required": ["path"], "additionalProperties": False}},
    {"name": "write_file",
     "description": "Create or replace a file of the workspace with `content` (at most "
                    "1,000,000 bytes). Parent directories are created.",
     "input_schema": {"type": "object", "properties": {
         "path": _PATH, "content": {"type": "string"}},
         "required": ["path", "content"], "additionalProperties": False}},
    {"name": "edit_file",
     "description": "Replace `old_string` with `new_string` in a file. `old_string` must "
                    "occur exactly once (whitespace included).",
     "input_schema": {"type": "object", "properties": {
         "path": _PATH, "old_string": {"type": "string"}, "new_string": {"type": "string"}},
         "required": ["path", "old_string", "new_string"], "additionalProperties": False}},
    {"name": "run_check",
     "description": "Run the judge, quick (the small `tiny` preset), on the workspace: "
                    "static scan, then a training run against the baseline on the same seed; "
                    "prints each check with its measured value and threshold. Spends device "
                    "seconds.",
     "input_schema": _NO_INPUT},
    {"name": "run_bench",
     "description": "Time the workspace against the baseline (paired rounds, fresh "
                    "processes, judged): prints the speedup. Spends device seconds.",
     "input_schema": _NO_INPUT},
    {"name": "run_python",
     "description": "Run a Python script of your workspace in the sandbox solutions run in "
                    "(the same static scan of the whole workspace, import rules, no network, "
                    "files only in its own copy of the workspace) for at most "
                    f"{RUN_PYTHON_TIMEOUT_S:.0f} s: a microbenchmark, a numerical check, an "
                    "experiment. Import workspace modules as `submission.<module>` (e.g. "
                    "`from submission import ops`). `args` is the script's global `ARGS` (a "
                    "list of strings). Returns the end of what it printed. Spends device "
                    "seconds.",
     "input_schema": {"type": "object", "properties": {
         "path": _PATH, "args": {"type": "array", "items": {"type": "string"}}},
         "required": ["path"], "additionalProperties": False}},
    {"name": "profile",
     "description": "Profile one training run of the workspace: the top operators by time "
                    "(torch profiler). Spends device seconds.",
     "input_schema": _NO_INPUT},
    {"name": "submit",
     "description": "Submit the workspace as it is now as your final solution. Ends the "
                    "session; the official evaluation (fresh secret seeds) scores it.",
     "input_schema": {"type": "object", "properties": {
         "note": {"type": "string", "description": "optional: what you changed"}},
         "additionalProperties": False}},
]
TOOL_NAMES = [t["name"] for t in TOOL_SPECS]
FILE_TOOLS = ("write_file", "edit_file")  # the calls that change the workspace


@dataclass
class ToolResult:
    content: str
    is_error: bool = False
    device_s: float = 0.0
    facts: dict = field(default_factory=dict)  # for the loop: passed, ratio, hash, submitted
    refused: dict | None = None  # a refused attempt: {"check", "detail"} (REFUSING_CHECKS)


def refused_attempt(check: str | None, detail: str) -> dict | None:
    """The refused attempt a verdict rejected by `check` is, or None."""
    return {"check": check, "detail": detail} if check in REFUSING_CHECKS else None


class _Steps:
    """A tool call's progress for on_progress (harness.Progress), each text led by the
    tool's name: what runs (done 0), the harness's steps as they end, then the call's end,
    one step more than the harness's, so done reaches total only where the call ends."""

    def __init__(self, tool: str, on_progress: Progress | None):
        self.tool, self.on_progress, self.total = tool, on_progress, 1

    def __call__(self, done: int, total: int, text: str) -> None:  # the harness's steps
        self.total = total + 1
        self.tell(done, text)

    def tell(self, done: int, text: str) -> None:
        if self.on_progress is not None:
            self.on_progress(done, self.total, f"{self.tool}: {text}")


class Toolbox:
    """Executes tool calls on one workspace; device seconds are added to `spend`. Every
    call that runs the workspace in the sandbox (run_check, run_bench, run_python, profile)
    tells `on_progress` its phases (_Steps); None: nothing is told (the Inspect task and
    sweeps show no tool's progress)."""

    def __init__(self, workspace: Workspace, harness: Harness, *, preset: str, device: str,
                 bench_rounds: int, budgets: Budgets, spend: Spend,
                 clock: Callable[[], float] = time.monotonic,
                 on_progress: Progress | None = None):
        self.ws, self.harness = workspace, harness
        self.preset, self.device, self.bench_rounds = preset, device, bench_rounds
        self.budgets, self.spend, self.clock = budgets, spend, clock
        self.on_progress = on_progress

    def call(self, name: str, args: dict) -> ToolResult:
        """The call's result, its text ending with the budgets left."""
        result = self._call(name, args)
        result.content = f"{result.content}\n{self.budgets_left()}"
        return result

    @staticmethod
    def without_budgets(content: str) -> str:
        """A result's text without the budgets line `call` ends it with."""
        head, sep, _ = content.rpartition("\n" + BUDGETS_LINE)
        return head if sep else content

    def _call(self, name: str, args: dict) -> ToolResult:
        handler = getattr(self, f"_{name}", None) if name in TOOL_NAMES else None
        if handler is None:
            return ToolResult(f"unknown tool {name!r}; the tools are {', '.join(TOOL_NAMES)}",
                              is_error=True)
        problem = _bad_arguments(name, args)
        if problem:
            return ToolResult(f"bad arguments for {name}: {problem}", is_error=True)
        try:
            return handler(**args)
        except ToolError as e:
            return ToolResult(str(e), is_error=True)
        except OSError as e:  # e.g. a path through a file, a read of a directory
            return ToolResult(f"{name} failed: {e.strerror or e}", is_error=True)

    def budgets_left(self) -> str:
        b, s = self.budgets, self.spend
        return (f"{BUDGETS_LINE}{max(b.max_turns - s.turns, 0)} turns, "
                f"${max(b.max_dollars - s.dollars, 0):.2f}, "
                f"{max(b.max_device_s - s.device_s, 0):.0f} device s, "
                f"{max(b.max_wall_s - s.wall_s, 0):.0f} wall s]")

    # ------------------------------------------------------------------ files

    def _list_files(self) -> ToolResult:
        rows = [f"{rel}  {size:,} bytes" for rel, size in self.ws.files()]
        return ToolResult("\n".join(rows) or "(the workspace is empty)")

    def _read_file(self, path: str, start_line: int | None = None,
                   end_line: int | None = None) -> ToolResult:
        text = self.ws.read(path)
        if start_line is not None or end_line is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[(start_line or 1) - 1 : end_line])
        if len(text) > MAX_RESULT_CHARS:
            cut = len(text) - MAX_RESULT_CHARS
            text = (text[:MAX_RESULT_CHARS] + f"\n[cut: {cut:,} more characters; read a line "
                    f"range with start_line/end_line]")
        return ToolResult(text)

    def _write_file(self, path: str, content: str) -> ToolResult:
        n = self.ws.write(path, content)
        return ToolResult(f"wrote {path} ({n:,} bytes)")

    def _edit_file(self, path: str, old_string: str, new_string: str) -> ToolResult:
        n = self.ws.edit(path, old_string, new_string)
        return ToolResult(f"edited {path} ({n:,} bytes now)")

    # ------------------------------------------------------------------ harness

    def _timed(self, tool: str, what: str,
               fn: Callable[[_Steps], Any]) -> tuple[Any, float]:
        """fn(steps), charged to the device budget; its progress told from `what` runs."""
        if self.spend.device_s >= self.budgets.max_device_s:
            raise ToolError(f"the device budget ({self.budgets.max_device_s:.0f} s) is spent: "
                            f"run_check, run_bench, run_python and profile are refused; call "
                            f"submit")
        steps = _Steps(tool, self.on_progress)
        steps.tell(0, what)
        start, ended = self.clock(), "stopped"  # stays so on Ctrl-C or SIGTERM
        try:
            value = fn(steps)
            ended = "finished"
        except Exception as e:  # the harness failing must not end the run
            ended = "failed"
            raise ToolError(f"the harness failed: {type(e).__name__}: {e}") from None
        finally:
            elapsed = max(0.0, self.clock() - start - self._waited())
            self.spend.device_s += elapsed
            steps.tell(steps.total, ended)
        return value, elapsed

    def _waited(self) -> float:
        """Seconds the harness spent waiting for the device (a sweep's lease, Inspect's
        lock): not the agent's device time, so not charged."""
        return self.harness.take_wait_s()

    def _device_line(self) -> str:
        return (f"device seconds used: {self.spend.device_s:.1f} of "
                f"{self.budgets.max_device_s:.0f}")

    def _run_python(self, path: str, args: list[str] | None = None) -> ToolResult:
        target = self.ws.path(path)
        if not target.is_file():
            raise ToolError(f"{path!r} does not exist; write the script with write_file first")
        script = target.relative_to(self.ws.root).as_posix()
        left = self.budgets.max_device_s - self.spend.device_s
        timeout = max(1.0, min(RUN_PYTHON_TIMEOUT_S, left))
        outcome, seconds = self._timed(
            "run_python", f"{script!r} in the sandbox", lambda steps: self.harness.run_python(
                self.ws.root, script, list(args or []), self.device, timeout))
        text = format_script(outcome, path, seconds) + "\n" + self._device_line()
        return ToolResult(text, is_error=not outcome.ok, device_s=seconds,
                          refused=refused_attempt(outcome.rejected_by, outcome.message))

    def _run_check(self) -> ToolResult:
        solution_hash = self.ws.solution_hash()
        outcome, seconds = self._timed(
            "run_check", "quick check (static scan, kernel checks, a training run of the "
                         "workspace and of the baseline)",
            lambda steps: self.harness.check(self.ws.root, self.preset, self.device))
        text = format_check(outcome) + "\n" + self._device_line()
        return ToolResult(text, device_s=seconds,
                          facts={"kind": "check", "passed": outcome.passed,
                                 "hash": solution_hash},
                          refused=refused_attempt(outcome.rejected_by, outcome.message))

    def _run_bench(self) -> ToolResult:
        solution_hash = self.ws.solution_hash()
        n = self.bench_rounds
        outcome, seconds = self._timed(
            "run_bench", f"{n} round{'s' if n != 1 else ''} against the baseline, after a "
                         f"warm-up",
            lambda steps: self.harness.bench(self.ws.root, self.preset, self.device, n,
                                             on_progress=steps))
        text = format_bench(outcome, self.preset, self.device) + "\n" + self._device_line()
        return ToolResult(text, device_s=seconds, facts={
            "kind": "bench", "passed": outcome.passed, "ratio": outcome.median_ratio,
            "hash": solution_hash},
            refused=refused_attempt(outcome.rejected_by, outcome.message))

    def _profile(self) -> ToolResult:
        table, seconds = self._timed(
            "profile", "one training run under the torch profiler",
            lambda steps: self.harness.profile(self.ws.root, self.preset, self.device))
        failed = _PROFILE_FAILED.match(table)
        return ToolResult(f"{table[:MAX_RESULT_CHARS]}\n{self._device_line()}",
                          device_s=seconds,
                          refused=refused_attempt(*failed.groups()) if failed else None)

    def _submit(self, note: str = "") -> ToolResult:
        return ToolResult("submitted; the official evaluation runs when this session ends",
                          facts={"kind": "submit", "hash": self.ws.solution_hash(),
                                 "note": note})


def _bad_arguments(name: str, args: object) -> str | None:
    """What is wrong with a call's input against its schema, or None."""
    if not isinstance(args, dict):
        return "the input must be a JSON object"
    schema = next(t["input_schema"] for t in TOOL_SPECS if t["name"] == name)
    props = schema["properties"]
    missing = [k for k in schema.get("required", []) if k not in args]
    unknown = [k for k in args if k not in props]
    if missing or unknown:
        return f"missing {missing}, unknown {unknown}; the parameters are {list(props)}"
    types = {"string": str, "integer": int, "array": list}
    for key, value in args.items():
        kind = props[key]["type"]
        if not isinstance(value, types[kind]) or isinstance(value, bool):
            article = "an" if kind in ("integer", "array") else "a"
            return f"{key} must be {article} {kind}"
        if kind == "array" and not all(isinstance(v, str) for v in value):
            return f"{key} must be a list of strings"
    return None


# ---------------------------------------------------------------------------- formatting

def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def format_check(outcome: CheckOutcome) -> str:
    """The verdict as the model reads it: PASSED/FAILED first, then every check with its
    measured value against its threshold, or the check that rejected the run and why."""
    where = f"quick check: preset {outcome.preset} on {outcome.device}"
    if outcome.rejected_by:
        lines = [f"FAILED: rejected by {outcome.rejected_by} ({where}): {outcome.message}"]
    else:
        failed = sum(not c.passed for c in outcome.checks)
        head = "PASSED" if outcome.passed else f"FAILED: {failed} of {len(outcome.checks)} " \
                                               f"checks failed"
        lines = [f"{head} ({where})"]
    if outcome.checks:
        lines.append(f"{'check':<24} {'result':<6} {'value':>12} {'threshold':>12}  detail")
        for c in outcome.checks:
            lines.append(f"{c.name:<24} {'pass' if c.passed else 'FAIL':<6} "
                         f"{_fmt(c.value):>12} {_fmt(c.threshold):>12}  {c.detail}")
    if outcome.output_tail and not outcome.passed:
        lines += ["output (last lines):", outcome.output_tail]
    return "\n".join(lines)


def format_script(outcome: ScriptOutcome, path: str, seconds: float) -> str:
    """The script's verdict, then the end of its output (the sandbox keeps the last
    kilobytes)."""
    if outcome.ok:
        head = f"{path} ran to its end in {seconds:.1f} s"
    else:
        head = f"FAILED: {path} stopped by {outcome.rejected_by}: {outcome.message}"
    tail = outcome.output_tail.strip()
    return head + (f"\noutput (last lines):\n{tail}" if tail else "\n(no output)")


def format_bench(outcome: BenchOutcome, preset: str, device: str) -> str:
    n = len(outcome.rounds)
    if outcome.passed and outcome.median_ratio is not None:
        lines = [f"speedup {outcome.median_ratio:.3f}x over the baseline (median of {n} "
                 f"round{'s' if n != 1 else ''}; preset {preset} on {device}; judge passed)"]
    else:
        why = f" by {outcome.rejected_by}" if outcome.rejected_by else ""
        lines = [f"FAILED: the judge rejected the candidate{why} while timing it; no "
                 f"speedup counts. {outcome.message}".rstrip()]
    for i, r in enumerate(outcome.rounds, 1):
        lines.append(f"round {i}: baseline {_fmt(r.get('baseline_s'))} s, candidate "
                     f"{_fmt(r.get('candidate_s'))} s, ratio {_fmt(r.get('ratio'))}")
    return "\n".join(lines)
