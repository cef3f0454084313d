"""A legal rewrite in mixed precision: bf16 autocast over torch-native slots (which keep
softmax, layer norm and the loss in float32), float32 master weights and optimizer."""

import types

import torch
import torch.nn.functional as F

from baseline import ops
from baseline.train import train as reference_train


def layer_norm(x, weight, bias, eps=1e-5):
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)


def attention(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def gelu(x):
    return F.gelu(x, approximate="tanh")


def cross_entropy(logits, targets):
    return F.cross_entropy(logits, targets)


SLOTS = types.SimpleNamespace(layer_norm=layer_norm, attention=attention, gelu=gelu,
                              cross_entropy=cross_entropy, adamw=ops.adamw)


def train(cfg, init, tokens, batches):
    device_type = "cuda" if cfg["device"] == "cuda" else "cpu"
    with torch.autocast(device_type, dtype=torch.bfloat16):
        return reference_train(cfg, init, tokens, batches, ops=SLOTS)
