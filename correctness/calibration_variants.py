"""Calibration's runs: the reference, the legal rewrites and the cheats, each on the
implementation that runs it (`IMPLEMENTATIONS`), and which of them a preset and device skip,
with why.

    reference(preset) -> (implementation, program, train(cfg, inputs, seed) -> result)
    variants(cfg) -> {name: (implementation, train(cfg, inputs, seed) -> result)}

The reference is the preset's reference program (`baseline.Preset.reference`): baseline.train
in this process, or the program `correctness.sandbox.reference_dir` names, run sandboxed as
the judge runs it. The variants train on the fast base (`fast_base`); a cheat is the fast
base's slots with an AdamW that cheats (`cheating_ops`). A preset's shipped solutions
(`SOLUTION_VARIANTS`) are legal variants too, run sandboxed: the judge never imports a
solution.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path

import torch

import baseline
from baseline import ops as naive_ops
from baseline.model import decays, param_shapes

from . import fast_base
from .calibration_rule import CORE_LEGAL, ILLEGAL, OPTIONAL_LEGAL
from .sandbox import PROJECT_DIR, reference_dir, run_solution
from .solution import solution_hash
from .training_check import run_timeout

IMPLEMENTATIONS = {
    "naive": "baseline.train with the naive slots of baseline/ops.py (the reference)",
    "fast": "correctness.fast_base.train with the torch-native slots of kernels/native.py",
    "fast_triton": "correctness.fast_base.train with the Triton slots of kernels/",
    "sandboxed": "the run's `program` (a solution directory) run by "
                 "correctness.sandbox.run_solution, as the judge runs a solution",
}
# Shipped solutions each preset's calibration runs as legal variants (directories from the
# project's root; the variant is named by it): rungs of the track's ladder that compute the
# training in float32 by other means than the fast base, which the thresholds must admit or
# say why not (`calibration_rule.decide`). One not in this checkout is skipped with a note
# and runs from the next calibration on. On range, against the float64 draft, NumPy float32
# (range_numpy) and the C++ step (range_cpp) moved the held-out loss about 60 times as far
# as the fast base did (bench/measurements/2026-12-07-range-calibration.json); range_obvious
# stays float64 (1e-13 from the draft there) and would widen nothing. range_compiled is the
# torch float32 rung, compiled by Inductor, whose fused reductions round in yet another order.
SOLUTION_VARIANTS: dict[str, tuple[str, ...]] = {
    "range": ("solutions/range_numpy", "solutions/range_compiled", "solutions/range_cpp"),
}

Variant = Callable[[dict, dict, int], dict]  # (cfg, inputs, seed) -> train's result


class RunFailed(RuntimeError):
    """A sandboxed run was rejected; the message names the check that fired and why."""


def cheating_ops(cfg: dict, *, base: types.ModuleType | types.SimpleNamespace = naive_ops,
                 skip: frozenset[int] = frozenset(), lr_scale: float = 1.0,
                 frozen_prefix: str | None = None,
                 round_to: torch.dtype | None = None) -> types.SimpleNamespace:
    """`base`'s slots, with an AdamW that cheats: skips the update at the steps in `skip`,
    scales the learning rate, leaves parameters named `frozen_prefix*` alone, or rounds the
    master weights to `round_to` after every update. baseline.train (and fast_base.train)
    call adamw once per group, decaying parameters first (weight_decay > 0), in
    `param_shapes` order: that is how names are recovered."""
    shapes = param_shapes(cfg)
    groups = {True: [n for n, s in shapes.items() if decays(n, s)],
              False: [n for n, s in shapes.items() if not decays(n, s)]}

    @torch.no_grad()
    def adamw(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, weight_decay, **kw):
        names = groups[weight_decay > 0]
        assert len(names) == len(params), "the loop's parameter groups changed"
        if step in skip:
            return
        keep = [i for i, n in enumerate(names)
                if frozen_prefix is None or not n.startswith(frozen_prefix)]
        base.adamw([params[i] for i in keep], [grads[i] for i in keep],
                   [exp_avgs[i] for i in keep], [exp_avg_sqs[i] for i in keep],
                   step=step, lr=lr * lr_scale, weight_decay=weight_decay, **kw)
        if round_to is not None:
            for p in params:
                p.copy_(p.to(round_to).to(p.dtype))

    slots = {s: getattr(base, s) for s in naive_ops.SLOTS if s != "adamw"}
    return types.SimpleNamespace(**slots, adamw=adamw)


def evenly_spaced(steps: int, fraction: float) -> frozenset[int]:
    """max(1, round(fraction * steps)) step numbers (1-based) spread over the whole run."""
    n = max(1, round(fraction * steps))
    return frozenset(min(steps, max(1, round((i + 0.5) * steps / n))) for i in range(n))


def _triton_ops() -> types.SimpleNamespace:
    from kernels import registry

    return types.SimpleNamespace(**{s: registry.get(s, "triton") for s in naive_ops.SLOTS})


def sandboxed(directory: Path) -> Variant:
    """Train the solution in `directory` in the sandbox; its result carries `train_s` and
    `train_cpu_s`, the sandbox's go-to-done clock and its process tree's CPU time over that
    span (sandbox/usage.py), and `program_hash`, the version that ran. Calibration's seeds
    are public and its runs untimed, so a run may fill the solution's own compile caches, as
    an untimed warm-up does: a C++ extension is built once, not once per run. Raises
    RunFailed when the run is rejected."""
    def train(cfg: dict, inputs: dict, seed: int) -> dict:
        version = solution_hash(directory)
        result = run_solution(directory, cfg, inputs, run_timeout=run_timeout(cfg["name"]),
                              compile_cache="update")
        if not result.ok:
            raise RunFailed(f"rejected by {result.check}: {result.message}")
        return {"state_dict": result.state_dict, "losses": result.losses,
                "train_s": result.seconds, "train_cpu_s": (result.usage or {}).get("cpu_s"),
                "program_hash": version}

    return train


def program_name(directory: Path) -> str:
    """A directory as the record names it: from the project's root when inside it."""
    directory = Path(directory).resolve()
    root = PROJECT_DIR.resolve()
    return str(directory.relative_to(root)) if directory.is_relative_to(root) else str(directory)


def reference(preset: str) -> tuple[str, str, Variant]:
    """(implementation, program, its training): the preset's reference program."""
    if not baseline.get_preset(preset).reference:
        return "naive", "baseline.train", lambda cfg, inputs, seed: baseline.train(cfg, **inputs)
    directory = reference_dir(preset)
    return "sandboxed", program_name(directory), sandboxed(directory)


def solution_variants(preset: str) -> dict[str, Path]:
    """The preset's shipped solutions that calibration runs: variant name -> directory."""
    return {name: PROJECT_DIR / name for name in SOLUTION_VARIANTS.get(preset, ())}


def variants(cfg: dict) -> dict[str, tuple[str, Variant]]:
    """name -> (the implementation that runs it, a key of IMPLEMENTATIONS; the variant)."""
    steps = cfg["steps"]
    device_type = "cuda" if cfg["device"] == "cuda" else "cpu"

    def cheat(**kw) -> tuple[str, Variant]:
        return "fast", lambda c, inputs, seed: fast_base.train(
            c, **inputs, ops=cheating_ops(c, base=fast_base.OPS, **kw))

    def plain(c, inputs, seed):
        return fast_base.train(c, **inputs)

    def autocast(c, inputs, seed):
        with torch.autocast(device_type, dtype=torch.bfloat16):
            return fast_base.train(c, **inputs)

    def shuffled(c, inputs, seed):
        order = torch.randperm(steps, generator=torch.Generator().manual_seed(seed))
        return fast_base.train(c, inputs["init"], inputs["tokens"], inputs["batches"][order])

    return {
        "same_code": ("fast", plain),
        "torch_native": ("fast", plain),
        "triton_kernels": ("fast_triton", lambda c, inputs, seed: fast_base.train(
            c, **inputs, ops=_triton_ops())),
        "bf16_autocast": ("fast", autocast),
        "skip_1pct": cheat(skip=evenly_spaced(steps, 0.01)),
        "skip_5pct": cheat(skip=evenly_spaced(steps, 0.05)),
        "skip_20pct": cheat(skip=evenly_spaced(steps, 0.20)),
        "lr_plus_5pct": cheat(lr_scale=1.05),
        "lr_minus_5pct": cheat(lr_scale=0.95),
        "shuffled_batches": ("fast", shuffled),
        "frozen_layer": cheat(frozen_prefix="h.0."),
        "half_steps_double_lr": cheat(skip=frozenset(range(2, steps + 1, 2)), lr_scale=2.0),
        "bf16_weights": cheat(round_to=torch.bfloat16),
        "fp16_weights": cheat(round_to=torch.float16),
        **{name: ("sandboxed", sandboxed(directory))
           for name, directory in solution_variants(cfg["name"]).items()},
    }


def skipped_variants(preset: str, device: str) -> dict[str, str]:
    """Variants not run here, with the reason (recorded in the file)."""
    skipped = {name: f"no solution at {name} in this checkout: it runs from the next "
                     "calibration on after one is there"
               for name, directory in solution_variants(preset).items()
               if not (directory / "solution.py").is_file()}
    if device != "cuda":
        skipped["triton_kernels"] = ("Triton runs only through its interpreter without a GPU: "
                                     "correctness-only and far too slow for whole runs")
        if preset != "tiny":
            skipped["bf16_autocast"] = (
                "not run on CPU presets above tiny, whatever this CPU: where a CPU has no "
                "AVX-512 BF16 or AMX, bf16 is emulated (a 1024^3 matmul at 0.7-0.9 GFLOP/s "
                "in bf16 against 55-134 in fp32 on such a 2-core AMD EPYC, "
                "bench/measurements/2026-11-27-cpu-matmul.json), and whole bf16 runs of "
                "this preset would be impractical there")
    return skipped


def variant_names(preset: str, device: str) -> list[str]:
    """Every variant run here: the core legal ones, the optional ones in the order
    calibration_rule.decide weighs them (the shipped solutions first), the cheats."""
    skipped = skipped_variants(preset, device)
    names = (*CORE_LEGAL, *solution_variants(preset), *OPTIONAL_LEGAL, *ILLEGAL)
    return [n for n in names if n not in skipped]
