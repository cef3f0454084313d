"""Calibration of the training checks' thresholds: measured, not guessed.

For each seed the preset's reference program trains once, the reference: baseline.train, or
the program `baseline.Preset.reference` names (the range track's NumPy float64 draft), run
sandboxed as the judge runs it. Every variant trains on the same inputs on the fast base
(`fast_base`: the same training through torch-native slots, no host syncs), so a
calibration costs one reference run per seed and many fast ones. The distances of
`tolerances.METRIC_DOCS` are measured between each variant and the reference on held-out
text of the seed's own, except `same_code` (the fast base run twice), which is measured
against the fast base's own run: that is what "the same code twice" means here.

Legal variants (the same training, computed differently): the same code twice; every slot
torch-native (the fast base itself); bf16 autocast with fp32 master weights; on CUDA, every
slot from our Triton kernels; the preset's shipped solutions (rungs of its ladder, run
sandboxed). Illegal variants (a different training): 1%, 5%, 20% of the steps skipped; the
learning rate 5% higher or lower; the batch order shuffled; one transformer layer frozen;
half the steps at double the learning rate; master weights rounded to bf16, or to fp16,
after every update (`calibration_variants`). The fast-base variants are our own code and
run outside the sandbox; a solution never does. What the measurements decide:
`calibration_rule`. A shipped solution whose run is rejected is not admitted, with why.
Calibration refuses (CalibrationError) when the fast base itself is too far from the
reference for the cheats measured on it to stand for the cheats on the reference's code.

The runs are independent given their seed: on a CPU they run in worker processes, one per
core with one thread each (a sandboxed run's too; the reference first, as it is the
longest); on CUDA one at a time in this process. Every entry records which implementation
ran each variant.
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch

import baseline

from . import fast_base, tolerances
from .calibration_rule import FAST_BASE, FAST_BASE_LIMIT, ILLEGAL, RULE, decide
from .calibration_variants import (
    IMPLEMENTATIONS,
    RunFailed,
    reference,
    skipped_variants,
    variant_names,
    variants,
)
from .provenance import device_name
from .training_check import distances

SEED_BASE = 7000  # calibration seeds are public: 7000, 7001, ...
DEFAULT_SEEDS = 3
REFERENCE = "reference"
PROBE_STEPS = 2  # timed steps per loop behind `estimate`

Progress = Callable[[int, int, str], None]  # (runs done, runs planned, what finished)


class CalibrationError(RuntimeError):
    """The calibration could not be trusted, so nothing was written; the message says why."""


# ---------------------------------------------------------------------------- running

def runs_per_seed(preset: str, device: str) -> int:
    """The reference and every variant run here."""
    return 1 + len(variant_names(preset, device))


def default_jobs(device: str) -> int:
    """Runs at once: one per usable core on a CPU, one on CUDA (one device)."""
    if device == "cuda":
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run(cfg: dict, seed: int, name: str) -> dict:
    """One run: the reference or variant `name` trained on the seed's inputs, and its
    held-out loss (the reference model, the seed's held-out text). Weights as numpy arrays,
    so that a worker process can hand them back. A sandboxed run that was rejected gives
    {"failed": why, "seconds"}. `seconds` is the run's whole wall time, a sandbox's set-up
    included; `cpu_s` the CPU time of its training (a sandboxed run's process tree from go
    to done), which other work on the machine does not inflate as it does the wall time."""
    inputs = baseline.make_inputs(cfg, seed)
    train = reference(cfg["name"])[2] if name == REFERENCE else variants(cfg)[name][1]
    start, cpu = time.perf_counter(), time.process_time()
    try:
        result = train(cfg, inputs, seed)
    except RunFailed as e:
        return {"failed": str(e), "seconds": time.perf_counter() - start, "cpu_s": None}
    seconds = time.perf_counter() - start
    cpu_s = result.get("train_cpu_s", time.process_time() - cpu)
    heldout = baseline.make_heldout(cfg, seed)
    loss = baseline.heldout_loss(result["state_dict"], cfg, heldout, device=cfg["device"])
    return {"state_dict": {k: v.numpy() for k, v in result["state_dict"].items()},
            "losses": list(result["losses"]), "heldout": loss, "seconds": seconds,
            "cpu_s": cpu_s, "program_hash": result.get("program_hash")}


def _run_task(task: tuple[dict, int, str]) -> tuple[tuple[dict, int, str], dict]:
    return task, run(*task)


def _one_thread() -> None:
    torch.set_num_threads(1)
    # a sandboxed run's child gets OMP_NUM_THREADS from here (its ENV_PASSTHROUGH), which
    # torch and numpy's OpenBLAS both follow
    os.environ["OMP_NUM_THREADS"] = "1"


def _runs(tasks: list[tuple[dict, int, str]], jobs: int) -> Iterator[tuple[tuple, dict]]:
    """(task, result) as each run finishes."""
    if jobs <= 1:
        for task in tasks:
            yield _run_task(task)
        return
    # spawn, not fork: a forked copy of a process whose thread pools already ran can hang.
    # One thread per worker: the workers already fill the cores. A worker that dies breaks
    # the pool (an error here), where multiprocessing.Pool would start another and wait.
    pool = ProcessPoolExecutor(min(jobs, len(tasks)), initializer=_one_thread,
                               mp_context=multiprocessing.get_context("spawn"))
    try:
        for future in as_completed([pool.submit(_run_task, task) for task in tasks]):
            yield future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def measure(preset: str, device: str, seeds: list[int], on_run: Progress | None = None, *,
            jobs: int | None = None, steps: int | None = None) -> dict:
    """{"legal"/"illegal": {variant: {metric: [value per seed]}}, "skipped": {...},
    "failed": {variant: why its sandboxed run was rejected}, "runs": {variant or
    "reference": implementation, the program a sandboxed run ran, what it is measured
    against, seconds per seed}}. `steps` shortens every run (tests only: thresholds need
    whole runs). Raises CalibrationError when the reference program's run is rejected."""
    cfg = baseline.get_preset(preset).to_cfg(device)
    if steps is not None:
        cfg = {**cfg, "steps": steps}
    table = variants(cfg)
    names = variant_names(preset, device)
    tasks = [(cfg, seed, REFERENCE) for seed in seeds]
    tasks += [(cfg, seed, name) for seed in seeds for name in names]
    results = {}
    for done, ((_, seed, name), result) in enumerate(_runs(tasks, jobs or default_jobs(device)),
                                                     1):
        results[seed, name] = result
        if on_run is not None:
            on_run(done, len(tasks), f"seed {seed}: {name} {result['seconds']:.1f} s")
    runs, failed = _run_rows(preset, names, table, seeds, results)
    out = {"legal": {}, "illegal": {}, "skipped": skipped_variants(preset, device),
           "failed": failed, "runs": runs}
    names = [n for n in names if n not in failed]
    for seed in seeds:
        init = baseline.make_init(cfg, seed)
        for name in names:
            ref, cand = results[seed, runs[name]["against"]], results[seed, name]
            m = distances(_tensors(ref), ref["losses"], _tensors(cand), cand["losses"], init,
                          ref["heldout"], cand["heldout"])
            side = "illegal" if name in ILLEGAL else "legal"
            row = out[side].setdefault(name, {k: [] for k in tolerances.METRICS})
            for k in tolerances.METRICS:
                row[k].append(m[k])
    return out


def _run_rows(preset: str, names: list[str], table: dict, seeds: list[int],
              results: dict) -> tuple[dict, dict]:
    """(runs, failed): per run its implementation, the program a sandboxed one ran (and its
    hash per seed), what it is measured against, and its seconds and CPU seconds per seed;
    the variants whose sandboxed run was rejected, with why. Raises CalibrationError when
    the reference's run was rejected."""
    implementation, program, _ = reference(preset)
    runs = {REFERENCE: {"implementation": implementation, "program": program}}
    for n in names:
        runs[n] = {"implementation": table[n][0],
                   **({"program": n} if table[n][0] == "sandboxed" else {}),
                   "against": FAST_BASE if n == "same_code" else REFERENCE}
    failed = {}
    for name, row in runs.items():
        row["seconds"] = [round(results[seed, name]["seconds"], 2) for seed in seeds]
        row["cpu_s"] = [None if results[seed, name]["cpu_s"] is None
                        else round(results[seed, name]["cpu_s"], 2) for seed in seeds]
        if row["implementation"] == "sandboxed":
            row["program_hash"] = [results[seed, name].get("program_hash") for seed in seeds]
        why = next((results[seed, name]["failed"] for seed in seeds
                    if "failed" in results[seed, name]), None)
        if why is not None and name == REFERENCE:
            raise CalibrationError(f"the reference program ({program}) failed: {why}")
        if why is not None:
            failed[name] = why
    return runs, failed


def _tensors(result: dict) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in result["state_dict"].items()}


# ---------------------------------------------------------------------------- estimate

def estimate(preset: str, device: str, n_seeds: int, jobs: int | None = None) -> dict:
    """Seconds a calibration should take here: PROBE_STEPS timed steps of the reference
    program and of the fast base, and the held-out evaluation of a few windows, under the
    thread setting the runs will have, scaled to whole runs; a sandboxed reference adds its
    set-up. A shipped solution counts as a fast-base run: it is a rung of the track's
    ladder, meant to be faster than the reference, and its compile is not counted.
    {"reference_s", "variant_s" (one run each, evaluation included), "wall_s"}."""
    cfg = baseline.get_preset(preset).to_cfg(device)
    jobs = jobs or default_jobs(device)
    threads, omp = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    if jobs > 1:
        _one_thread()
    implementation, program, train = reference(preset)
    try:
        short = {**cfg, "steps": 1 + PROBE_STEPS}
        inputs = baseline.make_inputs(short, 0)
        ref_step, ref_setup = _per_step(train, short, inputs,
                                        warm_up=implementation != "sandboxed")
        fast, _ = _per_step(lambda c, i, s: fast_base.train(c, **i), short, inputs)
        heldout = baseline.make_heldout(cfg, 0)
        windows = (heldout.numel() - 1) // cfg["seq_len"]
        few = min(8, windows)
        start = time.perf_counter()
        baseline.heldout_loss(inputs["init"], cfg, heldout[: few * cfg["seq_len"] + 1],
                              device=device)
        evaluation = (time.perf_counter() - start) * windows / few
    except RunFailed as e:
        raise CalibrationError(f"the reference program ({program}) failed: {e}") from None
    finally:
        torch.set_num_threads(threads)
        if omp is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = omp
    reference_s = ref_step * cfg["steps"] + ref_setup + evaluation
    variant_s = fast * cfg["steps"] + evaluation
    n_variants = runs_per_seed(preset, device) - 1
    work = n_seeds * (reference_s + n_variants * variant_s)
    return {"reference_s": reference_s, "variant_s": variant_s,
            "wall_s": max(reference_s, work / min(jobs, n_seeds * (1 + n_variants)))}


def _per_step(train: Callable[[dict, dict, int], dict], cfg: dict, inputs: dict, *,
              warm_up: bool = True) -> tuple[float, float]:
    """(seconds per step, seconds of a run outside its training: a sandbox's set-up): a
    1-step run subtracted from a longer one, after a 1-step warm-up where the runs share a
    process (allocator, kernel caches, a GPU's libraries). A run's training time is its
    result's `train_s` (a sandbox's go-to-done clock) where it has one."""
    one = {**cfg, "steps": 1}
    first = {**inputs, "batches": inputs["batches"][:1]}

    def timed(c: dict, i: dict) -> tuple[float, float]:
        start = time.perf_counter()
        out = train(c, i, 0)
        wall = time.perf_counter() - start
        return out.get("train_s", wall), wall

    if warm_up:
        timed(one, first)
    short, _ = timed(one, first)
    full, wall = timed(cfg, inputs)
    return max(full - short, 0.0) / (cfg["steps"] - 1), max(wall - full, 0.0)


# ---------------------------------------------------------------------------- the entry

def calibrate(preset: str, device: str, n_seeds: int = DEFAULT_SEEDS,
              on_run: Progress | None = None, *, source: tolerances.Source,
              jobs: int | None = None) -> dict:
    """Measure, decide, and write the preset/device entry into `source`'s target (the
    user's file unless a --tolerances file names another: Source.target). Raises
    CalibrationError, writing nothing, when the reference program's run is rejected or the
    fast base is too far from the reference."""
    source.check_writable()
    start = time.perf_counter()
    seeds = [SEED_BASE + i for i in range(n_seeds)]
    jobs = jobs or default_jobs(device)
    measured = measure(preset, device, seeds, on_run, jobs=jobs)
    decided = decide(measured)
    used = {row["implementation"] for row in measured["runs"].values()}
    entry = {
        "preset": preset, "device": device, "device_name": device_name(device),
        "date": datetime.date.today().isoformat(), "torch": torch.__version__,
        "python": platform.python_version(), "seeds": seeds,
        "rule": RULE,
        **decided,
        "legal": measured["legal"], "illegal": measured["illegal"],
        "skipped": measured["skipped"], "runs": measured["runs"],
        "implementations": {k: v for k, v in IMPLEMENTATIONS.items() if k in used},
        "workers": min(jobs, len(seeds) * runs_per_seed(preset, device)),
        "threads_per_run": 1 if jobs > 1 else torch.get_num_threads(),
        "wall_s": round(time.perf_counter() - start, 1), "command": " ".join(sys.argv),
    }
    if decided["fast_base"] is not None and not decided["fast_base"]["ok"]:
        raise CalibrationError(fast_base_refusal(decided["fast_base"], reference(preset)[1]))
    source.save(preset, device, entry)
    return entry


def fast_base_refusal(check: dict, program: str) -> str:
    worst = max(check["metrics"].items(),
                key=lambda kv: float("inf") if kv[1]["ratio"] is None else kv[1]["ratio"])
    m, row = worst
    share = "not small beside" if row["ratio"] is None else f"{row['ratio']:.1%} of"
    return (f"the fast base ({check['variant']}) is too far from the reference ({program}) to "
            f"measure cheats on: its {m} distance {row['distance']:.3g} is {share} the "
            f"smallest illegal one ({row['smallest_illegal_variant']}, "
            f"{row['smallest_illegal']:.3g}); the limit is {FAST_BASE_LIMIT:.0%}. Nothing "
            "was written")


