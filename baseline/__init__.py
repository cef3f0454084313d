"""The task: the reference training program Speedup Bench asks agents to make faster.

Read in this order: `config.py` (the presets), `data.py` (the synthetic language and a
run's inputs), `ops.py` (the kernel slots and their naive references), `model.py` (the GPT
and its initial weights), `train.py` (the loop), `heldout.py` (how the harness scores the
weights a run returns). `rng.py` is the counter-based random numbers behind every seed;
`solution.py` is the baseline as a solution. `draft/` is the `range` preset's reference
program, a NumPy first draft (`Preset.reference` names each preset's).
"""

from .config import PRESETS, Preset, get_preset
from .data import entropy_floor, generate, make_batches, make_inputs, unigram_entropy
from .heldout import heldout_loss, make_heldout
from .model import GPT, make_init, param_shapes
from .train import lr_at, train

__all__ = [
    "GPT", "PRESETS", "Preset", "entropy_floor", "generate", "get_preset", "heldout_loss",
    "lr_at", "make_batches", "make_heldout", "make_init", "make_inputs", "param_shapes",
    "train", "unigram_entropy",
]
