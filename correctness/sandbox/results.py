"""What a run gives back, read and validated in the judge's process, once: the verdict type
(`RunResult`), the training results (safetensors weights, JSON losses; never pickle) and
their validation (`correctness.solution.validate_results`, the solution format's).
Every file is read, and every text of the run's in a verdict sanitized, through boundary.py.
"""

from __future__ import annotations

import math
import signal
from dataclasses import dataclass, field

import torch

from baseline.model import param_shapes

from ..protocol import LOSSES, RESULT
from ..solution import validate_results
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
        state = load(boundary.read_file(work_fd, RESULT, weights_limit))
        losses = boundary.read_json(work_fd, LOSSES, 64 * cfg["steps"] + 1024)
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
