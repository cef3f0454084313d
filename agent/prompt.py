"""The task as every policy receives it. The text depends on the preset, the device and
the budgets only, never on the model: every model is asked exactly the same thing."""

from __future__ import annotations

import textwrap

import baseline
from agent.budget import Budgets

_SYSTEM = """\
You are optimizing the training program of a small GPT language model for speed.

## The task
Your workspace is a copy of the reference solution: `solution.py` defines
`train(cfg, init, tokens, batches) -> {{"state_dict": ..., "losses": [...]}}` and the files
beside it (`config.py`, `data.py`, `model.py`, `ops.py`, `train.py`, `rng.py`) implement it.
`ops.py` holds the kernel slots (layer_norm, attention, gelu, cross_entropy, adamw) in
deliberately naive form; `train.py` holds a naive training loop. Make `train` as fast as you
can while it still computes the same training. Anything in the workspace may change
(kernels, the loop, the model code, new files), as long as `solution.py` keeps `train`'s
signature and results. The workspace is loaded as a package, so relative imports work.

Track: preset `{preset}` on device `{device}`:
{cfg}
Inputs: `init` (float32 initial weights, canonical names), `tokens` (the corpus, int64, CPU),
`batches` ([steps, batch] start offsets: sequence b of step s is
tokens[batches[s, b] : batches[s, b] + seq_len + 1]). `cfg["device"]` says where to train.

## How you are judged
Same computation: your `train` must perform the same AdamW training (same steps, batches,
learning-rate schedule, clipping, initial weights) as the reference. The judge runs the
reference and your solution on the same secret seed and checks: canonical names, shapes and
dtypes of the returned weights; no NaN/inf; held-out loss (evaluated by the harness with its
own model) close to the reference's; relative weight distance to the reference's weights
within tolerance; your reported per-step losses close to the reference's. Thresholds are
calibrated: legal rewrites (fused kernels, bf16 autocast with fp32 master weights where
the tolerances admit it) pass; skipping steps, changing the learning rate or batch order,
or freezing layers fails. Timing is external: the harness's clock measures your `train`
from start to the end of training, in a fresh process, paired with the reference, with
fresh secret seeds; the speedup is reference time / your time.

{imports}
Forbidden (a static scan and the sandbox reject it, and the run scores nothing): any other
import, including this project's `kernels`, `correctness`, `bench` and
`agent` packages (your solution is judged without the kernel library: write your own
kernels); starting processes or threads; sockets or any network access; reading the
environment; reading or writing files outside your workspace; eval/exec, pickle; patching
clocks, timers or interpreter modules; caching results between runs; doing training work
at import time. Optionally, `solution.py` may declare `KERNELS = {{slot: function}}`: the
judge then checks each against a float64 reference (forward and gradients) too.

## Tools
list_files, read_file, write_file, edit_file: your workspace only (paths relative to it).
run_check: the judge, quick: the small `tiny` preset on the CPU, unless the judge is
  calibrated on your device (then `tiny`, or your track's preset, there); `train` must work
  for any preset; prints each check with its measured value and threshold.
run_bench: the clock with few rounds; the speedup over the reference.
profile: the top operators of one training run.
submit: hand in the workspace as it is; the session ends and the official evaluation runs.
run_check, run_bench and profile spend device seconds from your budget. If you never submit,
the best state that passed the judge is scored when a budget ends.
"""

_FIRST_MESSAGE = """\
Budgets for this session: {turns} turns, {dollars:.2f} US dollars of API use, {device:.0f}
device seconds for run_check/run_bench/profile, {wall:.0f} seconds of wall time. Start by
reading the workspace; check and time your changes before you submit."""


def system_prompt(preset: str, device: str) -> str:
    from correctness.static_scan import ALLOWED_MODULES  # the judge's own allowlist

    cfg = baseline.get_preset(preset).to_cfg(device)
    cfg_text = "\n".join(f"  {k} = {v!r}" for k, v in cfg.items() if k != "device")
    allowed = ", ".join(sorted(m for m in ALLOWED_MODULES if m != "__future__"))
    imports = textwrap.fill(f"Imports allowed: {allowed}, and your own workspace modules.", 90)
    return _SYSTEM.format(preset=preset, device=device, cfg=cfg_text, imports=imports)


def first_message(budgets: Budgets) -> str:
    return _FIRST_MESSAGE.format(turns=budgets.max_turns, dollars=budgets.max_dollars,
                                 device=budgets.max_device_s, wall=budgets.max_wall_s)
