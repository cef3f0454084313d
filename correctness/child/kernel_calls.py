"""Calling one slot implementation on the judge's inputs, and nothing more: grading happens
in the judge's process (correctness.kernel_check), never where the implementation runs,
so a solution that patches torch cannot grade its own kernel.

    call(impl, meta, tensors, device) -> (outputs, info)

`meta` and `tensors` describe one case (built by kernel_check.make_cases):
- "differentiable": tensors "in.<j>" (the slot's inputs, the integer targets of
  cross_entropy included) and "grad_out"; meta n_diff (how many inputs get gradients),
  kwargs, and poison sizes. Outputs: "out", "grad.<j>" (absent: no gradient), the inputs
  as they were after the forward ("after_forward.<j>") and after the backward
  ("after_backward.<j>"), and "grad_out_after".
- "adamw": tensors "param.<j>", "exp_avg.<j>", "exp_avg_sq.<j>" (the state) and
  "grad.<k>.<j>" (step k's gradients); meta steps and hyper. Outputs: the state after the
  steps under the same names, and "grad_after.<k>.<j>".
`info` says what the judge cannot see in the tensors: an exception and where it happened,
or an output that is not a tensor.

The caching allocator is poisoned before each call (NaN blocks of exactly the sizes the
call will allocate), so memory a kernel returns without writing reads as NaN (see _poison).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

# Taken at import, before a solution exists in this process (the child imports this module
# in its untrusted-free setup).
_grad = torch.autograd.grad
_full = torch.full


def call(impl: Callable, meta: dict, tensors: dict[str, Tensor],
         device: str) -> tuple[dict[str, Tensor], dict]:
    """Every tensor is copied to `device` first: the judge's own copies stay untouched
    whatever the implementation writes."""
    device = torch.device(device)
    if meta["kind"] == "adamw":
        return _call_adamw(impl, meta, tensors, device)
    return _call_differentiable(impl, meta, tensors, device)


def _cpu(t: Tensor) -> Tensor:
    return t.detach().to("cpu").clone()


def _call_differentiable(impl, meta, tensors, device):
    n_inputs, n_diff = meta["n_inputs"], meta["n_diff"]
    inputs = [tensors[f"in.{j}"].to(device, copy=True) for j in range(n_inputs)]
    inputs = [t.requires_grad_(j < n_diff) if t.is_floating_point() else t
              for j, t in enumerate(inputs)]
    grad_out = tensors["grad_out"].to(device, copy=True)
    outputs: dict[str, Tensor] = {}
    info: dict = {"error": None, "stage": None, "out_type": None}
    try:
        _poison(device, meta["poison_forward"])
        out = impl(*inputs, **meta["kwargs"])
    except Exception as exc:  # a crashing kernel is a failed check, not a crashed judge
        return outputs, {**info, "error": f"raised {type(exc).__name__}: {exc}",
                         "stage": "forward"}
    outputs.update({f"after_forward.{j}": _cpu(t) for j, t in enumerate(inputs)})
    if not isinstance(out, Tensor):
        return outputs, {**info, "out_type": type(out).__name__}
    outputs["out"] = _cpu(out)
    try:
        _poison(device, meta["poison_backward"])
        grads = _grad(out, inputs[:n_diff], grad_out, allow_unused=True)
    except Exception as exc:
        return outputs, {**info, "error": f"raised {type(exc).__name__}: {exc}",
                         "stage": "backward"}
    outputs.update({f"after_backward.{j}": _cpu(t) for j, t in enumerate(inputs)})
    outputs["grad_out_after"] = _cpu(grad_out)
    outputs.update({f"grad.{j}": _cpu(g) for j, g in enumerate(grads) if g is not None})
    return outputs, info


def _call_adamw(impl, meta, tensors, device):
    n = meta["n_params"]
    state = {group: [tensors[f"{group}.{j}"].to(device, copy=True) for j in range(n)]
             for group in ("param", "exp_avg", "exp_avg_sq")}
    outputs: dict[str, Tensor] = {}
    info: dict = {"error": None, "stage": None, "out_type": None}
    for k, step in enumerate(meta["steps"]):
        grads = [tensors[f"grad.{k}.{j}"].to(device, copy=True) for j in range(n)]
        try:
            _poison(device, [g.numel() * g.element_size() for g in grads])
            impl(state["param"], grads, state["exp_avg"], state["exp_avg_sq"], step=step,
                 **meta["hyper"])
        except Exception as exc:
            return outputs, {**info, "error": f"raised {type(exc).__name__}: {exc}",
                             "stage": f"step {step}"}
        outputs.update({f"grad_after.{k}.{j}": _cpu(g) for j, g in enumerate(grads)})
    for group, values in state.items():
        outputs.update({f"{group}.{j}": _cpu(t) for j, t in enumerate(values)})
    return outputs, info


def _poison(device: torch.device, nbytes: list[int]) -> None:
    """Fill and free NaN blocks of exactly the sizes the call will allocate, so memory the
    kernel returns without writing reads as NaN.

    CUDA: the cache is emptied first, so the NaN blocks (plus a large one for buffers of
    sizes we cannot predict) are the only free blocks and the allocator's best fit must
    hand them out. CPU: best effort. glibc reuses a freed chunk of the same size, but may
    pick an older one and overwrites the head of small ones with list pointers: measured
    all-NaN for 1/3 to 3/3 of tries at 8-13 KB. Unwritten memory then holds arbitrary bytes,
    which the judge's error check still rejects unless they happen to be the right answer."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
    blocks = [_full((max(1, n // 4),), math.nan, device=device)
              for n in nbytes for _ in range(2)]
    if device.type == "cuda":
        blocks.append(_full((64 << 20,), math.nan, device=device))
    del blocks
