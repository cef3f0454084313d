"""What a run gives back, read and validated in the judge's process, once: the verdict type
(`RunResult`), the training results (safetensors weights, JSON losses; never pickle) and
their one validation, `validate_results`, which the training check and the clock rely on.
Every file is read, and every text of the run's in a verdict sanitized, through boundary.py.
"""

from __future__ import annotations

import math
import signal
from dataclasses import dataclass, field

import torch

from baseline.model import param_shapes

from . import boundary


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
    isolation: str = "process"  # what confined the run: namespaces, landlock or process
    # wall clock (time.time()) at go and at done, beside `seconds`, so anyone can check
    # afterwards that no two timed runs overlapped; None when the run never got to go
    started_at: float | None = None
    ended_at: float | None = None
    notes: list[str] = field(default_factory=list)  # what the judge left out of the run, why
    # the run's CPU time and the share of the machine other work took, go to done
    # (sandbox/usage.py); the clock re-times a contended round
    usage: dict | None = None

    def __repr__(self) -> str:
        status = "ok" if self.ok else f"rejected by {self.check}: {self.message}"
        seconds = "" if self.seconds is None else f", {self.seconds:.3f} s"
        return f"RunResult({status}{seconds})"


def reject(check: str, message: str, **kw) -> RunResult:
    return RunResult(ok=False, check=check, message=message, **kw)


def read_training(work_fd: int, cfg: dict, seconds: float, tail: str) -> RunResult:
    """The weights (safetensors, parsed from bytes read within the model's size) and the
    losses (JSON within 64 bytes a step) the child wrote into its work directory."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    weights_limit = 4 * sum(math.prod(s) for s in param_shapes(cfg).values()) + (1 << 20)
    try:
        state = load(boundary.read_file(work_fd, "result.safetensors", weights_limit))
        losses = boundary.read_json(work_fd, "losses.json", 64 * cfg["steps"] + 1024)
    except boundary.MissingFile:
        return reject("protocol", "said done before its results existed", seconds=seconds,
                      output_tail=tail)
    except (boundary.BoundaryError, SafetensorError, ValueError) as e:
        return reject("results", f"unreadable results: {boundary.sanitize(str(e))}",
                      seconds=seconds, output_tail=tail)
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


def parse_message(payload: str) -> dict:
    """A status line's JSON payload, as a dict whatever the child sent, its text values
    sanitized (they reach the verdict's message)."""
    try:
        value = boundary.parse_json(payload)
    except boundary.BoundaryError:
        value = payload[:200]
    if not isinstance(value, dict):
        return {"message": boundary.sanitize(str(value)[:200])}
    return {str(k): boundary.sanitize(v) if isinstance(v, str) else v for k, v in value.items()}


def refusals(refused: list[dict], count: int) -> str:
    """The forbidden_call verdict's message: the first five of `count` refusals."""
    shown = "; ".join(f"{r.get('event')} {r.get('detail', '')} ({r.get('why', '')})"
                      for r in refused[:5])
    more = f" (+{count - 5} more)" if count > 5 else ""
    return f"refused {count} call(s): {shown}{more}"


def death(code: int, tail: str) -> tuple[str, str]:
    """(check, why) of a child that died before done, by its exit status."""
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        if -code == signal.SIGKILL and "memory" in tail.lower():
            return "oom", f"killed by {name} (out of memory)"
        return "crash", f"the child died of {name} before done"
    return "crash", f"the child exited with status {code} before done"
