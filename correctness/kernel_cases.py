"""The inputs of a kernel check, drawn by the judge: every case of one slot (a shape, a
value scale and an offset, fresh random values from a seed), what is sent to the
implementation and the float64 reference kept back for grading (correctness.kernel_check).

    make_cases(slot, device, *, shapes=None, seed=None, dtype=float32) -> [Case]

Inputs are drawn on the CPU, with a CPU generator and an explicit device, then cast to the
dtype there: the same seed gives the same inputs on every device, and nothing depends on
a default device. The reference is computed on the CPU too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from baseline import get_preset
from baseline import ops as naive
from baseline.model import slot_shape

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

# AdamW cases: 3 steps from the given step number, lr and weight decay per case.
ADAMW_STEPS = 3
ADAMW_SETTINGS = [(1, 1e-3, 0.1), (100, 3e-2, 0.0), (7, 1e-2, 0.1)]


def preset_shape(slot: str, preset: str):
    """The shape a slot sees in training on a preset (baseline.model.slot_shape)."""
    return slot_shape(slot, get_preset(preset).to_cfg())


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


def _flat(shape) -> tuple:
    return tuple(shape) if all(isinstance(s, int) for s in shape) else tuple(map(list, shape))
