"""The task: the reference training program Speedup Bench asks agents to make faster.

Read in this order: `config.py` (presets), `data.py` (the synthetic language), `ops.py`
(the kernel slots and their naive references), `model.py` (the GPT), `train.py` (the loop).
"""

from .config import PRESETS, Preset, get_preset
from .data import entropy_floor, generate, make_heldout, unigram_entropy
from .model import GPT, evaluate, make_init, param_shapes
from .train import lr_at, make_batches, make_inputs, train

__all__ = [
    "GPT", "PRESETS", "Preset", "entropy_floor", "evaluate", "generate", "get_preset",
    "lr_at", "make_batches", "make_heldout", "make_init", "make_inputs", "param_shapes",
    "train", "unigram_entropy",
]
