"""What a run gives back, read and validated in the judge's process, once: the verdict type
(`RunResult`), the training results (safetensors weights, JSON losses; never pickle) and
their one validation, `validate_results`, which the training check and the clock rely on.
"""

from __future__ import annotations

import json
import math
import signal
from dataclasses import dataclass, field
from pathlib import Path

import torch

from baseline.model import param_shapes


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
    isolation: str = "process"  # what confined the run: "namespaces" or "process"
    # wall clock (time.time()) at go and at done, beside `seconds`, so anyone can check
    # afterwards that no two timed runs overlapped; None when the run never got to go
    started_at: float | None = None
    ended_at: float | None = None

    def __repr__(self) -> str:
        status = "ok" if self.ok else f"rejected by {self.check}: {self.message}"
        seconds = "" if self.seconds is None else f", {self.seconds:.3f} s"
        return f"RunResult({status}{seconds})"


def reject(check: str, message: str, **kw) -> RunResult:
    return RunResult(ok=False, check=check, message=message, **kw)


def read_training(work: Path, cfg: dict, seconds: float, tail: str) -> RunResult:
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


def read_json(path: Path, limit: int):
    """A JSON file the child wrote, or None (missing, too large, unreadable)."""
    if not path.is_file() or path.stat().st_size > limit:
        return None
    try:
        return json.loads(path.read_text(errors="replace"))
    except ValueError:
        return None


def parse_message(payload: str) -> dict:
    """A status line's JSON payload, as a dict whatever the child sent."""
    try:
        value = json.loads(payload)
    except ValueError:
        return {"message": payload[:200]}
    return value if isinstance(value, dict) else {"message": str(value)[:200]}


def refusals(refused: list[dict]) -> str:
    """The forbidden_call verdict's message: the first five refusals."""
    shown = "; ".join(f"{r.get('event')} {r.get('detail', '')} ({r.get('why', '')})"
                      for r in refused[:5])
    more = f" (+{len(refused) - 5} more)" if len(refused) > 5 else ""
    return f"refused {len(refused)} call(s): {shown}{more}"


def death(code: int, tail: str) -> tuple[str, str]:
    """(check, why) of a child that died before done, by its exit status."""
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        if -code == signal.SIGKILL and "memory" in tail.lower():
            return "oom", f"killed by {name} (out of memory)"
        return "crash", f"the child died of {name} before done"
    return "crash", f"the child exited with status {code} before done"
