"""Kernel checks: one implementation of one slot against the float64 reference, graded in
the judge's process.

    make_cases(slot, device, *, shapes=None, seed=None, dtype=float32) -> [Case]
    grade(case, outputs, info) -> failures          (fills case.record["errors"])
    check_kernel(slot, impl, device="cpu", *, shapes=None, seed=None) -> KernelReport

A check is three steps, so that the implementation never runs where it is graded: the
judge draws the inputs (`make_cases`), the implementation is called on them
(`correctness.child.kernel_calls.call`: in the sandboxed child for a solution's KERNELS,
in-process for our own library in `check_kernel`), and the judge grades what came back.
For every case (a shape, a value scale and an offset, fresh random values from `seed`):

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

Inputs are drawn on the CPU, with a CPU generator and an explicit device, then cast to the
dtype there: the same seed gives the same inputs on every device, and nothing depends on
a default device. The reference is computed on the CPU too.

`python -m correctness.kernel_check` prints the largest error each registered
implementation reaches over many seeds: the measurements behind the tolerance table.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from baseline import ops as naive
from baseline.config import PRESETS
from baseline.model import param_shapes

from .child import kernel_calls
from .kernel_tolerances import tolerance

Shape = tuple[int, ...]
CPU = torch.device("cpu")


INPUT_NAMES = {
    "layer_norm": ("x", "weight", "bias"),
    "attention": ("q", "k", "v"),
    "gelu": ("x",),
    "cross_entropy": ("logits",),  # targets are integers: compared for changes, not graded
}

# Small odd shapes, non-powers of two, size-1 edges and one beyond a single Triton block.
SMALL_SHAPES: dict[str, list] = {
    # Rows of at least 3: with C = 1 the output is exactly the bias (x_hat = 0/sqrt(eps)),
    # with C = 2 x_hat is +-1 and the x-gradient cancels to ~eps, so any rounding is a huge
    # relative error of a near-zero result (torch's own F.layer_norm measured 4e-5 and 3.5
    # there); those shapes test the float format, not the kernel.
    "layer_norm": [(1, 3), (5, 3), (2, 7, 33), (3, 100), (4, 257)],
    "attention": [(1, 1, 1, 4), (2, 3, 17, 16), (1, 2, 65, 32), (2, 1, 33, 7)],
    "gelu": [(1,), (7, 3), (1000,), (3, 5, 129)],
    "cross_entropy": [(1, 2), (7, 3), (33, 100), (5, 5000)],
    "adamw": [((7, 3), (5,), (1,)), ((33, 17), (129,), (2, 3, 4))],
}

# (scale, offset) of the values; case i uses condition (i + seed) mod len. Offsets test
# cancellation (layer norm's mean, cross entropy's max), scales test range.
CONDITIONS: dict[str, list[tuple[float, float]]] = {
    "layer_norm": [(1.0, 0.0), (10.0, 3.0), (0.1, 1.0)],
    "attention": [(1.0, 0.0), (2.0, 3.0), (0.3, -1.0)],
    "gelu": [(1.0, 0.0), (5.0, 0.0), (0.1, 0.0), (2.0, -3.0)],
    "cross_entropy": [(1.0, 0.0), (5.0, 20.0), (0.1, -4.0)],
    "adamw": [(1.0, 0.0), (1e-4, 0.0), (30.0, 0.0)],  # gradient scale: eps matters at 1e-4
}

# Attention gradients may be off by this many float32 roundings of the terms that cancel in
# them (see _floors): about 10x the worst measured (kernel_tolerances.py's attention entry).
# Float32 because the math inside every kernel is float32, bf16 ones included; against the
# bf16 tolerance the floor is then tiny, and the bf16 output rounding dominates anyway.
FLOAT32_UNIT_ROUNDOFF = 2.0**-24
ATTENTION_ROUNDINGS = 16

# AdamW cases: 3 steps from the given step number, lr and weight decay per case.
ADAMW_STEPS = 3
ADAMW_SETTINGS = [(1, 1e-3, 0.1), (100, 3e-2, 0.0), (7, 1e-2, 0.1)]



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


def preset_shape(slot: str, preset: str):
    """The shape a slot sees in training on a preset (adamw: every parameter's shape)."""
    p = PRESETS[preset]
    B, T, C, H = p.batch_size, p.seq_len, p.d_model, p.n_head
    return {
        "layer_norm": (B, T, C),
        "attention": (B, H, T, C // H),
        "gelu": (B, T, 4 * C),
        "cross_entropy": (B * T, p.vocab_size),
        "adamw": tuple(param_shapes(p.to_cfg()).values()),
    }[slot]


def default_shapes(slot: str, device: str) -> list:
    """Small odd shapes plus the presets' own: `tiny` and `cpu` everywhere, `gpu` on CUDA
    (running the implementation at its sizes on a CPU is slow and tests nothing new)."""
    presets = ["tiny", "cpu"] + (["gpu"] if torch.device(device).type == "cuda" else [])
    return SMALL_SHAPES[slot] + [preset_shape(slot, name) for name in presets]


def new_seed() -> int:
    return int.from_bytes(os.urandom(4), "little") >> 1


# ---------------------------------------------------------------------------- cases

@dataclass
class Case:
    """One call of an implementation: what is sent (`meta`, `tensors`: CPU, in the check's
    dtype), what the judge keeps (`reference`, the float64 results), and the report row."""

    slot: str
    dtype: torch.dtype
    meta: dict
    tensors: dict[str, Tensor]
    reference: dict[str, Tensor]
    record: dict

    @property
    def name(self) -> str:
        return self.record["name"]


def make_cases(slot: str, device: str = "cpu", *, shapes: Sequence | None = None,
               seed: int | None = None, dtype: torch.dtype = torch.float32) -> list[Case]:
    """The cases of one check: every shape of `shapes` (default: default_shapes) with a
    scale and offset, its inputs drawn from `seed` on the CPU."""
    if slot not in naive.SLOTS:
        raise ValueError(f"unknown slot {slot!r}; choose one of {', '.join(naive.SLOTS)}")
    seed = new_seed() if seed is None else seed
    conditions = CONDITIONS[slot]
    cases = []
    for i, shape in enumerate(default_shapes(slot, device) if shapes is None else shapes):
        scale, offset = conditions[(i + seed) % len(conditions)]
        gen = torch.Generator(device=CPU).manual_seed(seed * 1009 + i)
        make = _adamw_case if slot == "adamw" else _differentiable_case
        cases.append(make(slot, shape, scale, offset, gen, i, dtype))
    return cases


def _values(gen: torch.Generator, shape: Shape, scale: float, offset: float) -> Tensor:
    return torch.randn(shape, generator=gen, dtype=torch.float64, device=CPU) * scale + offset


def _inputs(slot: str, shape: Shape, scale: float, offset: float, gen: torch.Generator):
    """(tensors, kwargs) for one call, float64 on the CPU."""
    if slot == "layer_norm":
        c = shape[-1]
        weight = 1.0 + 0.5 * torch.randn(c, generator=gen, dtype=torch.float64, device=CPU)
        bias = 0.5 * torch.randn(c, generator=gen, dtype=torch.float64, device=CPU)
        return [_values(gen, shape, scale, offset), weight, bias], {"eps": 1e-5}
    if slot == "attention":
        q, k = _values(gen, shape, scale, 0.0), _values(gen, shape, scale, 0.0)
        return [q, k, _values(gen, shape, scale, offset)], {}
    if slot == "gelu":
        return [_values(gen, shape, scale, offset)], {}
    n, v = shape
    targets = torch.randint(0, v, (n,), generator=gen, device=CPU)
    return [_values(gen, shape, scale, offset), targets], {}


def _nbytes(t: Tensor, dtype: torch.dtype) -> int:
    return t.numel() * torch.empty((), dtype=dtype, device=CPU).element_size()


def _differentiable_case(slot, shape, scale, offset, gen, index, dtype) -> Case:
    master, kwargs = _inputs(slot, shape, scale, offset, gen)
    n_diff = len(INPUT_NAMES[slot])
    cast = [t.to(dtype) if t.is_floating_point() else t for t in master]
    # the reference: the rounded inputs, in float64
    ref_in = [t.to(torch.float64).requires_grad_(i < n_diff) if t.is_floating_point() else t
              for i, t in enumerate(cast)]
    ref_out = getattr(naive, slot)(*ref_in, **kwargs)
    grad_out = torch.randn(ref_out.shape, generator=gen, dtype=torch.float64, device=CPU)
    grad_out = grad_out.to(dtype)
    ref_grads = torch.autograd.grad(ref_out, ref_in[:n_diff], grad_out.to(torch.float64))
    meta = {"kind": "differentiable", "slot": slot, "n_inputs": len(cast), "n_diff": n_diff,
            "kwargs": kwargs, "poison_forward": [_nbytes(ref_out, dtype)],
            "poison_backward": [_nbytes(t, dtype) for t in cast[:n_diff]]}
    tensors = {**{f"in.{j}": t for j, t in enumerate(cast)}, "grad_out": grad_out}
    reference = {"out": ref_out.detach(),
                 **{f"grad.{j}": g for j, g in enumerate(ref_grads)}}
    record = {"name": f"case {index} {slot}{tuple(shape)} scale={scale:g} offset={offset:g}",
              "shape": list(_flat(shape)), "scale": scale, "offset": offset,
              "tolerance": tolerance(dtype, slot), "errors": {}}
    return Case(slot, dtype, meta, tensors, reference, record)


def _adamw_case(slot, shapes, scale, offset, gen, index, dtype) -> Case:
    step0, lr, wd = ADAMW_SETTINGS[index % len(ADAMW_SETTINGS)]
    hyper = {"lr": lr, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": wd}

    def draw(s, factor=1.0):
        return factor * torch.randn(s, generator=gen, dtype=torch.float64, device=CPU)

    # A state mid-training: params ~ N(0, 1), moments of a gradient of this scale.
    state = {"param": [draw(s) for s in shapes],
             "exp_avg": [draw(s, 0.1 * scale) for s in shapes],
             "exp_avg_sq": [draw(s, scale) ** 2 for s in shapes]}
    state = {group: [t.to(dtype) for t in values] for group, values in state.items()}
    ref = {group: [t.to(torch.float64) for t in values] for group, values in state.items()}
    tensors = {f"{group}.{j}": t for group, values in state.items() for j, t in enumerate(values)}
    steps = list(range(step0, step0 + ADAMW_STEPS))
    for k, step in enumerate(steps):
        grads = [draw(s, scale).to(dtype) for s in shapes]
        tensors.update({f"grad.{k}.{j}": g for j, g in enumerate(grads)})
        naive.adamw(ref["param"], [g.to(torch.float64) for g in grads], ref["exp_avg"],
                    ref["exp_avg_sq"], step=step, **hyper)
    reference = {f"{group}.{j}": t for group, values in ref.items() for j, t in enumerate(values)}
    reference.update({f"start.{j}": t.to(torch.float64) for j, t in enumerate(state["param"])})
    meta = {"kind": "adamw", "slot": slot, "n_params": len(shapes), "steps": steps,
            "hyper": hyper}
    record = {"name": (f"case {index} adamw({len(shapes)} params) step={step0} lr={lr:g} "
                       f"wd={wd:g} grad scale={scale:g}"),
              "shape": [list(s) for s in shapes], "scale": scale, "offset": offset,
              "tolerance": tolerance(dtype, slot), "errors": {}}
    return Case(slot, dtype, meta, tensors, reference, record)


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


def _flat(shape) -> tuple:
    return tuple(shape) if all(isinstance(s, int) for s in shape) else tuple(map(list, shape))


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
