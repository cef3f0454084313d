"""Calibration of the training checks' thresholds: measured, not guessed.

For each seed, the baseline trains once (the reference) and then every variant trains on the
same inputs; the three distances of `tolerances.METRIC_DOCS` are measured between each
variant and the reference, evaluated on held-out text of the seed's own.

Legal variants (the same training, computed differently): the same code twice; every slot
torch-native (`kernels.native`); bf16 autocast with fp32 master weights; on CUDA, every slot
from our Triton kernels. Illegal variants (a different training): 1%, 5%, 20% of the steps
skipped; the learning rate 5% higher or lower; the batch order shuffled; one transformer
layer frozen; half the steps at double the learning rate; master weights rounded to bf16
after every update. All run in this process: they are our own code, not a submission.

Thresholds: see RULE. bf16 autocast (torch-native slots, which upcast softmax, layer norm
and the loss as a careful bf16 solution would) is admitted as legal only if admitting it
loses no detection.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import platform
import sys
import time
import types
from collections.abc import Callable

import torch

import baseline
from baseline import ops as naive_ops
from baseline.model import decays, param_shapes

from . import tolerances
from .training_check import metrics

MIN_MARGIN = 2.0
RULE = ("per metric, with L the largest legal distance (over variants and seeds) and I the "
        "smallest illegal one (a variant's minimum over seeds) that is at least "
        "MIN_MARGIN^2 = 4 times L: threshold sqrt(L * I), a margin of at least 2 on both "
        "sides; a metric with no such I: 2 * L (it still bounds legal drift). A cheat is "
        "detected when, on every seed, at least one metric exceeds its threshold.")
SEED_BASE = 7000  # calibration seeds are public: 7000, 7001, ...
CORE_LEGAL = ("same_code", "torch_native", "triton_kernels")
OPTIONAL_LEGAL = ("bf16_autocast",)
ILLEGAL = ("skip_1pct", "skip_5pct", "skip_20pct", "lr_plus_5pct", "lr_minus_5pct",
           "shuffled_batches", "frozen_layer", "half_steps_double_lr", "bf16_weights")

Variant = Callable[[dict, dict, int], dict]  # (cfg, inputs, seed) -> train's result


# ---------------------------------------------------------------------------- variants

def ops_with(cfg: dict, *, base: types.ModuleType | types.SimpleNamespace = naive_ops,
             skip: frozenset[int] = frozenset(), lr_scale: float = 1.0,
             frozen_prefix: str | None = None, round_bf16: bool = False) -> types.SimpleNamespace:
    """`base`'s slots, with an AdamW that cheats: skips the update at the steps in `skip`,
    scales the learning rate, leaves parameters named `frozen_prefix*` alone, or rounds the
    master weights to bf16. baseline.train calls adamw once per group, decaying parameters
    first (weight_decay > 0), in `param_shapes` order: that is how names are recovered."""
    shapes = param_shapes(cfg)
    groups = {True: [n for n, s in shapes.items() if decays(n, s)],
              False: [n for n, s in shapes.items() if not decays(n, s)]}

    @torch.no_grad()
    def adamw(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, weight_decay, **kw):
        names = groups[weight_decay > 0]
        assert len(names) == len(params), "baseline.train's parameter groups changed"
        if step in skip:
            return
        keep = [i for i, n in enumerate(names)
                if frozen_prefix is None or not n.startswith(frozen_prefix)]
        base.adamw([params[i] for i in keep], [grads[i] for i in keep],
                   [exp_avgs[i] for i in keep], [exp_avg_sqs[i] for i in keep],
                   step=step, lr=lr * lr_scale, weight_decay=weight_decay, **kw)
        if round_bf16:
            for p in params:
                p.copy_(p.to(torch.bfloat16).to(p.dtype))

    slots = {s: getattr(base, s) for s in naive_ops.SLOTS if s != "adamw"}
    return types.SimpleNamespace(**slots, adamw=adamw)


def evenly_spaced(steps: int, fraction: float) -> frozenset[int]:
    """max(1, round(fraction * steps)) step numbers (1-based) spread over the whole run."""
    n = max(1, round(fraction * steps))
    return frozenset(min(steps, max(1, round((i + 0.5) * steps / n))) for i in range(n))


def _triton_ops() -> types.SimpleNamespace:
    from kernels import registry

    return types.SimpleNamespace(**{s: registry.get(s, "triton") for s in naive_ops.SLOTS})


def variants(cfg: dict) -> dict[str, Variant]:
    import kernels.native

    steps = cfg["steps"]
    device_type = "cuda" if cfg["device"] == "cuda" else "cpu"

    def with_ops(**kw) -> Variant:
        return lambda c, inputs, seed: baseline.train(c, **inputs, ops=ops_with(c, **kw))

    def autocast(c, inputs, seed):
        with torch.autocast(device_type, dtype=torch.bfloat16):
            return baseline.train(c, **inputs, ops=kernels.native)

    def shuffled(c, inputs, seed):
        order = torch.randperm(steps, generator=torch.Generator().manual_seed(seed))
        return baseline.train(c, inputs["init"], inputs["tokens"], inputs["batches"][order])

    return {
        "same_code": lambda c, inputs, seed: baseline.train(c, **inputs),
        "torch_native": lambda c, inputs, seed: baseline.train(c, **inputs, ops=kernels.native),
        "triton_kernels": lambda c, inputs, seed: baseline.train(c, **inputs, ops=_triton_ops()),
        "bf16_autocast": autocast,
        "skip_1pct": with_ops(skip=evenly_spaced(steps, 0.01)),
        "skip_5pct": with_ops(skip=evenly_spaced(steps, 0.05)),
        "skip_20pct": with_ops(skip=evenly_spaced(steps, 0.20)),
        "lr_plus_5pct": with_ops(lr_scale=1.05),
        "lr_minus_5pct": with_ops(lr_scale=0.95),
        "shuffled_batches": shuffled,
        "frozen_layer": with_ops(frozen_prefix="h.0."),
        "half_steps_double_lr": with_ops(skip=frozenset(range(2, steps + 1, 2)), lr_scale=2.0),
        "bf16_weights": with_ops(round_bf16=True),
    }


def skipped_variants(preset: str, device: str) -> dict[str, str]:
    """Variants not run here, with the reason (recorded in the file)."""
    skipped = {}
    if device != "cuda":
        skipped["triton_kernels"] = ("Triton runs only through its interpreter without a GPU: "
                                     "correctness-only and far too slow for whole runs")
        if preset != "tiny":
            skipped["bf16_autocast"] = (
                "bf16 is emulated on CPUs without AVX-512 BF16/AMX: on the project's 2-core "
                "AMD EPYC a 1024^3 matmul ran at 0.9 GFLOP/s in bf16 vs 115 in fp32, so whole "
                "bf16 runs of this preset are impractical there")
    return skipped


# ---------------------------------------------------------------------------- measuring

def measure(preset: str, device: str, seeds: list[int],
            on_run: Callable[[str], None] | None = None) -> dict:
    """{"legal"/"illegal": {variant: {metric: [value per seed]}}, "skipped": {...}}."""
    cfg = baseline.get_preset(preset).to_cfg(device)
    skipped = skipped_variants(preset, device)
    table = variants(cfg)
    names = [n for n in (*CORE_LEGAL, *OPTIONAL_LEGAL, *ILLEGAL) if n not in skipped]
    out = {"legal": {}, "illegal": {}, "skipped": skipped}
    for seed in seeds:
        inputs = baseline.make_inputs(cfg, seed)
        heldout = baseline.make_heldout(cfg, seed)
        ref = baseline.train(cfg, **inputs)
        _note(on_run, f"seed {seed}: reference")
        for name in names:
            result = table[name](cfg, inputs, seed)
            m = metrics(ref["state_dict"], ref["losses"], result["state_dict"],
                        result["losses"], inputs["init"], cfg, heldout)
            side = "illegal" if name in ILLEGAL else "legal"
            row = out[side].setdefault(name, {k: [] for k in tolerances.METRICS})
            for k in tolerances.METRICS:
                row[k].append(m[k])
            _note(on_run, f"seed {seed}: {name}")
    return out


def _note(on_run, text: str) -> None:
    if on_run is not None:
        on_run(text)


# ---------------------------------------------------------------------------- thresholds

def choose_thresholds(legal: dict, illegal: dict) -> tuple[dict, dict]:
    """(threshold per metric, margins per metric): module docstring's rule."""
    thresholds, margins = {}, {}
    for m in tolerances.METRICS:
        worst_legal = max(max(v[m]) for v in legal.values())
        floor = max(worst_legal, 1e-12)  # the same code twice can be exactly 0
        mins = sorted(min(v[m]) for v in illegal.values())
        separable = [x for x in mins if x >= MIN_MARGIN**2 * floor]
        if separable:
            thresholds[m] = math.sqrt(floor * separable[0])
            margins[m] = {"legal": thresholds[m] / floor, "illegal": separable[0] / thresholds[m]}
        else:
            thresholds[m] = MIN_MARGIN * floor
            margins[m] = {"legal": MIN_MARGIN, "illegal": None}
        margins[m]["largest_legal"] = worst_legal
    return thresholds, margins


def detection(illegal: dict, thresholds: dict) -> dict:
    """Per illegal variant: detected on every seed? by which metrics (on every seed)? and
    the margin (smallest over seeds of the largest value/threshold ratio)."""
    out = {}
    for name, row in illegal.items():
        n = len(next(iter(row.values())))
        ratios = [{m: row[m][i] / thresholds[m] for m in tolerances.METRICS} for i in range(n)]
        out[name] = {
            "detected": all(max(r.values()) > 1.0 for r in ratios),
            "by": [m for m in tolerances.METRICS if all(r[m] > 1.0 for r in ratios)],
            "margin": min(max(r.values()) for r in ratios),
        }
    return out


def decide(measured: dict) -> dict:
    """Thresholds, admitted legal variants, detection and the smallest cheat detected."""
    legal, illegal = measured["legal"], measured["illegal"]
    core = {k: v for k, v in legal.items() if k in CORE_LEGAL}
    thresholds, margins = choose_thresholds(core, illegal)
    found = detection(illegal, thresholds)
    admitted, not_admitted = sorted(core), {}
    for name in OPTIONAL_LEGAL:
        if name not in legal:
            continue
        trial, trial_margins = choose_thresholds({**core, name: legal[name]}, illegal)
        trial_found = detection(illegal, trial)
        lost = [v for v in found if found[v]["detected"] and not trial_found[v]["detected"]]
        if lost:
            not_admitted[name] = f"admitting it would hide: {', '.join(lost)}"
            continue
        core[name] = legal[name]
        admitted.append(name)
        thresholds, margins, found = trial, trial_margins, trial_found
    detected = [v for v in found if found[v]["detected"]]
    smallest = min(detected, key=lambda v: min(illegal[v]["weights"]), default=None)
    return {
        "thresholds": thresholds, "margins": margins, "admitted_legal": admitted,
        "not_admitted": not_admitted, "detection": found,
        "undetected": [v for v in found if not found[v]["detected"]],
        "smallest_cheat_detected": None if smallest is None else {
            "variant": smallest, "weights": min(illegal[smallest]["weights"]),
            "note": "the detected cheat that moves the weights least"},
    }


def device_name(device: str) -> str:
    """The GPU's name on CUDA, the processor's model on CPU: what calibrations, records and
    the roofline's datasheet table name a machine by."""
    if device == "cuda":
        return torch.cuda.get_device_name()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def calibrate(preset: str, device: str, n_seeds: int = 3,
              on_run: Callable[[str], None] | None = None, path=None) -> dict:
    """Measure, decide, and write the preset/device entry of tolerances.json."""
    start = time.perf_counter()
    seeds = [SEED_BASE + i for i in range(n_seeds)]
    measured = measure(preset, device, seeds, on_run)
    entry = {
        "preset": preset, "device": device, "device_name": device_name(device),
        "date": datetime.date.today().isoformat(), "torch": torch.__version__,
        "python": platform.python_version(), "seeds": seeds,
        "rule": RULE,
        **decide(measured),
        "legal": measured["legal"], "illegal": measured["illegal"],
        "skipped": measured["skipped"],
        "wall_s": round(time.perf_counter() - start, 1), "command": " ".join(sys.argv),
    }
    tolerances.save_entry(preset, device, entry, path or tolerances.PATH)
    return entry


def runs_per_seed(preset: str, device: str) -> int:
    skipped = skipped_variants(preset, device)
    return 1 + sum(n not in skipped for n in (*CORE_LEGAL, *OPTIONAL_LEGAL, *ILLEGAL))
