"""What a sandboxed child does between `go` and `done`, per mode (correctness.protocol's
MODES), and what it writes for the parent (safetensors and JSON, never pickle). Results are
only serialised here; the parent validates them (correctness.sandbox.results), once, in its
own process.

    train     train(cfg, init, tokens, batches) -> RESULT, LOSSES
    profile   the same run under torch.profiler   -> PROFILE_TABLE
    kernels   the declared KERNELS on the judge's inputs (before `ready`: DECLARED; after
              `go`: KERNEL_CASES and KERNEL_CASE_META in, KERNEL_OUTPUTS and KERNEL_INFO out)
    script    a script of the solution's directory run as __main__ with its global ARGS
              (what it prints is the run's output; nothing else comes back)

The judge's inputs (INPUTS, the kernel cases) are read from the run's input directory
(RunSpec.input_dir), which the child cannot write; what it gives back goes into its work
directory (RunSpec.work_dir).
"""

from __future__ import annotations

import json
import os
import sys

from .. import protocol
from ..protocol import RunSpec
from .loader import Rejected, register_package

# References taken in `capture`, before the solution could replace the module attributes.
# torch and what uses it are imported there too, never at this module's import: the child
# imports this module before its limits are set (main.py's order).
CAPTURED: dict = {}


def capture(device: str) -> None:
    import threading

    import torch
    from safetensors.torch import load_file, save_file

    from . import kernel_calls

    CAPTURED.update(main_thread=threading.main_thread().ident, load_file=load_file,
                    save_file=save_file, current_frames=sys._current_frames,
                    call_kernel=kernel_calls.call)
    if device == "cuda":
        CAPTURED["cuda_sync"] = torch.cuda.synchronize


def _inputs(spec: RunSpec) -> tuple[dict, object, object]:
    flat = CAPTURED["load_file"](os.path.join(spec.input_dir, protocol.INPUTS))
    init = {k[len("init."):]: v for k, v in flat.items() if k.startswith("init.")}
    return init, flat["tokens"], flat["batches"]


def _synchronize(spec: RunSpec) -> None:
    if spec.cfg["device"] == "cuda":
        CAPTURED["cuda_sync"]()


# ---------------------------------------------------------------------------- train

def run_train(train, spec: RunSpec, threads_before: set[int]) -> None:
    import torch

    result = train(spec.cfg, *_inputs(spec))
    _synchronize(spec)
    if not isinstance(result, dict) or not {"state_dict", "losses"} <= set(result):
        raise Rejected("results", "train must return {'state_dict': ..., 'losses': [...]}, "
                                  f"got {type(result).__name__}")
    state, losses = result["state_dict"], result["losses"]
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise Rejected("results", "state_dict must be a dict of tensors by parameter name")
    if isinstance(losses, torch.Tensor):
        losses = losses.detach().cpu().reshape(-1).tolist()
    if not isinstance(losses, (list, tuple)):
        raise Rejected("results", f"losses must be a list of numbers, got "
                                  f"{type(losses).__name__}")
    stray = live_threads(threads_before)
    if stray:
        raise Rejected("threads", "threads still running after train returned: "
                       + "; ".join(stray[:5]))
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    CAPTURED["save_file"](tensors, os.path.join(spec.work_dir, protocol.RESULT))
    with open(os.path.join(spec.work_dir, protocol.LOSSES), "w") as f:
        json.dump([x if isinstance(x, (bool, int, float)) else str(x) for x in losses], f)


def live_threads(before: set[int]) -> list[str]:
    """Python threads still running Python code when train has returned, that were not there
    before the solution was imported (a thread started at import time counts)."""
    main = CAPTURED["main_thread"]
    return [f"thread {ident} at {frame.f_code.co_filename}:{frame.f_lineno}"
            for ident, frame in CAPTURED["current_frames"]().items()
            if ident != main and ident not in before]


# ---------------------------------------------------------------------------- profile

def run_profile(train, spec: RunSpec) -> None:
    from torch.profiler import ProfilerActivity, profile

    cuda = spec.cfg["device"] == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        train(spec.cfg, *_inputs(spec))
        _synchronize(spec)
    table = None
    averages = prof.key_averages()
    for key in (["self_device_time_total", "self_cuda_time_total"] if cuda else []) + [
            "self_cpu_time_total"]:
        try:
            table = averages.table(sort_by=key, row_limit=spec.profile_top)
            break
        except (AttributeError, KeyError, ValueError):
            continue
    with open(os.path.join(spec.work_dir, protocol.PROFILE_TABLE), "w") as f:
        f.write(table or "")


# ---------------------------------------------------------------------------- kernels

def declare_kernels(module, spec: RunSpec) -> dict:
    """Before `ready`: which slots the solution declares, so the judge can draw inputs for
    them. {name: callable?} in DECLARED; the implementations themselves stay here."""
    kernels = getattr(module, "KERNELS", None)
    if not isinstance(kernels, dict):
        raise Rejected("kernels", "KERNELS must be a dict {slot: implementation}")
    declared = {str(name): callable(impl) for name, impl in kernels.items()}
    with open(os.path.join(spec.work_dir, protocol.DECLARED), "w") as f:
        json.dump(declared, f)
    return {str(name): impl for name, impl in kernels.items()}


def run_kernels(kernels: dict, spec: RunSpec) -> None:
    with open(os.path.join(spec.input_dir, protocol.KERNEL_CASE_META)) as f:
        cases = json.load(f)
    tensors = CAPTURED["load_file"](os.path.join(spec.input_dir, protocol.KERNEL_CASES))
    outputs, infos = {}, []
    for i, meta in enumerate(cases):
        prefix = f"case{i}."
        mine = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        out, info = CAPTURED["call_kernel"](kernels[meta["slot"]], meta, mine,
                                            spec.cfg["device"])
        outputs.update({prefix + k: v.contiguous() for k, v in out.items()})
        infos.append(info)
    _synchronize(spec)
    CAPTURED["save_file"](outputs, os.path.join(spec.work_dir, protocol.KERNEL_OUTPUTS))
    with open(os.path.join(spec.work_dir, protocol.KERNEL_INFO), "w") as f:
        json.dump(infos, f, default=str)


# ---------------------------------------------------------------------------- script

def register_workspace(solution_dir: str) -> None:
    """Before `ready`: the directory's modules importable as `submission.<module>` (the
    package a solution is loaded as) and, like a solution's siblings, by plain name."""
    sys.path.insert(0, solution_dir)
    register_package(solution_dir, "submission")


def run_script(spec: RunSpec) -> None:
    import runpy

    script = os.path.join(spec.solution_dir, spec.cfg[protocol.SCRIPT_PATH])
    runpy.run_path(script, init_globals={"ARGS": list(spec.cfg[protocol.SCRIPT_ARGS])},
                   run_name="__main__")
    sys.stdout.flush()
