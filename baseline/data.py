"""The synthetic language: deterministic, learnable, with an exactly known entropy rate.

Text is a concatenation of documents of DOC_LEN tokens. The first two tokens of a document
are uniform. After that, token t depends on the two before it, (a, b):

    successors(b) = [(base[b] + j * stride) % V  for j in 0..K-1]     K distinct tokens
    rank          = a Zipf(ZIPF_S) draw over 0..K-1
    token         = successors(b)[(rank + rot[a]) % K]

So a bigram model can learn *which* K tokens follow b, but only attention to the token two
back (through rot[a]) tells it *which one is likely*. Each context's next-token
distribution is a permutation of the same Zipf weights, so every context has the same
entropy H_K, and the entropy rate is known without simulating anything:

    floor = ((DOC_LEN - 2) * H_K + 2 * ln V) / DOC_LEN        nats per token

The rules (base, rot) come from LANGUAGE_SEED and are the same for every corpus; the corpus
and held-out text (heldout.py) differ only in the seed of the sampling stream.

A run's inputs are a pure function of one seed: the corpus, the initial weights and the
batch order (`make_inputs`), which is what lets the harness draw a secret seed per
evaluation and hand the baseline and a candidate the same run.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import rng
from .model import make_init

LANGUAGE_SEED = 0x5EED_1A46
DOC_LEN = 1024
K = 8  # successors per token
ZIPF_S = 1.5  # Zipf exponent over the K successors
_RULE_BASE, _RULE_ROT, _SAMPLE_START, _SAMPLE_NEXT = 0, 1, 2, 3


def zipf_probs() -> np.ndarray:
    w = 1.0 / np.arange(1, K + 1, dtype=np.float64) ** ZIPF_S
    return w / w.sum()


def _zipf_cdf_u32() -> np.ndarray:
    """Cumulative Zipf probabilities as uint32 thresholds: sampling is pure integer compare."""
    cdf = np.cumsum(zipf_probs())[:-1]
    return np.floor(cdf * 2.0**32).astype(np.uint64)


def _stride(vocab: int) -> int:
    """The first integer from 75 up that is coprime with V, so the K successors are distinct."""
    stride = 75
    while math.gcd(stride, vocab) != 1:
        stride += 1
    return stride


def _rules(vocab: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(vocab)
    base = (rng.uint64(LANGUAGE_SEED, _RULE_BASE, idx) % np.uint64(vocab)).astype(np.int64)
    rot = (rng.uint64(LANGUAGE_SEED, _RULE_ROT, idx) % np.uint64(K)).astype(np.int64)
    return base, rot


def generate(n_tokens: int, seed: int, vocab: int) -> torch.Tensor:
    """n_tokens of text (int64, CPU). Documents are sampled in parallel, position by position."""
    if vocab < K:
        raise ValueError(f"vocab {vocab} is smaller than the branching factor {K}")
    base, rot = _rules(vocab)
    stride = _stride(vocab)
    cdf = _zipf_cdf_u32()
    n_docs = -(-n_tokens // DOC_LEN)
    doc_start = np.arange(n_docs, dtype=np.int64) * DOC_LEN  # global index of each doc's token 0
    out = np.empty((n_docs, DOC_LEN), dtype=np.int64)
    for pos in range(DOC_LEN):
        counters = doc_start + pos
        if pos < 2:
            draw = rng.uint64(seed, _SAMPLE_START, counters)
            out[:, pos] = (draw % np.uint64(vocab)).astype(np.int64)
            continue
        a, b = out[:, pos - 2], out[:, pos - 1]
        u = rng.uint32(seed, _SAMPLE_NEXT, counters).astype(np.uint64)
        rank = np.searchsorted(cdf, u, side="right")  # (n_docs,) in 0..K-1
        j = (rank + rot[a]) % K
        out[:, pos] = (base[b] + j * stride) % vocab
    return torch.from_numpy(out.reshape(-1)[:n_tokens].copy())


def entropy_floor(vocab: int) -> float:
    """The exact entropy rate of the text, in nats per token (no model can go below it)."""
    p = zipf_probs()
    h_k = float(-(p * np.log(p)).sum())
    return ((DOC_LEN - 2) * h_k + 2 * math.log(vocab)) / DOC_LEN


def unigram_entropy(tokens: torch.Tensor, vocab: int) -> float:
    """Plug-in entropy of the token frequencies: what a model with no context can reach."""
    counts = torch.bincount(tokens, minlength=vocab).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())


# ---------------------------------------------------------------------------- a run's inputs

def make_batches(cfg: dict, n_tokens: int, seed: int) -> torch.Tensor:
    """Start offsets (int64, [steps, batch_size]) of every training sequence; sequence b of
    step s is tokens[start : start + seq_len + 1] (inputs and shifted targets)."""
    shape = (cfg["steps"], cfg["batch_size"])
    n_starts = n_tokens - cfg["seq_len"] - 1
    if n_starts <= 0:
        raise ValueError(f"corpus of {n_tokens} tokens is shorter than one sequence")
    draws = rng.uint64(rng.derive(seed, "batches"), 0, torch.arange(shape[0] * shape[1]).numpy())
    return torch.from_numpy((draws % n_starts).astype("int64").reshape(shape))


def make_inputs(cfg: dict, seed: int) -> dict:
    """Everything a run's `train` receives besides cfg, as a pure function of one seed:
    {"init" (model.make_init), "tokens" (the corpus), "batches"}."""
    tokens = generate(cfg["corpus_tokens"], rng.derive(seed, "corpus"), cfg["vocab_size"])
    return {"init": make_init(cfg, seed), "tokens": tokens,
            "batches": make_batches(cfg, tokens.numel(), seed)}
