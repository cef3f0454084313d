"""Train a preset's reference program (the torch baseline, or on `range` the NumPy draft)
and report how it learned.

Writes DIR/weights.safetensors (the final weights) and DIR/losses.json (per-step losses
and the run's summary). Example:

    speedup train --preset tiny --out runs/tiny
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

HELP = "run a preset's reference training program and report loss, tokens/s and wall time"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from speedup.ui import add_track_arguments, seed_arg

    add_track_arguments(p)
    p.add_argument("--seed", type=seed_arg, default=0,
                   help="seed of the corpus, initial weights and batch order (default 0)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="directory for weights.safetensors and losses.json (default runs/<preset>)")


def run(args: argparse.Namespace) -> int:
    import torch
    from safetensors.torch import save_file

    import baseline
    from bench.step_cost import flops_per_step
    from correctness.sandbox import PROJECT_DIR, reference_dir
    from correctness.trusted import import_solution
    from speedup.ui import out, preset_and_device, progress, writable_dir

    preset_name, device = preset_and_device(args.preset, args.device)
    out_dir = writable_dir(args.out or f"runs/{preset_name}")
    preset = baseline.get_preset(preset_name)
    cfg = preset.to_cfg(device)

    program = reference_dir(preset_name)
    name = program.relative_to(PROJECT_DIR).as_posix()
    train = import_solution(program, "reference_program").train  # ours: trusted, in-process
    inputs = baseline.make_inputs(cfg, args.seed)
    heldout = baseline.make_heldout(cfg, args.seed)
    with progress(f"train {preset_name} on {device} ({name})", cfg["steps"]) as advance:
        start = time.perf_counter()
        result = train(cfg, **inputs,
                       on_step=lambda step, loss: advance(status=f"loss {loss:.3f}"))
        wall = time.perf_counter() - start

    losses = result["losses"]
    summary = {
        "preset": preset_name, "device": device, "seed": args.seed, "reference": name,
        "wall_s": wall, "tokens_per_s": preset.tokens_per_step * cfg["steps"] / wall,
        "flops_per_step": flops_per_step(cfg),
        "first_loss": losses[0], "last_loss": losses[-1],
        "heldout_loss": baseline.heldout_loss(result["state_dict"], cfg, heldout, device=device),
        "entropy_floor": baseline.entropy_floor(cfg["vocab_size"]),
        "unigram_entropy": baseline.unigram_entropy(inputs["tokens"], cfg["vocab_size"]),
        "torch": torch.__version__, "python": platform.python_version(),
        "command": " ".join(sys.argv),
    }
    save_file(result["state_dict"], str(out_dir / "weights.safetensors"))
    (out_dir / "losses.json").write_text(json.dumps({**summary, "losses": losses}, indent=1))

    out.print(f"preset {preset_name} on {device} ({name}): {cfg['steps']} steps in "
              f"{wall:.1f} s, "
              f"{summary['tokens_per_s']:,.0f} tokens/s, "
              f"{summary['flops_per_step'] / 1e9:.2f} GFLOP/step "
              f"({summary['flops_per_step'] * cfg['steps'] / wall / 1e9:.1f} GFLOP/s)")
    out.print(f"loss {summary['first_loss']:.3f} -> {summary['last_loss']:.3f}; held-out "
              f"{summary['heldout_loss']:.3f} nats (unigram entropy "
              f"{summary['unigram_entropy']:.3f}, entropy floor {summary['entropy_floor']:.3f})")
    out.print(f"wrote {out_dir / 'weights.safetensors'} and {out_dir / 'losses.json'}")
    return 0
