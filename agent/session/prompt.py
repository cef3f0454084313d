"""The task as every policy receives it. The text depends on the track, the machine it runs
on (harness.TrackFacts), the scoring rounds and the budgets only, never on the model: every
model is asked exactly the same thing."""

from __future__ import annotations

import textwrap

import baseline
from agent.session.budget import Budgets
from agent.session.harness import TrackFacts
from agent.session.tools import RUN_PYTHON_TIMEOUT_S

_SYSTEM = """\
You are optimizing the training program of a small GPT language model for speed.

## The task
Your workspace is a copy of the reference solution: `solution.py` defines
`train(cfg, init, tokens, batches) -> {{"state_dict": ..., "losses": [...]}}` and the files
beside it ({files}) implement it.
{program}
Make `train` as fast as you can while it still computes the same training. Anything in
the workspace may change (kernels, the loop, the model code, new files), as long as
`solution.py` keeps `train`'s signature and results. The workspace is loaded as a package,
so relative imports work.

Track: preset `{preset}` on device `{device}`:
{cfg}
Inputs: `init` (float32 initial weights, canonical names), `tokens` (the corpus, int64,
CPU), `batches` ([steps, batch] start offsets: sequence b of step s is
tokens[batches[s, b] : batches[s, b] + seq_len + 1]). `cfg["device"]` says where to train.

## The machine
{machine}

## How you are judged
Same computation: your `train` must perform the same AdamW training (same steps, batches,
learning-rate schedule, clipping, initial weights) as the reference. The judge runs the
reference and your solution on the same secret seed and checks: canonical names, shapes and
dtypes of the returned weights; no NaN/inf; held-out loss (evaluated by the harness with its
own model) close to the reference's; relative weight distance to the reference's weights
within tolerance; your reported per-step losses close to the reference's. Thresholds are
calibrated: legal rewrites (fused kernels, bf16 autocast with fp32 master weights where
the tolerances admit it) pass; skipping steps, changing the learning rate or batch order,
or freezing layers fails.

The official score: when the session ends, the state you submitted (if you never submit,
the state that passed the judge with the best run_bench speedup) is evaluated in
{eval_rounds} paired round(s). Each round draws a fresh secret seed and trains the
reference and your solution back to back in fresh sandboxed processes, alternating which
goes first; every timed run of yours must pass the judge. The harness's own clock times
each run from `go` (inputs handed over) to `done` (results written). The score is the
median over rounds of reference time / your time. A submission that this evaluation
rejects, and a session that never reached a state that passed the judge, score 1.0x: the
reference's speed.

What counts as setup: importing your solution is untimed but must finish within {setup:.0f} s
and must not do training work. Before the timed rounds one untimed warm-up run of
{warmup} steps fills the compile caches (Triton, torch.compile/Inductor,
torch.utils.cpp_extension builds), as a user's would be; compiling that the warm-up did not
do is timed. One training run must finish within {run:.0f} s.

{imports}
Allowed beyond plain torch: torch.compile, torch.utils.cpp_extension (C++ built by the
library with the system compiler), Triton kernels, your own modules, files in your own
workspace and working directory.
Forbidden (a static scan and the sandbox reject it, and the run scores nothing): any other
import, including this project's `kernels`, `correctness`, `bench` and
`agent` packages (your solution is judged without the kernel library: write your own
kernels); starting processes or threads yourself; sockets or any network access; reading
the environment; reading or writing files outside your workspace; eval/exec, pickle;
patching clocks, timers or interpreter modules; caching results between runs; doing
training work at import time; torch's own file APIs (torch.save/load, from_file and the
like: they write natively, unseen by the sandbox; numpy's and Python's file functions on
your own directories are fine); getattr/setattr with an attribute name the scan cannot
read (write the name, or loop over a tuple of literal names). Optionally, `solution.py` may declare
`KERNELS = {{slot: function}}`: the judge then checks each against a float64 reference
(forward and gradients) too.

## Tools
list_files, read_file, write_file, edit_file: your workspace only (paths relative to it).
run_check: the judge, quick: the small `tiny` preset on the CPU, unless the judge is
  calibrated on your device (then `tiny`, or your track's preset, there); `train` must work
  for any preset; prints each check with its measured value and threshold.
run_bench: the clock with few rounds; the speedup over the reference.
run_python: a script of your workspace in the same sandbox (at most {script:.0f} s): try an
  idea the way a researcher would, with a microbenchmark or a numerical check.
profile: the top operators of one training run.
submit: hand in the workspace as it is; the session ends and the official evaluation runs.
run_check, run_bench, run_python and profile spend device seconds from your budget. Every
tool result ends with the budgets left.
"""

_FIRST_MESSAGE = """\
Budgets for this session: {turns} turns, {dollars:.2f} US dollars of API use, {device:.0f}
device seconds for run_check/run_bench/run_python/profile, {wall:.0f} seconds of wall time.
Start by reading the workspace; check and time your changes before you submit."""


# What the workspace's program is, by the preset's reference (baseline.Preset.reference).
_PROGRAM = {
    "": "`heldout.py` is the held-out loss, which the judge computes with its own copy. "
        "`ops.py` holds the kernel slots (layer_norm, attention, gelu, cross_entropy, "
        "adamw) in deliberately naive form; `train.py` holds a naive training loop.",
    "draft": "It is a first draft in NumPy, float64, with the backward pass written by hand "
             "(`layers.py`: each layer forward and backward; `model.py`: the GPT both ways; "
             "`train.py`: the loop, clipping, AdamW), slow in many independent places. The "
             "judge scores the weights with its own torch model of the same GPT.",
}

_ISOLATION = {
    "namespaces": "Linux namespaces (no network, the system read-only, only the run's own "
                  "directories writable, its own process tree)",
    "landlock": "Landlock and seccomp (this machine refuses namespaces: no network, only "
                "the run's own directories writable, every process it starts killed at the "
                "end)",
    "process": "a fresh process with interpreter-level guards (this machine refuses "
               "namespaces and Landlock)",
}


def _machine(facts: TrackFacts, device: str) -> str:
    v = facts.versions
    lines = [f"CPU: {facts.cpu_model}, {facts.cpu_count} cores available to a run."]
    if facts.gpu:
        lines.append(f"GPU: {facts.gpu}.")
    if facts.memory_limit_gib is not None:
        lines.append(f"Memory: a run may use up to {facts.memory_limit_gib:.0f} GiB of "
                     f"address space.")
    lines.append(f"Versions: Python {v.get('python')}, torch {v.get('torch')}, Triton "
                 f"{v.get('triton') or 'not installed'}.")
    if device != "cuda":
        lines.append("On a CPU Triton runs only in its interpreter (TRITON_INTERPRET=1), "
                     "which is for checking correctness and far slower than torch: it "
                     "cannot make this track faster.")
    base = "not measured" if facts.baseline_s is None else f"{facts.baseline_s:.2f} s"
    lines.append(f"The reference's training run on this track takes {base} here "
                 f"({facts.baseline_source}).")
    lines.append(f"Runs are isolated by {_ISOLATION.get(facts.isolation, facts.isolation)}.")
    return "\n".join(textwrap.fill(line, 90) for line in lines)


def system_prompt(preset: str, device: str, facts: TrackFacts, eval_rounds: int) -> str:
    from correctness.sandbox import reference_dir
    from correctness.static_scan import ALLOWED_MODULES  # the judge's own allowlist

    program = reference_dir(preset)
    files = ", ".join(f"`{p.name}`" for p in sorted(program.glob("*.py"))
                      if p.name not in ("solution.py", "__init__.py"))
    cfg = baseline.get_preset(preset).to_cfg(device)
    cfg_text = "\n".join(f"  {k} = {v!r}" for k, v in cfg.items() if k != "device")
    allowed = ", ".join(sorted(m for m in ALLOWED_MODULES if m != "__future__"))
    imports = textwrap.fill(f"Imports allowed: {allowed}, and your own workspace modules.", 90)
    return _SYSTEM.format(
        files=files, program=textwrap.fill(_PROGRAM[baseline.get_preset(preset).reference], 90),
        preset=preset, device=device, cfg=cfg_text, machine=_machine(facts, device),
        eval_rounds=eval_rounds, setup=facts.setup_timeout_s, warmup=facts.warmup_steps,
        run=facts.run_timeout_s, imports=imports, script=RUN_PYTHON_TIMEOUT_S)


def first_message(budgets: Budgets) -> str:
    return _FIRST_MESSAGE.format(turns=budgets.max_turns, dollars=budgets.max_dollars,
                                 device=budgets.max_device_s, wall=budgets.max_wall_s)
