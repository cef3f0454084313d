"""Kernel checks: one implementation of one slot against the float64 reference, graded in
the judge's process.

    check_kernel(slot, impl, device="cpu", *, shapes=None, seed=None) -> KernelReport
    grade(case, outputs, info) -> failures          (fills case.record["errors"])

A check is three steps, so that the implementation never runs where it is graded: the
judge draws the inputs (correctness.kernel_cases.make_cases), the implementation is called
on them (correctness.child.kernel_calls.call: in the sandboxed child for a solution's
KERNELS, in-process for our own library in `check_kernel`), and the judge grades what came
back. For every case:

- the forward output and the gradient of every differentiable input are compared with
  `baseline.ops` run in float64 on the same (rounded) inputs and the same upstream
  gradient; the error is max|impl - ref| / max|ref| per tensor, against the per-dtype table
  in `kernel_tolerances.py`;
- NaN and inf must appear exactly where the reference has them;
- the caching allocator is poisoned with NaN blocks the size of every output before each
  call, so a kernel that returns memory it never wrote shows up as NaN;
- every input and the upstream gradient must come back bit-identical, since some
  well-known kernels write gradients into their inputs;
- `adamw` is checked as an in-place update: params and both moments after a few steps
  against float64 naive AdamW run from the same state.

`python -m correctness.kernel_check` prints the largest error each registered
implementation reaches over many seeds: the measurements behind the tolerance table.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from baseline import ops as naive

from .child import kernel_calls
from .kernel_cases import (
    CPU,
    INPUT_NAMES,
    SMALL_SHAPES,
    Case,
    default_shapes,
    make_cases,
    new_seed,
    preset_shape,
)

__all__ = ["Case", "KernelReport", "SMALL_SHAPES", "check_kernel", "default_shapes", "grade",
           "make_cases", "new_seed", "preset_shape"]

# Attention gradients may be off by this many float32 roundings of the terms that cancel in
# them (see _floors): the cancelling cases in kernel_tolerances.py's attention entry came to
# about one rounding, so 16 leaves an order of magnitude of room.
# Float32 because the math inside every kernel is float32, bf16 ones included; against the
# bf16 tolerance the floor is then tiny, and the bf16 output rounding dominates anyway.
FLOAT32_UNIT_ROUNDOFF = 2.0**-24
ATTENTION_ROUNDINGS = 16

@dataclass
class KernelReport:
    slot: str
    device: str
    dtype: str
    seed: int
    cases: list[dict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.cases) and not self.failures

    def to_dict(self) -> dict:
        return {"slot": self.slot, "device": self.device, "dtype": self.dtype,
                "seed": self.seed, "passed": self.passed, "cases": self.cases,
                "failures": list(self.failures)}


# ---------------------------------------------------------------------------- checking

def check_kernel(slot: str, impl: Callable, device: str = "cpu", *, shapes: Sequence | None = None,
                 seed: int | None = None, dtype: torch.dtype = torch.float32) -> KernelReport:
    """Check `impl` (a callable with the slot's signature) in this process: for our own
    kernel library and tests. A solution's KERNELS are checked in the sandbox instead
    (correctness.sandbox.check_solution_kernels), with the same cases and grading."""
    if slot not in naive.SLOTS:
        raise ValueError(f"unknown slot {slot!r}; choose one of {', '.join(naive.SLOTS)}")
    seed = new_seed() if seed is None else seed
    report = KernelReport(slot, str(device), str(dtype).replace("torch.", ""), seed)
    for case in make_cases(slot, device, shapes=shapes, seed=seed, dtype=dtype):
        outputs, info = kernel_calls.call(impl, case.meta, case.tensors, device)
        report.failures += grade(case, outputs, info)
        report.cases.append(case.record)
    return report


def grade(case: Case, outputs: dict[str, Tensor], info: dict) -> list[str]:
    """The failures of one call (empty: passed); the errors go into case.record."""
    if case.meta["kind"] == "adamw":
        return _grade_adamw(case, outputs, info)
    return _grade_differentiable(case, outputs, info)


def _grade_differentiable(case: Case, outputs: dict, info: dict) -> list[str]:
    name, tol, meta = case.name, case.record["tolerance"], case.meta
    names = list(INPUT_NAMES[case.slot])
    names += ["targets"] * (meta["n_inputs"] - len(names))
    sent = [case.tensors[f"in.{j}"] for j in range(meta["n_inputs"])]
    if info.get("stage") == "forward":
        return [f"{name}: {info['error']}"]
    failures = _unchanged(f"{name} forward", outputs, "after_forward", sent, names)
    if info.get("out_type") is not None:
        return failures + [f"{name} output: returned {info['out_type']}, not a tensor"]
    out = outputs.get("out")
    if isinstance(out, Tensor) and out.dtype != case.dtype:
        failures.append(f"{name} output: dtype {out.dtype}, expected {case.dtype}")
    floors = _floors(case.slot, sent, case.tensors["grad_out"], tol)
    case.record["errors"]["output"], msg = _compare(
        f"{name} output", out, case.reference["out"], tol, floors.get("output", 0.0))
    failures += [msg] if msg else []
    if msg or failures:
        return failures
    if info.get("stage") == "backward":
        return [f"{name}: {info['error']}"]
    failures += _unchanged(f"{name} backward", outputs, "after_backward", sent, names)
    if not _same(outputs.get("grad_out_after"), case.tensors["grad_out"]):
        failures.append(f"{name} backward: the upstream gradient was modified by the call")
    for j, arg in enumerate(names[:meta["n_diff"]]):
        got = outputs.get(f"grad.{j}")
        if got is None:
            failures.append(f"{name} grad {arg}: no gradient (input treated as constant)")
            continue
        case.record["errors"][f"grad_{arg}"], msg = _compare(
            f"{name} grad {arg}", got, case.reference[f"grad.{j}"], tol,
            floors.get(f"grad_{arg}", 0.0))
        failures += [msg] if msg else []
    return failures


def _grade_adamw(case: Case, outputs: dict, info: dict) -> list[str]:
    name, tol, meta = case.name, case.record["tolerance"], case.meta
    if info.get("error"):
        return [f"{name} {info['stage']}: {info['error']}"]
    failures = []
    for k, step in enumerate(meta["steps"]):
        for j in range(meta["n_params"]):
            if not _same(outputs.get(f"grad_after.{k}.{j}"), case.tensors[f"grad.{k}.{j}"]):
                failures.append(f"{name} step {step}: input grads[{j}] was modified by the call")
    n = range(meta["n_params"])
    for group, label in (("param", "params"), ("exp_avg", "exp_avgs"),
                         ("exp_avg_sq", "exp_avg_sqs")):
        got = [outputs.get(f"{group}.{j}") for j in n]
        want = [case.reference[f"{group}.{j}"] for j in n]
        base = [case.reference[f"start.{j}"] for j in n] if group == "param" else None
        case.record["errors"][label], msg = _compare_group(f"{name} {label}", got, want,
                                                           base, tol)
        failures += [msg] if msg else []
    return failures


# ---------------------------------------------------------------------------- comparing

def _same(got, sent: Tensor) -> bool:
    return isinstance(got, Tensor) and got.shape == sent.shape and got.dtype == sent.dtype \
        and torch.equal(got, sent)


def _unchanged(what: str, outputs: dict, prefix: str, sent: Sequence[Tensor],
               names: Sequence[str]) -> list[str]:
    return [f"{what}: input {name} was modified by the call"
            for j, (t, name) in enumerate(zip(sent, names))
            if not _same(outputs.get(f"{prefix}.{j}"), t)]


def _compare(what: str, got, ref: Tensor, tol: float,
             floor: float = 0.0) -> tuple[float | None, str | None]:
    """(error, failure message or None); error = max|got - ref| / max(max|ref|, floor)."""
    if not isinstance(got, Tensor):
        return None, f"{what}: returned {type(got).__name__}, not a tensor"
    if tuple(got.shape) != tuple(ref.shape):
        return None, f"{what}: shape {tuple(got.shape)}, expected {tuple(ref.shape)}"
    got = got.detach().to(CPU, torch.float64)
    ref = ref.detach().to(CPU, torch.float64)
    for name, test in (("NaN", torch.isnan), ("+inf", torch.isposinf), ("-inf", torch.isneginf)):
        mismatch = test(got) != test(ref)
        if mismatch.any():
            return None, (f"{what}: {name} mismatch at {int(mismatch.sum())} of "
                          f"{ref.numel()} elements (stale memory or overflow?)")
    finite = torch.isfinite(ref)
    diff = (got[finite] - ref[finite]).abs().max().item() if finite.any() else 0.0
    scale = ref[finite].abs().max().item() if finite.any() else 0.0
    scale = max(scale, floor)
    error = diff / scale if scale > 0 else diff
    if error > tol:
        return error, f"{what}: error {error:.3g} > tolerance {tol:.3g}"
    return error, None


def _compare_group(what, got, want, base, tol):
    """Params are graded relative to the size of the update (base: params before the
    steps), since the update is lr-sized and a wrong one would vanish against |p| ~ 1."""
    if any(not isinstance(t, Tensor) or t.shape != w.shape for t, w in zip(got, want)):
        return None, f"{what}: missing or reshaped after the update"
    got = torch.cat([t.detach().to(CPU, torch.float64).flatten() for t in got])
    want = torch.cat([t.flatten() for t in want])
    if base is None:
        return _compare(what, got, want, tol)
    base = torch.cat([t.flatten() for t in base])
    error, msg = _compare(what, got - base, want - base, tol)
    return error, msg and msg.replace("error", "error relative to the update", 1)


def _floors(slot: str, inputs: list[Tensor], grad_out: Tensor, tol: float) -> dict[str, float]:
    """Scales below which an error is graded as absolute rather than relative, where every
    float32 implementation, the naive one included, rounds an O(1) quantity:
    - a cross entropy whose targets dominate their rows is log(1 + e), e ~ 1e-4, and 1 + e
      rounds to within ulp(1): 1e-3 relative error measured (naive code too) for one row of
      two logits ~ 25 +- 5. The loss is graded against max(|loss|, 1), its gradient
      (p - onehot) g / N per row against |g| / N;
    - GELU is x * s(x) with s in [0, 1]: the naive 0.5 (1 + tanh) form rounds s to within
      ulp(1), so gelu(-7) came out 0 instead of -1e-19 (relative error 1, measured). Output
      is graded against max|x|, the gradient (dy times a factor below 1.13) against max|dy|;
    - layer norm's dx = rstd (g - mean(g) - x_hat mean(g x_hat)), g = w dy, is a difference
      of terms of size rstd |g| that nearly cancels in short rows with a large offset:
      naive float32 code measured 7.6e-5 relative to max|dx| for rows of 3 with offset / scale
      = 10. dx is graded against max(|dx|, max over rows of rstd max|g|);
    - attention's dS_ij = P_ij (dP_ij - D_i), dP_ij = dO_i . v_j, D_i = sum_j P_ij dP_ij, is a
      difference of terms that cancels exactly for a query with one key (P = 1) and nearly
      when v has an offset (dP is then mostly offset * sum_d dO_id for every j): torch's
      own float32 SDPA measured 3.9e-4 relative to max|dk| for (1, 2, 2, 7) with
      v ~ 2 +- 3, the Triton kernel 2.8e-3. Both are errors of about one float32 rounding
      of the terms. Each dS_ij is rounded at the scale W_ij = P_ij (A_ij + |D_i|), where
      A_ij = sum_d |dO_id| |v_jd| bounds what dP_ij's dot product rounds; dq_i = s sum_j
      dS_ij k_j then rounds at s sum_j W_ij |k_j| and dk_j at s sum_i W_ij |q_i|,
      s = 1 / sqrt(hd). The floor is what lets ATTENTION_ROUNDINGS roundings of the largest
      of those pass at tolerance `tol`; it stays below max|dq| and max|dk| where nothing
      cancels."""
    if slot == "attention":
        q, k, v, dout = (t.double() for t in (*inputs, grad_out))
        scale = 1.0 / math.sqrt(q.shape[-1])
        T = q.shape[-2]
        causal = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
        probs = (q @ k.transpose(-2, -1) * scale).masked_fill(~causal, -math.inf).softmax(-1)
        delta = (probs * (dout @ v.transpose(-2, -1))).sum(-1, keepdim=True)
        w = probs * (dout.abs() @ v.abs().transpose(-2, -1) + delta.abs())  # (B, H, T, T)
        per_rounding = ATTENTION_ROUNDINGS * FLOAT32_UNIT_ROUNDOFF * scale / tol
        return {"grad_q": per_rounding * (w @ k.abs()).max().item(),
                "grad_k": per_rounding * (w.transpose(-2, -1) @ q.abs()).max().item()}
    if slot == "layer_norm":
        x, w = inputs[0].double(), inputs[1].double()
        rstd = 1.0 / torch.sqrt(x.var(dim=-1, unbiased=False, keepdim=True) + 1e-5)
        return {"grad_x": (rstd * (w * grad_out.double()).abs()).max().item()}
    if slot == "cross_entropy":
        return {"output": 1.0, "grad_logits": abs(float(grad_out)) / inputs[0].shape[0]}
    if slot == "gelu":
        return {"output": inputs[0].abs().max().item(), "grad_x": grad_out.abs().max().item()}
    return {}


# ---------------------------------------------------------------------------- measuring

def measure(device: str, seeds: int) -> dict[str, dict[str, float]]:
    """The largest error of every registered implementation over `seeds` seeds (the
    numbers the tolerance table is set from)."""
    from kernels import registry

    worst: dict[str, dict[str, float]] = {}
    for impl in registry.implementations():
        key = f"{impl.slot}/{impl.name}"
        for seed in range(seeds):
            report = check_kernel(impl.slot, impl.fn, device, seed=seed,
                                  shapes=None if impl.name != "triton" or device != "cpu"
                                  else SMALL_SHAPES[impl.slot] + [preset_shape(impl.slot, "tiny")])
            errors = [e for case in report.cases for e in case["errors"].values() if e is not None]
            worst.setdefault(key, {"max_error": 0.0, "failures": 0})
            worst[key]["max_error"] = max(worst[key]["max_error"], *errors, 0.0)
            worst[key]["failures"] += len(report.failures)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description="Largest kernel-check error per implementation")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    for key, row in measure(args.device, args.seeds).items():
        print(f"{key:28s} max error {row['max_error']:.3g}   failures {row['failures']}")


if __name__ == "__main__":
    main()
