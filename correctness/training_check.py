"""Training checks: does a solution compute the same training as the baseline?

    check_training(solution_dir, preset, device) -> TrainingVerdict     the whole judgement
    compare(ref, cand, cfg, init, heldout, tolerances) -> list[Check]  one pair of runs

The candidate and the baseline train on the same init and batches, drawn from a secret
seed per call (the `secrets` module; never printed, never in a child's environment). The
candidate runs FIRST, so no reference result exists anywhere while untrusted code runs;
the held-out text is drawn from a second secret seed only after the candidate's process is
dead. The harness, never the solution, evaluates the returned weights on it.

Checks, in order (the first failure is `rejected_by`): static_scan, kernels (when the
solution declares KERNELS), the sandboxed run itself (its RunResult.check on failure),
results (names/shapes/dtypes/one loss per step), finite, then the three calibrated metrics
of `tolerances.METRIC_DOCS`: heldout_loss, weights, trajectory. The scan runs once per
check, here: the candidate's sandboxed runs (kernels, training) are told it was scanned.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

import baseline

from . import static_scan as scanner
from . import tolerances as tolerance_table
from .sandbox import RunResult, check_solution_kernels, kernel_failures, run_solution
from .solution import reference_dir, validate_results

# Wall-clock limit of one training run: only a hang or a pathologically slow rewrite may
# reach it, on a loaded or shared machine too, so it is tens of times the baseline's own
# run: 1.7-2.5 s on tiny (results/superseded/20261126T220121_tiny_cpu_baseline_a3e045e6.json)
# and 65-70 s on cpu (results/superseded/20261126T224213_cpu_cpu_baseline_a3e045e6.json) on
# the 2-core CPU machine; 800 x 72.2 ms = 58 s on gpu on an H200
# (bench/measurements/2026-11-26-h200-gpu-preset-probe.json).
RUN_TIMEOUT_S = {"tiny": 300.0, "cpu": 2400.0, "gpu": 900.0}


def run_timeout(preset: str) -> float:
    return RUN_TIMEOUT_S.get(preset, 900.0)


class HarnessError(RuntimeError):
    """The reference run failed: the judge cannot judge (not the candidate's fault)."""


@dataclass
class Check:
    name: str
    passed: bool
    value: float | None = None
    threshold: float | None = None
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainingVerdict:
    passed: bool
    checks: list[Check]
    rejected_by: str | None
    preset: str
    device: str
    ref: RunResult | None = None
    cand: RunResult | None = None
    seed_hidden: bool = True
    kernel_reports: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        failed = [c for c in self.checks if not c.passed]
        return f"{failed[0].name}: {failed[0].detail}" if failed else "passed"


# ---------------------------------------------------------------------------- metrics

def metrics(ref_state: dict, ref_losses: list[float], cand_state: dict,
            cand_losses: list[float], init: dict, cfg: dict,
            heldout: torch.Tensor) -> dict[str, float]:
    """The three distances of tolerances.METRIC_DOCS between a candidate and the reference
    (calibration measures legal and illegal variants with the same `distances`)."""
    device = cfg["device"]
    loss_ref = baseline.heldout_loss(ref_state, cfg, heldout, device=device)
    loss_cand = baseline.heldout_loss(cand_state, cfg, heldout, device=device)
    return distances(ref_state, ref_losses, cand_state, cand_losses, init, loss_ref, loss_cand)


def distances(ref_state: dict, ref_losses: list[float], cand_state: dict,
              cand_losses: list[float], init: dict, loss_ref: float,
              loss_cand: float) -> dict[str, float]:
    """`metrics`, given the two runs' held-out losses (calibration evaluates each run once,
    where it trained, instead of the reference once per variant)."""
    names = sorted(ref_state)
    flat = {k: torch.cat([d[n].detach().double().reshape(-1).cpu() for n in names])
            for k, d in (("ref", ref_state), ("cand", cand_state), ("init", init))}
    moved = float((flat["ref"] - flat["init"]).norm())
    steps = torch.tensor(ref_losses, dtype=torch.float64)
    other = torch.tensor(cand_losses, dtype=torch.float64)
    # Trajectory: the max, not the mean, of the per-step differences. A skipped step shows
    # as a spike that the mean averages away: on tiny (seed 1), bf16 autocast (legal) had a
    # mean difference of 4.0e-3 and skipping 1% of steps 3.6e-3, but maxima of 9.4e-3 and
    # 4.0e-2.
    return {
        "heldout_loss": abs(loss_cand - loss_ref),
        "weights": float((flat["cand"] - flat["ref"]).norm()) / max(moved, 1e-30),
        "trajectory": float((other - steps).abs().max()),
        "heldout_ref": loss_ref, "heldout_cand": loss_cand,
    }


def compare(ref: RunResult, cand: RunResult, cfg: dict, init: dict, heldout: torch.Tensor,
            tolerances: dict[str, float]) -> list[Check]:
    """The checks for one candidate run against the reference run on the same inputs."""
    if not ref.ok:
        raise RuntimeError(f"the reference run failed ({ref.check}): {ref.message}")
    if not cand.ok:
        return [Check(cand.check or "run", False, detail=cand.message)]
    problem = validate_results(cand.state_dict, cand.losses, cfg)
    if problem is not None:
        return [Check(problem[0], False, detail=problem[1])]
    checks = [Check("results", True, detail="canonical names, shapes, float32, one loss "
                                            "per step"),
              Check("finite", True, detail="no NaN/inf in weights or losses")]
    m = metrics(ref.state_dict, ref.losses, cand.state_dict, cand.losses, init, cfg, heldout)
    details = {
        "heldout_loss": f"candidate {m['heldout_cand']:.5f} vs baseline {m['heldout_ref']:.5f}"
                        " nats",
        "weights": "relative distance to the baseline's weights",
        "trajectory": "largest per-step loss difference",
    }
    for name in tolerance_table.METRICS:
        checks.append(Check(name, m[name] <= tolerances[name], m[name], tolerances[name],
                            details[name]))
    return checks


# ---------------------------------------------------------------------------- the judge

def check_training(solution_dir: str | Path, preset: str, device: str, *,
                   seed: int | None = None, allow_library: bool = False, quick: bool = False,
                   static_scan: bool = True, kernel_checks: bool = True,
                   tolerances: tolerance_table.Source | None = None) -> TrainingVerdict:
    """Judge `solution_dir` on `preset`/`device` (quick: `tiny` on the CPU, seconds, still
    against `preset`'s own reference program, so a solution of the range track is judged
    against the NumPy draft it rewrites). `seed` makes a check reproducible (tests); by
    default it is secret and discarded. `static_scan=False` exists only for tests of the
    runtime defences. `tolerances`: where the thresholds are looked up (default:
    Source(), the shipped thresholds and the user's)."""
    track = baseline.get_preset(preset)
    reference = reference_dir(track)
    if quick:
        preset, device, track = "tiny", "cpu", baseline.get_preset("tiny")
    table = (tolerances or tolerance_table.Source()).thresholds(preset, device)
    cfg = track.to_cfg(device)
    verdict = TrainingVerdict(False, [], None, preset, device, seed_hidden=seed is None)

    def reject(check: Check) -> TrainingVerdict:
        verdict.checks.append(check)
        verdict.rejected_by = check.name
        return verdict

    if static_scan:
        findings = scanner.scan(solution_dir, allow_library=allow_library)
        if findings:
            return reject(Check("static_scan", False, len(findings), 0,
                                "; ".join(str(f) for f in findings[:10])))
        verdict.checks.append(Check("static_scan", True, 0, 0, "no findings"))
    # the candidate's runs below: scanned above (or, in tests, not at all)
    if kernel_checks:
        verdict.kernel_reports = check_solution_kernels(
            solution_dir, device, allow_library=allow_library, static_scan=False)
        failures = kernel_failures(verdict.kernel_reports)
        if failures:
            n_failed = sum(not r.get("passed") for r in verdict.kernel_reports.values())
            return reject(Check("kernels", False, n_failed, 0, failures))
        if verdict.kernel_reports:
            verdict.checks.append(Check("kernels", True, 0, 0, "declared KERNELS pass: "
                                        + ", ".join(verdict.kernel_reports)))

    inputs = baseline.make_inputs(cfg, secrets.randbits(63) if seed is None else seed)
    timeout = run_timeout(preset)
    verdict.cand = run_solution(solution_dir, cfg, inputs, allow_library=allow_library,
                                static_scan=False, run_timeout=timeout)
    if not verdict.cand.ok:
        return reject(Check(verdict.cand.check or "run", False, detail=verdict.cand.message))
    verdict.ref = run_solution(reference, cfg, inputs, run_timeout=timeout)
    if not verdict.ref.ok:
        raise HarnessError(f"the baseline itself failed ({verdict.ref.check}): "
                           f"{verdict.ref.message}; an overloaded machine can cause this")
    # Drawn now, with the candidate's process dead: it never existed while untrusted ran.
    heldout = baseline.make_heldout(cfg, secrets.randbits(63) if seed is None else seed)
    checks = compare(verdict.ref, verdict.cand, cfg, inputs["init"], heldout, table)
    verdict.checks.extend(checks)
    failed = [c for c in checks if not c.passed]
    verdict.passed = not failed
    verdict.rejected_by = failed[0].name if failed else None
    return verdict
