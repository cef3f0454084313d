"""From measured distances to thresholds: the rule, detection, which optional legal variants
are admitted, whether the fast base is close enough to the reference, and where each
precision cut lands. Pure functions of the measurements (`calibrate.measure`'s output):

    {"legal": {variant: {metric: [value per seed]}}, "illegal": {...},
     "failed": {variant: why its sandboxed run was rejected}}

A legal variant outside CORE_LEGAL is optional: bf16 autocast, and a preset's shipped
solutions (calibration_variants.SOLUTION_VARIANTS, weighed first, in their order). Each is
admitted when admitting it hides no cheat that was caught without it, else not admitted
with the cheats it would hide; a solution whose run failed is not admitted, with why.
"""

from __future__ import annotations

import math

from .tolerances import METRICS

MIN_MARGIN = 2.0
RULE = ("per metric, with L the largest legal distance (over variants and seeds) and I the "
        "smallest illegal one (a variant's minimum over seeds) that is at least "
        "MIN_MARGIN^2 = 4 times L: threshold sqrt(L * I), a margin of at least 2 on both "
        "sides; a metric with no such I: 2 * L (it still bounds legal drift). A cheat is "
        "detected when, on every seed, at least one metric exceeds its threshold.")
CORE_LEGAL = ("same_code", "torch_native", "triton_kernels")
OPTIONAL_LEGAL = ("bf16_autocast",)
ILLEGAL = ("skip_1pct", "skip_5pct", "skip_20pct", "lr_plus_5pct", "lr_minus_5pct",
           "shuffled_batches", "frozen_layer", "half_steps_double_lr", "bf16_weights",
           "fp16_weights")
PRECISION_CUTS = ("bf16_autocast", "bf16_weights", "fp16_weights")
# The legal variant that IS the fast base every other variant trains on. A cheat measured on
# the fast base is off from the same cheat on the naive code by about the fast base's own
# distance from the reference, so that distance must be small beside every illegal one:
# at 5% of the smallest, the error is far inside the factor MIN_MARGIN the rule leaves
# between a threshold and the cheats above it.
FAST_BASE = "torch_native"
FAST_BASE_LIMIT = 0.05
_FLOOR = 1e-12  # the same code twice can be exactly 0


def choose_thresholds(legal: dict, illegal: dict) -> tuple[dict, dict]:
    """(threshold per metric, margins per metric): RULE."""
    thresholds, margins = {}, {}
    for m in METRICS:
        worst_legal = max(max(v[m]) for v in legal.values())
        floor = max(worst_legal, _FLOOR)
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
        ratios = [{m: row[m][i] / thresholds[m] for m in METRICS} for i in range(n)]
        out[name] = {
            "detected": all(max(r.values()) > 1.0 for r in ratios),
            "by": [m for m in METRICS if all(r[m] > 1.0 for r in ratios)],
            "margin": min(max(r.values()) for r in ratios),
        }
    return out


def fast_base_check(legal: dict, illegal: dict) -> dict:
    """Per metric, the fast base's distance from the reference (its largest over seeds)
    beside the smallest illegal distance (over variants and seeds); `ok` when every ratio is
    at most FAST_BASE_LIMIT."""
    base = legal[FAST_BASE]
    rows = {}
    for m in METRICS:
        distance = max(base[m])
        variant = min(illegal, key=lambda v: min(illegal[v][m]))
        smallest = min(illegal[variant][m])
        ratio = distance / smallest if smallest > 0 else (0.0 if distance == 0 else None)
        rows[m] = {"distance": distance, "smallest_illegal": smallest,
                   "smallest_illegal_variant": variant, "ratio": ratio}
    ok = all(r["ratio"] is not None and r["ratio"] <= FAST_BASE_LIMIT for r in rows.values())
    return {"variant": FAST_BASE, "limit": FAST_BASE_LIMIT, "ok": ok, "metrics": rows}


def _band(rows: dict, names: list[str]) -> dict[str, float]:
    return {m: max((max(rows[n][m]) for n in names), default=0.0) for m in METRICS}


def precision_report(legal: dict, illegal: dict, decided: dict) -> dict:
    """Where each precision cut lands: per metric its distance (legal: largest over seeds;
    illegal: smallest), the admitted legal band (the largest legal distance, the cut itself
    left out), the distance over the band (None for a band of 0) and over the threshold,
    and a verdict in words."""
    out = {}
    for name in PRECISION_CUTS:
        if name in legal:
            rows, kind, pick = legal[name], "legal", max
        elif name in illegal:
            rows, kind, pick = illegal[name], "illegal", min
        else:
            continue
        band = _band(legal, [n for n in decided["admitted_legal"] if n != name])
        lands = {m: {"value": pick(rows[m]), "legal_band": band[m],
                     "x_legal_band": pick(rows[m]) / band[m] if band[m] > 0 else None,
                     "x_threshold": pick(rows[m]) / decided["thresholds"][m]} for m in METRICS}
        if kind == "illegal" and decided["detection"][name]["detected"]:
            found = decided["detection"][name]
            verdict = (f"caught on every seed, by {', '.join(found['by']) or 'one metric per seed'}"
                       f" (margin x{found['margin']:.1f})")
        elif kind == "illegal":
            verdict = ("NOT separable from the legal variants: on at least one seed every "
                       "metric is within its threshold, so a solution that does this passes")
        elif name in decided["admitted_legal"]:
            verdict = "admitted as legal: admitting it hides no cheat"
        else:
            verdict = f"not admitted as legal: {decided['not_admitted'][name]}"
        out[name] = {"kind": kind, "metrics": lands, "verdict": verdict}
    return out


def decide(measured: dict) -> dict:
    """Thresholds, admitted legal variants, detection, the smallest cheat detected, the fast
    base's check and the precision report."""
    legal, illegal = measured["legal"], measured["illegal"]
    core = {k: v for k, v in legal.items() if k in CORE_LEGAL}
    thresholds, margins = choose_thresholds(core, illegal)
    found = detection(illegal, thresholds)
    admitted = sorted(core)
    not_admitted = {name: f"its run failed: {why}"
                    for name, why in measured.get("failed", {}).items()}
    for name in [n for n in legal if n not in CORE_LEGAL]:
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
    decided = {
        "thresholds": thresholds, "margins": margins, "admitted_legal": admitted,
        "not_admitted": not_admitted, "detection": found,
        "undetected": [v for v in found if not found[v]["detected"]],
        "smallest_cheat_detected": None if smallest is None else {
            "variant": smallest, "weights": min(illegal[smallest]["weights"]),
            "note": "the detected cheat that moves the weights least"},
        "fast_base": fast_base_check(legal, illegal) if FAST_BASE in legal else None,
    }
    decided["precision"] = precision_report(legal, illegal, decided)
    return decided
