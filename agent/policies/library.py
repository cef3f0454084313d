"""The library policy: a greedy, non-LLM reference row, playing through the same tools as
a model does.

For each slot, for each implementation in the kernel library (Triton ones only on CUDA), it
copies the implementation's source module into the workspace (`lib_<module>.py`, with the
library's own imports made relative), appends to `ops.py` a line that binds the slot to
it, and keeps the change if run_check passes and run_bench beats the best speedup so far;
otherwise it writes `ops.py` back. Then it submits.

Why copy the source instead of importing `kernels`: agent submissions are judged without
the kernel library. Copying makes the library row obey exactly the rules an agent obeys
(same static scan, same sandbox, no `allow_library`), so its score is comparable to the
agents' and its solution directory is self-contained: its hash covers all code that ran.

The policy is a pure function of the conversation: each turn it replays its plan against
the tool results so far. So it needs no state of its own and `--resume` just works.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Generator
from pathlib import Path

from agent.policies.models import DEFAULT_MAX_TOKENS
from agent.session.policy import PolicyFinished
from agent.session.tools import Toolbox
from baseline.ops import SLOTS
from kernels.registry import Impl

_SPEEDUP = re.compile(r"^speedup ([0-9.]+)x")


class UnsupportedImport(Exception):
    """A library module imports the library in a form this copier does not rewrite."""


def _local_name(module: str) -> str:
    """'kernels.native' -> 'lib_native' (the copy's module name in the workspace)."""
    return "lib_" + module.removeprefix("kernels.").replace(".", "_")


def _rewrite_imports(source: str, module: str) -> tuple[str, set[str]]:
    """The module's source with imports of `kernels.*` made relative to the workspace, and
    the set of library modules it needs."""
    package = module.rsplit(".", 1)[0]
    lines = source.splitlines(keepends=True)
    needs: set[str] = set()
    edits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(
                a.name == "kernels" or a.name.startswith("kernels.") for a in node.names):
            raise UnsupportedImport(f"{module}: 'import kernels...' at line {node.lineno}")
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0 and (node.module or "").split(".")[0] != "kernels":
            continue
        if node.level > 1:
            raise UnsupportedImport(f"{module}: relative import at line {node.lineno}")
        base = node.module if node.level == 0 else ".".join(filter(None, [package, node.module]))
        if base == "kernels":  # from kernels import native [as x]
            names = [ast.alias(_local_name(f"kernels.{a.name}"), a.asname or a.name)
                     for a in node.names]
            needs.update(f"kernels.{a.name}" for a in node.names)
            new = ast.ImportFrom(module=None, names=names, level=1)
        else:
            needs.add(base)
            new = ast.ImportFrom(module=_local_name(base), names=node.names, level=1)
        edits.append((node.lineno, node.end_lineno, node.col_offset, ast.unparse(new)))
    for start, end, col, text in sorted(edits, reverse=True):
        lines[start - 1 : end] = [" " * col + text + "\n"]
    return "".join(lines), needs


def library_files(module: str) -> dict[str, str]:
    """{workspace path: source} for `module` and every library module it imports."""
    files: dict[str, str] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = f"{_local_name(name)}.py"
        if path in files:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise UnsupportedImport(f"cannot find the source of {name}")
        text, needs = _rewrite_imports(Path(spec.origin).read_text(encoding="utf-8"), name)
        files[path] = f"# Copied from {name} (the kernel library) by the library policy.\n" + text
        todo.extend(sorted(needs))
    return files


def binding(impl: Impl) -> str:
    return (f"from .{_local_name(impl.module)} import {impl.slot}  "
            f"# library: {impl.module}.{impl.slot} ({impl.name})\n")


def _with_bindings(ops: str, bindings: dict[str, str]) -> str:
    if not bindings:
        return ops
    lines = "".join(bindings[slot] for slot in SLOTS if slot in bindings)
    return ops.rstrip("\n") + "\n\n\n# Slots bound to the kernel library's implementations.\n" \
        + lines


def _call(name: str, **args) -> tuple[str, dict]:
    return name, args


class LibraryPolicy:
    name = "library"
    model = None
    default_max_tokens = DEFAULT_MAX_TOKENS  # recorded, never used: it writes no text
    min_max_tokens = 1
    context_window = None  # nothing is sent: there is no window to fit

    def __init__(self, impls: list[Impl]):
        order = {slot: i for i, slot in enumerate(SLOTS)}
        self.impls = sorted((i for i in impls if i.slot in order and i.name != "naive"),
                            key=lambda i: (order[i.slot], i.name))

    def params(self, max_tokens: int) -> dict:
        return {"model": self.model, "max_tokens": max_tokens}

    def _plan(self) -> Generator[tuple[str, dict], dict, None]:
        ops = (yield _call("read_file", path="ops.py"))["content"]
        kept: dict[str, str] = {}  # slot -> its binding line, in slot order
        written: set[str] = set()
        best = 1.0  # the unchanged baseline: speedup 1 by definition
        for impl in self.impls:
            try:
                files = library_files(impl.module)
            except UnsupportedImport:
                continue
            for path, text in files.items():
                if path not in written:
                    written.add(path)
                    yield _call("write_file", path=path, content=text)
            trial = {**kept, impl.slot: binding(impl)}  # replaces this slot's earlier choice
            yield _call("write_file", path="ops.py", content=_with_bindings(ops, trial))
            check = yield _call("run_check")
            if not check["is_error"] and check["content"].startswith("PASSED"):
                timing = yield _call("run_bench")
                found = _SPEEDUP.match(timing["content"])
                if not timing["is_error"] and found and float(found.group(1)) > best:
                    best, kept = float(found.group(1)), trial
                    continue
            yield _call("write_file", path="ops.py", content=_with_bindings(ops, kept))
        chosen = ", ".join(f"{slot}" for slot in kept) or "none"
        yield _call("submit", note=f"slots bound to the library: {chosen}; best bench "
                                   f"{best:.3f}x")

    def respond(self, messages: list[dict], max_tokens: int, *, turn: int = 0,
                system: str = "") -> dict:
        results = [block for m in messages if m["role"] == "user" and isinstance(m["content"], list)
                   for block in m["content"] if block.get("type") == "tool_result"]
        plan = self._plan()
        call = next(plan)
        try:
            for r in results:
                call = plan.send({"content": Toolbox.without_budgets(r["content"]),
                                  "is_error": r.get("is_error", False)})
        except StopIteration:
            raise PolicyFinished("the library plan is complete") from None
        turn = turn or sum(m["role"] == "assistant" for m in messages) + 1
        name, args = call
        return {"id": f"library-{turn}", "type": "message", "role": "assistant",
                "model": self.model, "stop_reason": "tool_use", "stop_sequence": None,
                "content": [{"type": "tool_use", "id": f"toolu_library_{turn:04d}",
                             "name": name, "input": args}],
                "usage": {"input_tokens": 0, "output_tokens": 0}}
